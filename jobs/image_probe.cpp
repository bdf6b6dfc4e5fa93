#include "jobs/image_probe.hpp"

#include <cstddef>

namespace shotfarm::jobs {
namespace {

std::uint32_t byte_at(std::string_view b, std::size_t i) {
    return static_cast<unsigned char>(b[i]);
}

std::uint32_t be16(std::string_view b, std::size_t i) {
    return (byte_at(b, i) << 8) | byte_at(b, i + 1);
}

std::uint32_t be32(std::string_view b, std::size_t i) {
    return (be16(b, i) << 16) | be16(b, i + 2);
}

std::uint32_t le16(std::string_view b, std::size_t i) {
    return byte_at(b, i) | (byte_at(b, i + 1) << 8);
}

std::uint32_t le24(std::string_view b, std::size_t i) {
    return le16(b, i) | (byte_at(b, i + 2) << 16);
}

std::optional<image_info> sized(image_format f, std::uint32_t w, std::uint32_t h) {
    if (w == 0 || h == 0) {
        return std::nullopt;
    }
    return image_info{f, w, h};
}

std::optional<image_info> probe_png(std::string_view b) {
    // Signature, then the IHDR chunk must come first: length 13, "IHDR", width, height.
    constexpr std::string_view signature{"\x89PNG\r\n\x1a\n", 8};
    if (b.size() < 24 || b.substr(0, 8) != signature || b.substr(12, 4) != "IHDR" ||
        be32(b, 8) != 13) {
        return std::nullopt;
    }
    const std::uint32_t w = be32(b, 16);
    const std::uint32_t h = be32(b, 20);
    if (w > 0x7fffffffu || h > 0x7fffffffu) {  // the PNG spec caps both at 2^31 - 1
        return std::nullopt;
    }
    return sized(image_format::png, w, h);
}

bool is_sof(std::uint32_t marker) {
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
    return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
}

std::optional<image_info> probe_jpeg(std::string_view b) {
    if (b.size() < 4 || byte_at(b, 0) != 0xff || byte_at(b, 1) != 0xd8) {
        return std::nullopt;
    }
    std::size_t i = 2;
    while (i < b.size()) {
        if (byte_at(b, i) != 0xff) {
            return std::nullopt;  // segments must follow each other back to back
        }
        while (i < b.size() && byte_at(b, i) == 0xff) {  // fill bytes
            ++i;
        }
        if (i >= b.size()) {
            return std::nullopt;
        }
        const std::uint32_t marker = byte_at(b, i++);
        if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
            continue;  // standalone markers carry no length
        }
        if (marker == 0xd9 || marker == 0xda) {
            return std::nullopt;  // end of image or scan data before any frame header
        }
        if (i + 2 > b.size()) {
            return std::nullopt;
        }
        const std::uint32_t length = be16(b, i);
        if (length < 2 || i + length > b.size()) {
            return std::nullopt;
        }
        if (is_sof(marker)) {
            if (length < 7) {
                return std::nullopt;
            }
            // length(2) precision(1) height(2) width(2)
            return sized(image_format::jpeg, be16(b, i + 5), be16(b, i + 3));
        }
        i += length;
    }
    return std::nullopt;
}

std::optional<image_info> probe_webp(std::string_view b) {
    if (b.size() < 30 || b.substr(0, 4) != "RIFF" || b.substr(8, 4) != "WEBP") {
        return std::nullopt;
    }
    const std::string_view chunk = b.substr(12, 4);
    if (chunk == "VP8X") {
        return sized(image_format::webp, le24(b, 24) + 1, le24(b, 27) + 1);
    }
    if (chunk == "VP8L") {
        if (byte_at(b, 20) != 0x2f) {
            return std::nullopt;
        }
        const std::uint32_t bits = le16(b, 21) | (le16(b, 23) << 16);
        return sized(image_format::webp, (bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1);
    }
    if (chunk == "VP8 ") {
        if (byte_at(b, 23) != 0x9d || byte_at(b, 24) != 0x01 || byte_at(b, 25) != 0x2a) {
            return std::nullopt;
        }
        return sized(image_format::webp, le16(b, 26) & 0x3fff, le16(b, 28) & 0x3fff);
    }
    return std::nullopt;
}

std::optional<std::string> png_truncation(std::string_view b) {
    std::size_t i = 8;
    while (i + 8 <= b.size()) {
        const std::uint64_t length = be32(b, i);
        const std::string type{b.substr(i + 4, 4)};
        if (i + 12 + length > b.size()) {
            return "PNG is cut off inside its " + type + " chunk";
        }
        if (type == "IEND") {
            return std::nullopt;
        }
        i += 12 + length;
    }
    return "PNG ends without its IEND chunk";
}

std::optional<std::string> jpeg_truncation(std::string_view b) {
    // Walk the segments to the first start-of-scan; the entropy-coded data after it cannot
    // contain FF D9 except as the end-of-image marker (FF bytes are stuffed as FF 00), while an
    // EXIF thumbnail before it may carry its own.
    std::size_t i = 2;
    while (i + 2 <= b.size() && byte_at(b, i) == 0xff) {
        while (i < b.size() && byte_at(b, i) == 0xff) {
            ++i;
        }
        if (i >= b.size()) {
            break;
        }
        const std::uint32_t marker = byte_at(b, i++);
        if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
            continue;
        }
        if (marker == 0xd9) {
            return std::nullopt;  // whole, if without a scan: not ours to judge
        }
        if (i + 2 > b.size()) {
            break;
        }
        const std::size_t length = be16(b, i);
        if (i + length > b.size()) {
            return "JPEG is cut off inside a header segment";
        }
        i += length;
        if (marker == 0xda) {
            if (b.find(std::string_view{"\xff\xd9", 2}, i) == std::string_view::npos) {
                return "JPEG ends without its end-of-image marker";
            }
            return std::nullopt;
        }
    }
    return "JPEG ends without its end-of-image marker";
}

std::optional<std::string> webp_truncation(std::string_view b) {
    if (b.size() < 8) {
        return std::string("WebP is cut off inside its RIFF header");
    }
    const std::uint64_t riff = le16(b, 4) | (static_cast<std::uint64_t>(le16(b, 6)) << 16);
    if (riff + 8 > b.size()) {
        return "WebP is " + std::to_string(b.size()) + " bytes but says it has " +
               std::to_string(riff + 8);
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> truncation(std::string_view bytes, image_format f) {
    switch (f) {
        case image_format::png:
            return png_truncation(bytes);
        case image_format::jpeg:
            return jpeg_truncation(bytes);
        case image_format::webp:
            return webp_truncation(bytes);
    }
    return std::nullopt;
}

std::optional<image_info> probe_image(std::string_view bytes) {
    if (auto png = probe_png(bytes)) {
        return png;
    }
    if (auto jpeg = probe_jpeg(bytes)) {
        return jpeg;
    }
    return probe_webp(bytes);
}

std::string_view to_string(image_format f) {
    switch (f) {
        case image_format::png:
            return "PNG";
        case image_format::jpeg:
            return "JPEG";
        case image_format::webp:
            return "WebP";
    }
    return "?";
}

std::string_view mime_type(image_format f) {
    switch (f) {
        case image_format::png:
            return "image/png";
        case image_format::jpeg:
            return "image/jpeg";
        case image_format::webp:
            return "image/webp";
    }
    return "application/octet-stream";
}

}  // namespace shotfarm::jobs
