// Atlas Cloud wire format (errors: https://atlascloud.ai/docs/en/errors) as pure functions: request
// bodies in, our taxonomy out. Sans-I/O so every quirk is unit-tested without a socket.
#pragma once

#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace shotfarm::providers::atlas {

/// "/api/v1/model/prediction/<id, one percent-encoded segment>".
std::string poll_path(std::string_view provider_job_id);

/// The flat generateVideo body: {model, prompt, image?, duration?, webhook_url?, ...extra}.
std::string submit_body(const submit_request& req);

/// Maps a generateVideo response (status + body) onto a submit_result.
submit_result parse_submit(unsigned http_status, std::string_view body);

/// Maps a prediction GET response onto a poll_result. A status word Atlas does not document, or
/// a finished prediction without a string output URL, is bad_answer.
poll_result parse_poll(unsigned http_status, std::string_view body);

/// Maps one prediction object (a poll's `data`, or a webhook's `payload`, which carries the same
/// shape) onto a poll_result: `status`, `outputs[0]` (or `output`), `error`, `error_code`,
/// `has_nsfw_contents`. http_status is left 0.
poll_result parse_prediction(const boost::json::object& data);

/// Maps an uploadMedia response onto an upload_result.
upload_result parse_upload(unsigned http_status, std::string_view body);

/// The class of an HTTP error status on Atlas (https://atlascloud.ai/docs/en/errors) for a
/// request that reached it.
outcome_class classify_status(unsigned http_status);

/// Atlas's error_code for "input rejected by content moderation"
/// (https://www.atlascloud.ai/docs/errors.md).
inline constexpr long moderation_error_code = 1039;

}  // namespace shotfarm::providers::atlas
