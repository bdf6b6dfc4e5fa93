#include "daemon/endpoints.hpp"

#include <array>
#include <unistd.h>

namespace shotfarm::daemon {

namespace http = boost::beast::http;

namespace {

// This machine's host name, or nothing when the system does not say.
std::string machine_host_name() {
    std::array<char, 256> name{};
    if (::gethostname(name.data(), name.size() - 1) != 0) {
        return {};
    }
    return std::string(name.data());
}

}  // namespace

bool is_monitoring_path(std::string_view path) {
    return path == "/metrics" || path == "/healthz" || path == "/readyz";
}

net::server_options endpoint_server_options(
    const std::string& listen_host,
    std::size_t max_connections,
    std::function<std::size_t(std::string_view)> body_limit_for,
    std::size_t max_body_bytes
) {
    net::server_options opts;
    opts.max_connections = max_connections;
    opts.max_body_bytes = max_body_bytes;
    opts.body_limit_for = std::move(body_limit_for);
    opts.allowed_hosts = {"localhost", listen_host};
    if (auto name = machine_host_name(); !name.empty()) {
        opts.allowed_hosts.push_back(std::move(name));
    }
    opts.allow_ip_literal_hosts = true;
    opts.host_check_applies = [](std::string_view path) {
        return !is_monitoring_path(path) && !path.starts_with("/webhooks/");
    };
    return opts;
}

net::http_handler make_endpoints(
    const metrics::registry& registry, const endpoint_state& state, net::http_handler webhooks
) {
    return [&registry, &state, webhooks = std::move(webhooks)](net::http_request_t req
           ) -> boost::asio::awaitable<net::http_response_t> {
        net::http_response_t res;
        res.version(req.version());
        res.keep_alive(req.keep_alive());
        const auto target = std::string(req.target().substr(0, req.target().find('?')));
        if (target.starts_with("/webhooks/") && webhooks) {
            co_return co_await webhooks(std::move(req));
        }
        if (req.method() != http::verb::get && req.method() != http::verb::head) {
            res.result(http::status::method_not_allowed);
            res.set(http::field::allow, "GET, HEAD");
            res.body() = "method not allowed\n";
        } else if (target == "/metrics") {
            res.result(http::status::ok);
            res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            res.body() = registry.text();
        } else if (target == "/healthz") {
            res.result(http::status::ok);
            res.set(http::field::content_type, "text/plain");
            res.body() = "ok\n";
        } else if (target == "/readyz") {
            const bool ready = state.ready.load();
            res.result(ready ? http::status::ok : http::status::service_unavailable);
            res.set(http::field::content_type, "text/plain");
            res.body() = ready ? "ready\n" : "not ready\n";
        } else {
            res.result(http::status::not_found);
            res.set(http::field::content_type, "text/plain");
            res.body() = "not found\n";
        }
        res.prepare_payload();
        co_return res;
    };
}

}  // namespace shotfarm::daemon
