// multipart/form-data with one file part (Atlas uploadMedia, field "file"), RFC 7578.
#pragma once

#include <string>
#include <string_view>

namespace shotfarm::net {

struct multipart_body {
    std::string content_type;  // "multipart/form-data; boundary=..."
    std::string body;
};

// One part: Content-Disposition: form-data; name="<field>"; filename="<filename>", then
// Content-Type. The boundary is random and checked not to occur in `bytes`. Throws
// std::invalid_argument if `field`, `filename` or `file_content_type` contain CR, LF, NUL or
// `"` (they go into header lines).
multipart_body make_multipart_file(
    std::string_view field,
    std::string_view filename,
    std::string_view file_content_type,
    std::string_view bytes
);

}  // namespace shotfarm::net
