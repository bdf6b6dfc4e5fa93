// MiniMax's own video API (https://platform.minimax.io/docs/api-reference/video-generation-i2v)
// as pure functions. Business errors arrive as HTTP 200 with base_resp.status_code != 0; a
// finished task names a file_id, and a second GET (files/retrieve) turns it into a download URL
// that expires after about an hour.
#pragma once

#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace shotfarm::providers::minimax {

/// "/v1/video_generation".
inline constexpr std::string_view submit_path = "/v1/video_generation";

/// "/v1/query/video_generation?task_id=<id>".
std::string query_path(std::string_view task_id);

/// "/v1/files/retrieve?file_id=<id>".
std::string retrieve_path(std::string_view file_id);

/// {model, prompt, first_frame_image?, duration?, ...extra (resolution, prompt_optimizer, …),
/// callback_url?}.
std::string submit_body(const submit_request& req);

/// The class of a base_resp.status_code
/// (https://platform.minimax.io/docs/api-reference/errorcode.md; the quota codes 1028/1030 from
/// MiniMax's CLI, MiniMax-AI/cli): 0 ok; 1000/1001/1002/1024/1033 (and the limits 1039/1041/2045)
/// retryable; 2013, 1026/1027 (moderation), 1042 rejected_input; 1004/2049 (auth), 1008 (balance),
/// 1028/1030/2056 (quota) account_problem; others retryable.
outcome_class classify_base_resp(long long status_code);

/// The class of an HTTP error status (MiniMax itself answers 200; gateways do not).
outcome_class classify_status(unsigned http_status);

/// Maps a create response onto a submit_result; the id is `task_id`.
submit_result parse_submit(unsigned http_status, std::string_view body);

/// A query answer: the poll state plus, on Success, the file to retrieve.
struct query_result {
    poll_result poll;     ///< on Success: state succeeded but video_url still empty
    std::string file_id;  ///< set on Success
};

/// Maps a query GET onto a query_result (statuses Preparing/Queueing/Processing pending,
/// Success, Fail or Failed; any case). Any other word, or Success without a usable file_id
/// (provider_id_problem), is bad_answer.
query_result parse_query(unsigned http_status, std::string_view body);

/// The same for one query-shaped object (a query answer's body, or a callback push, whose
/// "response structure matches the query API"). http_status is left 0.
query_result parse_query_object(const boost::json::object& o);

/// Maps a files/retrieve GET onto cls + `file.download_url` (in upload_result's shape: the
/// url is the one to download); a readable answer without a string download_url is bad_answer,
/// an unreadable body retryable.
upload_result parse_retrieve(unsigned http_status, std::string_view body);

/// Combines a Success query with its retrieve: succeeded with the URL, or a pending poll of the
/// retrieve's class when it failed (retryable: the pipeline polls again, which retrieves again).
poll_result finish_poll(query_result query, const upload_result& retrieved);

}  // namespace shotfarm::providers::minimax
