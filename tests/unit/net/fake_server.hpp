// An in-process HTTP(S) server on 127.0.0.1:0 (or another loopback address) for client edge cases:
// answers through a handler, or misbehaves on purpose (silent, never answers, resets mid-response).
// Runs its own io_context on a background thread; records every request it reads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace shotfarm::testing {

enum class fake_behaviour {
    respond,             // read a request, answer with the handler's response, repeat
    silent,              // accept and read, never write a byte (TLS handshake never completes)
    never_answer,        // read the request, never answer
    reset_mid_response,  // send the status line, headers and part of the body, then RST
};

struct recorded_request {
    std::string method;
    std::string target;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // as received
    std::string sni;                                           // TLS only: the server name sent
    bool has_header(const std::string& name) const;
    std::string header(const std::string& name) const;  // "" if absent
};

class fake_server {
public:
    using request_type = boost::beast::http::request<boost::beast::http::string_body>;
    using response_type = boost::beast::http::response<boost::beast::http::string_body>;
    using handler = std::function<response_type(const request_type&)>;

    // `tls`: serve HTTPS with this context (certificate loaded), else plain HTTP. `address`:
    // where to listen (any 127.0.0.0/8 address works on Linux), on a free port.
    explicit fake_server(
        handler h,
        std::shared_ptr<boost::asio::ssl::context> tls = nullptr,
        const std::string& address = "127.0.0.1"
    );
    ~fake_server();
    fake_server(const fake_server&) = delete;
    fake_server& operator=(const fake_server&) = delete;

    void set_behaviour(fake_behaviour b) { behaviour_ = b; }
    std::uint16_t port() const { return port_; }
    std::vector<recorded_request> requests() const;
    std::size_t connections() const { return connections_; }  // accepted so far

    struct access;  // for the session code in the .cpp

private:
    void record(recorded_request r);

    handler handler_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    std::atomic<fake_behaviour> behaviour_{fake_behaviour::respond};
    std::atomic<std::size_t> connections_{0};
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    mutable std::mutex mutex_;
    std::vector<recorded_request> requests_;
    std::thread thread_;
};

// A server context for the given PEM certificate and key.
std::shared_ptr<boost::asio::ssl::context> make_server_tls(
    const std::string& cert_pem, const std::string& key_pem
);

// A port on 127.0.0.1 where nothing listens (bound, then closed).
std::uint16_t closed_port();

}  // namespace shotfarm::testing
