#include "providers/inline_image.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

image_read read_image_file(const std::filesystem::path& file, bool allow_webp) {
    image_read r;
    const std::string changed = "changed since validation: ";
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        r.problem = changed + "cannot read " + file.string() + ": " + std::strerror(errno);
        return r;
    }
    struct fd_closer {
        int fd;
        ~fd_closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r.problem = changed + file.string() + " is not a regular file";
        return r;
    }
    const auto too_large = [&](const std::string& size) {
        return changed + file.string() + " is " + size + " bytes, above the 20 MB limit (" +
               std::to_string(max_image_bytes) + " bytes)";
    };
    if (static_cast<std::uintmax_t>(st.st_size) > max_image_bytes) {
        r.problem = too_large(std::to_string(st.st_size));
        return r;
    }
    // Read up to one byte past the cap: a file that grew after fstat is still refused.
    r.bytes.resize(static_cast<std::size_t>(st.st_size) + 1);
    std::size_t got = 0;
    while (got < max_image_bytes + 1) {
        if (got == r.bytes.size()) {
            r.bytes.resize(std::min<std::size_t>(r.bytes.size() * 2, max_image_bytes + 1));
        }
        const ssize_t n = ::read(fd, r.bytes.data() + got, r.bytes.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            r.problem = changed + "cannot read " + file.string() + ": " + std::strerror(errno);
            r.bytes.clear();
            return r;
        }
        if (n == 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    r.bytes.resize(got);
    if (got > max_image_bytes) {
        r.problem = too_large("over " + std::to_string(max_image_bytes));
        r.bytes.clear();
        return r;
    }
    r.mime = sniff_image_mime(r.bytes, allow_webp);
    if (r.mime.empty()) {
        r.problem = changed + file.string() + " is not a " +
                    std::string(allow_webp ? "PNG, JPEG or WebP" : "PNG or JPEG") +
                    " image by its bytes";
        r.bytes.clear();
    }
    return r;
}

upload_result inline_image(const std::filesystem::path& file, bool allow_webp) {
    upload_result r;
    image_read image = read_image_file(file, allow_webp);
    if (image.mime.empty()) {
        r.cls = outcome_class::rejected_input;
        r.message = std::move(image.problem);
        return r;
    }
    r.cls = outcome_class::ok;
    r.url = make_data_uri(image.mime, image.bytes);
    return r;
}

}  // namespace shotfarm::providers
