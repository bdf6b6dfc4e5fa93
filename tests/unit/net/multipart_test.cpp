#include "net/multipart.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

namespace shotfarm::net {
namespace {

TEST(multipart, one_file_part_shape) {
    const std::string bytes("\x89PNG\r\n\x1a\n\0binary", 14);
    const auto mp = make_multipart_file("file", "frame.png", "image/png", bytes);
    const std::string prefix = "multipart/form-data; boundary=";
    ASSERT_EQ(mp.content_type.rfind(prefix, 0), 0u) << mp.content_type;
    const std::string boundary = mp.content_type.substr(prefix.size());
    ASSERT_FALSE(boundary.empty());
    ASSERT_LE(boundary.size(), 70u);  // RFC 2046
    const std::string expected = "--" + boundary +
                                 "\r\n"
                                 "Content-Disposition: form-data; name=\"file\"; "
                                 "filename=\"frame.png\"\r\n"
                                 "Content-Type: image/png\r\n"
                                 "\r\n" +
                                 bytes + "\r\n--" + boundary + "--\r\n";
    EXPECT_EQ(mp.body, expected);
}

TEST(multipart, boundary_differs_between_bodies) {
    const auto a = make_multipart_file("file", "a.png", "image/png", "x");
    const auto b = make_multipart_file("file", "a.png", "image/png", "x");
    EXPECT_NE(a.content_type, b.content_type);
}

TEST(multipart, boundary_never_occurs_in_content) {
    for (int i = 0; i < 20; ++i) {
        const auto mp = make_multipart_file("file", "a.bin", "application/octet-stream", "data");
        const std::string boundary = mp.content_type.substr(mp.content_type.find('=') + 1);
        // exactly two occurrences: the opening and the closing delimiter
        const auto first = mp.body.find(boundary);
        const auto second = mp.body.find(boundary, first + 1);
        EXPECT_NE(second, std::string::npos);
        EXPECT_EQ(mp.body.find(boundary, second + 1), std::string::npos);
    }
}

TEST(multipart, header_injection_rejected) {
    EXPECT_THROW(make_multipart_file("file", "a\r\nX: y", "image/png", ""), std::invalid_argument);
    EXPECT_THROW(make_multipart_file("fi\"le", "a.png", "image/png", ""), std::invalid_argument);
    EXPECT_THROW(make_multipart_file("file", "a.png", "image/png\n", ""), std::invalid_argument);
}

}  // namespace
}  // namespace shotfarm::net
