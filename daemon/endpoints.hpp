// The daemon's HTTP endpoints: /metrics (Prometheus text), /healthz, /readyz; and the options
// its listener runs with (connection cap, Host check). See docs/http-server.md.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>

#include "metrics/registry.hpp"
#include "net/http_server.hpp"

namespace shotfarm::daemon {

struct endpoint_state {
    std::atomic<bool> ready{false};  ///< database reachable and pipeline working
};

// GET and HEAD only (anything else: 405 with `Allow: GET, HEAD`).
net::http_handler make_endpoints(const metrics::registry& registry, const endpoint_state& state);

// The monitoring paths (/metrics, /healthz, /readyz): scraped by whatever name or address
// reaches the machine, so the Host check does not apply to them. They are read-only and carry
// no secret, prompt or file name.
bool is_monitoring_path(std::string_view path);

// The options of the daemon's listener: at most `max_connections` open connections; a Host
// check on every path but the monitoring ones, allowing any IP literal, "localhost", the listen
// host and this machine's host name (a DNS-rebinding page arrives under a name of its own).
net::server_options endpoint_server_options(
    const std::string& listen_host, std::size_t max_connections
);

}  // namespace shotfarm::daemon
