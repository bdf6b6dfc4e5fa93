// make_multipart_file over hostile names and bytes: header text with CR, LF, NUL or '"' is
// refused (std::invalid_argument, nothing else), and any other input gives a body that
// reads back as exactly one part holding exactly the bytes.
#include <cstddef>
#include <cstdint>
#include <fuzzer/FuzzedDataProvider.h>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz/fuzz_support.hpp"
#include "net/multipart.hpp"

namespace {

bool header_safe(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0\"", 4)) == std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using shotfarm::fuzz::require;
    FuzzedDataProvider in(data, size);
    const std::string field = in.ConsumeRandomLengthString(64);
    const std::string filename = in.ConsumeRandomLengthString(256);
    const std::string type = in.ConsumeRandomLengthString(64);
    const std::string bytes = in.ConsumeRemainingBytesAsString();
    const bool safe = header_safe(field) && header_safe(filename) && header_safe(type);

    shotfarm::net::multipart_body mp;
    try {
        mp = shotfarm::net::make_multipart_file(field, filename, type, bytes);
    } catch (const std::invalid_argument&) {
        require(!safe, "only CR, LF, NUL or '\"' in a header value is refused", filename);
        return 0;
    }
    require(safe, "CR, LF, NUL or '\"' in a header value is refused", filename);

    const std::string_view prefix = "multipart/form-data; boundary=";
    require(mp.content_type.starts_with(prefix), "content type", mp.content_type);
    const std::string boundary = mp.content_type.substr(prefix.size());
    require(
        !boundary.empty() && boundary.size() <= 70 && header_safe(boundary),
        "boundary is 1 to 70 plain characters (RFC 2046)",
        boundary
    );
    require(bytes.find(boundary) == std::string::npos, "the boundary is not in the content");

    const std::string head = "--" + boundary + "\r\n" + "Content-Disposition: form-data; name=\"" +
                             field + "\"; filename=\"" + filename + "\"\r\nContent-Type: " + type +
                             "\r\n\r\n";
    const std::string tail = "\r\n--" + boundary + "--\r\n";
    require(mp.body.size() == head.size() + bytes.size() + tail.size(), "body size");
    require(std::string_view{mp.body}.starts_with(head), "one part's headers", mp.body);
    require(std::string_view{mp.body}.ends_with(tail), "the closing delimiter", mp.body);
    require(mp.body.compare(head.size(), bytes.size(), bytes) == 0, "the content, unchanged");
    // Exactly two delimiter lines: a third would split the part for the receiver.
    std::size_t delimiters = 0;
    for (auto at = mp.body.find("--" + boundary); at != std::string::npos;
         at = mp.body.find("--" + boundary, at + 1)) {
        ++delimiters;
    }
    require(delimiters == 2, "exactly one part", mp.body);
    return 0;
}
