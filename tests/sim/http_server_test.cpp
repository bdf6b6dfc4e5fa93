// net::http_server against real sockets on loopback: keep-alive, 413, handler failures, timers
// inside handlers, Expect: 100-continue, stop().
#include "net/http_server.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <gtest/gtest.h>

#include "tests/support/http_call.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using shotfarm::net::http_request_t;
using shotfarm::net::http_response_t;
using shotfarm::testing::http_call;

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

TEST(http_server, bind_failure_throws) {
    running_server first(echo_handler{});
    asio::io_context ioc;
    EXPECT_ANY_THROW(
        shotfarm::net::http_server(ioc.get_executor(), "127.0.0.1", first.port(), echo_handler{})
    );
}

}  // namespace
