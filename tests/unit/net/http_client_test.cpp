// http_client against an in-process Beast server on 127.0.0.1 (plain and TLS with a test CA).
#include "net/http_client.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

#include "tests/support/run_coro.hpp"
#include "tests/unit/net/fake_server.hpp"
#include "tests/unit/net/test_pki.hpp"

namespace shotfarm::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using shotfarm::testing::fake_behaviour;
using shotfarm::testing::fake_server;
using shotfarm::testing::run_coro;
using namespace std::chrono_literals;

fake_server::response_type make_response(
    http::status status,
    std::string body,
    std::vector<std::pair<std::string, std::string>> headers = {}
) {
    fake_server::response_type res{status, 11};
    for (auto& [n, v] : headers) {
        res.set(n, v);
    }
    res.body() = std::move(body);
    return res;
}

fake_server::handler echo_handler() {
    return [](const fake_server::request_type& req) {
        return make_response(
            http::status::ok,
            "you sent: " + req.body(),
            {{"X-Test-Header", "Value-1"}, {"Content-Type", "text/plain"}}
        );
    };
}

// Runs one send() on a fresh io_context with a client made by `opts`.
exchange_result send_one(http_request req, client_options opts = {}) {
    return run_coro([](http_request r, client_options o) -> asio::awaitable<exchange_result> {
        auto ex = co_await asio::this_coro::executor;
        http_client client(ex, std::move(o));
        co_return co_await client.send(std::move(r));
    }(std::move(req), std::move(opts)));
}

download_result download_one(http_request req, std::filesystem::path dest, std::uint64_t max) {
    return run_coro(
        [](http_request r, std::filesystem::path d, std::uint64_t m
        ) -> asio::awaitable<download_result> {
            // Executor first: GCC 12 destroys a default-argument temporary twice when it
            // shares a full-expression with co_await.
            auto ex = co_await asio::this_coro::executor;
            http_client client(ex);
            co_return co_await client.download(std::move(r), std::move(d), m);
        }(std::move(req), std::move(dest), max)
    );
}

