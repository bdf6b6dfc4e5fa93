// probe_image: real format and pixel size from the bytes.
#include "jobs/image_probe.hpp"

#include <gtest/gtest.h>

#include "tests/unit/config/test_files.hpp"

namespace shotfarm::jobs {
namespace {

using config_test::jpeg_bytes;
using config_test::png_bytes;
using config_test::webp_bytes;

TEST(image_probe, png_size_from_ihdr) {
    const auto info = probe_image(png_bytes(640, 360));
    ASSERT_TRUE(info);
    EXPECT_EQ(info->format, image_format::png);
    EXPECT_EQ(info->width, 640u);
    EXPECT_EQ(info->height, 360u);
    EXPECT_EQ(mime_type(info->format), "image/png");
}

TEST(image_probe, jpeg_size_from_first_sof_after_app_segments) {
    const auto info = probe_image(jpeg_bytes(1920, 1080));
    ASSERT_TRUE(info);
    EXPECT_EQ(info->format, image_format::jpeg);
    EXPECT_EQ(info->width, 1920u);
    EXPECT_EQ(info->height, 1080u);
}

TEST(image_probe, progressive_jpeg_sof2) {
    const auto info = probe_image(jpeg_bytes(400, 700, 0xc2));
    ASSERT_TRUE(info);
    EXPECT_EQ(info->width, 400u);
    EXPECT_EQ(info->height, 700u);
}

TEST(image_probe, jpeg_dht_marker_is_not_a_frame_header) {
    // A DHT (0xC4) segment before SOF0 must be skipped, not read as a size.
    std::string j{"\xff\xd8\xff\xc4\x00\x05\x00\x10\x20", 9};
    j += jpeg_bytes(512, 512).substr(2);
    const auto info = probe_image(j);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->width, 512u);
}

TEST(image_probe, webp_vp8x) {
    const auto info = probe_image(webp_bytes(800, 600));
    ASSERT_TRUE(info);
    EXPECT_EQ(info->format, image_format::webp);
    EXPECT_EQ(info->width, 800u);
    EXPECT_EQ(info->height, 600u);
}

TEST(image_probe, rejects_non_images_and_truncated_headers) {
    EXPECT_FALSE(probe_image(""));
    EXPECT_FALSE(probe_image("hello, this is not an image at all"));
    EXPECT_FALSE(probe_image("GIF89a\x01\x00\x01\x00"));
    const auto png = png_bytes(640, 360);
    EXPECT_FALSE(probe_image(png.substr(0, 20)));  // IHDR cut short
    const auto jpeg = jpeg_bytes(640, 360);
    EXPECT_FALSE(probe_image(jpeg.substr(0, 24)));                  // SOF cut short
    EXPECT_FALSE(probe_image(std::string{"\xff\xd8\xff\xd9", 4}));  // EOI before any frame
}

TEST(image_probe, rejects_zero_sizes) {
    EXPECT_FALSE(probe_image(png_bytes(0, 10)));
    EXPECT_FALSE(probe_image(jpeg_bytes(10, 0)));
}

}  // namespace
}  // namespace shotfarm::jobs
