// What every adapter's answer passes before the pipeline sees it, in one place for all four
// providers (make_provider wraps each adapter in it): a provider's words are bounded and made
// printable before they reach logs and the database, an accepted id must be usable as data,
// and a finished generation must name a well-formed video URL. The download URL *policy*
// (which hosts may be fetched) is the pipeline's: here only the shape of the string is checked.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace shotfarm::providers {

/// A provider's text in a result's message is cut to this many bytes (marker included).
inline constexpr std::size_t max_message_bytes = 4096;
/// A status word is echoed back at most this long.
inline constexpr std::size_t max_status_bytes = 64;
/// A video (or upload) URL longer than this is not a usable answer.
inline constexpr std::size_t max_answer_url_bytes = 8192;

/// `text` made safe to log and store: control characters (C0, DEL, C1) and bytes that are not
/// UTF-8 are escaped (`\n`, `\t`, `\xNN`, `\u0085`), and when the escaped text is longer than
/// `max_bytes` it is cut (never inside a character or an escape) and ends with
/// "… (truncated, N bytes)", N the original size; the result is never longer than max_bytes.
std::string bounded_text(std::string_view text, std::size_t max_bytes = max_message_bytes);

/// Why `url` cannot be a result URL — empty, over max_answer_url_bytes, a control character or
/// a space, not UTF-8 — or nullopt. Says nothing about its scheme or host (the pipeline's
/// download policy decides those).
std::optional<std::string> answer_url_problem(std::string_view url);

/// The last step of an adapter's submit: a provider's message bounded and without the key; an
/// accepted answer whose id fails provider_id_problem becomes bad_answer ("<provider> returned
/// an unusable job id: <why>"), its id dropped. `api_key` (may be empty) is never echoed.
submit_result checked_submit(std::string_view provider, std::string_view api_key, submit_result r);

/// The same for a poll: the status word bounded to max_status_bytes; a succeeded answer whose
/// video URL fails answer_url_problem becomes bad_answer. A bad_answer poll always has state
/// pending and no video_url (the pipeline holds the job; it is not a remote failure).
poll_result checked_poll(std::string_view provider, std::string_view api_key, poll_result r);

/// The same for an upload: an ok answer whose URL fails answer_url_problem is bad_answer.
upload_result checked_upload(std::string_view provider, std::string_view api_key, upload_result r);

/// Seconds since the Unix epoch of an RFC 3339 time in UTC ("2025-01-01T00:00:00Z", optional
/// fraction, "Z" or "+00:00"), or nullopt for anything else (a provider's timestamp is
/// untrusted: years outside 2000-2999 and impossible dates are refused too).
std::optional<double> parse_utc_timestamp(std::string_view text);

/// "<provider> answered status '<word, bounded>' which it does not document" as bad_answer.
poll_result undocumented_status(std::string_view provider, poll_result r);

}  // namespace shotfarm::providers
