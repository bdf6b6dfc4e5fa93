// The daemon's webhook route: POST /webhooks/<account>. Reads a provider's push, has it judged
// by providers/webhook (signature, timestamp window, replay), answers at once and hands what it
// says to the pipeline. Polling goes on as the safety net: a push that is lost, refused or
// lands before the pipeline is up costs only the wait until the next planned poll.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "jobs/config.hpp"
#include "metrics/registry.hpp"
#include "net/http_server.hpp"
#include "providers/webhook.hpp"

namespace shotfarm::net {
class http_client;
}

namespace shotfarm::daemon {

/// Where a verified push goes: the account it came for and what it says.
using push_sink = std::function<void(const std::string& account, providers::webhook_event)>;

bool is_webhook_path(std::string_view path);

class webhook_route {
public:
    /// Pushes per second an account's route takes (a burst of `burst` at once); the excess
    /// is answered 429 (the providers retry; the safety poll covers the rest).
    static constexpr double rate_per_s = 100;
    static constexpr double burst = 200;
    /// The largest body any webhook path takes (the server's overall cap).
    static std::size_t max_body_bytes();

    webhook_route(net::http_client& http, metrics::registry& registry);

    /// The accounts with `webhooks: true` (at start and on every reload); their JWKS keys
    /// and remembered ids survive a reload.
    void configure(const jobs::app_config& cfg);
    /// Set once the pipeline runs; until then pushes are answered but go nowhere.
    void set_sink(push_sink sink) { sink_ = std::move(sink); }

    /// The body a path may carry: its provider's limit for a webhook path of a configured
    /// account, 1 MiB for anything else (and nothing else takes a body anyway).
    std::size_t body_limit(std::string_view path) const;

    boost::asio::awaitable<net::http_response_t> handle(net::http_request_t req);

private:
    struct account_hooks {
        std::string provider;
        std::string secret;    ///< WaveSpeed: the webhook secret (never logged)
        std::string jwks_url;  ///< Atlas
        providers::jwks_cache keys;
        double tokens = burst;
        std::chrono::steady_clock::time_point refilled = std::chrono::steady_clock::now();
        std::chrono::steady_clock::time_point last_refusal_logged{};
    };

    bool take_token(account_hooks& a);
    boost::asio::awaitable<void> fetch_keys(account_hooks& a, const std::string& account);

    net::http_client& http_;
    metrics::family<metrics::counter>& received_;
    std::map<std::string, account_hooks> accounts_;
    providers::replay_guard replay_;
    push_sink sink_;
};

}  // namespace shotfarm::daemon
