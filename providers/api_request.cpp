#include "providers/api_request.hpp"

#include <algorithm>

namespace shotfarm::providers {

boost::asio::awaitable<net::exchange_result> api_request(
    net::http_client& http,
    const account& acct,
    boost::beast::http::verb method,
    std::string path,
    std::string body,
    std::string content_type,
    std::chrono::milliseconds timeout,
    request_kind kind,
    const std::function<boost::asio::awaitable<void>()>& before_send
) {
    if (acct.before_request) {
        co_await acct.before_request(kind);
    }
    if (before_send) {
        co_await before_send();
    }
    net::http_request req;
    req.method = method;
    req.url = acct.base_url + path;
    req.headers.emplace_back("Authorization", "Bearer " + acct.api_key);
    if (!content_type.empty()) {
        req.headers.emplace_back("Content-Type", std::move(content_type));
    }
    req.body = std::move(body);
    req.timeout = timeout;
    co_return co_await http.send(std::move(req));
}

submit_result with_retry_after(submit_result r, const net::http_response& response) {
    if (r.cls == outcome_class::retryable && r.http_status == 429) {
        r.rate_limited = true;
    }
    if (!r.rate_limited) {
        return r;
    }
    const auto value = response.header("retry-after");
    if (!value || value->empty() || value->size() > 6) {
        return r;
    }
    long seconds = 0;
    for (char ch : *value) {
        if (ch < '0' || ch > '9') {
            return r;
        }
        seconds = seconds * 10 + (ch - '0');
    }
    r.retry_after = std::chrono::seconds(std::min(seconds, 3600L));
    return r;
}

submit_result submit_transport_failure(const net::exchange_result& ex) {
    submit_result r;
    // Once a byte may have left, the provider may have created (and billed) the job.
    r.cls = ex.request_sent ? outcome_class::ambiguous : outcome_class::retryable;
    r.message = ex.error_message();
    return r;
}

poll_result poll_transport_failure(const net::exchange_result& ex) {
    poll_result r;
    r.cls = outcome_class::retryable;
    r.message = ex.error_message();
    return r;
}

}  // namespace shotfarm::providers
