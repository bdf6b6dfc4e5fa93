// probe_image: real format and pixel size from the bytes.
#include "jobs/image_probe.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

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

std::string jpeg_with_scan(std::string_view entropy) {
    std::string j = jpeg_bytes(640, 360);
    j.resize(j.size() - 2);  // drop EOI
    j += std::string{"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00", 14};
    j += entropy;
    j += std::string{"\xff\xd9", 2};
    return j;
}

TEST(image_probe, whole_files_are_not_truncated) {
    EXPECT_EQ(truncation(png_bytes(640, 360), image_format::png), std::nullopt);
    EXPECT_EQ(truncation(jpeg_bytes(640, 360), image_format::jpeg), std::nullopt);
    EXPECT_EQ(truncation(jpeg_with_scan("\x12\xff\x00\x34"), image_format::jpeg), std::nullopt);
    EXPECT_EQ(truncation(webp_bytes(640, 360), image_format::webp), std::nullopt);
}

TEST(image_probe, truncation_is_found_past_the_header) {
    const auto png = png_bytes(640, 360);
    ASSERT_TRUE(probe_image(png.substr(0, 50)));  // the header alone still probes fine
    EXPECT_EQ(
        truncation(png.substr(0, 50), image_format::png), "PNG is cut off inside its IDAT chunk"
    );
    EXPECT_EQ(
        truncation(png.substr(0, png.size() - 12), image_format::png),
        "PNG ends without its IEND chunk"
    );
    EXPECT_EQ(
        truncation(png.substr(0, png.size() - 1), image_format::png),
        "PNG is cut off inside its IEND chunk"
    );

    const auto jpeg = jpeg_with_scan(std::string(100, '\x55'));
    ASSERT_TRUE(probe_image(jpeg.substr(0, jpeg.size() - 50)));
    EXPECT_EQ(
        truncation(jpeg.substr(0, jpeg.size() - 50), image_format::jpeg),
        "JPEG ends without its end-of-image marker"
    );
    EXPECT_EQ(
        truncation(jpeg.substr(0, 30), image_format::jpeg),
        "JPEG is cut off inside a header segment"
    );

    const auto webp = webp_bytes(640, 360) + std::string(10, '\0');
    std::string grown = webp;
    grown[4] = static_cast<char>(grown[4] + 10);  // RIFF size counts the extra bytes
    EXPECT_EQ(truncation(grown, image_format::webp), std::nullopt);
    grown.resize(grown.size() - 4);
    EXPECT_EQ(truncation(grown, image_format::webp), "WebP is 36 bytes but says it has 40");
}

TEST(image_probe, a_real_jpeg_and_png_cut_in_half) {
    for (const char* name : {"desert_road.jpg", "dusk_harbour.png"}) {
        const auto path = std::filesystem::path(SHOTFARM_DEMO_FRAMES) / name;
        std::ifstream in(path, std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(in), {}};
        ASSERT_GT(bytes.size(), 1000u) << path;
        const auto info = probe_image(bytes);
        ASSERT_TRUE(info) << path;
        EXPECT_EQ(truncation(bytes, info->format), std::nullopt) << path;
        EXPECT_NE(truncation(bytes.substr(0, bytes.size() / 2), info->format), std::nullopt)
            << path;
    }
}

TEST(image_probe, rejects_zero_sizes) {
    EXPECT_FALSE(probe_image(png_bytes(0, 10)));
    EXPECT_FALSE(probe_image(jpeg_bytes(10, 0)));
}

}  // namespace
}  // namespace shotfarm::jobs
