#include "net/url_policy.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace shotfarm::net {
namespace {

namespace urls = boost::urls;
using boost::asio::ip::address;
using boost::asio::ip::address_v4;
using boost::asio::ip::address_v6;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return s;
}

// A registered name goes to getaddrinfo() as is once decoded: a NUL would cut it short, and
// anything but letters, digits, '-', '.' and '_' is not a host name anyway.
// The host as DNS and the certificate check want it: decoded, lower-case, IP literals in
// their canonical text (so "0:0::1" and "::1" are the same origin).
std::string canonical_host(const urls::url_view& u) {
    switch (u.host_type()) {
        case urls::host_type::ipv4:
            return u.host_ipv4_address().to_string();
        case urls::host_type::ipv6:
            return lower(u.host_ipv6_address().to_string());
        case urls::host_type::name: {
            std::string name = lower(u.host_address());
            if (!valid_host_name(name)) {
                throw std::invalid_argument("URL host is not a valid host name");
            }
            return name;
        }
        default:
            throw std::invalid_argument("URL host must be a name or an IP address");
    }
}

std::uint16_t parse_port(std::string_view p) {
    unsigned value = 0;
    const auto r = std::from_chars(p.data(), p.data() + p.size(), value);
    if (r.ec != std::errc{} || r.ptr != p.data() + p.size() || value == 0 || value > 65535) {
        throw std::invalid_argument("URL port is invalid");
    }
    return static_cast<std::uint16_t>(value);
}

bool in_v4(std::uint32_t a, std::uint32_t net, int bits) {
    const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    return (a & mask) == net;
}

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

bool non_public_v4(const address_v4& a) {
    struct range {
        std::uint32_t net;
        int bits;
    };
    static constexpr std::array<range, 15> ranges{{
        {v4(0, 0, 0, 0), 8},        // "this network", unspecified
        {v4(10, 0, 0, 0), 8},       // RFC 1918
        {v4(100, 64, 0, 0), 10},    // CGNAT (RFC 6598)
        {v4(127, 0, 0, 0), 8},      // loopback
        {v4(169, 254, 0, 0), 16},   // link-local (cloud metadata services live here)
        {v4(172, 16, 0, 0), 12},    // RFC 1918
        {v4(192, 0, 0, 0), 24},     // IETF protocol assignments
        {v4(192, 0, 2, 0), 24},     // TEST-NET-1 (documentation)
        {v4(192, 88, 99, 0), 24},   // 6to4 relay anycast (deprecated)
        {v4(192, 168, 0, 0), 16},   // RFC 1918
        {v4(198, 18, 0, 0), 15},    // benchmarking
        {v4(198, 51, 100, 0), 24},  // TEST-NET-2
        {v4(203, 0, 113, 0), 24},   // TEST-NET-3
        {v4(224, 0, 0, 0), 4},      // multicast
        {v4(240, 0, 0, 0), 4},      // reserved, and 255.255.255.255 broadcast
    }};
    const std::uint32_t bits = a.to_uint();
    return std::any_of(ranges.begin(), ranges.end(), [&](const range& r) {
        return in_v4(bits, r.net, r.bits);
    });
}

address_v4 v4_at(const address_v6::bytes_type& b, std::size_t offset) {
    return address_v4(address_v4::bytes_type{b[offset], b[offset + 1], b[offset + 2], b[offset + 3]}
    );
}

// IPv6 is checked against what is public rather than what is not: only 2000::/3 is global
// unicast today. Forms that embed an IPv4 address (mapped, NAT64, 6to4) are judged by it.
bool non_public_v6(const address_v6& a) {
    const auto b = a.to_bytes();
    if (a.is_v4_mapped()) {  // ::ffff:a.b.c.d
        return non_public_v4(v4_at(b, 12));
    }
    static constexpr std::array<unsigned char, 12> nat64{0x00, 0x64, 0xff, 0x9b};  // 64:ff9b::/96
    if (std::equal(nat64.begin(), nat64.end(), b.begin())) {
        return non_public_v4(v4_at(b, 12));
    }
    if ((b[0] & 0xe0) != 0x20) {  // outside 2000::/3: ::/8, fc00::/7, fe80::/10, ff00::/8, ...
        return true;
    }
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02) {  // 2001::/23 (Teredo, ORCHID, ...)
        return true;
    }
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) {  // 2001:db8::/32
        return true;
    }
    if (b[0] == 0x20 && b[1] == 0x02) {  // 6to4: 2002:a.b.c.d::/48
        return non_public_v4(v4_at(b, 2));
    }
    if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0) {  // 3fff::/20 (documentation)
        return true;
    }
    return false;
}

}  // namespace

