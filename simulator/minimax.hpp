// MiniMax's own API (api.minimax.io) as shotfarm-sim emulates it — PROVIDERS.md §4:
// POST /v1/video_generation, GET /v1/query/video_generation?task_id=,
// GET /v1/files/retrieve?file_id= (download_url expiring after minimax_url_ttl_s); business
// errors are HTTP 200 with base_resp.status_code != 0; a Trace-Id header on every answer.
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/status.hpp>

#include "net/http_server.hpp"
#include "simulator/sim_state.hpp"

namespace shotfarm::simulator::minimax {

// Every request under /v1/.
boost::asio::awaitable<net::http_response_t> handle(
    std::shared_ptr<sim_state> state, net::http_request_t req
);

// An injected fault's answer: 429 is HTTP 200 with base_resp 1002 (how MiniMax rate-limits);
// 500/503 are those statuses with base_resp 1000/1001.
net::http_response_t fault_answer(sim_state& state, boost::beast::http::status status);

}  // namespace shotfarm::simulator::minimax
