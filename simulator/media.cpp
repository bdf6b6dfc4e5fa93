#include "simulator/media.hpp"

#include <array>
#include <ctime>

#include <openssl/evp.h>

namespace shotfarm::simulator {

namespace {

std::uint32_t be16(std::string_view b, std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) << 8) |
           static_cast<unsigned char>(b[at + 1]);
}

std::uint32_t be32(std::string_view b, std::size_t at) {
    return (be16(b, at) << 16) | be16(b, at + 2);
}

std::uint32_t byte(std::string_view b, std::size_t at) {
    return static_cast<unsigned char>(b[at]);
}

std::uint32_t le16(std::string_view b, std::size_t at) {
    return byte(b, at) | (byte(b, at + 1) << 8);
}

// Walks JPEG markers up to the first start-of-frame, which holds height and width.
void jpeg_size(std::string_view b, image_info& info) {
    std::size_t i = 2;
    while (i + 9 < b.size()) {
        if (static_cast<unsigned char>(b[i]) != 0xff) {
            return;
        }
        const auto marker = static_cast<unsigned char>(b[i + 1]);
        if (marker == 0xff) {
            ++i;  // fill byte
            continue;
        }
        if (marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
            i += 2;  // markers without a length
            continue;
        }
        const auto length = be16(b, i + 2);
        const bool is_sof =
            marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
        if (is_sof) {
            info.height = be16(b, i + 5);
            info.width = be16(b, i + 7);
            return;
        }
        i += 2 + length;
    }
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr);
    return hex_lower(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

std::string hex_lower(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        hex.push_back(digits[c >> 4]);
        hex.push_back(digits[c & 0xf]);
    }
    return hex;
}

std::string base64_encode(std::string_view bytes, base64_alphabet alphabet) {
    const bool url = alphabet == base64_alphabet::url_unpadded;
    const char* table = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char ch : bytes) {
        acc = (acc << 8) | static_cast<unsigned char>(ch);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(table[(acc >> bits) & 63]);
        }
    }
    if (bits > 0) {
        out.push_back(table[(acc << (6 - bits)) & 63]);
    }
    while (!url && out.size() % 4 != 0) {
        out.push_back('=');
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size() / 4 * 3);
    std::uint32_t acc = 0;
    int bits = 0;
    bool padding = false;
    for (char c : text) {
        int v = -1;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '+') {
            v = 62;
        } else if (c == '/') {
            v = 63;
        } else if (c == '=') {
            padding = true;
            continue;
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            continue;
        } else {
            return std::nullopt;
        }
        if (padding) {
            return std::nullopt;  // data after '='
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return out;
}

std::optional<image_info> sniff_image(std::string_view b) {
    image_info info;
    if (b.size() >= 24 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
        info.mime = "image/png";
        info.extension = "png";
        if (b.substr(12, 4) == "IHDR") {
            info.width = be32(b, 16);
            info.height = be32(b, 20);
        }
        return info;
    }
    if (b.size() >= 3 && static_cast<unsigned char>(b[0]) == 0xff &&
        static_cast<unsigned char>(b[1]) == 0xd8 && static_cast<unsigned char>(b[2]) == 0xff) {
        info.mime = "image/jpeg";
        info.extension = "jpg";
        jpeg_size(b, info);
        return info;
    }
    if (b.size() >= 30 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") {
        info.mime = "image/webp";
        info.extension = "webp";
        const auto chunk = b.substr(12, 4);
        if (chunk == "VP8X") {
            info.width = 1 + (le16(b, 24) | (static_cast<std::uint32_t>(byte(b, 26)) << 16));
            info.height = 1 + (le16(b, 27) | (static_cast<std::uint32_t>(byte(b, 29)) << 16));
        } else if (chunk == "VP8 " && byte(b, 23) == 0x9d && byte(b, 24) == 0x01 && byte(b, 25) == 0x2a) {
            info.width = le16(b, 26) & 0x3fff;
            info.height = le16(b, 28) & 0x3fff;
        } else if (chunk == "VP8L" && byte(b, 20) == 0x2f) {
            const std::uint32_t bits = le16(b, 21) | (le16(b, 23) << 16);
            info.width = (bits & 0x3fff) + 1;
            info.height = ((bits >> 14) & 0x3fff) + 1;
        }
        return info;
    }
    return std::nullopt;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
    const auto ms = unix_ms(t);
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    std::array<char, 40> buf{};
    const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
    std::array<char, 8> frac{};
    std::snprintf(frac.data(), frac.size(), ".%03dZ", static_cast<int>(ms % 1000));
    return std::string(buf.data(), n) + frac.data();
}

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace shotfarm::simulator