std::string origin::text() const {
    const bool v6 = host.find(':') != std::string::npos;
    return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Never echoes the URL: presigned URLs carry credentials in the query.
url_target parse_target(std::string_view url) {
    auto parsed = urls::parse_uri(url);  // a fragment is allowed, and never sent
    if (!parsed) {
        throw std::invalid_argument("malformed URL: " + parsed.error().message());
    }
    const urls::url_view u = *parsed;
    // Boost.URL 1.81 reads "http://h:8x/p" as port "8" and path "x/p": after an authority the
    // path must be empty or start with '/'.
    if (!u.encoded_path().empty() && !u.encoded_path().starts_with('/')) {
        throw std::invalid_argument("malformed URL: bad port or path");
    }
    url_target t;
    if (u.scheme_id() == urls::scheme::https) {
        t.tls = true;
    } else if (u.scheme_id() != urls::scheme::http) {
        throw std::invalid_argument("URL scheme must be http or https");
    }
    if (!u.has_authority() || u.encoded_host().empty()) {
        throw std::invalid_argument("URL has no host");
    }
    if (u.has_userinfo()) {
        throw std::invalid_argument("URL must not contain user-info");
    }
    t.host = canonical_host(u);
    const bool explicit_port = u.has_port() && !u.port().empty();
    const std::uint16_t port = explicit_port ? parse_port(u.port()) : (t.tls ? 443 : 80);
    t.port = std::to_string(port);
    t.host_header = std::string(u.encoded_host());
    if (explicit_port) {
        t.host_header += ":" + t.port;
    }
    t.path = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
    if (u.has_query()) {
        t.path += "?" + std::string(u.encoded_query());
    }
    t.display = std::string(u.encoded_host()) + ":" + t.port;
    t.org = origin{t.tls ? "https" : "http", t.host, port};
    return t;
}

std::optional<origin> parse_origin(std::string_view text, std::string* why) {
    auto fail = [&](std::string reason) -> std::optional<origin> {
        if (why != nullptr) {
            *why = std::move(reason);
        }
        return std::nullopt;
    };
    auto parsed = urls::parse_uri(text);
    if (!parsed) {
        return fail("not an absolute URL (scheme://host[:port])");
    }
    const urls::url_view u = *parsed;
    if (!u.encoded_path().empty() && u.encoded_path() != "/") {
        return fail("an origin has no path (scheme://host[:port])");
    }
    if (u.has_query() || u.has_fragment()) {
        return fail("an origin has no query or fragment (scheme://host[:port])");
    }
    try {
        return parse_target(text).org;
    } catch (const std::invalid_argument& e) {
        return fail(e.what());
    }
}

bool is_non_public(const address& a) {
    return a.is_v4() ? non_public_v4(a.to_v4()) : non_public_v6(a.to_v6());
}

url_policy::url_policy(std::string_view base_url, std::vector<std::string> download_hosts) {
    if (!base_url.empty()) {
        try {
            base_ = parse_target(base_url).org;
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(std::string("base_url: ") + e.what());
        }
    }
    hosts_.reserve(download_hosts.size());
    for (const auto& h : download_hosts) {
        std::string why;
        auto o = parse_origin(h, &why);
        if (!o) {
            throw std::invalid_argument("download_hosts entry: " + why);
        }
        hosts_.push_back(std::move(*o));
    }
}

bool url_policy::trusted(const origin& o) const {
    return (base_ && *base_ == o) || std::find(hosts_.begin(), hosts_.end(), o) != hosts_.end();
}

std::optional<std::string> url_policy::check_url(std::string_view url) const {
    url_target t;
    try {
        t = parse_target(url);
    } catch (const std::invalid_argument& e) {
        return std::string("unusable URL: ") + e.what();
    }
    if (!t.tls && !trusted(t.org)) {
        return "plain http to " + t.org.text() +
               " is not allowed: only https, the account's base_url origin or a download_hosts "
               "entry";
    }
    return std::nullopt;
}

std::optional<std::string> url_policy::check_address(const origin& o, const address& a) const {
    if (trusted(o)) {
        return std::nullopt;
    }
    if (o.scheme != "https") {
        return "plain http to " + o.text() + " is not allowed";
    }
    if (is_non_public(a)) {
        return o.text() + " resolves to " + a.to_string() +
               ", which is not a public address (allowed only for the account's base_url origin "
               "or a download_hosts entry)";
    }
    return std::nullopt;
}

}  // namespace shotfarm::net
