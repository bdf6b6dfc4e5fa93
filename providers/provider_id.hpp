// A provider's job id (and MiniMax's file_id) is data the provider chose, not a path: it is
// checked before we keep it and percent-encoded wherever it enters a URL, so that an id like
// `../../../admin/delete?x=1` stays one path segment (or one query value) on the provider's
// API and never climbs out of it with our key attached.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace shotfarm::providers {

/// Ids longer than this are refused (real ids are under 64 bytes).
inline constexpr std::size_t max_provider_id_bytes = 256;

/// Why `id` cannot be kept or put in a URL — empty, "." or "..", over
/// max_provider_id_bytes, a control character (below 0x20, or 0x7f), or not valid UTF-8 (it is
/// stored as PostgreSQL text) — or nullopt when it is usable. The reason never contains the id
/// itself.
std::optional<std::string> provider_id_problem(std::string_view id);

/// The length of the UTF-8 sequence that starts at s[i], or 0 when it is not a valid one
/// (truncated, overlong, a surrogate, above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

/// Percent-encodes everything but RFC 3986 unreserved characters (ALPHA DIGIT - . _ ~), so the
/// result is one path segment or one query value whatever `s` holds ('/', '?', '%', '..').
std::string encode_path_segment(std::string_view s);

}  // namespace shotfarm::providers
