// The first-frame image limits every provider shares, in one header without dependencies so
// that shot-list validation and the adapters (which read the file again at submit time) use
// the same numbers.
#pragma once

#include <cstdint>

namespace shotfarm::providers {

/// "20MB" (Atlas's image rules,
/// https://www.atlascloud.ai/docs/more-models/minimax/video-02/generateVideo; the others accept
/// as much): larger images are refused at validation and never read whole at submit time.
inline constexpr std::uintmax_t max_image_bytes = 20'000'000;

}  // namespace shotfarm::providers
