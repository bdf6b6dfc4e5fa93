// http_call: a tiny synchronous HTTP/1.1 client for tests (one request per connection, loopback).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

namespace shotfarm::testing {

using http_headers = std::vector<std::pair<std::string, std::string>>;

struct http_reply {
    unsigned status = 0;
    // Case-insensitive lookup: reply.headers["X-Request-ID"], reply.headers.count("Retry-After").
    boost::beast::http::fields headers;
    std::string body;
};

// Sends one request to 127.0.0.1:port and returns the whole answer. A non-empty body without a
// Content-Type header is sent as application/json. Throws on connection errors and when no
// answer arrives within `timeout`.
http_reply http_call(
    std::uint16_t port,
    boost::beast::http::verb verb,
    std::string target,
    std::string body = {},
    http_headers headers = {},
    std::chrono::seconds timeout = std::chrono::seconds{30}
);

// Convenience for the common `Authorization: Bearer <key>` header.
inline http_headers bearer(const std::string& key) {
    return http_headers{{"Authorization", "Bearer " + key}};
}

}  // namespace shotfarm::testing
