// Byte helpers the simulated providers share: hashing, base64, image sniffing, timestamps.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shotfarm::simulator {

std::string sha256_hex(std::string_view bytes);

// Lower-case hex of raw bytes.
std::string hex_lower(std::string_view bytes);

enum class base64_alphabet {
    standard,      // '+' '/', padded with '='
    url_unpadded,  // '-' '_', no padding (RFC 4648 §5, as JWKs and Ed25519 signatures use it)
};
std::string base64_encode(std::string_view bytes, base64_alphabet alphabet);

// Decodes standard base64 (whitespace ignored). nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);

struct image_info {
    std::string mime;         // "image/jpeg", "image/png" or "image/webp"
    std::string extension;    // "jpg", "png" or "webp"
    std::uint32_t width = 0;  // 0 when the header could not be read
    std::uint32_t height = 0;
};

// Recognises JPG, PNG and WebP by their magic bytes and reads their pixel size from the header
// (PNG IHDR, JPEG SOFn, WebP VP8/VP8L/VP8X). nullopt for anything else.
std::optional<image_info> sniff_image(std::string_view bytes);

// "2026-01-02T03:04:05.678Z"
std::string iso8601(std::chrono::system_clock::time_point t);

std::int64_t unix_ms(std::chrono::system_clock::time_point t);

}  // namespace shotfarm::simulator
