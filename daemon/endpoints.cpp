#include "daemon/endpoints.hpp"

namespace shotfarm::daemon {

namespace http = boost::beast::http;

net::http_handler make_endpoints(const metrics::registry& registry, const endpoint_state& state) {
    return [&registry,
            &state](net::http_request_t req) -> boost::asio::awaitable<net::http_response_t> {
        net::http_response_t res;
        res.version(req.version());
        res.keep_alive(req.keep_alive());
        const auto target = std::string(req.target().substr(0, req.target().find('?')));
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
