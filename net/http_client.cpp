#include "net/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <tuple>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/file.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/errc.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace shotfarm::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t max_header_bytes = 64 * 1024;
constexpr std::size_t download_chunk_bytes = 64 * 1024;

using target = url_target;

bool valid_header_name(std::string_view name) {
    if (name.empty()) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f && c != ':';
    });
}

bool valid_header_value(std::string_view value) {
    return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool has_header(const http_request& req, std::string_view name) {
    return std::any_of(req.headers.begin(), req.headers.end(), [&](const auto& h) {
        return beast::iequals(h.first, name);
    });
}

http::request<http::string_body> build_request(
    const http_request& req, const target& t, const std::string& user_agent
) {
    http::request<http::string_body> msg{req.method, t.path, 11};
    if (!has_header(req, "Host")) {
        msg.set(http::field::host, t.host_header);
    }
    if (!has_header(req, "User-Agent")) {
        msg.set(http::field::user_agent, user_agent);
    }
    for (const auto& [name, value] : req.headers) {
        // Header values may be secrets: the message never repeats them.
        if (!valid_header_name(name) || !valid_header_value(value)) {
            throw std::invalid_argument("invalid HTTP header (name \"" + name + "\")");
        }
        msg.insert(name, value);
    }
    msg.body() = req.body;
    msg.prepare_payload();
    return msg;
}

// The transport part of a result, shared by send() and download().
struct transport_state {
    error_code ec;
    bool request_sent = false;
    std::string stage;
    std::string detail;
    std::optional<std::string> refused;  // the url_policy's reason

    void fail(error_code e, std::string_view at) {
        ec = e;
        stage = at;
    }
    void refuse(std::string why) {
        fail(make_error_code(boost::system::errc::permission_denied), "url policy");
        refused = std::move(why);
    }
};

std::string describe(const transport_state& st, const std::string& host) {
    if (!st.ec) {
        return {};
    }
    if (st.refused) {
        return "URL policy: " + *st.refused;
    }
    std::string msg = st.stage + " (" + host + ") failed: ";
    msg += st.ec == beast::error::timeout ? std::string("timed out") : st.ec.message();
    if (!st.detail.empty()) {
        msg += " (" + st.detail + ")";
    }
    return msg;
}

// Resolve, racing a timer: the resolver has no deadline of its own.
asio::awaitable<tcp::resolver::results_type> resolve(
    const target& t, clock_type::time_point deadline, transport_state& st
) {
    using namespace asio::experimental::awaitable_operators;
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    asio::steady_timer timer(ex, deadline);
    auto r = co_await (
        resolver.async_resolve(t.host, t.port, tuple_awaitable) || timer.async_wait(tuple_awaitable)
    );
    if (r.index() == 1) {
        st.fail(beast::error::timeout, "resolve");
        co_return tcp::resolver::results_type{};
    }
    auto [ec, results] = std::get<0>(std::move(r));
    if (ec) {
        st.fail(ec, "resolve");
    }
    co_return results;
}

// The resolver's answer, less the addresses the policy refuses. The connection is made to this
// list, so the address checked is the address used: no second DNS answer.
std::vector<tcp::endpoint> allowed_endpoints(
    const tcp::resolver::results_type& results,
    const target& t,
    const url_policy* policy,
    transport_state& st
) {
    std::vector<tcp::endpoint> endpoints;
    std::optional<std::string> first_refusal;
    for (const auto& entry : results) {
        const tcp::endpoint ep = entry.endpoint();
        if (policy != nullptr) {
            if (auto why = policy->check_address(t.org, ep.address())) {
                if (!first_refusal) {
                    first_refusal = std::move(why);
                }
                continue;
            }
        }
        endpoints.push_back(ep);
    }
    if (endpoints.empty() && first_refusal) {
        st.refuse(std::move(*first_refusal));
    }
    return endpoints;
}

asio::awaitable<bool> open_tcp(
    beast::tcp_stream& stream,
    const target& t,
    clock_type::time_point deadline,
    transport_state& st,
    const url_policy* policy
) {
    const auto results = co_await resolve(t, deadline, st);
    if (st.ec) {
        co_return false;
    }
    const auto endpoints = allowed_endpoints(results, t, policy, st);
    if (st.ec) {
        co_return false;
    }
    stream.expires_at(deadline);
    auto [ec, ep] = co_await stream.async_connect(endpoints, tuple_awaitable);
    if (ec) {
        st.fail(ec, "connect");
        co_return false;
    }
    co_return true;
}

// SNI for names (never for IP literals, RFC 6066), and the peer's name or IP checked against
// the certificate (Beast's examples forget this, and without it any valid certificate passes).
asio::awaitable<bool> handshake(
    beast::ssl_stream<beast::tcp_stream>& stream,
    const target& t,
    clock_type::time_point deadline,
    transport_state& st
) {
    SSL* ssl = stream.native_handle();
    error_code addr_ec;
    asio::ip::make_address(t.host, addr_ec);
    const bool is_ip = !addr_ec;
    bool ok = false;
    if (is_ip) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t.host.c_str()) == 1;
    } else {
        // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
        ok = SSL_ctrl(
                 ssl,
                 SSL_CTRL_SET_TLSEXT_HOSTNAME,
                 TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(t.host.c_str())
             ) == 1 &&
             SSL_set1_host(ssl, t.host.c_str()) == 1;
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
    if (!ok) {
        st.fail(asio::error::invalid_argument, "tls setup");
        co_return false;
    }
    beast::get_lowest_layer(stream).expires_at(deadline);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, tuple_awaitable);
    if (ec) {
        st.fail(ec, "tls handshake");
        const long verify = SSL_get_verify_result(ssl);
        if (verify != X509_V_OK) {
            st.detail = X509_verify_cert_error_string(verify);
        }
        co_return false;
    }
    co_return true;
}

