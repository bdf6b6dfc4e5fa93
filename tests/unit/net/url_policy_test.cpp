// The download URL policy and the URL parser, table by table. The download tests that prove the
// client obeys the policy (no connection to a refused address, redirects checked hop by hop)
// are in http_client_test.cpp.
#include "net/url_policy.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace shotfarm::net {
namespace {

namespace ip = boost::asio::ip;

struct address_case {
    const char* address;
    bool non_public;
};

TEST(url_policy, non_public_address_ranges) {
    const address_case cases[] = {
        // IPv4: refused ranges, with their edges
        {"0.0.0.0", true},
        {"0.1.2.3", true},
        {"10.0.0.1", true},
        {"10.255.255.255", true},
        {"100.64.0.1", true},
        {"100.127.255.255", true},
        {"127.0.0.1", true},
        {"127.0.0.2", true},
        {"127.255.255.254", true},
        {"169.254.169.254", true},
        {"172.16.0.1", true},
        {"172.31.255.255", true},
        {"192.0.0.8", true},
        {"192.0.2.1", true},
        {"192.88.99.1", true},
        {"192.168.1.1", true},
        {"198.18.0.1", true},
        {"198.19.255.255", true},
        {"198.51.100.7", true},
        {"203.0.113.5", true},
        {"224.0.0.1", true},
        {"239.255.255.250", true},
        {"240.0.0.1", true},
        {"255.255.255.255", true},
        // IPv4: public, including the neighbours of refused ranges
        {"1.1.1.1", false},
        {"8.8.8.8", false},
        {"9.255.255.255", false},
        {"11.0.0.1", false},
        {"93.184.216.34", false},
        {"100.63.255.255", false},
        {"100.128.0.1", false},
        {"126.255.255.255", false},
        {"128.0.0.1", false},
        {"169.253.255.255", false},
        {"172.15.255.255", false},
        {"172.32.0.1", false},
        {"192.167.255.255", false},
        {"192.169.0.1", false},
        {"198.17.255.255", false},
        {"198.20.0.1", false},
        {"223.255.255.255", false},
        // IPv6
        {"::", true},
        {"::1", true},
        {"::127.0.0.1", true},  // IPv4-compatible (deprecated)
        {"::ffff:127.0.0.1", true},
        {"::ffff:10.0.0.1", true},
        {"::ffff:169.254.169.254", true},
        {"::ffff:0.0.0.0", true},
        {"::ffff:8.8.8.8", false},
        {"64:ff9b::7f00:1", true},    // NAT64 of 127.0.0.1
        {"64:ff9b::808:808", false},  // NAT64 of 8.8.8.8
        {"64:ff9b:1::1", true},       // local-use NAT64
        {"100::1", true},             // discard-only
        {"fc00::1", true},
        {"fd12:3456::1", true},
        {"fe80::1", true},
        {"febf::1", true},
        {"fec0::1", true},
        {"ff02::1", true},
        {"ff0e::1", true},
        {"2001::1", true},        // Teredo
        {"2001:db8::1", true},    // documentation
        {"2002:7f00:1::", true},  // 6to4 of 127.0.0.1
        {"2002:a00:1::", true},   // 6to4 of 10.0.0.1
        {"2002:808:808::1", false},
        {"3fff::1", true},  // documentation (RFC 9637)
        {"2606:4700:4700::1111", false},
        {"2001:4860:4860::8888", false},
        {"2a00:1450:4001::1", false},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(is_non_public(ip::make_address(c.address)), c.non_public) << c.address;
    }
}

TEST(url_policy, parse_target_takes_urls_apart) {
    const auto a = parse_target("https://CDN.Example.COM/v/clip.mp4?sig=abc#frag");
    EXPECT_TRUE(a.tls);
    EXPECT_EQ(a.host, "cdn.example.com");
    EXPECT_EQ(a.port, "443");
    EXPECT_EQ(a.path, "/v/clip.mp4?sig=abc");
    EXPECT_EQ(a.org, (origin{"https", "cdn.example.com", 443}));
    EXPECT_EQ(a.org.text(), "https://cdn.example.com:443");

    const auto b = parse_target("http://[::1]:8080");
    EXPECT_FALSE(b.tls);
    EXPECT_EQ(b.host, "::1");
    EXPECT_EQ(b.host_header, "[::1]:8080");
    EXPECT_EQ(b.path, "/");
    EXPECT_EQ(b.org.text(), "http://[::1]:8080");
    // The same IPv6 address written differently is the same origin.
    EXPECT_EQ(parse_target("http://[0:0::0:1]:8080/x").org, b.org);
    EXPECT_EQ(parse_target("HTTP://127.0.0.1/").org, (origin{"http", "127.0.0.1", 80}));
}

TEST(url_policy, parse_target_refuses_without_echoing_path_or_query) {
    const char* bad[] = {
        "ftp://cdn.example.com/canary-path?canary-query",
        "file:///etc/canary-path",
        "http://user:canary-pw@cdn.example.com/canary-path",
        "http://cdn.example.com:0/canary-path",
        "http://cdn.example.com:65536/canary-path",
        "http://cdn.example.com:8x/canary-path",
        "//cdn.example.com/canary-path",
        "/canary-path",
        "http:///canary-path",
        "http://exa%00mple.com/canary-path",
        "http://exa%20mple.com/canary-path",
        "http://[v1.canary]/canary-path",
        "https://cdn.example.com/canary path with spaces",
        "",
    };
    for (const char* url : bad) {
        try {
            parse_target(url);
            ADD_FAILURE() << "accepted: " << url;
        } catch (const std::invalid_argument& e) {
            EXPECT_EQ(std::string(e.what()).find("canary"), std::string::npos) << e.what();
        }
    }
}

TEST(url_policy, parse_origin) {
    struct ok_case {
        const char* text;
        origin want;
    };
    const ok_case ok[] = {
        {"https://cdn.example.com", {"https", "cdn.example.com", 443}},
        {"https://cdn.example.com/", {"https", "cdn.example.com", 443}},
        {"HTTP://CDN.Example.com:80", {"http", "cdn.example.com", 80}},
        {"http://10.1.2.3:8080", {"http", "10.1.2.3", 8080}},
        {"http://[::1]:9000", {"http", "::1", 9000}},
    };
    for (const auto& c : ok) {
        std::string why;
        const auto o = parse_origin(c.text, &why);
        ASSERT_TRUE(o) << c.text << ": " << why;
        EXPECT_EQ(*o, c.want) << c.text;
    }
    const char* bad[] = {
        "cdn.example.com",
        "https://cdn.example.com/videos",
        "https://cdn.example.com?x=1",
        "https://cdn.example.com#x",
        "https://user@cdn.example.com",
        "ftp://cdn.example.com",
        "https://",
        "https://cdn.example.com:99999",
        "",
    };
    for (const char* text : bad) {
        std::string why;
        EXPECT_FALSE(parse_origin(text, &why)) << text;
        EXPECT_FALSE(why.empty()) << text;
    }
    EXPECT_FALSE(parse_origin("nope"));  // `why` is optional
}

url_policy sample_policy() {
    return url_policy(
        "http://127.0.0.1:8080/api/v1", {"http://10.1.2.3:9000", "https://cdn.example.com/"}
    );
}

TEST(url_policy, check_url) {
    struct url_case {
        const char* url;
        bool allowed;
    };
    const url_case cases[] = {
        {"https://cdn.other.example/v.mp4?sig=1", true},   // https: decided by the address
        {"https://127.0.0.1:8443/v.mp4", true},            // idem (refused after DNS)
        {"https://[::1]:8443/v.mp4", true},                // idem
        {"http://127.0.0.1:8080/files/v.mp4", true},       // the base_url origin
        {"HTTP://127.0.0.1:8080/files/v.mp4", true},       // scheme case does not matter
        {"http://10.1.2.3:9000/v.mp4", true},              // a listed download host
        {"http://cdn.other.example/v.mp4", false},         // plain http, untrusted
        {"http://127.0.0.1:8081/files/v.mp4", false},      // port differs from base_url
        {"http://127.0.0.1/files/v.mp4", false},           // default port 80 is not 8080
        {"http://localhost:8080/files/v.mp4", false},      // another host name, another origin
        {"http://[::ffff:127.0.0.1]:8080/v.mp4", false},   // ditto, written as mapped IPv6
        {"http://10.1.2.3:9001/v.mp4", false},             // port differs from download host
        {"http://cdn.example.com/v.mp4", false},           // listed as https only
        {"ftp://cdn.example.com/v.mp4", false},            // scheme
        {"https://user:pw@cdn.example.com/v.mp4", false},  // user-info
        {"https://cdn.example.com:0/v.mp4", false},        // port
        {"not a url", false},
        {"", false},
    };
    const auto policy = sample_policy();
    for (const auto& c : cases) {
        const auto why = policy.check_url(c.url);
        EXPECT_EQ(!why.has_value(), c.allowed) << c.url << (why ? ": " + *why : "");
    }
    // The empty policy: https only.
    const url_policy empty;
    EXPECT_FALSE(empty.check_url("https://cdn.other.example/v.mp4"));
    EXPECT_TRUE(empty.check_url("http://cdn.other.example/v.mp4"));
    EXPECT_TRUE(empty.check_url("http://127.0.0.1:8080/v.mp4"));
}

TEST(url_policy, check_address) {
    struct address_check {
        const char* url;  // the origin is taken from it
        const char* address;
        bool allowed;
    };
    const address_check cases[] = {
        {"https://cdn.other.example/", "93.184.216.34", true},
        {"https://cdn.other.example/", "2606:4700:4700::1111", true},
        {"https://cdn.other.example/", "127.0.0.1", false},
        {"https://cdn.other.example/", "::1", false},
        {"https://cdn.other.example/", "::ffff:127.0.0.1", false},
        {"https://cdn.other.example/", "10.0.0.1", false},
        {"https://cdn.other.example/", "169.254.169.254", false},
        {"https://cdn.other.example/", "fe80::1", false},
        {"https://cdn.other.example/", "fd00::1", false},
        {"https://cdn.other.example/", "100.100.100.100", false},
        {"https://cdn.other.example/", "0.0.0.0", false},
        {"https://127.0.0.1:8443/", "127.0.0.1", false},
        {"https://[::1]:8443/", "::1", false},
        {"https://127.0.0.1:8080/", "127.0.0.1", false},  // base_url is http://…:8080, not https
        {"http://127.0.0.1:8080/", "127.0.0.1", true},    // the base_url origin
        {"http://127.0.0.1:8081/", "127.0.0.1", false},
        {"http://10.1.2.3:9000/", "10.1.2.3", true},            // listed
        {"https://cdn.example.com/", "10.0.0.5", true},         // listed: the operator trusts it
        {"http://cdn.other.example/", "93.184.216.34", false},  // plain http, untrusted
    };
    const auto policy = sample_policy();
    for (const auto& c : cases) {
        const auto o = parse_target(c.url).org;
        const auto why = policy.check_address(o, ip::make_address(c.address));
        EXPECT_EQ(!why.has_value(), c.allowed)
            << c.url << " at " << c.address << (why ? ": " + *why : "");
    }
    const url_policy empty;
    EXPECT_TRUE(empty.check_address(parse_target("https://x.example").org, ip::make_address("::1"))
    );
    EXPECT_FALSE(
        empty.check_address(parse_target("https://x.example").org, ip::make_address("8.8.4.4"))
    );
}

TEST(url_policy, trusted_is_exact_origin) {
    const auto policy = sample_policy();
    EXPECT_TRUE(policy.trusted({"http", "127.0.0.1", 8080}));
    EXPECT_FALSE(policy.trusted({"http", "127.0.0.1", 8081}));
    EXPECT_FALSE(policy.trusted({"https", "127.0.0.1", 8080}));
    EXPECT_FALSE(policy.trusted({"http", "localhost", 8080}));
    EXPECT_TRUE(policy.trusted({"https", "cdn.example.com", 443}));
    EXPECT_FALSE(policy.trusted({"https", "cdn.example.com", 8443}));
    EXPECT_FALSE(url_policy().trusted({"https", "cdn.example.com", 443}));
    // A base_url on an IPv6 literal: the same address written another way is the same origin.
    const url_policy v6("http://[::1]:8080", {});
    EXPECT_FALSE(v6.check_url("http://[0::1]:8080/v.mp4"));
    EXPECT_TRUE(v6.check_url("http://[::2]:8080/v.mp4"));
}

TEST(url_policy, reasons_never_echo_path_or_query) {
    const auto policy = sample_policy();
    const char* urls[] = {
        "http://cdn.other.example/canary-path?canary=1",
        "ftp://cdn.other.example/canary-path?canary=1",
        "https://u:canary@cdn.other.example/canary-path",
        "http://127.0.0.1:8081/canary-path?canary=1",
    };
    for (const char* url : urls) {
        const auto why = policy.check_url(url);
        ASSERT_TRUE(why) << url;
        EXPECT_EQ(why->find("canary"), std::string::npos) << *why;
    }
    const auto why = policy.check_address(
        parse_target("https://cdn.other.example/canary-path?canary=1").org,
        ip::make_address("10.0.0.1")
    );
    ASSERT_TRUE(why);
    EXPECT_EQ(why->find("canary"), std::string::npos) << *why;
    EXPECT_NE(why->find("10.0.0.1"), std::string::npos) << *why;
    EXPECT_NE(why->find("https://cdn.other.example:443"), std::string::npos) << *why;
}

TEST(url_policy, malformed_configuration_throws) {
    EXPECT_NO_THROW(url_policy("", {}));
    EXPECT_THROW(url_policy("ftp://api.example", {}), std::invalid_argument);
    EXPECT_THROW(url_policy("not a url", {}), std::invalid_argument);
    EXPECT_THROW(
        url_policy("https://api.example", {"https://cdn.example/path"}), std::invalid_argument
    );
    EXPECT_THROW(url_policy("https://api.example", {"cdn.example"}), std::invalid_argument);
    EXPECT_THROW(url_policy("https://api.example", {""}), std::invalid_argument);
}

}  // namespace
}  // namespace shotfarm::net
