// net::http_server against real sockets on loopback: keep-alive, 413, handler failures, timers
// inside handlers, Expect: 100-continue, stop(); HEAD, the connection cap, the idle and header
// deadlines, the header size cap, the Host check; and the daemon's endpoints behind it.
#include "net/http_server.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <gtest/gtest.h>

#include "daemon/endpoints.hpp"
#include "tests/support/http_call.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using shotfarm::net::http_request_t;
using shotfarm::net::http_response_t;
using shotfarm::testing::http_call;
using namespace std::chrono_literals;

// Serves `handler` on 127.0.0.1:0 from an io_context running on its own thread.
class running_server {
public:
    explicit running_server(
        shotfarm::net::http_handler handler, shotfarm::net::server_options opts = {}
    )
        : work_(asio::make_work_guard(ioc_)),
          server_(ioc_.get_executor(), "127.0.0.1", 0, std::move(handler), std::move(opts)) {
        server_.start();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~running_server() {
        server_.stop();
        work_.reset();
        ioc_.stop();
        thread_.join();
    }
    std::uint16_t port() const { return server_.port(); }
    shotfarm::net::http_server& server() { return server_; }

private:
    asio::io_context ioc_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    shotfarm::net::http_server server_;
    std::thread thread_;
};

http_response_t text(http::status status, std::string body) {
    http_response_t res{status, 11};
    res.set(http::field::content_type, "text/plain");
    res.body() = std::move(body);
    return res;
}

// A handler that echoes "<method> <target> <body>" and counts calls.
struct echo_handler {
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    asio::awaitable<http_response_t> operator()(http_request_t req) const {
        ++*calls;
        co_return text(
            http::status::ok,
            std::string(req.method_string()) + " " + std::string(req.target()) + " " + req.body()
        );
    }
};

tcp::socket connect_to(asio::io_context& ioc, std::uint16_t port) {
    tcp::socket socket(ioc);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    return socket;
}

// A raw client connection whose every wait has a deadline: the exchanges run asynchronously on
// a private io_context (synchronous Asio calls would wait forever on a server that misbehaves).
class raw_connection {
public:
    explicit raw_connection(std::uint16_t port) {
        stream_.expires_after(10s);
        stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }

    beast::error_code send(const std::string& bytes) {
        beast::error_code result;
        stream_.expires_after(10s);
        asio::async_write(stream_, asio::buffer(bytes), [&](beast::error_code ec, std::size_t) {
            result = ec;
        });
        run();
        return result;
    }

    // Reads one response into `parser`.
    template <class Parser>
    beast::error_code read(Parser& parser) {
        beast::error_code result;
        stream_.expires_after(10s);
        http::async_read(stream_, buffer_, parser, [&](beast::error_code ec, std::size_t) {
            result = ec;
        });
        run();
        return result;
    }

    http_response_t read_response() {
        http::response_parser<http::string_body> parser;
        const auto ec = read(parser);
        EXPECT_FALSE(ec) << ec.message();
        return parser.release();
    }

    // Waits (up to `limit`) for the server to close the connection, discarding what arrives,
    // while `tick` (if given) runs every `period`; returns the read's final error and how long
    // the wait took.
    std::pair<beast::error_code, std::chrono::steady_clock::duration> wait_closed(
        std::chrono::seconds limit,
        std::function<void()> tick = {},
        std::chrono::milliseconds period = 100ms
    ) {
        const auto t0 = std::chrono::steady_clock::now();
        beast::error_code result;
        bool closed = false;
        asio::steady_timer ticker(ioc_);
        stream_.expires_after(limit);
        std::function<void()> read_more = [&] {
            stream_.async_read_some(asio::buffer(sink_), [&](beast::error_code ec, std::size_t) {
                if (ec) {
                    result = ec;
                    closed = true;
                    ticker.cancel();
                    return;
                }
                read_more();
            });
        };
        std::function<void()> arm = [&] {
            ticker.expires_after(period);
            ticker.async_wait([&](beast::error_code ec) {
                if (ec || closed) {
                    return;
                }
                tick();
                arm();
            });
        };
        // What the buffer already holds was read before the wait began.
        buffer_.consume(buffer_.size());
        read_more();
        if (tick) {
            arm();
        }
        run();
        return {result, std::chrono::steady_clock::now() - t0};
    }