std::string url(const fake_server& s, const std::string& host, const std::string& path) {
    return "http://" + host + ":" + std::to_string(s.port()) + path;
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (auto& c : s) {
        c = static_cast<char>(gen() & 0xff);
    }
    return s;
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class temp_dir {
public:
    temp_dir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "shotfarm-http-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// ---------------------------------------------------------------------------------------------
// Plain HTTP

TEST(http_client, get_round_trip_with_headers) {
    fake_server server(echo_handler());
    http_request req;
    req.url = url(server, "127.0.0.1", "/v1/model/result/abc?x=1&y=two");
    req.headers = {{"Authorization", "Bearer token-123"}, {"X-Custom", "c"}};
    const auto r = send_one(req);
    ASSERT_FALSE(r.ec) << r.error_message();
    EXPECT_TRUE(r.request_sent);
    EXPECT_EQ(r.response.status, 200u);
    EXPECT_EQ(r.response.body, "you sent: ");
    EXPECT_EQ(r.response.header("x-test-header"), "Value-1");
    EXPECT_EQ(r.response.header("X-TEST-HEADER"), "Value-1");
    EXPECT_FALSE(r.response.header("x-absent").has_value());
    for (const auto& [name, value] : r.response.headers) {
        for (const char c : name) {
            EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
        }
    }
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "GET");
    EXPECT_EQ(reqs[0].target, "/v1/model/result/abc?x=1&y=two");
    EXPECT_EQ(reqs[0].header("Authorization"), "Bearer token-123");
    EXPECT_EQ(reqs[0].header("X-Custom"), "c");
    EXPECT_EQ(reqs[0].header("Host"), "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(reqs[0].header("User-Agent"), "shotfarm/0.1");
    EXPECT_FALSE(reqs[0].has_header("Accept-Encoding"));
}

TEST(http_client, post_sends_body_with_content_length) {
    fake_server server(echo_handler());
    http_request req;
    req.method = http::verb::post;
    req.url = url(server, "localhost", "/api/v1/model/generateVideo");
    req.headers = {{"Content-Type", "application/json"}};
    req.body = R"({"model":"minimax/hailuo-02","prompt":"a cat"})";
    const auto r = send_one(req);
    ASSERT_FALSE(r.ec) << r.error_message();
    EXPECT_EQ(r.response.body, "you sent: " + req.body);
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "POST");
    EXPECT_EQ(reqs[0].body, req.body);
    EXPECT_EQ(reqs[0].header("Content-Length"), std::to_string(req.body.size()));
    EXPECT_EQ(reqs[0].header("Content-Type"), "application/json");
    EXPECT_FALSE(reqs[0].has_header("Transfer-Encoding"));
}

TEST(http_client, empty_post_sends_content_length_zero) {
    fake_server server(echo_handler());
    http_request req;
    req.method = http::verb::post;
    req.url = url(server, "127.0.0.1", "/");
    const auto r = send_one(req);
    ASSERT_FALSE(r.ec) << r.error_message();
    EXPECT_EQ(server.requests().at(0).header("Content-Length"), "0");
}

TEST(http_client, status_codes_are_passed_through) {
    for (const auto status :
         {http::status::bad_request,
          http::status::unauthorized,
          http::status::too_many_requests,
          http::status::internal_server_error,
          http::status::service_unavailable}) {
        fake_server server([status](const fake_server::request_type&) {
            return make_response(status, R"({"code":1,"msg":"no"})", {{"Retry-After", "7"}});
        });
        http_request req;
        req.url = url(server, "127.0.0.1", "/");
        const auto r = send_one(req);
        ASSERT_FALSE(r.ec) << r.error_message();
        EXPECT_EQ(r.response.status, static_cast<unsigned>(status));
        EXPECT_EQ(r.response.body, R"({"code":1,"msg":"no"})");
        EXPECT_EQ(r.response.header("retry-after"), "7");
    }
}

TEST(http_client, redirect_is_not_followed) {
    fake_server server([](const fake_server::request_type&) {
        return make_response(
            http::status::found, "", {{"Location", "http://127.0.0.1:1/elsewhere"}}
        );
    });
    http_request req;
    req.url = url(server, "127.0.0.1", "/start");
    const auto r = send_one(req);
    ASSERT_FALSE(r.ec) << r.error_message();
    EXPECT_EQ(r.response.status, 302u);
    EXPECT_EQ(r.response.header("location"), "http://127.0.0.1:1/elsewhere");
    EXPECT_EQ(server.requests().size(), 1u);
}

TEST(http_client, timeout_when_server_never_answers_counts_as_sent) {
    fake_server server(echo_handler());
    server.set_behaviour(fake_behaviour::never_answer);
    http_request req;
    req.method = http::verb::post;
    req.url = url(server, "127.0.0.1", "/submit");
    req.body = "paid";
    req.timeout = 300ms;
    const auto start = std::chrono::steady_clock::now();
    const auto r = send_one(req);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(r.ec, beast::error::timeout) << r.ec.message();
    EXPECT_TRUE(r.request_sent);
    EXPECT_EQ(r.stage, "read");
    EXPECT_GE(elapsed, 300ms);
    EXPECT_LT(elapsed, 5s);
    EXPECT_EQ(server.requests().size(), 1u);  // the request did arrive
    EXPECT_NE(r.error_message().find("timed out"), std::string::npos) << r.error_message();
}

TEST(http_client, connection_refused_is_not_sent) {
    http_request req;
    req.method = http::verb::post;
    req.url = "http://127.0.0.1:" + std::to_string(shotfarm::testing::closed_port()) + "/submit";
    req.body = "paid";
    const auto r = send_one(req);
    EXPECT_EQ(r.ec, asio::error::connection_refused) << r.ec.message();
    EXPECT_FALSE(r.request_sent);
    EXPECT_EQ(r.stage, "connect");
}

TEST(http_client, reset_mid_response_is_error_after_send) {
    fake_server server(echo_handler());
    server.set_behaviour(fake_behaviour::reset_mid_response);
    http_request req;
    req.method = http::verb::post;
    req.url = url(server, "127.0.0.1", "/submit");
    req.body = "paid";
    const auto r = send_one(req);
    EXPECT_TRUE(r.ec);
    EXPECT_TRUE(r.request_sent);
    EXPECT_EQ(r.stage, "read");
    EXPECT_EQ(server.requests().size(), 1u);
}

TEST(http_client, response_over_max_is_error) {
    fake_server server([](const fake_server::request_type&) {
        return make_response(http::status::ok, std::string(2000, 'x'));
    });
    http_request req;
    req.url = url(server, "127.0.0.1", "/");
    req.max_response_bytes = 1000;
    const auto r = send_one(req);
    EXPECT_EQ(r.ec, http::error::body_limit) << r.ec.message();
    EXPECT_TRUE(r.request_sent);

    req.max_response_bytes = 2000;  // exactly at the cap is fine
    const auto ok = send_one(req);
    ASSERT_FALSE(ok.ec) << ok.error_message();
    EXPECT_EQ(ok.response.body.size(), 2000u);
}

TEST(http_client, chunked_response_over_max_is_error) {
    fake_server server([](const fake_server::request_type&) {
        auto res = make_response(http::status::ok, std::string(5000, 'y'));
        res.chunked(true);
        return res;
    });
    http_request req;
    req.url = url(server, "127.0.0.1", "/");
    req.max_response_bytes = 1000;
    const auto r = send_one(req);
    EXPECT_EQ(r.ec, http::error::body_limit) << r.ec.message();
}

TEST(http_client, malformed_url_or_header_throws) {
    for (const char* bad :
         {"not a url",
          "ftp://127.0.0.1/x",
          "http:///nohost",
          "/relative/only",
          "http://user:pw@127.0.0.1/",
          "http://127.0.0.1:99999/"}) {
        http_request req;
        req.url = bad;
        EXPECT_THROW(send_one(req), std::invalid_argument) << bad;
    }
    http_request req;
    req.url = "http://127.0.0.1:1/";
    req.headers = {{"X-Evil", "a\r\nInjected: yes"}};
    EXPECT_THROW(send_one(req), std::invalid_argument);
}

TEST(http_client, error_message_names_host_and_stage_but_no_secrets) {
    http_request req;
    const auto port = std::to_string(shotfarm::testing::closed_port());
    req.url = "http://127.0.0.1:" + port + "/files/video.mp4?signature=canary-sig";
    req.headers = {{"Authorization", "Bearer canary-key"}};
    const auto r = send_one(req);
    ASSERT_TRUE(r.ec);
    const auto msg = r.error_message();
    EXPECT_NE(msg.find("127.0.0.1:" + port), std::string::npos) << msg;
    EXPECT_NE(msg.find("connect"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("canary"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("video.mp4"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------------------------
// Downloads

TEST(http_client, download_writes_body_to_file) {
    const std::string payload = random_bytes(300 * 1024 + 17, 1);
    fake_server server([&payload](const fake_server::request_type&) {
        return make_response(http::status::ok, payload, {{"Content-Type", "video/mp4"}});
    });
    temp_dir dir;
    const auto dest = dir.path() / "out.mp4";
    { std::ofstream(dest) << "old content that must be truncated away, and longer than nothing"; }
    http_request req;
    req.url = url(server, "127.0.0.1", "/cdn/out.mp4");
    const auto r = download_one(req, dest, 1u << 20);
    ASSERT_FALSE(r.ec) << r.error_message;
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.bytes, payload.size());
    EXPECT_EQ(read_file(dest), payload);
    EXPECT_EQ(server.requests().at(0).method, "GET");
}

TEST(http_client, download_chunked_body_to_file) {
    const std::string payload = random_bytes(200 * 1024, 2);
    fake_server server([&payload](const fake_server::request_type&) {
        auto res = make_response(http::status::ok, payload);
        res.chunked(true);
        return res;
    });
    temp_dir dir;
    const auto dest = dir.path() / "out.mp4";
    http_request req;
    req.url = url(server, "127.0.0.1", "/");
    const auto r = download_one(req, dest, 1u << 20);
    ASSERT_FALSE(r.ec) << r.error_message;
    EXPECT_EQ(read_file(dest), payload);
}

TEST(http_client, download_content_length_over_cap_fails_before_touching_dest) {
    fake_server server([](const fake_server::request_type&) {
        return make_response(http::status::ok, std::string(100 * 1024, 'z'));
    });
    temp_dir dir;
    const auto dest = dir.path() / "out.mp4";
    http_request req;
    req.url = url(server, "127.0.0.1", "/");
    const auto r = download_one(req, dest, 50 * 1024);
    EXPECT_EQ(r.ec, http::error::body_limit) << r.ec.message();
    EXPECT_EQ(r.status, 0u);
    EXPECT_EQ(r.bytes, 0u);
    EXPECT_FALSE(std::filesystem::exists(dest));
    EXPECT_FALSE(r.error_message.empty());
}

TEST(http_client, download_chunked_over_cap_fails_and_reports_partial_file) {
    const std::string payload = random_bytes(300 * 1024, 3);
    fake_server server([&payload](const fake_server::request_type&) {
        auto res = make_response(http::status::ok, payload);
        res.chunked(true);
        return res;
    });
    temp_dir dir;
    const auto dest = dir.path() / "out.mp4";
    http_request req;
    req.url = url(server, "127.0.0.1", "/");
    constexpr std::uint64_t cap = 100 * 1024;
    const auto r = download_one(req, dest, cap);
    EXPECT_EQ(r.ec, http::error::body_limit) << r.ec.message();
    EXPECT_EQ(r.status, 200u);
    EXPECT_GT(r.bytes, 0u);  // the server sends 8 KiB chunks: some arrive before the cap
    EXPECT_LE(r.bytes, cap);
    ASSERT_TRUE(std::filesystem::exists(dest));
    EXPECT_EQ(std::filesystem::file_size(dest), r.bytes);
    EXPECT_EQ(read_file(dest), payload.substr(0, r.bytes));
    EXPECT_NE(r.error_message.find("partial file"), std::string::npos) << r.error_message;
}

TEST(http_client, download_non_2xx_leaves_dest_untouched) {
    fake_server server([](const fake_server::request_type&) {
        return make_response(http::status::not_found, "no such file");
    });
    temp_dir dir;
    const auto dest = dir.path() / "out.mp4";
    http_request req;
    req.url = url(server, "127.0.0.1", "/");
    const auto r = download_one(req, dest, 1u << 20);
    EXPECT_FALSE(r.ec) << r.error_message;
    EXPECT_EQ(r.status, 404u);
    EXPECT_FALSE(std::filesystem::exists(dest));
}

TEST(http_client, download_reset_mid_body_is_error) {
    fake_server server(echo_handler());
    server.set_behaviour(fake_behaviour::reset_mid_response);
    temp_dir dir;
    http_request req;
    req.url = url(server, "127.0.0.1", "/");
    const auto r = download_one(req, dir.path() / "out.mp4", 1u << 20);
    EXPECT_TRUE(r.ec);
    EXPECT_TRUE(r.request_sent);
    EXPECT_LE(r.bytes, 10u);
}

// ---------------------------------------------------------------------------------------------
// TLS

class http_client_tls : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        pki_ = std::make_unique<shotfarm::testing::test_pki>();
        good_ = pki_->make_leaf("good", {"localhost"}, {"127.0.0.1"});
        wrong_host_ = pki_->make_leaf("wrong", {"wrong.example"}, {"10.9.8.7"});
        expired_ = pki_->make_leaf("expired", {"localhost"}, {"127.0.0.1"}, -3 * 86400, -86400);
    }
    static void TearDownTestSuite() { pki_.reset(); }

    static std::unique_ptr<fake_server> server_with(const shotfarm::testing::test_pki::leaf& l) {
        return std::make_unique<fake_server>(
            echo_handler(), shotfarm::testing::make_server_tls(l.cert.string(), l.key.string())
        );
    }
    static std::string https_url(const fake_server& s, const std::string& host) {
        return "https://" + host + ":" + std::to_string(s.port()) + "/v1/x";
    }
    static client_options trusting() {
        client_options o;
        o.extra_ca_file = pki_->ca_cert();
        return o;
    }

    static inline std::unique_ptr<shotfarm::testing::test_pki> pki_;
    static inline shotfarm::testing::test_pki::leaf good_;
    static inline shotfarm::testing::test_pki::leaf wrong_host_;
    static inline shotfarm::testing::test_pki::leaf expired_;
};

TEST_F(http_client_tls, trusted_via_extra_ca_ok_by_name_with_sni) {
    auto server = server_with(good_);
    http_request req;
    req.method = http::verb::post;
    req.url = https_url(*server, "localhost");
    req.body = "hello tls";
    const auto r = send_one(req, trusting());
    ASSERT_FALSE(r.ec) << r.error_message();
    EXPECT_EQ(r.response.status, 200u);
    EXPECT_EQ(r.response.body, "you sent: hello tls");
    const auto reqs = server->requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].sni, "localhost");
    EXPECT_EQ(reqs[0].header("Host"), "localhost:" + std::to_string(server->port()));
}

TEST_F(http_client_tls, trusted_via_extra_ca_ok_by_ip_without_sni) {
    auto server = server_with(good_);
    http_request req;
    req.url = https_url(*server, "127.0.0.1");
    const auto r = send_one(req, trusting());
    ASSERT_FALSE(r.ec) << r.error_message();
    EXPECT_EQ(r.response.status, 200u);
    EXPECT_EQ(server->requests().at(0).sni, "");
}

TEST_F(http_client_tls, untrusted_ca_fails_handshake_not_sent) {
    auto server = server_with(good_);
    http_request req;
    req.method = http::verb::post;
    req.url = https_url(*server, "localhost");
    req.body = "paid";
    const auto r = send_one(req);  // default trust store only
    EXPECT_TRUE(r.ec);
    EXPECT_FALSE(r.request_sent);
    EXPECT_EQ(r.stage, "tls handshake");
    EXPECT_NE(r.error_message().find("local issuer"), std::string::npos) << r.error_message();
    EXPECT_TRUE(server->requests().empty());
}

TEST_F(http_client_tls, wrong_host_name_fails_not_sent) {
    auto server = server_with(wrong_host_);
    http_request req;
    req.url = https_url(*server, "localhost");
    const auto r = send_one(req, trusting());
    EXPECT_TRUE(r.ec);
    EXPECT_FALSE(r.request_sent);
    EXPECT_NE(r.error_message().find("mismatch"), std::string::npos) << r.error_message();
    EXPECT_TRUE(server->requests().empty());
}

TEST_F(http_client_tls, wrong_ip_fails_not_sent) {
    auto server = server_with(wrong_host_);
    http_request req;
    req.url = https_url(*server, "127.0.0.1");
    const auto r = send_one(req, trusting());
    EXPECT_TRUE(r.ec);
    EXPECT_FALSE(r.request_sent);
    EXPECT_NE(r.error_message().find("mismatch"), std::string::npos) << r.error_message();
    EXPECT_TRUE(server->requests().empty());
}

TEST_F(http_client_tls, expired_certificate_fails_not_sent) {
    auto server = server_with(expired_);
    http_request req;
    req.url = https_url(*server, "localhost");
    const auto r = send_one(req, trusting());
    EXPECT_TRUE(r.ec);
    EXPECT_FALSE(r.request_sent);
    EXPECT_NE(r.error_message().find("expired"), std::string::npos) << r.error_message();
    EXPECT_TRUE(server->requests().empty());
}

TEST_F(http_client_tls, handshake_timeout_is_not_sent) {
    auto server = server_with(good_);
    server->set_behaviour(fake_behaviour::silent);
    http_request req;
    req.url = https_url(*server, "localhost");
    req.timeout = 300ms;
    const auto r = send_one(req, trusting());
    EXPECT_EQ(r.ec, beast::error::timeout) << r.ec.message();
    EXPECT_FALSE(r.request_sent);
    EXPECT_EQ(r.stage, "tls handshake");
}

TEST_F(http_client_tls, download_over_tls) {
    auto server = std::make_unique<fake_server>(
        [](const fake_server::request_type&) {
            return make_response(http::status::ok, std::string(70000, 'v'));
        },
        shotfarm::testing::make_server_tls(good_.cert.string(), good_.key.string())
    );
    temp_dir dir;
    http_request req;
    req.url = https_url(*server, "localhost");
    const auto r = run_coro(
        [](http_request rq, std::filesystem::path d, client_options o
        ) -> asio::awaitable<download_result> {
            auto ex = co_await asio::this_coro::executor;
            http_client client(ex, std::move(o));
            co_return co_await client.download(std::move(rq), std::move(d), 1u << 20);
        }(req, dir.path() / "v.mp4", trusting())
    );
    ASSERT_FALSE(r.ec) << r.error_message;
    EXPECT_EQ(r.bytes, 70000u);
    EXPECT_EQ(read_file(dir.path() / "v.mp4"), std::string(70000, 'v'));
}

TEST(http_client, missing_extra_ca_file_throws) {
    asio::io_context ioc;
    client_options o;
    o.extra_ca_file = "/nonexistent/ca.pem";
    EXPECT_ANY_THROW(http_client(ioc.get_executor(), o));
}

}  // namespace
}  // namespace shotfarm::net
