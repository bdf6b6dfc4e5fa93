// WaveSpeedAI (api.wavespeed.ai) as shotfarm-sim emulates it (sources:
// docs/simulator.md, "WaveSpeed routes"):
// POST /api/v3/<model path> (flat JSON inputs), GET /api/v3/predictions/{id}/result and
// GET /api/v3/predictions/{id}, GET /api/v3/webhook/secret; `{code, message, data}` envelopes;
// failures inside 200.
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/object.hpp>

#include "net/http_server.hpp"
#include "simulator/sim_state.hpp"

namespace shotfarm::simulator::wavespeed {

// Every request under /api/v3/.
boost::asio::awaitable<net::http_response_t> handle(
    std::shared_ptr<sim_state> state, net::http_request_t req
);

// The prediction object a poll of `j` answers now, in `data`.
boost::json::object prediction_data(sim_state& state, const job& j);

// An injected fault's answer (429, 500, 503): `{code, message}` (429 body shape is a GAP).
net::http_response_t fault_answer(sim_state& state, boost::beast::http::status status);

}  // namespace shotfarm::simulator::wavespeed
