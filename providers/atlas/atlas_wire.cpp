#include "providers/atlas/atlas_wire.hpp"

#include <boost/json.hpp>

#include "providers/answer_checks.hpp"
#include "providers/provider_id.hpp"

namespace shotfarm::providers::atlas {

namespace json = boost::json;

namespace {

// Atlas errors: {"code":N,"msg":"...","request_id":"...","data":null}. uploadMedia uses
// `message`. Returns the best human text available.
std::string error_text(unsigned http_status, const json::value* v) {
    std::string text = "HTTP " + std::to_string(http_status);
    if (v == nullptr || !v->is_object()) {
        return text;
    }
    const auto& o = v->as_object();
    for (const char* key : {"msg", "message", "error"}) {
        if (const auto* m = o.if_contains(key);
            m != nullptr && m->is_string() && !m->as_string().empty()) {
            text += ": ";
            text += m->as_string();
            break;
        }
    }
    if (const auto* rid = o.if_contains("request_id"); rid != nullptr && rid->is_string()) {
        text += " (request_id ";
        text += rid->as_string();
        text += ")";
    }
    return text;
}

std::optional<json::value> parse_json(std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) {
        return std::nullopt;
    }
    return v;
}

const json::object* data_object(const json::value& v) {
    if (!v.is_object()) {
        return nullptr;
    }
    const auto* d = v.as_object().if_contains("data");
    return d != nullptr && d->is_object() ? &d->as_object() : nullptr;
}

std::string string_field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

std::string poll_path(std::string_view provider_job_id) {
    return "/api/v1/model/prediction/" + encode_path_segment(provider_job_id);
}

std::string submit_body(const submit_request& req) {
    json::object body;
    body["model"] = req.provider_model;
    body["prompt"] = req.prompt;
    if (req.image_url) {
        body["image"] = *req.image_url;
    }
    if (req.send_duration) {
        body["duration"] = req.duration;
    }
    for (const auto& [k, v] : req.extra_params) {
        body[k] = v;
    }
    if (req.webhook_url) {
        body["webhook_url"] = *req.webhook_url;  // one signed POST when the task is terminal
    }
    return json::serialize(body);
}

outcome_class classify_status(unsigned http_status) {
    if (http_status >= 200 && http_status < 300) {
        return outcome_class::ok;
    }
    switch (http_status) {
        case 429:
            return outcome_class::retryable;  // no Retry-After on Atlas: client-side backoff
        case 401:                             // bad/expired key (also a wrong path)
        case 402:                             // insufficient balance
        case 403:                             // account not permitted
            return outcome_class::account_problem;
        default:
            break;
    }
    if (http_status >= 500) {
        // The job may have been created before the error: ambiguous (docs/pipeline.md, "Errors,
        // by class").
        return outcome_class::ambiguous;
    }
    return outcome_class::rejected_input;  // 400, 404 (model not available), 413, 451, …
}

submit_result parse_submit(unsigned http_status, std::string_view body) {
    submit_result r;
    r.http_status = http_status;
    auto v = parse_json(body);
    r.cls = classify_status(http_status);
    if (r.cls != outcome_class::ok) {
        r.message = error_text(http_status, v ? &*v : nullptr);
        return r;
    }
    // A 2xx that we cannot read an id from may still have created (and billed) a job.
    const json::object* data = v ? data_object(*v) : nullptr;
    std::string id = data != nullptr ? string_field(*data, "id") : std::string();
    if (id.empty()) {
        r.cls = outcome_class::ambiguous;
        r.message = "HTTP " + std::to_string(http_status) + " without a prediction id";
        return r;
    }
    r.provider_job_id = std::move(id);
    return r;
}

poll_result parse_poll(unsigned http_status, std::string_view body) {
    poll_result r;
    r.http_status = http_status;
    auto v = parse_json(body);
    if (http_status == 404 || http_status == 400) {
        // Right after a submit a prediction can briefly be unknown (Atlas's own ComfyUI client,
        // AtlasCloudAI/atlascloud_comfyui, polls through 400/404 for 30 s); the caller decides
        // how long that grace lasts.
        r.cls = outcome_class::ok;
        r.state = remote_state::not_found;
        r.message = error_text(http_status, v ? &*v : nullptr);
        return r;
    }
    if (auto cls = classify_status(http_status); cls != outcome_class::ok) {
        // A failed GET is never ambiguous: reading is free and repeatable.
        r.cls = cls == outcome_class::ambiguous ? outcome_class::retryable : cls;
        r.message = error_text(http_status, v ? &*v : nullptr);
        return r;
    }
    const json::object* data = v ? data_object(*v) : nullptr;
    if (data == nullptr) {
        r.cls = outcome_class::retryable;
        r.message = "HTTP " + std::to_string(http_status) + " with an unreadable body";
        return r;
    }
    poll_result read = parse_prediction(*data);
    read.http_status = http_status;
    return read;
}

poll_result parse_prediction(const json::object& data) {
    poll_result r;
    r.cls = outcome_class::ok;
    r.status = string_field(data, "status");
    if (r.status == "completed" || r.status == "succeeded") {
        if (const auto* outs = data.if_contains("outputs"); outs != nullptr && outs->is_array() &&
                                                            !outs->as_array().empty() &&
                                                            outs->as_array()[0].is_string()) {
            r.video_url = outs->as_array()[0].as_string();
        } else {
            r.video_url = string_field(data, "output");  // some models answer a plain string
        }
        if (r.video_url.empty()) {
            // Paid and finished, but nothing to fetch: held for an operator, not polled forever.
            r.cls = outcome_class::bad_answer;
            r.message = "atlas answered status '" + r.status + "' without an output URL";
            return r;
        }
        r.state = remote_state::succeeded;
        // created_at and completed_at are both on the provider's clock: their difference is
        // the generation time, whatever our clock says (a negative or absurd one is dropped).
        const auto created = parse_utc_timestamp(string_field(data, "created_at"));
        const auto completed = parse_utc_timestamp(string_field(data, "completed_at"));
        if (created && completed && *completed >= *created && *completed - *created < 86400) {
            r.generation_s = *completed - *created;
        }
        return r;
    }
    if (r.status == "failed" || r.status == "timeout" || r.status == "cancelled" ||
        r.status == "canceled") {
        r.state = remote_state::failed;
        r.message = string_field(data, "error");
        if (r.message.empty()) {
            r.message = "generation " + r.status;
        }
        bool moderated = false;
        if (const auto* code = data.if_contains("error_code"); code != nullptr) {
            if (const auto* n = code->if_int64(); n != nullptr) {
                moderated = *n == moderation_error_code;
                r.message += " (error_code " + std::to_string(*n) + ")";
            }
        }
        if (const auto* nsfw = data.if_contains("has_nsfw_contents");
            nsfw != nullptr && nsfw->is_array()) {
            for (const auto& flag : nsfw->as_array()) {
                moderated = moderated || (flag.is_bool() && flag.as_bool());
            }
        }
        // Moderation is a verdict on the input: never retried. Other remote failures are
        // retried (with backoff, up to the attempt limit) by the pipeline.
        r.cls = moderated ? outcome_class::rejected_input : outcome_class::retryable;
        return r;
    }
    if (r.status == "created" || r.status == "processing") {
        r.state = remote_state::pending;
        return r;
    }
    // Not in Atlas's vocabulary (https://www.atlascloud.ai/docs/de/predictions): guessing "pending"
    // would poll a dead job forever.
    return undocumented_status("atlas", std::move(r));
}

upload_result parse_upload(unsigned http_status, std::string_view body) {
    upload_result r;
    auto v = parse_json(body);
    r.cls = classify_status(http_status);
    if (r.cls == outcome_class::ambiguous) {
        r.cls = outcome_class::retryable;  // uploads are free: a repeat costs nothing
    }
    if (r.cls != outcome_class::ok) {
        r.message = error_text(http_status, v ? &*v : nullptr);
        return r;
    }
    const json::object* data = v ? data_object(*v) : nullptr;
    r.url = data != nullptr ? string_field(*data, "download_url") : std::string();
    if (r.url.empty() && v && v->is_object()) {
        // The shape of the sample on https://www.atlascloud.ai/docs/zh/upload-files.
        r.url = string_field(v->as_object(), "url");
    }
    if (r.url.empty()) {
        r.cls = outcome_class::retryable;
        r.message = "upload answered without a download_url";
    }
    return r;
}

}  // namespace shotfarm::providers::atlas
