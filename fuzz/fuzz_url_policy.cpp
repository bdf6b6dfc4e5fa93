// The download URL policy and the HTTP client's URL parser over hostile URLs. Input: a
// base_url line, a download-host line, then the URL a provider answered with. Checked: only
// std::invalid_argument ever leaves parse_target / url_policy; a URL the policy lets through
// parses into a request target that cannot smuggle anything into the request line or Host
// header; plain http only to a trusted origin; a non-public address only for a trusted
// origin; and no refusal echoes the URL's query (presigned URLs carry signatures there).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "fuzz/fuzz_support.hpp"
#include "net/url_policy.hpp"

namespace {

using namespace shotfarm;

std::string_view next_line(std::string_view& rest) {
    const auto eol = rest.find('\n');
    const auto line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
    return line;
}

bool clean(std::string_view s) {
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            return false;
        }
    }
    return true;
}

std::string lower(std::string_view s) {
    std::string out{s};
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

// A query long enough to be a signature must never come back in a message.
void check_no_query(std::string_view url, std::string_view message) {
    const auto q = url.find('?');
    if (q == std::string_view::npos) {
        return;
    }
    const auto query = url.substr(q + 1, url.find('#', q) - q - 1);
    // Long and without spaces or ':' (so not a piece of a fixed message), and not also in the
    // host or path, in any case (a message may name the host, lower-cased).
    if (query.size() >= 16 && query.find_first_of(" :") == std::string_view::npos &&
        lower(url.substr(0, q)).find(lower(query)) == std::string::npos) {
        fuzz::require(
            message.find(query) == std::string_view::npos,
            "a refusal never echoes the query",
            message
        );
    }
}

std::optional<net::url_target> parsed(std::string_view url) {
    try {
        auto t = net::parse_target(url);
        fuzz::require(!t.host.empty(), "a parsed URL has a host", url);
        fuzz::require(!t.port.empty() && t.port.size() <= 5, "a parsed URL has a port", t.port);
        unsigned port = 0;
        for (const char c : t.port) {
            fuzz::require(c >= '0' && c <= '9', "the port is a number", t.port);
            port = port * 10 + static_cast<unsigned>(c - '0');
        }
        fuzz::require(port >= 1 && port <= 65535, "the port is 1 to 65535", t.port);
        fuzz::require(t.org.port == port, "the origin's port is the port", t.port);
        fuzz::require(t.tls == (t.org.scheme == "https"), "tls exactly for https", url);
        // What goes into the request line and the Host header.
        fuzz::require(t.path.starts_with('/'), "origin-form path", t.path);
        fuzz::require(clean(t.path), "path without spaces or control characters", t.path);
        fuzz::require(t.path.find('#') == std::string::npos, "no fragment is sent", t.path);
        fuzz::require(clean(t.host_header), "Host header without spaces or controls", url);
        fuzz::require(!fuzz::has_control(t.host), "host without control characters", url);
        return t;
    } catch (const std::invalid_argument& e) {
        check_no_query(url, e.what());
        return std::nullopt;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto rest = fuzz::as_text(data, size);
    const auto base_url = next_line(rest);
    const auto download_host = next_line(rest);
    const auto url = rest;

    std::string why;
    if (const auto o = net::parse_origin(download_host, &why)) {
        fuzz::require(o->scheme == "http" || o->scheme == "https", "origin scheme", download_host);
        fuzz::require(o->port != 0, "origin port", download_host);
        const auto again = net::parse_origin(o->text());
        fuzz::require(again && *again == *o, "origin text() parses back to itself", o->text());
    }

    const auto target = parsed(url);
    std::optional<net::url_policy> policy;
    try {
        std::vector<std::string> hosts;
        if (!download_host.empty()) {
            hosts.emplace_back(download_host);
        }
        policy.emplace(base_url, std::move(hosts));
    } catch (const std::invalid_argument&) {
        policy.emplace();  // the default: https to public addresses only
    }

    const auto refusal = policy->check_url(url);
    if (refusal) {
        check_no_query(url, *refusal);
        return 0;
    }
    fuzz::require(target.has_value(), "a URL the policy allows parses", url);
    fuzz::require(
        target->tls || policy->trusted(target->org), "plain http only to a trusted origin", url
    );
    // An IP literal host is the address connected to: the per-address check must agree with
    // is_non_public and trust.
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(target->host, ec);
    if (!ec) {
        const auto verdict = policy->check_address(target->org, address);
        if (net::is_non_public(address) && !policy->trusted(target->org)) {
            fuzz::require(verdict.has_value(), "a non-public address is refused", url);
        }
        if (verdict) {
            check_no_query(url, *verdict);
        }
    }
    return 0;
}