    // Sends bytes without waiting for the write to complete (for a tick of wait_closed).
    void dribble(std::string bytes) {
        auto data = std::make_shared<std::string>(std::move(bytes));
        asio::async_write(
            stream_.socket(), asio::buffer(*data), [data](beast::error_code, std::size_t) {}
        );
    }

    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        // The server answers the half-close by closing: wait for it, so the session is gone.
        wait_closed(10s);
        stream_.close();
    }

    beast::flat_buffer& buffer() { return buffer_; }

private:
    void run() {
        ioc_.restart();
        ioc_.run();
    }

    asio::io_context ioc_;
    beast::tcp_stream stream_{ioc_};
    beast::flat_buffer buffer_;
    std::array<char, 4096> sink_{};
};

std::string get_request(const std::string& target, const std::string& host = "x") {
    return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
}

TEST(http_server, answers_and_keeps_the_connection_alive) {
    echo_handler handler;
    running_server server(handler);
    asio::io_context ioc;
    auto socket = connect_to(ioc, server.port());
    beast::flat_buffer buffer;
    for (int i = 0; i < 3; ++i) {
        http::request<http::string_body> req{http::verb::post, "/x" + std::to_string(i), 11};
        req.set(http::field::host, "localhost");
        req.body() = "hello";
        req.prepare_payload();
        http::write(socket, req);
        http::response<http::string_body> res;
        http::read(socket, buffer, res);
        EXPECT_EQ(res.result(), http::status::ok);
        EXPECT_EQ(res.body(), "POST /x" + std::to_string(i) + " hello");
        EXPECT_TRUE(res.keep_alive());
    }
    EXPECT_EQ(*handler.calls, 3);
}

TEST(http_server, closes_after_a_connection_close_request) {
    running_server server(echo_handler{});
    asio::io_context ioc;
    auto socket = connect_to(ioc, server.port());
    http::request<http::string_body> req{http::verb::get, "/", 11};
    req.keep_alive(false);
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    EXPECT_FALSE(res.keep_alive());
    beast::error_code ec;
    http::read(socket, buffer, res, ec);
    EXPECT_EQ(ec, http::error::end_of_stream);
}

TEST(http_server, body_over_the_limit_answers_413_and_closes) {
    echo_handler handler;
    shotfarm::net::server_options opts;
    opts.max_body_bytes = 1024;
    running_server server(handler, opts);

    auto ok = http_call(server.port(), http::verb::post, "/", std::string(1024, 'a'));
    EXPECT_EQ(ok.status, 200U);

    asio::io_context ioc;
    auto socket = connect_to(ioc, server.port());
    http::request<http::string_body> req{http::verb::post, "/", 11};
    req.body() = std::string(1025, 'a');
    req.prepare_payload();
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    EXPECT_EQ(res.result(), http::status::payload_too_large);
    EXPECT_FALSE(res.keep_alive());
    beast::error_code ec;
    http::read(socket, buffer, res, ec);
    EXPECT_TRUE(ec == http::error::end_of_stream || ec == asio::error::connection_reset) << ec;
    EXPECT_EQ(*handler.calls, 1) << "the oversized request must not reach the handler";
}

TEST(http_server, custom_error_response_shapes_413) {
    shotfarm::net::server_options opts;
    opts.max_body_bytes = 10;
    opts.error_response = [](http::status status) {
        return text(status, "custom " + std::to_string(static_cast<unsigned>(status)));
    };
    running_server server(echo_handler{}, opts);
    auto reply = http_call(server.port(), http::verb::post, "/", std::string(11, 'a'));
    EXPECT_EQ(reply.status, 413U);
    EXPECT_EQ(reply.body, "custom 413");
}

TEST(http_server, handler_exception_answers_500_without_detail) {
    running_server server([](http_request_t req) -> asio::awaitable<http_response_t> {
        if (req.target() == "/boom") {
            throw std::runtime_error("secret database password is hunter2");
        }
        co_return text(http::status::ok, "fine");
    });
    auto reply = http_call(server.port(), http::verb::get, "/boom");
    EXPECT_EQ(reply.status, 500U);
    EXPECT_EQ(reply.body.find("hunter2"), std::string::npos);
    EXPECT_EQ(reply.body.find("secret"), std::string::npos);
    // The server keeps serving.
    EXPECT_EQ(http_call(server.port(), http::verb::get, "/ok").body, "fine");
}

