// MiniMax's own API (api.minimax.io) as shotfarm-sim emulates it (sources:
// docs/simulator.md, "MiniMax routes"):
// POST /v1/video_generation, GET /v1/query/video_generation?task_id=,
// GET /v1/files/retrieve?file_id= (download_url expiring after minimax_url_ttl_s), callback_url
// (challenge echo, then status pushes: webhooks.hpp); business
// errors are HTTP 200 with base_resp.status_code != 0; a Trace-Id header on every answer.
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/object.hpp>

#include "net/http_server.hpp"
#include "simulator/sim_state.hpp"

namespace shotfarm::simulator {
class webhook_sender;
}

namespace shotfarm::simulator::minimax {

// Every request under /v1/. A create with a `callback_url` first has `hooks` challenge it (the
// answer waits for the echo; nothing else does) and is refused (2013, unbilled) unless echoed.
boost::asio::awaitable<net::http_response_t> handle(
    std::shared_ptr<sim_state> state, std::shared_ptr<webhook_sender> hooks, net::http_request_t req
);

// A callback push: {task_id, status: "processing" | "success" | "failed", file_id (success),
// base_resp} — `processing` when !terminal, else the job's outcome; base_resp as a query of
// the task would carry it.
boost::json::object callback_body(const job& j, bool terminal);

// An injected fault's answer: 429 is HTTP 200 with base_resp 1002 (how MiniMax rate-limits);
// 500/503 are those statuses with base_resp 1000/1001.
net::http_response_t fault_answer(sim_state& state, boost::beast::http::status status);

}  // namespace shotfarm::simulator::minimax
