// Helpers every emulated provider shares: request parsing (path, query, bearer key), prompt and
// image checks (the image rules all four providers document: JPG/PNG (MiniMax also WebP), aspect
// 2:5–5:2, short side > 300 px, ≤ 20 MB), prompt triggers, JSON answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/status.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "net/http_server.hpp"
#include "simulator/sim_state.hpp"

namespace shotfarm::simulator {

// The target without its query string.
std::string_view path_of(std::string_view target);
// The percent-decoded value of `name` in the target's query string, if present.
std::optional<std::string> query_param(std::string_view target, std::string_view name);
// The token of `Authorization: Bearer <token>`.
std::optional<std::string_view> bearer_token(const net::http_request_t& req);

std::size_t utf8_length(std::string_view s);
// "http://host..." or "https://host...".
bool is_http_url(std::string_view url);
// An integer JSON value (a string or a float is not one).
std::optional<std::int64_t> as_integer(const boost::json::value& v);

// `[sim:moderate]`, `[sim:fail]`, `[sim:stuck]` in a prompt force that outcome.
std::optional<job_outcome> prompt_trigger(std::string_view prompt);

struct checked_image {
    std::string description;  // what the ledger records
    std::string sha256;       // empty when the bytes were not available
};

// Validates an image input: a public URL (accepted unread), a base64 data URL, or one of this
// simulator's upload URLs; JPG/PNG (and WebP when `allow_webp`), aspect strictly between 2:5
// and 5:2, short side > 300 px, at most 20 MB. Returns the provider-neutral problem on failure.
std::optional<std::string> check_image(
    sim_state& state, std::string_view image, checked_image& out, bool allow_webp
);

// A job as a provider's submit accepted it: sim_state::accept fills in the rest.
job new_job(
    std::string_view provider,
    const key_config& key,
    std::string model,
    std::string prompt,
    const checked_image& image,
    int duration_s,
    double price_usd,
    boost::json::object params
);

// A JSON answer with the given status (no extra headers).
net::http_response_t json_response(
    boost::beast::http::status status, const boost::json::value& body
);

// The URL a completed job's MP4 is served at: <base>/_sim/files/<id>.mp4 (the id
// percent-encoded: hostile ids carry '/', '?', spaces and control characters).
std::string output_url(const sim_state& state, const job& j);

// A path segment percent-encoded (RFC 3986 unreserved characters kept), and decoded ('+' is
// a plus in a path, not a space).
std::string encode_segment(std::string_view s);
std::string decode_segment(std::string_view s);

// The URL a finished job's video is announced at: `normal` (the provider's own URL for it), or
// the hostile one the job's prompt asked for (`[sim:url_*]`, `[sim:redirect*]`).
std::string video_url(const sim_state& state, const job& j, const std::string& normal);

// The status word `[sim:status_bogus]` polls answer: documented by no provider.
inline constexpr std::string_view bogus_status = "teleported";

// Whether an authenticated request's path is one of `provider`'s documented routes (methods
// aside): no dot segments, and the shape of a route the provider serves. Everything else is an
// escape out of the API (a job id pasted into a path unencoded).
bool is_documented_route(std::string_view provider, std::string_view target);

}  // namespace shotfarm::simulator