TEST(http_server, handler_may_await_timers_without_blocking_other_sessions) {
    running_server server([](http_request_t req) -> asio::awaitable<http_response_t> {
        if (req.target() == "/slow") {
            asio::steady_timer timer(co_await asio::this_coro::executor);
            timer.expires_after(std::chrono::milliseconds{300});
            co_await timer.async_wait(asio::use_awaitable);
        }
        co_return text(http::status::ok, std::string(req.target()));
    });
    const auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration fast_took{};
    std::thread fast([&] {
        // Sent while /slow is waiting on its timer.
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
        const auto t0 = std::chrono::steady_clock::now();
        EXPECT_EQ(http_call(server.port(), http::verb::get, "/fast").body, "/fast");
        fast_took = std::chrono::steady_clock::now() - t0;
    });
    auto slow = http_call(server.port(), http::verb::get, "/slow");
    fast.join();
    EXPECT_EQ(slow.body, "/slow");
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds{300});
    EXPECT_LT(fast_took, std::chrono::milliseconds{250});
}

TEST(http_server, expect_100_continue_is_honoured) {
    running_server server(echo_handler{});
    asio::io_context ioc;
    auto socket = connect_to(ioc, server.port());
    const std::string head =
        "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
    asio::write(socket, asio::buffer(head));
    beast::flat_buffer buffer;
    http::response<http::empty_body> interim;
    http::read(socket, buffer, interim);
    EXPECT_EQ(interim.result(), http::status::continue_);
    asio::write(socket, asio::buffer(std::string("data")));
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    EXPECT_EQ(res.body(), "POST /up data");
}

TEST(http_server, malformed_request_answers_400) {
    running_server server(echo_handler{});
    asio::io_context ioc;
    auto socket = connect_to(ioc, server.port());
    asio::write(socket, asio::buffer(std::string("NOT-HTTP\r\n\r\n")));
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    EXPECT_EQ(res.result(), http::status::bad_request);
}

TEST(http_server, stop_closes_idle_sessions_and_the_listener) {
    running_server server(echo_handler{});
    asio::io_context ioc;
    auto socket = connect_to(ioc, server.port());
    http::request<http::string_body> req{http::verb::get, "/", 11};
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    ASSERT_EQ(res.result(), http::status::ok);

    server.server().stop();
    server.server().stop();  // twice is fine
    // The idle keep-alive connection is closed by the server (the read returns, it does not
    // wait for the 30 s idle timeout).
    const auto t0 = std::chrono::steady_clock::now();
    beast::error_code ec;
    http::read(socket, buffer, res, ec);
    EXPECT_TRUE(ec);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds{5});
    // New connections are refused once the acceptor is closed.
    tcp::socket again(ioc);
    again.connect({asio::ip::make_address("127.0.0.1"), server.port()}, ec);
    EXPECT_TRUE(ec);
}

TEST(http_server, head_answer_has_headers_but_no_body_and_the_connection_stays_usable) {
    echo_handler handler;
    running_server server(handler);
    raw_connection conn(server.port());
    // Pipelined: HEAD then GET in one write; then a HEAD and a GET one after the other.
    ASSERT_FALSE(conn.send("HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n" + get_request("/b")));
    for (int round = 0; round < 2; ++round) {
        if (round == 1) {
            ASSERT_FALSE(conn.send("HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n"));
        }
        http::response_parser<http::empty_body> head;
        head.skip(true);  // a HEAD answer has no body, whatever its Content-Length says
        ASSERT_FALSE(conn.read(head));
        EXPECT_EQ(head.get().result(), http::status::ok);
        // The length of what GET would send ("HEAD /a " is 8 bytes).
        EXPECT_EQ(head.get()[http::field::content_length], "8");
        EXPECT_TRUE(head.get().keep_alive());
        if (round == 1) {
            ASSERT_FALSE(conn.send(get_request("/d")));
        }
        // Body bytes after the HEAD answer would be parsed here as a status line and fail.
        const auto res = conn.read_response();
        EXPECT_EQ(res.result(), http::status::ok);
        EXPECT_EQ(res.body(), round == 0 ? "GET /b " : "GET /d ");
        EXPECT_EQ(conn.buffer().size(), 0U) << "bytes beyond the GET answer";
    }
    EXPECT_EQ(*handler.calls, 4);
}

