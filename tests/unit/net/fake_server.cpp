#include "tests/unit/net/fake_server.hpp"

#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>

namespace shotfarm::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// Reads and discards until the peer closes.
template <class Stream>
asio::awaitable<void> drain(Stream& stream) {
    std::array<char, 4096> buf{};
    for (;;) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), tuple_awaitable);
        if (ec) {
            co_return;
        }
    }
}

// The header as Beast writes it, then the body in 8 KiB chunks, then the last chunk.
std::string chunked_wire(const fake_server::response_type& res) {
    std::ostringstream out;
    out << res.base();
    const std::string& body = res.body();
    for (std::size_t pos = 0; pos < body.size(); pos += 8192) {
        const auto piece = std::string_view(body).substr(pos, 8192);
        out << std::hex << piece.size() << "\r\n" << piece << "\r\n";
    }
    out << "0\r\n\r\n";
    return out.str();
}

}  // namespace

struct fake_server::access {
    template <class Stream>
    static asio::awaitable<void> serve(fake_server& self, Stream& stream, std::string sni) {
        if (self.behaviour_ == fake_behaviour::silent) {
            co_await drain(stream);
            co_return;
        }
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(64u << 20);
            auto [ec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
            if (ec) {
                co_return;
            }
            const auto& req = parser.get();
            recorded_request rec;
            rec.method = std::string(req.method_string());
            rec.target = std::string(req.target());
            rec.body = req.body();
            rec.sni = sni;
            for (const auto& f : req) {
                rec.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
            }
            self.record(std::move(rec));

            const auto mode = self.behaviour_.load();
            if (mode == fake_behaviour::never_answer) {
                co_await drain(stream);
                co_return;
            }
            if (mode == fake_behaviour::reset_mid_response) {
                static constexpr std::string_view partial =
                    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789";
                co_await asio::async_write(stream, asio::buffer(partial), tuple_awaitable);
                auto& sock = beast::get_lowest_layer(stream).socket();
                boost::system::error_code ignored;
                sock.set_option(asio::socket_base::linger(true, 0), ignored);
                sock.close(ignored);  // linger 0: RST instead of FIN
                co_return;
            }
            auto res = self.handler_(req);
            res.version(11);
            if (res.chunked()) {
                // Beast would send a string body as one chunk; send many small ones instead.
                const std::string wire = chunked_wire(res);
                auto [wec, wn] =
                    co_await asio::async_write(stream, asio::buffer(wire), tuple_awaitable);
                if (wec) {
                    co_return;
                }
                continue;
            }
            res.prepare_payload();
            auto [wec, wn] = co_await http::async_write(stream, res, tuple_awaitable);
            if (wec) {
                co_return;
            }
        }
    }

    static asio::awaitable<void> session(fake_server& self, tcp::socket socket) {
        beast::tcp_stream tcp_stream(std::move(socket));
        // Arguments are named first: GCC 12 mishandles non-trivial temporaries (conditional
        // expressions, conversions) that share a full-expression with co_await.
        std::string sni;
        if (!self.tls_) {
            co_await serve(self, tcp_stream, std::move(sni));
            co_return;
        }
        beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *self.tls_);
        if (self.behaviour_ == fake_behaviour::silent) {
            co_await drain(beast::get_lowest_layer(stream));
            co_return;
        }
        auto [ec] =
            co_await stream.async_handshake(asio::ssl::stream_base::server, tuple_awaitable);
        if (ec) {
            co_return;
        }
        if (const char* name =
                SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) {
            sni = name;
        }
        co_await serve(self, stream, std::move(sni));
    }

    static asio::awaitable<void> accept_loop(fake_server& self) {
        for (;;) {
            auto [ec, socket] = co_await self.acceptor_.async_accept(tuple_awaitable);
            if (ec) {
                co_return;
            }
            ++self.connections_;
            asio::co_spawn(self.ioc_, session(self, std::move(socket)), asio::detached);
        }
    }
};

bool recorded_request::has_header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
        if (beast::iequals(n, name)) {
            return true;
        }
    }
    return false;
}

std::string recorded_request::header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
        if (beast::iequals(n, name)) {
            return v;
        }
    }
    return {};
}

fake_server::fake_server(
    handler h, std::shared_ptr<asio::ssl::context> tls, const std::string& address
)
    : handler_(std::move(h)),
      tls_(std::move(tls)),
      acceptor_(ioc_, tcp::endpoint(asio::ip::make_address(address), 0)) {
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, access::accept_loop(*this), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
}

fake_server::~fake_server() {
    ioc_.stop();
    thread_.join();
}

std::vector<recorded_request> fake_server::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

void fake_server::record(recorded_request r) {
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(r));
}

std::shared_ptr<asio::ssl::context> make_server_tls(
    const std::string& cert_pem, const std::string& key_pem
) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->use_certificate_chain_file(cert_pem);
    ctx->use_private_key_file(key_pem, asio::ssl::context::pem);
    return ctx;
}

std::uint16_t closed_port() {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = a.local_endpoint().port();
    a.close();
    return port;
}

}  // namespace shotfarm::testing
