// http_client against an in-process Beast server on 127.0.0.1 (plain and TLS with a test CA).
#include "net/http_client.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>

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
// Downloads under the URL policy: the URL is hostile input (a provider's answer)

download_result download_checked(
    http_request req,
    std::filesystem::path dest,
    url_policy policy,
    int max_redirects = 3,
    client_options opts = {}
) {
    return run_coro(
        [](http_request r, std::filesystem::path d, url_policy p, int n, client_options o
        ) -> asio::awaitable<download_result> {
            auto ex = co_await asio::this_coro::executor;
            http_client client(ex, std::move(o));
            co_return co_await client.download(std::move(r), std::move(d), 1u << 20, &p, n);
        }(std::move(req), std::move(dest), std::move(policy), max_redirects, std::move(opts))
    );
}

std::string origin_of(const fake_server& s, const std::string& host = "127.0.0.1") {
    return "http://" + host + ":" + std::to_string(s.port());
}

fake_server::handler payload_handler(std::string payload) {
    return [payload](const fake_server::request_type&) {
        return make_response(http::status::ok, payload, {{"Content-Type", "video/mp4"}});
    };
}

// A refusal: flagged, an error, nothing sent, dest untouched, no secret in the message.
void expect_refused(
    const download_result& r, const std::filesystem::path& dest, std::string_view reason_part
) {
    EXPECT_TRUE(r.refused);
    EXPECT_TRUE(r.ec);
    EXPECT_FALSE(std::filesystem::exists(dest));
    EXPECT_NE(r.error_message.find(reason_part), std::string::npos) << r.error_message;
    EXPECT_EQ(r.error_message.find("canary"), std::string::npos) << r.error_message;
}

TEST(http_client_policy, untrusted_loopback_is_refused_without_a_connection) {
    fake_server target(payload_handler("secret metrics"));
    fake_server base(payload_handler("unused"));
    const url_policy policy(origin_of(base) + "/api", {});
    temp_dir dir;
    const auto dest = dir.path() / "v.mp4";
    http_request req;
    // Plain http on a loopback port the account does not own: refused before DNS.
    req.url = url(target, "127.0.0.1", "/metrics?canary=1");
    auto r = download_checked(req, dest, policy);
    expect_refused(r, dest, "plain http to " + origin_of(target));
    EXPECT_FALSE(r.request_sent);
    // https to the same place: refused on the resolved address.
    req.url = "https://127.0.0.1:" + std::to_string(target.port()) + "/canary-path";
    r = download_checked(req, dest, policy);
    expect_refused(r, dest, "resolves to 127.0.0.1");
    EXPECT_FALSE(r.request_sent);
    EXPECT_EQ(target.connections(), 0u);
    EXPECT_EQ(base.connections(), 0u);
}

TEST(http_client_policy, unusable_urls_are_refused_not_thrown) {
    temp_dir dir;
    const auto dest = dir.path() / "v.mp4";
    for (const char* bad : {
             "ftp://cdn.example.com/canary-path",
             "https://user:canary@cdn.example.com/v.mp4",
             "not a URL canary",
             "https://cdn.example.com:99999/canary-path",
         }) {
        http_request req;
        req.url = bad;
        const auto r = download_checked(req, dest, url_policy());
        expect_refused(r, dest, "unusable URL");
    }
    http_request req;
    req.url = "ftp://cdn.example.com/v.mp4";
    EXPECT_THROW(download_one(req, dest, 1024), std::invalid_argument);  // no policy: a bug
}

TEST(http_client_policy, base_url_origin_and_download_hosts_are_fetched) {
    const std::string payload = random_bytes(100 * 1024 + 3, 7);
    fake_server base(payload_handler(payload));
    fake_server cdn(payload_handler(payload));
    const url_policy policy(origin_of(base) + "/api/v1", {origin_of(cdn) + "/"});
    temp_dir dir;
    http_request req;
    req.url = url(base, "127.0.0.1", "/files/a.mp4");
    auto r = download_checked(req, dir.path() / "a.mp4", policy);
    ASSERT_FALSE(r.ec) << r.error_message;
    EXPECT_FALSE(r.refused);
    EXPECT_EQ(read_file(dir.path() / "a.mp4"), payload);
    req.url = url(cdn, "127.0.0.1", "/b.mp4");
    r = download_checked(req, dir.path() / "b.mp4", policy);
    ASSERT_FALSE(r.ec) << r.error_message;
    EXPECT_EQ(read_file(dir.path() / "b.mp4"), payload);
}

