// First-frame images delivered inline as a data: URI (WaveSpeed, AI/ML API and MiniMax accept
// `data:image/…;base64,…` wherever they take an image URL). Pure functions plus one file read;
// no network, so "uploading" is free.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace shotfarm::providers {

/// The MIME type of an image from its leading bytes: "image/png", "image/jpeg", "image/webp"
/// (only when allow_webp), or empty when the bytes are none of these.
std::string sniff_image_mime(std::string_view bytes, bool allow_webp);

/// Standard base64 (RFC 4648 §4, with padding).
std::string base64_encode(std::string_view bytes);

/// "data:<mime>;base64,<bytes>"; the mime must already be known.
std::string make_data_uri(std::string_view mime, std::string_view bytes);

/// Images above this size are refused before any request (every provider's limit is 20 MB).
inline constexpr std::size_t max_inline_image_bytes = 20u << 20;

/// Reads `file` and returns it as a data: URI in upload_result::url, or rejected_input with the
/// reason (unreadable, not PNG/JPEG(/WebP) by its bytes, too large).
upload_result inline_image(const std::filesystem::path& file, bool allow_webp);

}  // namespace shotfarm::providers
