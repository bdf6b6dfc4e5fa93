// http_server: a small HTTP/1.1 server (Beast, C++20 coroutines) that hands every request to one
// handler coroutine. Used by the daemon for /metrics and by shotfarm-sim for its provider routes.
// What it trusts and refuses is written down in docs/http-server.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
    // A tighter limit by path (the target without its query), applied once the header is read;
    // it cannot raise max_body_bytes. Empty: max_body_bytes for every path.
    std::function<std::size_t(std::string_view path)> body_limit_for{};
    // A request line plus headers larger than this is answered 431 and the connection closed.
    std::size_t max_header_bytes = 8 * 1024;
    // An idle keep-alive connection is closed after this long, and so is one that has not
    // delivered a request's whole header by then (a deadline for the header, not for each byte:
    // a client dribbling a byte a second is closed all the same). The body gets another one.
    std::chrono::seconds idle_timeout{30};
    // Connections served at once (at least 1). One over the cap is accepted, answered
    // 503 with `Connection: close` and closed within a second; it never occupies a session.
    std::size_t max_connections = 64;
    // Host-header check against DNS rebinding: the host names and IP literals a request's Host
    // header may name (compared without the port, case-insensitively). Empty: no check. A
    // request that fails it is answered 421 Misdirected Request and never reaches the handler.
    std::vector<std::string> allowed_hosts{};
    // Any IP literal in Host passes the check as well. A DNS-rebinding page always reaches the
    // server under its own host *name*, so an address in Host cannot come from one; this lets
    // a client that was given an address (a scraper, curl) through without a list of addresses.
    bool allow_ip_literal_hosts = false;
    // Which request paths (the target without its query) the Host check applies to. Empty:
    // every path.
    std::function<bool(std::string_view path)> host_check_applies{};
    // Builds the answers the server makes on its own (400 malformed request, 413 body too large,
    // 421 Host refused, 431 header too large, 500 handler threw, 503 over the connection cap).
    // Empty: a plain-text reason phrase. Never sees exception details.
    std::function<http_response_t(boost::beast::http::status)> error_response{};
};

// The host of a Host header value, as the check compares it: lower-cased, without the port,
// the IPv6 brackets or a trailing dot; an IP literal in its canonical text form. Empty when the
// value is not a well-formed host[:port] (an unbracketed IPv6 address, a non-numeric port,
// characters no host name has).
std::string host_header_name(std::string_view value);

// Whether a Host header value passes the check configured in `opts` (allowed_hosts and
// allow_ip_literal_hosts; an empty allowed_hosts passes everything).
bool host_allowed(std::string_view host_header, const server_options& opts);

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