TEST(http_client_policy, host_name_is_checked_on_its_resolved_address) {
    fake_server server(payload_handler("local"));
    temp_dir dir;
    const auto dest = dir.path() / "v.mp4";
    http_request req;
    // https passes the URL check; "localhost" resolves to loopback, so the address check refuses.
    req.url = "https://localhost:" + std::to_string(server.port()) + "/v.mp4";
    auto r = download_checked(req, dest, url_policy());
    expect_refused(r, dest, "resolves to");
    EXPECT_EQ(server.connections(), 0u);
    // The same name as the account's base_url origin is trusted (the simulator's case).
    req.url = "http://localhost:" + std::to_string(server.port()) + "/v.mp4";
    r = download_checked(req, dest, url_policy(origin_of(server, "localhost"), {}));
    ASSERT_FALSE(r.ec) << r.error_message;
    EXPECT_EQ(read_file(dest), "local");
    // ... and 127.0.0.1 is another origin than localhost, even on the same port.
    req.url = url(server, "127.0.0.1", "/v.mp4");
    std::filesystem::remove(dest);
    r = download_checked(req, dest, url_policy(origin_of(server, "localhost"), {}));
    expect_refused(r, dest, "plain http");
}

// /hop/N answers 302 → /hop/N-1 (alternating relative, absolute and the other statuses);
// /hop/0 answers the payload.
fake_server::handler redirect_chain_handler(const std::string& payload, std::uint16_t port) {
    return [payload, port](const fake_server::request_type& req) {
        const std::string t(req.target());
        if (t.rfind("/hop/", 0) != 0) {
            return make_response(http::status::not_found, "");
        }
        const int n = std::stoi(t.substr(5));
        if (n == 0) {
            return make_response(http::status::ok, payload);
        }
        const http::status statuses[] = {
            http::status::found,
            http::status::moved_permanently,
            http::status::see_other,
            http::status::temporary_redirect,
            http::status::permanent_redirect,
        };
        const std::string next = "/hop/" + std::to_string(n - 1) + "?sig=canary#frag";
        const std::string location =
            n % 2 == 0 ? next : "http://127.0.0.1:" + std::to_string(port) + next;
        return make_response(statuses[n % 5], "redirect body", {{"Location", location}});
    };
}

TEST(http_client_policy, redirects_followed_up_to_the_limit) {
    const std::string payload = random_bytes(50 * 1024, 3);
    std::uint16_t port = 0;
    fake_server server([&](const fake_server::request_type& r) {
        return redirect_chain_handler(payload, port)(r);
    });
    port = server.port();
    const url_policy policy(origin_of(server), {});
    temp_dir dir;
    const auto dest = dir.path() / "v.mp4";
    http_request req;
    req.url = url(server, "127.0.0.1", "/hop/3");
    auto r = download_checked(req, dest, policy);
    ASSERT_FALSE(r.ec) << r.error_message;
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.redirects, 3);
    EXPECT_EQ(read_file(dest), payload);
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 4u);
    EXPECT_EQ(reqs[3].target, "/hop/0?sig=canary");  // query kept, fragment dropped
    EXPECT_EQ(server.connections(), 4u);             // one connection per hop

    std::filesystem::remove(dest);
    req.url = url(server, "127.0.0.1", "/hop/4");
    r = download_checked(req, dest, policy);
    expect_refused(r, dest, "too many redirects");
    EXPECT_EQ(r.redirects, 3);
    EXPECT_EQ(server.requests().size(), 4u + 4u);  // the 4th redirect is not followed

    // The limit is the caller's.
    req.url = url(server, "127.0.0.1", "/hop/1");
    r = download_checked(req, dest, policy, 0);
    expect_refused(r, dest, "too many redirects");
}

TEST(http_client_policy, redirect_to_a_refused_host_is_refused_before_connecting) {
    fake_server other_address(payload_handler("not for you"), nullptr, "127.0.0.2");
    fake_server other_port(payload_handler("not for you"));
    std::string location;
    fake_server base([&](const fake_server::request_type&) {
        return make_response(http::status::found, "", {{"Location", location}});
    });
    const url_policy policy(origin_of(base), {});
    temp_dir dir;
    const auto dest = dir.path() / "v.mp4";
    http_request req;
    req.url = url(base, "127.0.0.1", "/start");
    const std::pair<std::string, std::string> cases[] = {
        {url(other_address, "127.0.0.2", "/canary-path?canary"), "plain http"},
        {"https://127.0.0.2:" + std::to_string(other_address.port()) + "/canary", "resolves to"},
        {url(other_port, "127.0.0.1", "/canary-path"), "plain http"},
        {"ftp://127.0.0.1/canary", "unusable URL"},
        {"http://[::1", "unusable Location"},
    };
    for (const auto& [to, reason] : cases) {
        location = to;
        const auto r = download_checked(req, dest, policy);
        expect_refused(r, dest, reason);
        EXPECT_EQ(r.status, 302u);
        EXPECT_EQ(r.redirects, reason == "unusable Location" ? 0 : 1) << to;
    }
    EXPECT_EQ(other_address.connections(), 0u);
    EXPECT_EQ(other_port.connections(), 0u);
}

