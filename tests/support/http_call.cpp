#pragma GCC diagnostic ignored "-Wnull-dereference"  // GCC 12 false positive inside Asio

#include "tests/support/http_call.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace shotfarm::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

http_reply http_call(
    std::uint16_t port,
    http::verb verb,
    std::string target,
    std::string body,
    http_headers headers,
    std::chrono::seconds timeout
) {
    asio::io_context ioc;
    // Asio's synchronous socket calls ignore SO_RCVTIMEO (they poll without a timeout), so the
    // exchange runs asynchronously on a private io_context under the stream's deadline.
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));

    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    req.set(http::field::user_agent, "shotfarm-tests");
    bool has_content_type = false;
    for (auto& [name, value] : headers) {
        has_content_type = has_content_type || beast::iequals(name, "Content-Type");
        req.set(name, value);
    }
    if (!body.empty() && !has_content_type) {
        req.set(http::field::content_type, "application/json");
    }
    req.keep_alive(false);
    req.body() = std::move(body);
    req.prepare_payload();
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    beast::error_code failure;
    stream.expires_after(timeout);
    http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
        if (wec) {
            failure = wec;
            return;
        }
        http::async_read(stream, buffer, parser, [&](beast::error_code rec, std::size_t) {
            failure = rec;
        });
    });
    ioc.run();
    if (failure) {
        throw beast::system_error(failure);
    }
    auto res = parser.release();

    http_reply reply;
    reply.status = res.result_int();
    for (const auto& field : res.base()) {
        reply.headers.insert(field.name_string(), field.value());
    }
    reply.body = std::move(res.body());
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return reply;
}

}  // namespace shotfarm::testing