// Opens the connection (plain or TLS) and runs `fn(stream)` on it. The stream is closed when
// this returns: one connection per exchange, no TLS close_notify wait (the response is
// length-delimited, and an EOF-delimited body over TLS without close_notify is an error).
template <class Fn>
asio::awaitable<void> with_connection(
    ssl::context* tls,
    const target& t,
    clock_type::time_point deadline,
    transport_state& st,
    const url_policy* policy,
    Fn fn
) {
    beast::tcp_stream tcp_stream(co_await asio::this_coro::executor);
    if (!co_await open_tcp(tcp_stream, t, deadline, st, policy)) {
        co_return;
    }
    if (!t.tls) {
        co_await fn(tcp_stream);
        co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *tls);
    if (!co_await handshake(stream, t, deadline, st)) {
        co_return;
    }
    co_await fn(stream);
}

template <class Stream>
asio::awaitable<bool> write_request(
    Stream& stream,
    http::request<http::string_body>& msg,
    clock_type::time_point deadline,
    transport_state& st
) {
    beast::get_lowest_layer(stream).expires_at(deadline);
    st.request_sent = true;  // conservative: before the first byte can leave
    auto [ec, n] = co_await http::async_write(stream, msg, tuple_awaitable);
    if (ec) {
        st.fail(ec, "write");
        co_return false;
    }
    co_return true;
}

template <class Stream>
asio::awaitable<void> send_over(
    Stream& stream,
    http::request<http::string_body>& msg,
    std::size_t max_body,
    clock_type::time_point deadline,
    transport_state& st,
    http_response& out
) {
    if (!co_await write_request(stream, msg, deadline, st)) {
        co_return;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(max_header_bytes);
    parser.body_limit(max_body);
    if (msg.method() == http::verb::head) {
        parser.skip(true);
    }
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
    if (ec) {
        st.fail(ec, "read");
        co_return;
    }
    auto res = parser.release();
    out.status = res.result_int();
    for (const auto& field : res) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
            return static_cast<char>(std::tolower(c));
        });
        out.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    out.body = std::move(res.body());
}

bool is_redirect(unsigned status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// A Location (absolute, or relative to the URL it came from) as an absolute URL without a
// fragment; nullopt if it is not a URI reference.
std::optional<std::string> resolve_location(std::string_view current, std::string_view location) {
    auto base = boost::urls::parse_uri(current);
    auto ref = boost::urls::parse_uri_reference(location);
    if (!base || !ref) {
        return std::nullopt;
    }
    boost::urls::url next;
    if (!boost::urls::resolve(*base, *ref, next)) {
        return std::nullopt;
    }
    next.remove_fragment();
    return std::string(next.buffer());
}

// What a redirect hop sends besides Host: only the caller's User-Agent. Authorization, cookies
// and the rest stay with the origin they were meant for.
std::vector<std::pair<std::string, std::string>> redirect_headers(
    const std::vector<std::pair<std::string, std::string>>& headers
) {
    std::vector<std::pair<std::string, std::string>> kept;
    for (const auto& h : headers) {
        if (beast::iequals(h.first, "User-Agent")) {
            kept.push_back(h);
        }
    }
    return kept;
}

template <class Stream>
asio::awaitable<void> download_over(
    Stream& stream,
    http::request<http::string_body>& msg,
    const std::filesystem::path& dest,
    std::uint64_t max_bytes,
    clock_type::time_point deadline,
    transport_state& st,
    download_result& out,
    bool& dest_opened,
    std::optional<std::string>* redirect_to  // null: redirects are not followed
) {
    if (!co_await write_request(stream, msg, deadline, st)) {
        co_return;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(max_header_bytes);
    parser.body_limit(max_bytes);  // a Content-Length over the cap fails in the header read
    {
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, tuple_awaitable);
        if (ec) {
            st.fail(ec, "read");
            co_return;
        }
    }
    out.status = parser.get().result_int();
    if (redirect_to != nullptr && is_redirect(out.status)) {
        const auto location = parser.get()[http::field::location];
        if (!location.empty()) {
            *redirect_to = std::string(location);
            co_return;
        }
    }
    if (out.status / 100 != 2) {
        co_return;
    }
    beast::file file;
    error_code file_ec;
    file.open(dest.c_str(), beast::file_mode::write, file_ec);
    if (file_ec) {
        st.fail(file_ec, "open destination file");
        co_return;
    }
    dest_opened = true;
    std::vector<char> chunk(download_chunk_bytes);
    while (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
        if (ec == http::error::need_buffer) {
            ec = {};
        }
        const std::size_t got = chunk.size() - parser.get().body().size;
        if (got > 0) {
            file.write(chunk.data(), got, file_ec);
            if (file_ec) {
                st.fail(file_ec, "write destination file");
                co_return;
            }
            out.bytes += got;
        }
        if (ec) {
            st.fail(ec, "read");
            co_return;
        }
    }
}

}  // namespace

