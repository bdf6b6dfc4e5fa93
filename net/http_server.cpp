// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Asio's scheduler
// (scheduler.ipp, inlined into every TU that runs I/O); the warning is not about our code.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "net/http_server.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <map>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
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
// A connection over the cap gets this long to take its 503 (it is small: the write completes at
// once unless the client stopped reading), then the same linger as any refusal.
constexpr auto refusal_write_timeout = std::chrono::seconds{1};

// The canonical text of an IP literal ("::1" for "0:0::1"), or nothing.
std::optional<std::string> canonical_ip(std::string_view text) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(std::string(text), ec);
    if (ec) {
        return std::nullopt;
    }
    return address.to_string();
}

bool is_host_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return out;
}

// The path of a request target, for host_check_applies: origin-form without its query. Any
// other form (absolute, authority, asterisk) is passed whole; it names no route of ours.
std::string_view target_path(std::string_view target) {
    if (target.empty() || target.front() != '/') {
        return target;
    }
    return target.substr(0, target.find('?'));
}

}  // namespace

std::string host_header_name(std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }
    std::string_view host;
    std::string_view port;
    bool bracketed = false;
    if (!value.empty() && value.front() == '[') {
        const auto close = value.find(']');
        if (close == std::string_view::npos) {
            return {};
        }
        host = value.substr(1, close - 1);
        const auto rest = value.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return {};
            }
            port = rest.substr(1);
        }
        bracketed = true;
    } else {
        const auto colon = value.rfind(':');
        host = value.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = value.substr(colon + 1);
        }
    }
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return {};
    }
    if (bracketed) {
        // Only an IPv6 address goes in brackets (no zone id: browsers never send one).
        auto ip = canonical_ip(host);
        if (!ip || host.find(':') == std::string_view::npos) {
            return {};
        }
        return *ip;
    }
    if (!host.empty() && host.back() == '.') {
        host.remove_suffix(1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), is_host_name_char)) {
        return {};
    }
    if (auto ip = canonical_ip(host)) {
        return *ip;
    }
    return lower(host);
}

bool host_allowed(std::string_view host_header, const server_options& opts) {
    if (opts.allowed_hosts.empty()) {
        return true;
    }
    const auto name = host_header_name(host_header);
    if (name.empty()) {
        return false;
    }
    if (opts.allow_ip_literal_hosts && canonical_ip(name)) {
        return true;
    }
    return std::any_of(
        opts.allowed_hosts.begin(),
        opts.allowed_hosts.end(),
        [&](const std::string& allowed) {
            // An entry may be written as a Host value ("[::1]", "Example.org.") or a bare
            // address ("::1").
            const auto entry = canonical_ip(allowed).value_or(host_header_name(allowed));
            return !entry.empty() && entry == name;
        }
    );
}

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
    // Open sessions, so stop() can close them and the accept loop can count them. The streams
    // live in the session coroutines' frames; each session removes itself before its stream is
    // destroyed.
    std::map<std::uint64_t, beast::tcp_stream*> sessions;
    // Connections over the cap being answered 503 (bounded too: past as many again, the excess
    // is closed without an answer).
    std::map<std::uint64_t, beast::tcp_stream*> refusals;

    std::size_t max_connections() const { return std::max<std::size_t>(1, opts.max_connections); }

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

using stream_registry = std::map<std::uint64_t, beast::tcp_stream*>;

