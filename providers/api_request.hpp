// The part of a provider request every adapter shares: the account's Bearer key on the API
// origin, the account's timeouts, and what a transport failure means for a paid submit versus a
// free read. Wire formats stay in each adapter's *_wire files.
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include "net/http_client.hpp"
#include "providers/provider.hpp"

namespace shotfarm::providers {

/// One exchange with `acct.base_url + path`, `Authorization: Bearer <key>`, the given body and
/// content type (none when empty), after `acct.before_request` (the rate limiter) and then
/// `before_send` (for a submit: the caller records that the POST leaves now; an exception
/// from it means nothing is sent). Never retried. `acct` must outlive the await.
boost::asio::awaitable<net::exchange_result> api_request(
    net::http_client& http,
    const account& acct,
    boost::beast::http::verb method,
    std::string path,
    std::string body,
    std::string content_type,
    std::chrono::milliseconds timeout,
    request_kind kind = request_kind::other,
    const std::function<boost::asio::awaitable<void>()>& before_send = {}
);

/// The submit's outcome, with `retry_after` set from a `Retry-After: <seconds>` header when the
/// provider refused for rate (429; none of the four documents one — Atlas says it never sends
/// it — but honouring it when present costs nothing). HTTP-dates are not accepted.
submit_result with_retry_after(submit_result r, const net::http_response& response);

/// A paid submit that failed in transport: ambiguous once a byte may have left, else retryable.
submit_result submit_transport_failure(const net::exchange_result& ex);

/// A read that failed in transport: retryable (reading is free and repeatable).
poll_result poll_transport_failure(const net::exchange_result& ex);

}  // namespace shotfarm::providers
