// Byte-level image probing: the real format and pixel size of a first-frame image, read from
// the file's header (never from its name), so bad images are rejected before anything is paid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shotfarm::jobs {

enum class image_format { png, jpeg, webp };

struct image_info {
    image_format format = image_format::png;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
};

/// Format and size from the leading bytes of an image file: PNG (IHDR), JPEG (first SOFn
/// marker), WebP (VP8/VP8L/VP8X). nullopt when the bytes are none of these or the header is
/// truncated or reports a zero size.
std::optional<image_info> probe_image(std::string_view bytes);

/// Whether the whole file is there, not just its header: a PNG's chunks run to IEND, a JPEG's
/// scan ends with EOI, a WebP's RIFF size fits the file. nullopt when complete; otherwise what
/// is missing ("PNG ends without its IEND chunk"). A truncated upload is refused by providers
/// only after it was paid for, or renders garbage — so it is refused at validation.
std::optional<std::string> truncation(std::string_view bytes, image_format f);

/// "PNG", "JPEG", "WebP".
std::string_view to_string(image_format f);

/// "image/png", "image/jpeg", "image/webp" (for data: URIs and uploads).
std::string_view mime_type(image_format f);

}  // namespace shotfarm::jobs
