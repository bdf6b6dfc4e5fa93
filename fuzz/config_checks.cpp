#include "fuzz/config_checks.hpp"

#include <stdexcept>
#include <string>
#include <sys/stat.h>

#include <boost/asio/ip/address.hpp>

#include "fuzz/fuzz_support.hpp"
#include "net/url_policy.hpp"

namespace shotfarm::fuzz {

namespace {

void check_no_secret(const jobs::config_result& r) {
    for (const auto& e : r.errors) {
        const auto text = e.str();
        require(text.find(env_key) == std::string::npos, "an error shows the env key", text);
        require(text.find(file_key) == std::string::npos, "an error shows the file key", text);
        require(!has_control(e.message), "an error message is printable", text);
    }
}

bool loopback_host(const std::string& host) {
    if (host == "localhost") {
        return true;
    }
    boost::system::error_code ec;
    const auto a = boost::asio::ip::make_address(host, ec);
    return !ec && a.is_loopback();
}

void check_account(const jobs::account_config& a) {
    require(!a.base_url.empty(), "an account has a base_url", a.name);
    require(!has_control(a.base_url), "base_url without control characters", a.base_url);
    net::url_target t;
    try {
        t = net::parse_target(a.base_url + "/v1/x");
    } catch (const std::invalid_argument& e) {
        fail("an accepted base_url parses as the HTTP client parses it", a.base_url);
    }
    require(
        t.tls || loopback_host(t.host),
        "base_url is https unless its host is loopback (the key would travel in clear)",
        a.base_url
    );
    try {
        const net::url_policy policy(a.base_url, a.download_hosts);
        require(policy.trusted(t.org), "the base_url origin is trusted", a.base_url);
    } catch (const std::invalid_argument& e) {
        fail("an accepted account builds its download policy", e.what());
    }
    for (const auto& h : a.download_hosts) {
        std::string why;
        require(net::parse_origin(h, &why).has_value(), "a download host is an origin", h);
    }
}

void check(const jobs::config_result& r) {
    check_no_secret(r);
    require(r.config.has_value() == r.errors.empty(), "a config exactly when no errors");
    if (!r.config) {
        return;
    }
    const auto& c = *r.config;
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address(c.listen_host, ec);
    require(!ec, "listen is an IP address the daemon can bind", c.listen_host);
    require(
        c.listen_max_connections >= 1,
        "at least one connection",
        std::to_string(c.listen_max_connections)
    );
    require(!c.accounts.empty(), "an accepted config has accounts");
    for (const auto& a : c.accounts) {
        check_account(a);
    }
}

}  // namespace

void stock_keys() {
    ::setenv("SHOTFARM_FUZZ_KEY", std::string{env_key}.c_str(), 1);
    for (auto [name, content, mode] :
         {std::tuple{"key.txt", std::string{file_key} + "\n", 0600},
          std::tuple{"open.key", std::string{file_key} + "\n", 0644},
          std::tuple{"empty.key", std::string{}, 0600}}) {
        const auto p = write_scratch(name, content);
        if (::chmod(p.c_str(), static_cast<mode_t>(mode)) != 0) {
            fail("chmod of a scratch key file", p.string());
        }
    }
}

void load_and_check_config(const std::filesystem::path& file) {
    check(jobs::load_config(file, true));
    check(jobs::load_config(file, false));
}

}  // namespace shotfarm::fuzz
