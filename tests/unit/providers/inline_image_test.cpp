// First-frame images as data: URIs (WaveSpeed, AI/ML API, MiniMax): type from the real bytes.
#include "providers/inline_image.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <gtest/gtest.h>

namespace shotfarm::providers {
namespace {

const std::string png_magic("\x89PNG\r\n\x1a\n", 8);
const std::string jpeg_magic("\xff\xd8\xff\xe0", 4);
const std::string webp_magic("RIFF\x10\x00\x00\x00WEBPVP8 ", 16);

class InlineImage : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("shotfarm-inline-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path write(const std::string& name, const std::string& bytes) {
        auto p = dir_ / name;
        std::ofstream(p, std::ios::binary) << bytes;
        return p;
    }

    std::filesystem::path dir_;
};

TEST(Base64, Rfc4648Vectors) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
    EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(SniffImageMime, ByTheBytes) {
    EXPECT_EQ(sniff_image_mime(png_magic + "rest", false), "image/png");
    EXPECT_EQ(sniff_image_mime(jpeg_magic, false), "image/jpeg");
    EXPECT_EQ(sniff_image_mime(webp_magic, true), "image/webp");
    EXPECT_EQ(sniff_image_mime(webp_magic, false), "") << "WebP only where allowed";
    EXPECT_EQ(sniff_image_mime("GIF89a", true), "");
    EXPECT_EQ(sniff_image_mime("", true), "");
}

TEST_F(InlineImage, APngNamedJpgIsSentAsPng) {
    const std::string bytes = png_magic + std::string("\x00\x01\x02", 3);
    auto r = inline_image(write("frame.jpg", bytes), false);
    ASSERT_EQ(r.cls, outcome_class::ok) << r.message;
    EXPECT_EQ(r.url, "data:image/png;base64," + base64_encode(bytes));
}

TEST_F(InlineImage, JpegAndWebp) {
    auto jpg = inline_image(write("a.jpeg", jpeg_magic), false);
    ASSERT_EQ(jpg.cls, outcome_class::ok);
    EXPECT_EQ(jpg.url, "data:image/jpeg;base64,/9j/4A==");

    auto webp_refused = inline_image(write("a.webp", webp_magic), false);
    EXPECT_EQ(webp_refused.cls, outcome_class::rejected_input);
    EXPECT_NE(webp_refused.message.find("PNG or JPEG"), std::string::npos);

    auto webp = inline_image(write("b.webp", webp_magic), true);
    ASSERT_EQ(webp.cls, outcome_class::ok);
    EXPECT_TRUE(webp.url.starts_with("data:image/webp;base64,UklGR")) << webp.url;
}

TEST_F(InlineImage, RefusesWhatCannotBeSent) {
    EXPECT_EQ(inline_image(dir_ / "missing.png", true).cls, outcome_class::rejected_input);
    EXPECT_EQ(
        inline_image(write("x.png", "not an image"), true).cls, outcome_class::rejected_input
    );
    auto big = dir_ / "big.png";
    {
        std::ofstream out(big, std::ios::binary);
        out << png_magic;
    }
    std::filesystem::resize_file(big, max_image_bytes + 1);
    auto r = inline_image(big, true);
    EXPECT_EQ(r.cls, outcome_class::rejected_input);
    EXPECT_NE(r.message.find("20 MB"), std::string::npos);
}

}  // namespace
}  // namespace shotfarm::providers
