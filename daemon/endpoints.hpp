// The daemon's HTTP endpoints: /metrics (Prometheus text), /healthz, /readyz.
#pragma once

#include <atomic>

#include "metrics/registry.hpp"
#include "net/http_server.hpp"

namespace shotfarm::daemon {

struct endpoint_state {
    std::atomic<bool> ready{false};  ///< database reachable and pipeline working
};

net::http_handler make_endpoints(const metrics::registry& registry, const endpoint_state& state);

}  // namespace shotfarm::daemon
