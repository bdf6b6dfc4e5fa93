// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Asio's scheduler
// (scheduler.ipp, inlined into every TU that runs I/O); the warning is not about our code.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "net/http_server.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <map>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace shotfarm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto write_timeout = std::chrono::seconds{30};
// After refusing a request we read (and drop) what the client still sends for this long, so
// that closing the socket does not reset the connection before the client reads our answer.
constexpr auto linger_timeout = std::chrono::seconds{1};
constexpr auto accept_backoff_min = std::chrono::milliseconds{10};
constexpr auto accept_backoff_max = std::chrono::seconds{1};

}  // namespace

struct http_server::state {
    state(asio::any_io_executor executor, http_handler h, server_options o)
        : ex(std::move(executor)), acceptor(ex), handler(std::move(h)), opts(std::move(o)) {}

    asio::any_io_executor ex;
    tcp::acceptor acceptor;
    http_handler handler;
    server_options opts;
    std::uint16_t port = 0;
    bool started = false;
    bool stopped = false;
    std::uint64_t next_session_id = 0;
    // Open sessions, so stop() can close them. The streams live in the session coroutines'
    // frames; each session removes itself before its stream is destroyed.
    std::map<std::uint64_t, beast::tcp_stream*> sessions;

    http_response_t error_response(http::status status, unsigned version) const {
        http_response_t res;
        if (opts.error_response) {
            res = opts.error_response(status);
        } else {
            res.result(status);
            res.set(http::field::content_type, "text/plain");
            res.body() = std::string(http::obsolete_reason(status)) + "\n";
        }
        res.version(version);
        return res;
    }
};

namespace {

using state_ptr = std::shared_ptr<http_server::state>;

// Removes a session from the registry when its coroutine ends, however it ends.
class session_registration {
public:
    session_registration(state_ptr st, std::uint64_t id, beast::tcp_stream& stream)
        : state_(std::move(st)), id_(id) {
        state_->sessions.emplace(id_, &stream);
    }
    ~session_registration() { state_->sessions.erase(id_); }
    session_registration(const session_registration&) = delete;
    session_registration& operator=(const session_registration&) = delete;

private:
    state_ptr state_;
    std::uint64_t id_;
};

asio::awaitable<void> linger_and_close(beast::tcp_stream& stream) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(linger_timeout);
    std::array<char, 16384> sink{};
    for (;;) {
        auto [rec, n] = co_await stream.async_read_some(
            asio::buffer(sink), asio::as_tuple(asio::use_awaitable)
        );
        if (rec) {
            break;
        }
    }
    stream.close();
}

asio::awaitable<bool> write_response(beast::tcp_stream& stream, http_response_t& res) {
    res.prepare_payload();
    stream.expires_after(write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    co_return !ec;
}

asio::awaitable<void> run_session(state_ptr st, beast::tcp_stream stream, std::uint64_t id) {
    session_registration registration(st, id, stream);
    beast::flat_buffer buffer;
    while (!st->stopped) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(st->opts.max_body_bytes);
        stream.expires_after(st->opts.idle_timeout);

        auto [hec, hn] = co_await http::async_read_header(
            stream, buffer, parser, asio::as_tuple(asio::use_awaitable)
        );
        if (hec == http::error::end_of_stream) {
            beast::error_code ec;
            stream.socket().shutdown(tcp::socket::shutdown_send, ec);
            co_return;
        }
        if (hec == http::error::body_limit) {
            auto res = st->error_response(http::status::payload_too_large, 11);
            res.keep_alive(false);
            if (co_await write_response(stream, res)) {
                co_await linger_and_close(stream);
            }
            co_return;
        }
        if (hec == beast::error::timeout || hec == asio::error::operation_aborted || st->stopped) {
            co_return;
        }
        if (hec) {
            // Malformed request line or headers (or a reset): answer 400 when the socket can
            // still carry it, then close.
            auto res = st->error_response(http::status::bad_request, 11);
            res.keep_alive(false);
            co_await write_response(stream, res);
            stream.close();
            co_return;
        }

        const auto& header = parser.get();
        if (beast::iequals(header[http::field::expect], "100-continue")) {
            http::response<http::empty_body> cont{http::status::continue_, header.version()};
            stream.expires_after(write_timeout);
            auto [cec, cn] =
                co_await http::async_write(stream, cont, asio::as_tuple(asio::use_awaitable));
            if (cec) {
                co_return;
            }
        }

        stream.expires_after(st->opts.idle_timeout);
        auto [bec, bn] =
            co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        if (bec == http::error::body_limit) {
            auto res = st->error_response(http::status::payload_too_large, 11);
            res.keep_alive(false);
            if (co_await write_response(stream, res)) {
                co_await linger_and_close(stream);
            }
            co_return;
        }
        if (bec) {
            co_return;
        }

        http_request_t req = parser.release();
        const bool keep_alive = req.keep_alive();
        const unsigned version = req.version();
        http_response_t res;
        try {
            res = co_await st->handler(std::move(req));
        } catch (const std::exception&) {
            // No detail leaves the process: the exception text may name internals.
            res = st->error_response(http::status::internal_server_error, version);
        }
        if (st->stopped) {
            co_return;
        }
        res.version(version);
        res.keep_alive(keep_alive);
        if (!co_await write_response(stream, res)) {
            co_return;
        }
        if (!keep_alive) {
            beast::error_code ec;
            stream.socket().shutdown(tcp::socket::shutdown_send, ec);
            co_return;
        }
    }
}

asio::awaitable<void> accept_loop(state_ptr st) {
    auto backoff = std::chrono::steady_clock::duration{accept_backoff_min};
    asio::steady_timer timer(st->ex);
    while (!st->stopped) {
        auto [ec, socket] = co_await st->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (st->stopped || ec == asio::error::operation_aborted) {
            co_return;
        }
        if (ec) {
            // EMFILE and friends: wait instead of spinning on an error that will repeat.
            timer.expires_after(backoff);
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            backoff =
                std::min<std::chrono::steady_clock::duration>(backoff * 2, accept_backoff_max);
            continue;
        }
        backoff = accept_backoff_min;
        const auto id = st->next_session_id++;
        asio::co_spawn(
            st->ex,
            run_session(st, beast::tcp_stream(std::move(socket)), id),
            // run_session handles its own I/O errors; anything else is a bug in the handler
            // plumbing, and must not take the server down.
            [](std::exception_ptr) {}
        );
    }
}

}  // namespace

http_server::http_server(
    asio::any_io_executor ex,
    const std::string& host,
    std::uint16_t port,
    http_handler handler,
    server_options opts
)
    : state_(std::make_shared<state>(std::move(ex), std::move(handler), std::move(opts))) {
    const tcp::endpoint endpoint{asio::ip::make_address(host), port};
    auto& acceptor = state_->acceptor;
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    state_->port = acceptor.local_endpoint().port();
}

http_server::~http_server() {
    stop();
}

std::uint16_t http_server::port() const {
    return state_->port;
}

void http_server::start() {
    if (state_->started) {
        return;
    }
    state_->started = true;
    asio::co_spawn(state_->ex, accept_loop(state_), [](std::exception_ptr) {});
}

void http_server::stop() {
    asio::dispatch(state_->ex, [st = state_] {
        if (st->stopped) {
            return;
        }
        st->stopped = true;
        beast::error_code ec;
        st->acceptor.close(ec);
        for (auto& [id, stream] : st->sessions) {
            stream->socket().shutdown(tcp::socket::shutdown_both, ec);
            stream->close();
        }
    });
}

}  // namespace shotfarm::net
