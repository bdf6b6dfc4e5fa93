// Where an account's video URLs may be fetched from (the download URL policy), and the one URL
// parser of the HTTP client. A provider's answer names the URL, so the URL is hostile input:
// without a policy a crafted answer makes the daemon fetch its own /metrics, a cloud metadata
// service or anything else on the farm's network.
//
// The rule: https to a public address; or the account's base_url origin (scheme, host and port
// — that is how the simulator and tests serve files); or an origin the operator listed in the
// account's download_hosts. The address check is on the resolved address, and http_client
// connects only to the addresses that passed it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace shotfarm::net {

/// scheme://host:port, lower-case scheme and host, explicit port (default 80/443 filled in).
/// The host carries no brackets (an IPv6 literal is "::1"); text() adds them back.
struct origin {
    std::string scheme;  // "http" or "https"
    std::string host;
    std::uint16_t port = 0;
    std::string text() const;
    bool operator==(const origin&) const = default;
};

/// The host names the client will look up: letters, digits, '-', '.' and '_' (after
/// decoding). Inline so the config loader checks base_url and download_hosts by the same rule
/// without linking the HTTP client.
inline bool valid_host_name(std::string_view name) {
    if (name.empty()) {
        return false;
    }
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/// An absolute http(s) URL taken apart once: where to connect and what to ask for.
struct url_target {
    bool tls = false;
    std::string host;         // for DNS and certificate checks: no brackets, decoded, lower-case
    std::string port;         // explicit or the scheme's default
    std::string host_header;  // authority as written (brackets kept), port only if explicit
    std::string path;         // origin-form: path + query, never the fragment
    std::string display;      // "host:port" for error messages
    origin org;
};

/// Parses an absolute http(s) URL (no user-info). Throws std::invalid_argument with a message
/// that never echoes the URL's path or query (presigned URLs carry signatures there).
url_target parse_target(std::string_view url);

/// Parses "scheme://host[:port]" (an optional trailing "/", nothing else) into an origin;
/// nullopt and the reason in `why` (if given) when it is not one.
std::optional<origin> parse_origin(std::string_view text, std::string* why = nullptr);

/// True for addresses a download must not reach unless the operator trusted the origin:
/// loopback, private (RFC 1918, fc00::/7), link-local, multicast, unspecified, CGNAT, reserved,
/// documentation and benchmarking ranges, and IPv6 forms that embed such an IPv4 address.
bool is_non_public(const boost::asio::ip::address& a);

/// Where an account's video URLs may be fetched from. Immutable once built; cheap to copy.
class url_policy {
public:
    /// An empty policy: https to public addresses only.
    url_policy() = default;
    /// `base_url`: the account's API URL (any path; "" for none). `download_hosts`: origins as
    /// parse_origin() reads them. Throws std::invalid_argument on a malformed one.
    url_policy(std::string_view base_url, std::vector<std::string> download_hosts);

    /// Before any DNS: nullopt if this URL may be fetched so far, else the reason (never
    /// echoes the path or query). Refuses unparsable URLs, schemes other than http/https,
    /// user-info, and http:// to an origin that is not trusted().
    std::optional<std::string> check_url(std::string_view url) const;

    /// After DNS, per resolved address: nullopt if the connection may go there. Non-public
    /// addresses are refused unless `o` is trusted().
    std::optional<std::string> check_address(const origin& o, const boost::asio::ip::address& a)
        const;

    /// The base_url origin or a listed download host.
    bool trusted(const origin& o) const;

private:
    std::optional<origin> base_;
    std::vector<origin> hosts_;
};

}  // namespace shotfarm::net
