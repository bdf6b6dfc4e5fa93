// Helpers the shotfarm-sim provider suites share: JSON access, hashing, base64, tiny image
// headers, full-URL fetches, ledger lookups and polling with a deadline.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "tests/support/http_call.hpp"
#include "tests/support/sim_process.hpp"

namespace shotfarm::testing::sim {

namespace json = boost::json;

inline json::object as_object(const http_reply& reply) {
    boost::system::error_code ec;
    auto v = json::parse(reply.body, ec);
    EXPECT_FALSE(ec) << reply.body;
    EXPECT_TRUE(!ec && v.is_object()) << reply.body;
    return !ec && v.is_object() ? v.as_object() : json::object{};
}

inline std::string str(const json::value* v) {
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

inline std::string str(const json::value& v) {
    return str(&v);
}

// GET of a full URL served by the simulator ("http://127.0.0.1:PORT/path").
inline http_reply fetch(const std::string& url) {
    const std::string prefix = "http://127.0.0.1:";
    EXPECT_EQ(url.rfind(prefix, 0), 0U) << url;
    const auto slash = url.find('/', prefix.size());
    const auto port = static_cast<std::uint16_t>(std::stoul(url.substr(prefix.size(), slash)));
    return http_call(port, boost::beast::http::verb::get, url.substr(slash));
}

inline std::string sha256_hex(const std::string& bytes) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr);
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
        std::array<char, 3> b{};
        std::snprintf(b.data(), b.size(), "%02x", md[i]);
        hex += b.data();
    }
    return hex;
}

inline std::string base64(const std::string& in) {
    static constexpr char table[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    auto at = [&in](std::size_t k) {
        return static_cast<unsigned>(static_cast<unsigned char>(in[k]));
    };
    for (; i + 2 < in.size(); i += 3) {
        const auto n = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
        out += {table[(n >> 18) & 63], table[(n >> 12) & 63], table[(n >> 6) & 63], table[n & 63]};
    }
    if (i + 1 == in.size()) {
        const auto n = at(i) << 16;
        out += {table[(n >> 18) & 63], table[(n >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        const auto n = (at(i) << 16) | (at(i + 1) << 8);
        out += {table[(n >> 18) & 63], table[(n >> 12) & 63], table[(n >> 6) & 63], '='};
    }
    return out;
}

// The head of a PNG of the given size (signature + IHDR + IEND): all the simulator reads.
inline std::string png(std::uint32_t width, std::uint32_t height) {
    std::string p("\x89PNG\r\n\x1a\n", 8);
    auto u32 = [&p](std::uint32_t v) {
        for (int s = 24; s >= 0; s -= 8) {
            p.push_back(static_cast<char>((v >> s) & 0xff));
        }
    };
    u32(13);
    p += "IHDR";
    u32(width);
    u32(height);
    p += std::string("\x08\x02\x00\x00\x00", 5);
    u32(0);
    u32(0);
    p += "IEND";
    u32(0xae426082);
    return p;
}

// The head of an extended WebP (RIFF/WEBP/VP8X) of the given canvas size.
inline std::string webp(std::uint32_t width, std::uint32_t height) {
    std::string w = "RIFF";
    w += std::string("\x16\x00\x00\x00", 4);
    w += "WEBPVP8X";
    w += std::string("\x0a\x00\x00\x00", 4);
    w += std::string(4, '\0');  // flags + reserved
    auto u24 = [&w](std::uint32_t v) {
        for (int s = 0; s <= 16; s += 8) {
            w.push_back(static_cast<char>((v >> s) & 0xff));
        }
    };
    u24(width - 1);
    u24(height - 1);
    return w;
}

inline std::string data_url(const std::string& mime, const std::string& bytes) {
    return "data:" + mime + ";base64," + base64(bytes);
}

inline const json::object* ledger_entry(const json::value& ledger, const std::string& id) {
    for (const auto& s : ledger.at("submissions").as_array()) {
        if (s.at("id") == id.c_str()) {
            return &s.as_object();
        }
    }
    return nullptr;
}

inline std::size_t submission_count(const sim_process& sim) {
    return sim.ledger().at("submissions").as_array().size();
}

// Calls `step` every 20 ms until it returns true or the deadline passes (then fails the test).
inline bool poll_until(
    const std::function<bool()>& step, std::chrono::seconds deadline = std::chrono::seconds{20}
) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        if (step()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    ADD_FAILURE() << "condition not reached within the deadline";
    return false;
}

}  // namespace shotfarm::testing::sim
