// AI/ML API wire format (aimlapi/api-docs, docs/api-references/video-models/), the current
// universal video endpoint, as pure functions. Answers are bare objects; errors are
// {message, path, requestId, statusCode, …}.
#pragma once

#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace shotfarm::providers::aimlapi {

/// "/v2/video/generations".
inline constexpr std::string_view submit_path = "/v2/video/generations";

/// "/v2/video/generations?generation_id=<id, percent-encoded>" (ids look like
/// "349865017168125:minimax/hailuo-2.3").
std::string poll_path(std::string_view generation_id);

/// {model, prompt, image_url?, duration?, ...extra (resolution, enhance_prompt, …)}.
std::string submit_body(const submit_request& req);

/// Maps a submit response onto a submit_result; the id is `generation_id`.
submit_result parse_submit(unsigned http_status, std::string_view body);

/// Maps a generation GET onto a poll_result (`status`, `video.url`, `error.message`). A status
/// word AI/ML API does not document, or `completed` without a string video.url, is bad_answer.
poll_result parse_poll(unsigned http_status, std::string_view body);

/// The class of an HTTP error status for a submit that reached AI/ML API (403 = no credits).
outcome_class classify_status(unsigned http_status);

}  // namespace shotfarm::providers::aimlapi
