#include "providers/inline_image.hpp"

#include <fstream>
#include <iterator>
#include <system_error>

namespace shotfarm::providers {

std::string sniff_image_mime(std::string_view bytes, bool allow_webp) {
    if (bytes.starts_with(std::string_view("\x89PNG\r\n\x1a\n", 8))) {
        return "image/png";
    }
    if (bytes.starts_with(std::string_view("\xff\xd8\xff", 3))) {
        return "image/jpeg";
    }
    if (allow_webp && bytes.size() >= 12 && bytes.substr(0, 4) == "RIFF" &&
        bytes.substr(8, 4) == "WEBP") {
        return "image/webp";
    }
    return {};
}

std::string base64_encode(std::string_view bytes) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const auto n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 2]));
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += alphabet[n & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        unsigned n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2) {
            n |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        }
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string make_data_uri(std::string_view mime, std::string_view bytes) {
    std::string uri = "data:";
    uri += mime;
    uri += ";base64,";
    uri += base64_encode(bytes);
    return uri;
}

upload_result inline_image(const std::filesystem::path& file, bool allow_webp) {
    upload_result r;
    r.cls = outcome_class::rejected_input;
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) {
        r.message = "cannot read " + file.string() + ": " + ec.message();
        return r;
    }
    if (size > max_inline_image_bytes) {
        r.message = file.string() + " is " + std::to_string(size) + " bytes, above the 20 MB limit";
        return r;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        r.message = "cannot read " + file.string();
        return r;
    }
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::string mime = sniff_image_mime(bytes, allow_webp);
    if (mime.empty()) {
        r.message = file.string() + " is not a " +
                    std::string(allow_webp ? "PNG, JPEG or WebP" : "PNG or JPEG") + " image";
        return r;
    }
    r.cls = outcome_class::ok;
    r.url = make_data_uri(mime, bytes);
    return r;
}

}  // namespace shotfarm::providers
