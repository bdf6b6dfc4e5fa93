// HTTP/1.1 client on Boost.Beast, plain and TLS (verified: CA, host name, SNI), one connection
// per exchange, a deadline over the whole exchange, body limits. Used by provider adapters.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>

#include "net/url_policy.hpp"

namespace shotfarm::net {

struct http_request {
    boost::beast::http::verb method = boost::beast::http::verb::get;
    std::string url;  // absolute http:// or https:// URL (no user-info)
    std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Authorization","Bearer …"}
    std::string body;                                          // sent with Content-Length
    std::chrono::milliseconds timeout{30000};  // whole exchange: resolve+connect+TLS+write+read
    std::size_t max_response_bytes = 8u << 20;
};

struct http_response {
    unsigned status = 0;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
    // First header of that name (case-insensitive), if any.
    std::optional<std::string> header(std::string_view name) const;
};

struct exchange_result {
    boost::system::error_code ec;  // transport failure; a timeout is boost::beast::error::timeout
    bool request_sent = false;     // true once any request byte may have reached the peer
                                   // (conservative: set before the write starts)
    http_response response;        // meaningful only when !ec
    std::string host;              // "host:port" of the URL
    std::string stage;             // where it failed: resolve, connect, tls handshake, write, read
    std::string detail;            // e.g. the certificate verification failure
    // Human text (host, stage, reason); empty when !ec. Never contains header values, the
    // URL path or query (CDN URLs carry signatures there).
    std::string error_message() const;
};

struct download_result {
    boost::system::error_code ec;  // transport failure, size cap exceeded
                                   // (http::error::body_limit), or refused (errc::
                                   // permission_denied, see `refused`)
    unsigned status = 0;           // last HTTP status received; body in dest only for 2xx
    std::uint64_t bytes = 0;       // bytes written to dest (a partial file stays on failure)
    bool request_sent = false;     // as in exchange_result (any hop)
    std::string error_message;     // empty when !ec; never the URL path or query
    // The url_policy refused the URL, every resolved address, or a redirect hop (or there were
    // more than max_redirects hops): a fact about the answer, not a transport fault — never
    // retry. ec is set too, error_message gives the reason.
    bool refused = false;
    int redirects = 0;  // redirects taken (a hop the policy then refused counts)
};

struct client_options {
    std::optional<std::filesystem::path> extra_ca_file;  // an extra trusted CA (tests)
    std::string user_agent = "shotfarm/0.1";
};

// Thread-safety: an http_client may run any number of exchanges at once on its executor; each
// exchange owns its own connection. Do not share one across io_contexts running on different
// threads (the ssl::context is shared and read-only after construction, which OpenSSL allows,
// but nothing else is tested that way).
class http_client {
public:
    // Throws if the extra CA file cannot be loaded.
    explicit http_client(boost::asio::any_io_executor ex, client_options opts = {});
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    // One request/response exchange. Never retries (POSTs are paid, non-idempotent). Never
    // follows redirects (a 3xx is returned as is). Never throws for transport errors (returns
    // ec); throws std::invalid_argument for a malformed URL or a header containing CR, LF or NUL.
    // Adds Host, User-Agent (unless given), Content-Length; never Accept-Encoding.
    boost::asio::awaitable<exchange_result> send(http_request req);

    // GET streaming the body into `dest` (created/truncated, written as it arrives; not fsynced),
    // failing with ec once more than max_bytes arrive (Content-Length over the cap fails at
    // once, before dest is touched). Non-2xx: status set, dest not touched, no ec. On failure
    // after dest was opened the partial file is left in place and `bytes` says how much it
    // holds: the caller deletes it (write to a temp name, rename when complete).
    //
    // With a `policy` (the URL is hostile input): check_url() before anything, never a throw
    // for a bad URL; the resolved addresses are filtered by check_address() and the connection
    // goes only to those that passed (no second DNS answer). 301/302/303/307/308 with a
    // Location are followed up to `max_redirects` hops, each checked again; a hop carries no
    // request header but User-Agent (credentials never reach the next host). One deadline
    // (req.timeout) covers all hops. Refusals set `refused`.
    // Without a policy: the URL is trusted, redirects are not followed (a 3xx is a non-2xx
    // status), a malformed URL throws std::invalid_argument.
    boost::asio::awaitable<download_result> download(
        http_request req,
        std::filesystem::path dest,
        std::uint64_t max_bytes,
        const url_policy* policy = nullptr,
        int max_redirects = 3
    );

private:
    boost::asio::any_io_executor ex_;
    client_options opts_;
    std::unique_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace shotfarm::net
