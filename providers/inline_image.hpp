// First-frame images delivered inline as a data: URI (WaveSpeed, AI/ML API and MiniMax accept
// `data:image/…;base64,…` wherever they take an image URL). Pure functions plus one file read;
// no network, so "uploading" is free.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "providers/image_limits.hpp"
#include "providers/provider.hpp"

namespace shotfarm::providers {

/// The MIME type of an image from its leading bytes: "image/png", "image/jpeg", "image/webp"
/// (only when allow_webp), or empty when the bytes are none of these.
std::string sniff_image_mime(std::string_view bytes, bool allow_webp);

/// Standard base64 (RFC 4648 §4, with padding).
std::string base64_encode(std::string_view bytes);

/// "data:<mime>;base64,<bytes>"; the mime must already be known.
std::string make_data_uri(std::string_view mime, std::string_view bytes);

/// A first-frame image read again at submit time. Validation looked at the file earlier (maybe
/// hours ago); it may have been replaced, grown or deleted since, so it is read once more —
/// never more than max_image_bytes + 1 bytes, only from a regular file (a FIFO would block) —
/// and its type taken from these bytes.
struct image_read {
    std::string bytes;
    std::string mime;     ///< "image/png", "image/jpeg" or "image/webp"; empty when refused
    std::string problem;  ///< "changed since validation: …" when refused
};

/// Reads `file` as above: refused when unreadable, not a regular file, over max_image_bytes, or
/// not PNG/JPEG (or WebP when allow_webp) by its bytes.
image_read read_image_file(const std::filesystem::path& file, bool allow_webp);

/// Reads `file` (read_image_file) and returns it as a data: URI in upload_result::url, or
/// rejected_input with the reason; nothing is sent when it is refused.
upload_result inline_image(const std::filesystem::path& file, bool allow_webp);

}  // namespace shotfarm::providers
