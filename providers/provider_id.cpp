#include "providers/provider_id.hpp"

namespace shotfarm::providers {

namespace {

bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

}  // namespace

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        return 1;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        n = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        n = 3;
        lo = b0 == 0xe0 ? 0xa0 : 0x80;
        hi = b0 == 0xed ? 0x9f : 0xbf;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        n = 4;
        lo = b0 == 0xf0 ? 0x90 : 0x80;
        hi = b0 == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (i + n > s.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < n; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) {
            return 0;
        }
    }
    return n;
}

std::optional<std::string> provider_id_problem(std::string_view id) {
    if (id.empty()) {
        return "it is empty";
    }
    if (id == "." || id == "..") {
        return "it is a dot-segment, which a server may resolve as a path step";
    }
    if (id.size() > max_provider_id_bytes) {
        return "it is " + std::to_string(id.size()) + " bytes long, over the " +
               std::to_string(max_provider_id_bytes) + "-byte limit";
    }
    for (std::size_t i = 0; i < id.size();) {
        const auto c = static_cast<unsigned char>(id[i]);
        if (c < 0x20 || c == 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            return std::string("it holds the control character 0x") + hex[c >> 4] + hex[c & 15] +
                   " at byte " + std::to_string(i);
        }
        const std::size_t n = utf8_sequence_length(id, i);
        if (n == 0) {
            return "it is not valid UTF-8 at byte " + std::to_string(i);
        }
        i += n;
    }
    return std::nullopt;
}

std::string encode_path_segment(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (unreserved(u)) {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

}  // namespace shotfarm::providers
