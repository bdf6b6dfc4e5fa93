// A tiny MP4 writer for the simulator's outputs: one uncompressed 16x16 RGB video track at one
// frame per second, so a "6 s" job yields a ~5 KB file that ffprobe reads as a 6 s video.
#pragma once

#include <string>
#include <string_view>

namespace shotfarm::simulator {

// Returns the bytes of an ISO BMFF file (ftyp, moov{mvhd, trak{tkhd, mdia{mdhd, hdlr,
// minf{vmhd, dinf, stbl}}}}, free, mdat) lasting `duration_s` whole seconds (at least 1). The
// pixels and a `free` box are derived from `job_id`, so distinct ids give distinct files.
std::string make_mp4(std::string_view job_id, int duration_s);

}  // namespace shotfarm::simulator
