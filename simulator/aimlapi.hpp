// AI/ML API (api.aimlapi.com) as shotfarm-sim emulates it (sources: docs/simulator.md, "AI/ML API
// routes"): the current POST/GET /v2/video/generations and the legacy POST/GET
// /v2/generate/video/minimax/generation; bare JSON objects; errors
// `{message, path, requestId, statusCode, timestamp}`; 403 for an exhausted balance.
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/status.hpp>

#include "net/http_server.hpp"
#include "simulator/sim_state.hpp"

namespace shotfarm::simulator::aimlapi {

// Every request under /v2/.
boost::asio::awaitable<net::http_response_t> handle(
    std::shared_ptr<sim_state> state, net::http_request_t req
);

// An injected fault's answer (429, 500, 503) in AI/ML API's error shape.
net::http_response_t fault_answer(
    sim_state& state, boost::beast::http::status status, std::string_view path
);

}  // namespace shotfarm::simulator::aimlapi
