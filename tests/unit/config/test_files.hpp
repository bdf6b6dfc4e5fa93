// Helpers for the config/shot-list tests: a temporary directory, real image bytes made in
// code (PNG with stored-deflate pixels, JPEG/WebP headers) and diagnostic matchers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "jobs/diagnostic.hpp"

namespace shotfarm::config_test {

class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    /// Writes `content` to path()/name (creating folders) with permission bits `mode`.
    std::filesystem::path write(
        const std::filesystem::path& name, std::string_view content, mode_t mode = 0644
    ) const;

private:
    std::filesystem::path path_;
};

/// A decodable grayscale PNG of w x h pixels (deflate "stored" blocks; value picks the shade).
std::string png_bytes(std::uint32_t w, std::uint32_t h, std::uint8_t value = 128);
/// JPEG headers up to the frame header: SOI, APP0 (JFIF), SOF (0xC0 or `sof`), EOI.
std::string jpeg_bytes(std::uint32_t w, std::uint32_t h, std::uint8_t sof = 0xc0);
/// A WebP (VP8X) header.
std::string webp_bytes(std::uint32_t w, std::uint32_t h);

/// All diagnostics, one per line, for failure messages.
std::string dump(const jobs::diagnostics& d);
/// Whether some diagnostic sits at line:col and contains `needle`.
bool has(const jobs::diagnostics& d, int line, int col, std::string_view needle);

/// Data folder of committed fixtures (tests/unit/config/data).
std::filesystem::path data_dir();

}  // namespace shotfarm::config_test
