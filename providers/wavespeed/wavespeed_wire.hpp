// WaveSpeedAI wire format (https://www.wavespeed.ai/docs/submit-task) as pure functions: the model
// path is the URL, the body is flat JSON, every answer is a {code, message, data} envelope.
#pragma once

#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace shotfarm::providers::wavespeed {

/// "/api/v3/<provider_model>", e.g. "/api/v3/minimax/hailuo-02/fast".
std::string submit_path(std::string_view provider_model);

/// submit_path plus, when the request carries a webhook URL, "?webhook=<it, percent-encoded>"
/// (WaveSpeed registers webhooks per request in the query, not in the body).
std::string submit_target(const submit_request& req);

/// "/api/v3/predictions/<id, one percent-encoded segment>/result".
std::string poll_path(std::string_view provider_job_id);

/// The flat body: {prompt?, image?, duration?, ...extra}. No model field: it is in the path.
std::string submit_body(const submit_request& req);

/// Maps a submit response (status + body) onto a submit_result; the id is `data.id`.
submit_result parse_submit(unsigned http_status, std::string_view body);

/// Maps a result GET onto a poll_result (`data.status`, `data.outputs[0]`, `data.error`). A status
/// word WaveSpeed does not document, or `completed` without a string output URL, is bad_answer.
poll_result parse_poll(unsigned http_status, std::string_view body);

/// Maps one prediction object (a poll's `data`, or a webhook's whole body, which is that object
/// bare, not wrapped in {code, data}) onto a poll_result. http_status is left 0.
poll_result parse_prediction(const boost::json::object& data);

/// The class of an HTTP error status (or envelope `code`) for a submit that reached WaveSpeed.
outcome_class classify_status(unsigned http_status);

}  // namespace shotfarm::providers::wavespeed