TEST(http_client_policy, credentials_are_not_sent_on_a_redirect_hop) {
    fake_server cdn(payload_handler("video"));
    fake_server base([&](const fake_server::request_type&) {
        return make_response(
            http::status::temporary_redirect, "", {{"Location", url(cdn, "127.0.0.1", "/v.mp4")}}
        );
    });
    const url_policy policy(origin_of(base), {origin_of(cdn)});
    temp_dir dir;
    http_request req;
    req.url = url(base, "127.0.0.1", "/start");
    req.headers = {
        {"Authorization", "Bearer canary-key"},
        {"Cookie", "session=canary"},
        {"X-Api-Key", "canary-key"},
        {"User-Agent", "shotfarm-test-agent"},
    };
    const auto r = download_checked(req, dir.path() / "v.mp4", policy);
    ASSERT_FALSE(r.ec) << r.error_message;
    EXPECT_EQ(r.redirects, 1);
    // The first hop got what the caller gave (so the test would see a leak)...
    ASSERT_EQ(base.requests().size(), 1u);
    EXPECT_EQ(base.requests()[0].header("Authorization"), "Bearer canary-key");
    // ... the download host gets none of it but the User-Agent, and its own Host.
    const auto reqs = cdn.requests();
    ASSERT_EQ(reqs.size(), 1u);
    for (const auto& [name, value] : reqs[0].headers) {
        EXPECT_EQ(value.find("canary"), std::string::npos) << name;
    }
    EXPECT_FALSE(reqs[0].has_header("Authorization"));
    EXPECT_FALSE(reqs[0].has_header("Cookie"));
    EXPECT_EQ(reqs[0].header("User-Agent"), "shotfarm-test-agent");
    EXPECT_EQ(reqs[0].header("Host"), "127.0.0.1:" + std::to_string(cdn.port()));
}

TEST(http_client_policy, without_a_policy_redirects_are_not_followed) {
    fake_server cdn(payload_handler("video"));
    fake_server base([&](const fake_server::request_type&) {
        return make_response(http::status::found, "", {{"Location", url(cdn, "127.0.0.1", "/v")}});
    });
    temp_dir dir;
    http_request req;
    req.url = url(base, "127.0.0.1", "/start");
    const auto r = download_one(req, dir.path() / "v.mp4", 1024);
    ASSERT_FALSE(r.ec) << r.error_message;
    EXPECT_EQ(r.status, 302u);
    EXPECT_EQ(r.redirects, 0);
    EXPECT_FALSE(r.refused);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "v.mp4"));
    EXPECT_EQ(cdn.connections(), 0u);
}

TEST(http_client_policy, redirect_without_location_is_a_plain_status) {
    fake_server base([](const fake_server::request_type&) {
        return make_response(http::status::found, "no location");
    });
    temp_dir dir;
    http_request req;
    req.url = url(base, "127.0.0.1", "/start");
    const auto r = download_checked(req, dir.path() / "v.mp4", url_policy(origin_of(base), {}));
    ASSERT_FALSE(r.ec) << r.error_message;
    EXPECT_FALSE(r.refused);
    EXPECT_EQ(r.status, 302u);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "v.mp4"));
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

TEST_F(http_client_tls, policy_trusts_an_https_base_url_on_loopback) {
    auto server = std::make_unique<fake_server>(
        [](const fake_server::request_type&) {
            return make_response(http::status::ok, "tls video");
        },
        shotfarm::testing::make_server_tls(good_.cert.string(), good_.key.string())
    );
    temp_dir dir;
    http_request req;
    req.url = https_url(*server, "localhost");
    const auto base = "https://localhost:" + std::to_string(server->port());
    auto r = download_checked(req, dir.path() / "v.mp4", url_policy(base, {}), 3, trusting());
    ASSERT_FALSE(r.ec) << r.error_message;
    EXPECT_EQ(read_file(dir.path() / "v.mp4"), "tls video");
    std::filesystem::remove(dir.path() / "v.mp4");
    // The same server without the trust: loopback is refused, before any handshake.
    r = download_checked(req, dir.path() / "v.mp4", url_policy(), 3, trusting());
    EXPECT_TRUE(r.refused);
    EXPECT_EQ(server->connections(), 1u);
}

TEST(http_client, missing_extra_ca_file_throws) {
    asio::io_context ioc;
    client_options o;
    o.extra_ca_file = "/nonexistent/ca.pem";
    EXPECT_ANY_THROW(http_client(ioc.get_executor(), o));
}

}  // namespace
}  // namespace shotfarm::net
