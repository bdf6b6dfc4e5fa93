// The daemon's HTTP endpoints: /metrics (Prometheus text), /healthz, /readyz; and the options
// its listener runs with (connection cap, Host check). See docs/http-server.md.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "metrics/registry.hpp"
#include "net/http_server.hpp"

namespace shotfarm::daemon {

struct endpoint_state {
    std::atomic<bool> ready{false};  ///< database reachable and pipeline working
};

// GET and HEAD only (anything else: 405 with `Allow: GET, HEAD`); paths under /webhooks/ go
// to `webhooks` (which takes POST) when given, else 404.
net::http_handler make_endpoints(
    const metrics::registry& registry, const endpoint_state& state, net::http_handler webhooks = {}
);

// The monitoring paths (/metrics, /healthz, /readyz): scraped by whatever name or address
// reaches the machine, so the Host check does not apply to them. They are read-only and carry
// no secret, prompt or file name.
bool is_monitoring_path(std::string_view path);

// The options of the daemon's listener: at most `max_connections` open connections; a Host
// check on every path but the monitoring ones and the webhook route (providers call it through
// the studio's reverse proxy, under its public name; their signatures are the check there),
// allowing any IP literal, "localhost", the listen host and this machine's host name (a
// DNS-rebinding page arrives under a name of its own). `body_limit_for` (the webhook route's
// limits) caps bodies by path under `max_body_bytes`.
net::server_options endpoint_server_options(
    const std::string& listen_host,
    std::size_t max_connections,
    std::function<std::size_t(std::string_view)> body_limit_for = {},
    std::size_t max_body_bytes = 1 << 20
);

}  // namespace shotfarm::daemon
