#include "simulator/mp4.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>

namespace shotfarm::simulator {

namespace {

constexpr std::uint32_t frame_width = 16;
constexpr std::uint32_t frame_height = 16;
constexpr std::uint32_t frame_bytes = frame_width * frame_height * 3;  // RGB24
constexpr std::uint32_t timescale = 1000;                              // ms

// Big-endian byte writer for box payloads.
class writer {
public:
    writer& u8(std::uint8_t v) {
        out_.push_back(static_cast<char>(v));
        return *this;
    }
    writer& u16(std::uint16_t v) { return u8(static_cast<std::uint8_t>(v >> 8)).u8(v & 0xff); }
    writer& u32(std::uint32_t v) {
        return u16(static_cast<std::uint16_t>(v >> 16)).u16(static_cast<std::uint16_t>(v));
    }
    writer& zeros(std::size_t n) {
        out_.append(n, '\0');
        return *this;
    }
    writer& str(std::string_view s) {
        out_.append(s);
        return *this;
    }
    // version (8 bits) + flags (24 bits) of a FullBox.
    writer& full(std::uint8_t version, std::uint32_t flags) {
        return u8(version).u8((flags >> 16) & 0xff).u16(static_cast<std::uint16_t>(flags));
    }
    // The unity transformation matrix used by mvhd and tkhd.
    writer& matrix() {
        for (std::uint32_t v : {0x00010000u, 0u, 0u, 0u, 0x00010000u, 0u, 0u, 0u, 0x40000000u}) {
            u32(v);
        }
        return *this;
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

std::string box(std::string_view type, std::string_view payload) {
    writer w;
    w.u32(static_cast<std::uint32_t>(8 + payload.size())).str(type).str(payload);
    return w.take();
}

std::string boxes(std::string_view type, std::initializer_list<std::string> children) {
    std::string payload;
    for (const auto& c : children) {
        payload += c;
    }
    return box(type, payload);
}

std::string ftyp() {
    writer w;
    w.str("isom").u32(0x200).str("isom").str("iso2").str("mp41");
    return box("ftyp", w.take());
}

std::string mvhd(std::uint32_t duration) {
    writer w;
    w.full(0, 0).u32(0).u32(0).u32(timescale).u32(duration);
    w.u32(0x00010000).u16(0x0100).zeros(10).matrix().zeros(24).u32(2);
    return box("mvhd", w.take());
}

std::string tkhd(std::uint32_t duration) {
    writer w;
    w.full(0, 0x3).u32(0).u32(0).u32(1).u32(0).u32(duration).zeros(8);
    w.u16(0).u16(0).u16(0).u16(0).matrix();
    w.u32(frame_width << 16).u32(frame_height << 16);
    return box("tkhd", w.take());
}

std::string mdhd(std::uint32_t duration) {
    writer w;
    // language "und" packed as three 5-bit letters
    w.full(0, 0).u32(0).u32(0).u32(timescale).u32(duration).u16(0x55c4).u16(0);
    return box("mdhd", w.take());
}

std::string hdlr() {
    writer w;
    w.full(0, 0).u32(0).str("vide").zeros(12).str("VideoHandler").u8(0);
    return box("hdlr", w.take());
}

std::string vmhd() {
    writer w;
    w.full(0, 1).u16(0).u16(0).u16(0).u16(0);
    return box("vmhd", w.take());
}

std::string dinf() {
    writer url;
    url.full(0, 1);  // media data is in this file
    writer dref;
    dref.full(0, 0).u32(1).str(box("url ", url.take()));
    return box("dinf", box("dref", dref.take()));
}

std::string stsd() {
    // VisualSampleEntry 'raw ' (uncompressed RGB; 24-bit depth).
    writer entry;
    entry.zeros(6).u16(1);                     // reserved, data_reference_index
    entry.u16(0).u16(0).zeros(12);             // pre_defined, reserved, pre_defined
    entry.u16(frame_width).u16(frame_height);  // width, height
    entry.u32(0x00480000).u32(0x00480000);     // 72 dpi
    entry.u32(0).u16(1);                       // reserved, frame_count
    std::string name = "shotfarm-sim";
    entry.u8(static_cast<std::uint8_t>(name.size())).str(name).zeros(31 - name.size());
    entry.u16(24).u16(0xffff);  // depth, pre_defined = -1
    writer w;
    w.full(0, 0).u32(1).str(box("raw ", entry.take()));
    return box("stsd", w.take());
}

std::string stbl(std::uint32_t frames, std::uint32_t mdat_offset) {
    writer stts;
    stts.full(0, 0).u32(1).u32(frames).u32(timescale);  // one frame per second
    writer stsc;
    stsc.full(0, 0).u32(1).u32(1).u32(frames).u32(1);  // one chunk holding every frame
    writer stsz;
    stsz.full(0, 0).u32(frame_bytes).u32(frames);
    writer stco;
    stco.full(0, 0).u32(1).u32(mdat_offset);
    return boxes(
        "stbl",
        {stsd(),
         box("stts", stts.take()),
         box("stsc", stsc.take()),
         box("stsz", stsz.take()),
         box("stco", stco.take())}
    );
}

std::string moov(std::uint32_t frames, std::uint32_t mdat_offset) {
    const std::uint32_t duration = frames * timescale;
    return boxes(
        "moov",
        {mvhd(duration),
         boxes(
             "trak",
             {tkhd(duration),
              boxes(
                  "mdia",
                  {mdhd(duration),
                   hdlr(),
                   boxes("minf", {vmhd(), dinf(), stbl(frames, mdat_offset)})}
              )}
         )}
    );
}

// FNV-1a, to seed the pixel pattern from the job id.
std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) {
        h = (h ^ c) * 0x100000001b3ull;
    }
    return h;
}

std::string pixels(std::string_view job_id, std::uint32_t frames) {
    std::string data(static_cast<std::size_t>(frames) * frame_bytes, '\0');
    std::uint64_t x = fnv1a(job_id);
    for (auto& c : data) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>(x & 0xff);
    }
    // The id itself, readable in the first row of every frame.
    for (std::uint32_t f = 0; f < frames; ++f) {
        const auto n = std::min<std::size_t>(job_id.size(), frame_width * 3);
        std::copy_n(job_id.begin(), n, data.begin() + static_cast<std::ptrdiff_t>(f * frame_bytes));
    }
    return data;
}

}  // namespace

std::string make_mp4(std::string_view job_id, int duration_s) {
    const auto frames = static_cast<std::uint32_t>(std::max(duration_s, 1));
    const std::string head = ftyp();
    const std::string note = box("free", "shotfarm-sim job " + std::string(job_id));
    // moov's size does not depend on the offset value, so measure it once with a placeholder.
    const auto moov_size = moov(frames, 0).size();
    const auto mdat_offset = static_cast<std::uint32_t>(head.size() + moov_size + note.size() + 8);
    return head + moov(frames, mdat_offset) + note + box("mdat", pixels(job_id, frames));
}

}  // namespace shotfarm::simulator
