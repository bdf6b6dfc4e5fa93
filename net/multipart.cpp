#include "net/multipart.hpp"

#include <random>
#include <stdexcept>

namespace shotfarm::net {
namespace {

void check_header_text(std::string_view what, std::string_view s) {
    if (s.find_first_of(std::string_view("\r\n\0\"", 4)) != std::string_view::npos) {
        throw std::invalid_argument(
            std::string("multipart ") + std::string(what) + " must not contain CR, LF, NUL or '\"'"
        );
    }
}

std::string random_boundary() {
    static constexpr std::string_view alphabet =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::random_device rd;
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::string b = "shotfarm-";
    for (int i = 0; i < 32; ++i) {
        b += alphabet[pick(rd)];
    }
    return b;
}

}  // namespace

multipart_body make_multipart_file(
    std::string_view field,
    std::string_view filename,
    std::string_view file_content_type,
    std::string_view bytes
) {
    check_header_text("field name", field);
    check_header_text("file name", filename);
    check_header_text("content type", file_content_type);
    std::string boundary = random_boundary();
    while (bytes.find(boundary) != std::string_view::npos) {
        boundary = random_boundary();
    }
    multipart_body out;
    out.content_type = "multipart/form-data; boundary=" + boundary;
    out.body.reserve(bytes.size() + 256);
    out.body += "--" + boundary + "\r\n";
    out.body += "Content-Disposition: form-data; name=\"";
    out.body += field;
    out.body += "\"; filename=\"";
    out.body += filename;
    out.body += "\"\r\nContent-Type: ";
    out.body += file_content_type;
    out.body += "\r\n\r\n";
    out.body += bytes;
    out.body += "\r\n--" + boundary + "--\r\n";
    return out;
}

}  // namespace shotfarm::net
