// http_server: a small HTTP/1.1 server (Beast, C++20 coroutines) that hands every request to one
// handler coroutine. Used by the daemon for /metrics and by shotfarm-sim for its provider routes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

namespace shotfarm::net {

using http_request_t = boost::beast::http::request<boost::beast::http::string_body>;
using http_response_t = boost::beast::http::response<boost::beast::http::string_body>;
using http_handler = std::function<boost::asio::awaitable<http_response_t>(http_request_t)>;

struct server_options {
    // A request body larger than this is answered 413 and the connection closed.
    std::size_t max_body_bytes = 1 << 20;
    // How long a connection may take to deliver a request (and an idle keep-alive connection
    // may stay open) before it is closed.
    std::chrono::seconds idle_timeout{30};
    // Builds the answers the server makes on its own (400 malformed request, 413 body too large,
    // 500 handler threw). Empty: a plain-text reason phrase. Never sees exception details.
    std::function<http_response_t(boost::beast::http::status)> error_response;
};

// Accepts connections on host:port and serves keep-alive sessions, one coroutine each, on the
// given executor. The executor must be single-threaded (an io_context run by one thread):
// sessions share state without a strand. stop() may be called from any thread; the work it
// does runs on the executor. Destroying the object stops it; sessions still running finish
// on their own (they keep the shared state alive).
class http_server {
public:
    // Binds and listens immediately (port 0 = pick a free port); throws on bind failure.
    http_server(
        boost::asio::any_io_executor ex,
        const std::string& host,
        std::uint16_t port,
        http_handler handler,
        server_options opts = {}
    );
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    // The bound port (the real one when constructed with port 0).
    std::uint16_t port() const;
    // Spawns the accept loop on the executor. Call once.
    void start();
    // Closes the acceptor and every open session; safe to call twice.
    void stop();

    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace shotfarm::net