std::optional<std::string> http_response::header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
        if (beast::iequals(n, name)) {
            return v;
        }
    }
    return std::nullopt;
}

std::string exchange_result::error_message() const {
    transport_state st{ec, request_sent, stage, detail, std::nullopt};
    return describe(st, host);
}

http_client::http_client(asio::any_io_executor ex, client_options opts)
    : ex_(std::move(ex)),
      opts_(std::move(opts)),
      tls_(std::make_unique<ssl::context>(ssl::context::tls_client)) {
    if (SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION) != 1) {
        throw std::runtime_error("cannot require TLS 1.2");
    }
    tls_->set_default_verify_paths();
    if (opts_.extra_ca_file) {
        tls_->load_verify_file(opts_.extra_ca_file->string());
    }
    tls_->set_verify_mode(ssl::verify_peer);
}

http_client::~http_client() = default;

asio::awaitable<exchange_result> http_client::send(http_request req) {
    const target t = parse_target(req.url);
    auto msg = build_request(req, t, opts_.user_agent);
    const auto deadline = clock_type::now() + req.timeout;
    transport_state st;
    http_response response;
    co_await with_connection(tls_.get(), t, deadline, st, nullptr, [&](auto& stream) {
        return send_over(stream, msg, req.max_response_bytes, deadline, st, response);
    });
    exchange_result result;
    result.ec = st.ec;
    result.request_sent = st.request_sent;
    result.host = t.display;
    result.stage = std::move(st.stage);
    result.detail = std::move(st.detail);
    if (!st.ec) {
        result.response = std::move(response);
    }
    co_return result;
}

asio::awaitable<download_result> http_client::download(
    http_request req,
    std::filesystem::path dest,
    std::uint64_t max_bytes,
    const url_policy* policy,
    int max_redirects
) {
    const auto deadline = clock_type::now() + req.timeout;
    req.body.clear();
    transport_state st;
    download_result result;
    bool dest_opened = false;
    std::string display;
    for (;;) {
        if (policy != nullptr) {
            if (auto why = policy->check_url(req.url)) {
                st.refuse(std::move(*why));
                break;
            }
        }
        const target t = parse_target(req.url);  // without a policy: throws on a bad URL
        display = t.display;
        auto msg = build_request(req, t, opts_.user_agent);
        std::optional<std::string> location;
        auto* redirect_to = policy != nullptr ? &location : nullptr;
        co_await with_connection(tls_.get(), t, deadline, st, policy, [&](auto& stream) {
            return download_over(
                stream, msg, dest, max_bytes, deadline, st, result, dest_opened, redirect_to
            );
        });
        if (st.ec || !location) {
            break;
        }
        if (result.redirects >= max_redirects) {
            st.refuse(
                "too many redirects (more than " + std::to_string(max_redirects) + ") at " +
                t.org.text()
            );
            break;
        }
        auto next = resolve_location(req.url, *location);
        if (!next) {
            st.refuse("a redirect from " + t.org.text() + " has an unusable Location");
            break;
        }
        ++result.redirects;
        req.url = std::move(*next);
        req.headers = redirect_headers(req.headers);
    }
    result.ec = st.ec;
    result.request_sent = st.request_sent;
    result.refused = st.refused.has_value();
    result.error_message = describe(st, display);
    if (st.ec && dest_opened) {
        result.error_message +=
            "; partial file left with " + std::to_string(result.bytes) + " bytes";
    }
    co_return result;
}

}  // namespace shotfarm::net
