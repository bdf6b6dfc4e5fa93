// Atlas Cloud (api.atlascloud.ai) as shotfarm-sim emulates it (sources:
// docs/simulator.md, "Atlas Cloud routes"):
// POST /api/v1/model/generateVideo, GET /api/v1/model/prediction/{id},
// POST /api/v1/model/uploadMedia, GET /api/v1/models; `{code, data}` envelopes, errors
// `{code, msg, request_id, data:null}`, X-Request-ID on every answer, auth before routing.
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/object.hpp>

#include "net/http_server.hpp"
#include "simulator/sim_state.hpp"

namespace shotfarm::simulator::atlas {

// Answers every request the router does not give to another provider (Atlas owns the
// fallback: an unknown path with a bad key is 401, with a good key 404).
boost::asio::awaitable<net::http_response_t> handle(
    std::shared_ptr<sim_state> state, net::http_request_t req
);

// The prediction object a poll of `j` answers now, in `data` (the webhook's `payload`).
boost::json::object prediction_data(sim_state& state, const job& j);

// An injected fault's answer (429, 500, 503) in Atlas's error shape.
net::http_response_t fault_answer(sim_state& state, boost::beast::http::status status);

// Atlas's 413 for bodies over the server's limit (the server answers those itself).
net::http_response_t payload_too_large(sim_state& state);

}  // namespace shotfarm::simulator::atlas