// Removes a session from its registry when its coroutine ends, however it ends. Holds the state
// so the registry outlives it.
class session_registration {
public:
    session_registration(
        state_ptr st, stream_registry& registry, std::uint64_t id, beast::tcp_stream& stream
    )
        : state_(std::move(st)), registry_(registry), id_(id) {
        registry_.emplace(id_, &stream);
    }
    ~session_registration() { registry_.erase(id_); }
    session_registration(const session_registration&) = delete;
    session_registration& operator=(const session_registration&) = delete;

private:
    state_ptr state_;
    stream_registry& registry_;
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

// Writes `res`; for a HEAD request (`head_only`) only its header, with the Content-Length of
// the body a GET would get: a body there would be read as the start of the next response on a
// kept-alive connection.
asio::awaitable<bool> write_response(
    beast::tcp_stream& stream,
    http_response_t& res,
    bool head_only = false,
    std::chrono::seconds timeout = write_timeout
) {
    // A HEAD handler may state the length itself and send no body; keep that length.
    if (!head_only || !res.body().empty() || !res.has_content_length()) {
        res.prepare_payload();
    }
    stream.expires_after(timeout);
    if (head_only) {
        http::response_serializer<http::string_body> serializer{res};
        auto [ec, n] = co_await http::async_write_header(
            stream, serializer, asio::as_tuple(asio::use_awaitable)
        );
        co_return !ec;
    }
    auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    co_return !ec;
}

// Answers a connection over the cap with 503 and closes it, without reading a request: it
// costs a second at most, never a session's idle timeout.
asio::awaitable<void> refuse_connection(state_ptr st, beast::tcp_stream stream, std::uint64_t id) {
    session_registration registration(st, st->refusals, id, stream);
    auto res = st->error_response(http::status::service_unavailable, 11);
    res.keep_alive(false);
    res.set(http::field::retry_after, "1");
    if (co_await write_response(stream, res, false, refusal_write_timeout) && !st->stopped) {
        co_await linger_and_close(stream);
    }
}

// Answers a request the server refuses on its own after its header (413, 431) and closes.
asio::awaitable<void> refuse_and_close(
    const state_ptr& st, beast::tcp_stream& stream, http::status status
) {
    auto res = st->error_response(status, 11);
    res.keep_alive(false);
    if (co_await write_response(stream, res)) {
        co_await linger_and_close(stream);
    }
}

asio::awaitable<void> run_session(state_ptr st, beast::tcp_stream stream, std::uint64_t id) {
    session_registration registration(st, st->sessions, id, stream);
    beast::flat_buffer buffer;
    while (!st->stopped) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(st->opts.max_body_bytes);
        parser.header_limit(
            static_cast<std::uint32_t>(std::min<std::size_t>(st->opts.max_header_bytes, UINT32_MAX))
        );
        // One deadline for the whole header (beast::tcp_stream's expiry is not re-armed by each
        // read), counted from the end of the previous answer: it is the idle timeout as well.
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
            co_await refuse_and_close(st, stream, http::status::payload_too_large);
            co_return;
        }
        if (hec == http::error::header_limit) {
            co_await refuse_and_close(st, stream, http::status::request_header_fields_too_large);
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
        if (st->opts.body_limit_for) {
            const auto limit = std::min(
                st->opts.max_body_bytes, st->opts.body_limit_for(target_path(header.target()))
            );
            // A declared length is checked here (the parser checked it against the larger
            // limit while reading the header); a chunked body is held to it as it arrives.
            if (parser.content_length() && *parser.content_length() > limit) {
                co_await refuse_and_close(st, stream, http::status::payload_too_large);
                co_return;
            }
            parser.body_limit(limit);
        }
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
            co_await refuse_and_close(st, stream, http::status::payload_too_large);
            co_return;
        }
        if (bec) {
            co_return;
        }

        http_request_t req = parser.release();
        const bool keep_alive = req.keep_alive();
        const unsigned version = req.version();
        const bool head = req.method() == http::verb::head;
        http_response_t res;
        const bool host_checked =
            !st->opts.host_check_applies || st->opts.host_check_applies(target_path(req.target()));
        if (host_checked && !host_allowed(req[http::field::host], st->opts)) {
            // The whole request has been read, so the connection can carry on.
            res = st->error_response(http::status::misdirected_request, version);
        } else {
            try {
                res = co_await st->handler(std::move(req));
            } catch (const std::exception&) {
                // No detail leaves the process: the exception text may name internals.
                res = st->error_response(http::status::internal_server_error, version);
            }
        }
        if (st->stopped) {
            co_return;
        }
        res.version(version);
        res.keep_alive(keep_alive);
        if (!co_await write_response(stream, res, head)) {
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
        if (st->sessions.size() >= st->max_connections()) {
            if (st->refusals.size() >= st->max_connections()) {
                beast::error_code cec;
                socket.close(cec);
                continue;
            }
            asio::co_spawn(
                st->ex,
                refuse_connection(st, beast::tcp_stream(std::move(socket)), id),
                [](std::exception_ptr) {}
            );
            continue;
        }
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
        for (auto* registry : {&st->sessions, &st->refusals}) {
            for (auto& [id, stream] : *registry) {
                stream->socket().shutdown(tcp::socket::shutdown_both, ec);
                stream->close();
            }
        }
    });
}

}  // namespace shotfarm::net