TEST(http_server, connections_over_the_cap_are_answered_503_and_a_closed_one_frees_its_slot) {
    echo_handler handler;
    shotfarm::net::server_options opts;
    opts.max_connections = 3;
    running_server server(handler, opts);

    // Three idle kept-alive sessions (each answered once, so each is surely accepted).
    std::vector<std::unique_ptr<raw_connection>> open;
    for (int i = 0; i < 3; ++i) {
        open.push_back(std::make_unique<raw_connection>(server.port()));
        ASSERT_FALSE(open.back()->send(get_request("/idle")));
        EXPECT_EQ(open.back()->read_response().result(), http::status::ok);
    }

    const auto t0 = std::chrono::steady_clock::now();
    raw_connection excess(server.port());
    ASSERT_FALSE(excess.send(get_request("/excess")));
    const auto refused = excess.read_response();
    EXPECT_EQ(refused.result(), http::status::service_unavailable);
    EXPECT_FALSE(refused.keep_alive());
    EXPECT_EQ(refused[http::field::retry_after], "1");
    // Closed by the server right after its answer, not after a 30 s idle timeout.
    const auto [ec, waited] = excess.wait_closed(10s);
    EXPECT_EQ(ec, asio::error::eof) << ec.message();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_EQ(*handler.calls, 3) << "the refused request must not reach the handler";

    // One session ends: its slot serves a new connection.
    open.front()->close();
    open.erase(open.begin());
    raw_connection next(server.port());
    ASSERT_FALSE(next.send(get_request("/next")));
    const auto served = next.read_response();
    EXPECT_EQ(served.result(), http::status::ok);
    EXPECT_EQ(served.body(), "GET /next ");
    // The three that remain are still served on their connections.
    for (auto& conn : open) {
        ASSERT_FALSE(conn->send(get_request("/again")));
        EXPECT_EQ(conn->read_response().result(), http::status::ok);
    }
}

TEST(http_server, an_idle_kept_alive_connection_is_closed_after_the_idle_timeout) {
    shotfarm::net::server_options opts;
    opts.idle_timeout = 1s;
    running_server server(echo_handler{}, opts);
    raw_connection conn(server.port());
    ASSERT_FALSE(conn.send(get_request("/")));
    const auto res = conn.read_response();
    ASSERT_EQ(res.result(), http::status::ok);
    ASSERT_TRUE(res.keep_alive());
    const auto [ec, waited] = conn.wait_closed(10s);
    EXPECT_NE(ec, beast::error::timeout) << "the server never closed the idle connection";
    EXPECT_GE(waited, 900ms);
    EXPECT_LT(waited, 3s);
}

TEST(http_server, a_connection_that_never_sends_a_request_is_closed_after_the_idle_timeout) {
    shotfarm::net::server_options opts;
    opts.idle_timeout = 1s;
    running_server server(echo_handler{}, opts);
    raw_connection conn(server.port());
    const auto [ec, waited] = conn.wait_closed(10s);
    EXPECT_NE(ec, beast::error::timeout) << "the server never closed the silent connection";
    EXPECT_LT(waited, 3s);
}

