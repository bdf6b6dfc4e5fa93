#include "daemon/webhooks.hpp"

#include <algorithm>
#include <cctype>

#include "jobs/log.hpp"
#include "net/http_client.hpp"

namespace shotfarm::daemon {

namespace http = boost::beast::http;
using jobs::log;
using jobs::log_level;

namespace {

constexpr std::string_view prefix = "/webhooks/";
constexpr std::size_t other_body_limit = 1 << 20;

std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

net::http_response_t answer(unsigned status, std::string body, std::string_view type) {
    net::http_response_t res;
    res.result(static_cast<http::status>(status));
    res.set(http::field::content_type, type);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

}  // namespace

bool is_webhook_path(std::string_view path) {
    return path.starts_with(prefix);
}

std::size_t webhook_route::max_body_bytes() {
    std::size_t most = other_body_limit;
    for (const char* p : {"atlas", "wavespeed", "minimax"}) {
        most = std::max(most, providers::webhook_body_limit(p));
    }
    return most;
}

webhook_route::webhook_route(net::http_client& http, metrics::registry& registry)
    : http_(http),
      received_(registry.add_counter(
          "shotfarm_webhooks_total",
          "Provider pushes received on the webhook route, by provider and verdict (event, "
          "challenge, duplicate, refused, rate_limited, unknown_account)",
          {"provider", "verdict"}
      )) {}

void webhook_route::configure(const jobs::app_config& cfg) {
    std::map<std::string, account_hooks> next;
    for (const auto& a : cfg.accounts) {
        if (!a.webhooks) {
            continue;
        }
        auto& h = next[a.name];
        if (auto old = accounts_.find(a.name);
            old != accounts_.end() && old->second.provider == a.provider) {
            h = std::move(old->second);  // keys fetched and the rate bucket carry over
        }
        h.provider = a.provider;
        h.secret = a.webhook_secret;
        h.jwks_url = a.webhook_jwks_url;
    }
    accounts_ = std::move(next);
}

std::size_t webhook_route::body_limit(std::string_view path) const {
    if (!is_webhook_path(path)) {
        return other_body_limit;
    }
    auto it = accounts_.find(std::string(path.substr(prefix.size())));
    // An unknown account still gets a small body read, so that it is answered 404, not 413.
    return it == accounts_.end() ? providers::max_webhook_body_bytes
                                 : providers::webhook_body_limit(it->second.provider);
}

bool webhook_route::take_token(account_hooks& a) {
    const auto now = std::chrono::steady_clock::now();
    a.tokens = std::min(
        burst, a.tokens + rate_per_s * std::chrono::duration<double>(now - a.refilled).count()
    );
    a.refilled = now;
    if (a.tokens < 1) {
        return false;
    }
    a.tokens -= 1;
    return true;
}

boost::asio::awaitable<void> webhook_route::fetch_keys(
    account_hooks& a, const std::string& account
) {
    net::http_request req;
    req.url = a.jwks_url;
    req.timeout = std::chrono::seconds(10);
    req.max_response_bytes = providers::jwks_cache::max_document_bytes;
    std::string problem;
    try {
        auto r = co_await http_.send(std::move(req));
        if (r.ec) {
            problem = r.error_message();
        } else if (r.response.status != 200) {
            problem = "HTTP " + std::to_string(r.response.status);
        } else if (auto p = a.keys.load(r.response.body, providers::webhook_clock::now())) {
            problem = *p;
        }
    } catch (const std::exception& e) {
        problem = e.what();  // a malformed URL (the config loader checks it first)
    }
    if (!problem.empty()) {
        log(log_level::warn,
            "webhook.keys_failed",
            {{"account", account}, {"provider", a.provider}, {"error", problem}});
    } else {
        log(log_level::info, "webhook.keys_fetched", {{"account", account}});
    }
}

boost::asio::awaitable<net::http_response_t> webhook_route::handle(net::http_request_t req) {
    const std::string account(path_of(req.target()).substr(prefix.size()));
    auto it = accounts_.find(account);
    if (it == accounts_.end()) {
        received_.with({"none", "unknown_account"}).inc();
        co_return answer(404, "not found\n", "text/plain");
    }
    account_hooks* a = &it->second;
    const std::string provider = a->provider;
    if (req.method() != http::verb::post) {
        auto res = answer(405, "method not allowed\n", "text/plain");
        res.set(http::field::allow, "POST");
        co_return res;
    }
    if (!take_token(*a)) {
        received_.with({provider, "rate_limited"}).inc();
        co_return answer(429, "too many requests\n", "text/plain");
    }
    providers::webhook_request w;
    w.provider = provider;
    for (const auto& field : req.base()) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
            return static_cast<char>(std::tolower(c));
        });
        w.headers.emplace(std::move(name), std::string(field.value()));
    }
    w.body = std::move(req.body());
    providers::webhook_keys keys;
    keys.wavespeed_secret = a->secret;
    keys.atlas_keys = &a->keys;
    auto outcome = providers::verify_webhook(w, keys, replay_, providers::webhook_clock::now());
    if (outcome.verdict == providers::webhook_verdict::need_keys &&
        a->keys.claim_fetch(providers::webhook_clock::now())) {
        co_await fetch_keys(*a, account);
        it = accounts_.find(account);  // a reload may have run meanwhile
        if (it == accounts_.end()) {
            co_return answer(404, "not found\n", "text/plain");
        }
        a = &it->second;
        keys.wavespeed_secret = a->secret;
        keys.atlas_keys = &a->keys;
        outcome = providers::verify_webhook(w, keys, replay_, providers::webhook_clock::now());
    }
    received_.with({provider, std::string(providers::to_string(outcome.verdict))}).inc();
    switch (outcome.verdict) {
        case providers::webhook_verdict::event:
            if (sink_ && outcome.event) {
                sink_(account, std::move(*outcome.event));
            }
            co_return answer(200, "ok\n", "text/plain");
        case providers::webhook_verdict::challenge:
            co_return answer(
                200, providers::challenge_reply(outcome.challenge), "application/json"
            );
        case providers::webhook_verdict::duplicate:
            co_return answer(200, "ok\n", "text/plain");
        case providers::webhook_verdict::need_keys:
        case providers::webhook_verdict::refused:
            break;
    }
    // A flood of forgeries must not flood the log: one line per account per 10 s (the
    // counter has them all).
    const auto now = std::chrono::steady_clock::now();
    if (now - a->last_refusal_logged >= std::chrono::seconds(10)) {
        a->last_refusal_logged = now;
        log(log_level::warn,
            "webhook.refused",
            {{"account", account},
             {"provider", provider},
             {"status", outcome.http_status},
             {"reason", outcome.reason}});
    }
    co_return answer(outcome.http_status, "refused\n", "text/plain");
}

}  // namespace shotfarm::daemon
