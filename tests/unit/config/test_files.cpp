#include "tests/unit/config/test_files.hpp"

#include <array>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>

namespace shotfarm::config_test {
namespace fs = std::filesystem;
namespace {

std::uint32_t crc32(std::string_view data) {
    static const auto table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t n = 0; n < 256; ++n) {
            std::uint32_t c = n;
            for (int k = 0; k < 8; ++k) {
                c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            }
            t[n] = c;
        }
        return t;
    }();
    std::uint32_t c = 0xffffffffu;
    for (char ch : data) {
        c = table[(c ^ static_cast<unsigned char>(ch)) & 0xff] ^ (c >> 8);
    }
    return c ^ 0xffffffffu;
}

void put32(std::string& s, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        s += static_cast<char>((v >> shift) & 0xff);
    }
}

void put16(std::string& s, std::uint32_t v) {
    s += static_cast<char>((v >> 8) & 0xff);
    s += static_cast<char>(v & 0xff);
}

void chunk(std::string& png, std::string_view type, std::string_view data) {
    put32(png, static_cast<std::uint32_t>(data.size()));
    std::string body{type};
    body += data;
    png += body;
    put32(png, crc32(body));
}

}  // namespace

temp_dir::temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "shotfarm-config-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

fs::path temp_dir::write(const fs::path& name, std::string_view content, mode_t mode) const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    {
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        if (!out) {
            throw std::runtime_error("cannot write " + p.string());
        }
    }
    if (::chmod(p.c_str(), mode) != 0) {
        throw std::runtime_error("chmod failed");
    }
    return p;
}

std::string png_bytes(std::uint32_t w, std::uint32_t h, std::uint8_t value) {
    std::string png{"\x89PNG\r\n\x1a\n", 8};
    std::string ihdr;
    put32(ihdr, w);
    put32(ihdr, h);
    ihdr += std::string{"\x08\x00\x00\x00\x00", 5};  // 8-bit grayscale, no interlace
    chunk(png, "IHDR", ihdr);

    std::string raw;
    raw.reserve(static_cast<std::size_t>(h) * (w + 1));
    for (std::uint32_t y = 0; y < h; ++y) {
        raw += '\0';  // filter: none
        raw.append(w, static_cast<char>(value));
    }
    std::string z{"\x78\x01", 2};
    for (std::size_t off = 0; off < raw.size() || off == 0;) {
        const std::size_t n = std::min<std::size_t>(65535, raw.size() - off);
        const bool last = off + n == raw.size();
        z += static_cast<char>(last ? 1 : 0);
        z += static_cast<char>(n & 0xff);
        z += static_cast<char>(n >> 8);
        z += static_cast<char>(~n & 0xff);
        z += static_cast<char>((~n >> 8) & 0xff);
        z.append(raw, off, n);
        off += n;
        if (last) {
            break;
        }
    }
    std::uint32_t a = 1, b = 0;
    for (char ch : raw) {
        a = (a + static_cast<unsigned char>(ch)) % 65521;
        b = (b + a) % 65521;
    }
    put32(z, (b << 16) | a);
    chunk(png, "IDAT", z);
    chunk(png, "IEND", "");
    return png;
}

std::string jpeg_bytes(std::uint32_t w, std::uint32_t h, std::uint8_t sof) {
    std::string j{"\xff\xd8", 2};
    j += std::string{"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18};
    j += '\xff';
    j += static_cast<char>(sof);
    put16(j, 17);  // length: 8 + 3 components * 3
    j += '\x08';
    put16(j, h);
    put16(j, w);
    j += std::string{"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10};
    j += std::string{"\xff\xd9", 2};
    return j;
}

std::string webp_bytes(std::uint32_t w, std::uint32_t h) {
    std::string s{"RIFF\x16\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00", 24};
    for (std::uint32_t v : {w - 1, h - 1}) {
        s += static_cast<char>(v & 0xff);
        s += static_cast<char>((v >> 8) & 0xff);
        s += static_cast<char>((v >> 16) & 0xff);
    }
    return s;
}

std::string dump(const jobs::diagnostics& d) {
    std::string out;
    for (const auto& e : d) {
        out += e.str() + "\n";
    }
    return out.empty() ? "(no diagnostics)\n" : out;
}

bool has(const jobs::diagnostics& d, int line, int col, std::string_view needle) {
    for (const auto& e : d) {
        if (e.line == line && e.col == col && e.message.find(needle) != std::string::npos) {
            return true;
        }
    }
    return false;
}

fs::path data_dir() {
    return SHOTFARM_CONFIG_TEST_DATA;
}

}  // namespace shotfarm::config_test