TEST(http_server, a_slow_loris_dribbling_header_bytes_is_closed_at_the_header_deadline) {
    echo_handler handler;
    shotfarm::net::server_options opts;
    opts.idle_timeout = 1s;
    running_server server(handler, opts);
    raw_connection conn(server.port());
    ASSERT_FALSE(conn.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    // One more header byte every 100 ms: never idle for long, never done.
    int dribbled = 0;
    const auto [ec, waited] = conn.wait_closed(10s, [&] {
        conn.dribble("a");
        ++dribbled;
    });
    EXPECT_NE(ec, beast::error::timeout) << "a byte at a time kept the header read alive";
    EXPECT_LT(waited, 3s);
    EXPECT_GE(dribbled, 5) << "the client did dribble while the server waited";
    EXPECT_EQ(*handler.calls, 0);
}

TEST(http_server, a_header_over_the_limit_answers_431_and_closes) {
    echo_handler handler;
    shotfarm::net::server_options opts;
    opts.max_header_bytes = 1024;
    running_server server(handler, opts);
    EXPECT_EQ(
        http_call(
            server.port(), http::verb::get, "/", {}, {{"X-Fill", std::string(512, 'a')}}
        ).status,
        200U
    );
    raw_connection conn(server.port());
    ASSERT_FALSE(
        conn.send("GET / HTTP/1.1\r\nHost: x\r\nX-Fill: " + std::string(2048, 'a') + "\r\n\r\n")
    );
    const auto res = conn.read_response();
    EXPECT_EQ(res.result(), http::status::request_header_fields_too_large);
    EXPECT_FALSE(res.keep_alive());
    const auto [ec, waited] = conn.wait_closed(10s);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    EXPECT_EQ(*handler.calls, 1);
}

TEST(http_server, host_header_name_strips_the_port_and_brackets_and_refuses_the_malformed) {
    using shotfarm::net::host_header_name;
    EXPECT_EQ(host_header_name("Farm.Example"), "farm.example");
    EXPECT_EQ(host_header_name("farm.example:9464"), "farm.example");
    EXPECT_EQ(host_header_name("farm.example.:9464"), "farm.example");
    EXPECT_EQ(host_header_name("127.0.0.1:80"), "127.0.0.1");
    EXPECT_EQ(host_header_name("[::1]:9464"), "::1");
    EXPECT_EQ(host_header_name("[0:0:0:0:0:0:0:1]"), "::1");
    EXPECT_EQ(host_header_name("localhost:"), "localhost");
    EXPECT_EQ(host_header_name(""), "");
    EXPECT_EQ(host_header_name("::1"), "") << "IPv6 needs brackets in Host";
    EXPECT_EQ(host_header_name("[::1"), "");
    EXPECT_EQ(host_header_name("[::1]x"), "");
    EXPECT_EQ(host_header_name("[farm.example]"), "");
    EXPECT_EQ(host_header_name("farm.example:http"), "");
    EXPECT_EQ(host_header_name("farm.example:123456"), "");
    EXPECT_EQ(host_header_name("user@farm.example"), "");
    EXPECT_EQ(host_header_name("farm example"), "");
    EXPECT_EQ(host_header_name(":9464"), "");
}

TEST(http_server, host_check_answers_421_to_hosts_not_allowed_on_the_paths_it_covers) {
    echo_handler handler;
    shotfarm::net::server_options opts;
    opts.allowed_hosts = {"Farm.Example", "::1"};
    opts.host_check_applies = [](std::string_view path) { return path != "/open"; };
    running_server server(handler, opts);
    const auto status = [&](const std::string& target, const std::string& host) {
        return http_call(server.port(), http::verb::get, target, {}, {{"Host", host}}).status;
    };
    EXPECT_EQ(status("/", "farm.example:9464"), 200U);
    EXPECT_EQ(status("/", "FARM.EXAMPLE."), 200U);
    EXPECT_EQ(status("/x?y=1", "[::1]:9464"), 200U);
    EXPECT_EQ(*handler.calls, 3);
    EXPECT_EQ(status("/", "evil.example"), 421U);
    EXPECT_EQ(status("/", "farm.example.evil.example"), 421U);
    EXPECT_EQ(status("/", "127.0.0.1:9464"), 421U) << "IP literals pass only when allowed";
    EXPECT_EQ(status("/", "farm.example:9464:1"), 421U);
    EXPECT_EQ(status("/open?x=1", "evil.example"), 200U) << "a path the check does not cover";
    EXPECT_EQ(*handler.calls, 4) << "a refused request must not reach the handler";

    // No Host header at all is refused too, and the connection carries on after a 421.
    raw_connection conn(server.port());
    ASSERT_FALSE(conn.send("GET / HTTP/1.1\r\n\r\n" + get_request("/", "farm.example")));
    EXPECT_EQ(conn.read_response().result(), http::status::misdirected_request);
    EXPECT_EQ(conn.read_response().result(), http::status::ok);
}

TEST(http_server, host_check_may_let_any_ip_literal_through) {
    shotfarm::net::server_options opts;
    opts.allowed_hosts = {"farm.example"};
    opts.allow_ip_literal_hosts = true;
    running_server server(echo_handler{}, opts);
    const auto status = [&](const std::string& host) {
        return http_call(server.port(), http::verb::get, "/", {}, {{"Host", host}}).status;
    };
    EXPECT_EQ(status("127.0.0.1:9464"), 200U);
    EXPECT_EQ(status("10.1.2.3"), 200U);
    EXPECT_EQ(status("[::1]:9464"), 200U);
    EXPECT_EQ(status("farm.example"), 200U);
    EXPECT_EQ(status("evil.example"), 421U);
    EXPECT_EQ(status("127.0.0.1.evil.example"), 421U);
}

// The daemon's endpoints behind the daemon's listener options.
class http_server_daemon_endpoints : public ::testing::Test {
protected:
    shotfarm::metrics::registry registry;
    shotfarm::daemon::endpoint_state state;
    running_server server{
        shotfarm::daemon::make_endpoints(registry, state),
        shotfarm::daemon::endpoint_server_options("127.0.0.1", 64)};

    shotfarm::testing::http_reply call(
        http::verb verb, const std::string& target, const std::string& host
    ) {
        return http_call(server.port(), verb, target, {}, {{"Host", host}});
    }
};

TEST_F(http_server_daemon_endpoints, answer_405_to_every_method_but_get_and_head) {
    for (auto verb : {http::verb::post, http::verb::put, http::verb::delete_, http::verb::patch}) {
        const auto reply = call(verb, "/metrics", "127.0.0.1");
        EXPECT_EQ(reply.status, 405U) << http::to_string(verb);
        EXPECT_EQ(reply.headers["Allow"], "GET, HEAD");
    }
    EXPECT_EQ(call(http::verb::get, "/healthz", "127.0.0.1").status, 200U);
}

TEST_F(http_server_daemon_endpoints, monitoring_paths_answer_any_host_and_other_paths_only_ours) {
    registry.add_counter("shotfarm_test_total", "A counter.", {}).with({}).inc();
    // Scrapers reach the monitoring paths by any name.
    const auto metrics = call(http::verb::get, "/metrics", "render01.studio.example:9464");
    EXPECT_EQ(metrics.status, 200U);
    EXPECT_NE(metrics.body.find("shotfarm_test_total 1"), std::string::npos) << metrics.body;
    EXPECT_EQ(call(http::verb::get, "/healthz", "evil.example").status, 200U);
    EXPECT_EQ(call(http::verb::get, "/readyz", "evil.example").status, 503U);
    // Any other path (a page at / would be one): only our names and IP literals.
    EXPECT_EQ(call(http::verb::get, "/", "evil.example:9464").status, 421U);
    EXPECT_EQ(call(http::verb::get, "/metricsx", "evil.example").status, 421U);
    EXPECT_EQ(call(http::verb::get, "/", "localhost:9464").status, 404U);
    EXPECT_EQ(call(http::verb::get, "/", "127.0.0.1:9464").status, 404U);
    EXPECT_EQ(call(http::verb::get, "/", "[::1]:9464").status, 404U);
    std::array<char, 256> name{};
    ASSERT_EQ(::gethostname(name.data(), name.size() - 1), 0);
    EXPECT_EQ(call(http::verb::get, "/", std::string(name.data())).status, 404U);
}

TEST_F(http_server_daemon_endpoints, head_on_metrics_sends_the_length_and_no_body) {
    registry.add_counter("shotfarm_test_total", "A counter.", {}).with({}).inc();
    raw_connection conn(server.port());
    ASSERT_FALSE(
        conn.send("HEAD /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + get_request("/metrics"))
    );
    http::response_parser<http::empty_body> head;
    head.skip(true);
    ASSERT_FALSE(conn.read(head));
    EXPECT_EQ(head.get().result(), http::status::ok);
    const auto get = conn.read_response();
    EXPECT_EQ(get.result(), http::status::ok);
    EXPECT_EQ(head.get()[http::field::content_length], std::to_string(get.body().size()));
}

TEST(http_server, bind_failure_throws) {
    running_server first(echo_handler{});
    asio::io_context ioc;
    EXPECT_ANY_THROW(
        shotfarm::net::http_server(ioc.get_executor(), "127.0.0.1", first.port(), echo_handler{})
    );
}

}  // namespace
