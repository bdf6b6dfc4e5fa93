#include "providers/wavespeed/wavespeed_wire.hpp"

#include <optional>

#include <boost/json.hpp>

#include "providers/answer_checks.hpp"
#include "providers/provider_id.hpp"

namespace shotfarm::providers::wavespeed {

namespace json = boost::json;

namespace {

std::optional<json::value> parse_json(std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) {
        return std::nullopt;
    }
    return v;
}

const json::object* data_object(const std::optional<json::value>& v) {
    if (!v || !v->is_object()) {
        return nullptr;
    }
    const auto* d = v->as_object().if_contains("data");
    return d != nullptr && d->is_object() ? &d->as_object() : nullptr;
}

std::string string_field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Errors: {"code":N,"message":"...","data":{... "error":"..."}} — the best text available.
std::string error_text(unsigned http_status, const std::optional<json::value>& v) {
    std::string text = "HTTP " + std::to_string(http_status);
    if (!v || !v->is_object()) {
        return text;
    }
    std::string words = string_field(v->as_object(), "message");
    if (words.empty() || words == "success") {
        if (const auto* data = data_object(v); data != nullptr) {
            words = string_field(*data, "error");
        }
    }
    if (words.empty()) {
        words = string_field(v->as_object(), "error");
    }
    if (!words.empty()) {
        text += ": " + words;
    }
    return text;
}

// The envelope's own `code` when it reports an error inside an HTTP 2xx, else 0.
unsigned envelope_error_code(const std::optional<json::value>& v) {
    if (!v || !v->is_object()) {
        return 0;
    }
    const auto* code = v->as_object().if_contains("code");
    if (code == nullptr) {
        return 0;
    }
    const auto* n = code->if_int64();
    return n != nullptr && *n >= 400 && *n < 600 ? static_cast<unsigned>(*n) : 0;
}

}  // namespace

std::string submit_path(std::string_view provider_model) {
    return "/api/v3/" + std::string(provider_model);
}

std::string submit_target(const submit_request& req) {
    std::string target = submit_path(req.provider_model);
    if (req.webhook_url) {
        target += "?webhook=" + encode_path_segment(*req.webhook_url);
    }
    return target;
}

std::string poll_path(std::string_view provider_job_id) {
    return "/api/v3/predictions/" + encode_path_segment(provider_job_id) + "/result";
}

std::string submit_body(const submit_request& req) {
    json::object body;
    if (!req.prompt.empty()) {
        body["prompt"] = req.prompt;  // optional on the i2v models
    }
    if (req.image_url) {
        body["image"] = *req.image_url;
    }
    if (req.send_duration) {
        body["duration"] = req.duration;
    }
    for (const auto& [k, v] : req.extra_params) {
        body[k] = v;  // enable_prompt_expansion, go_fast, …
    }
    return json::serialize(body);
}

outcome_class classify_status(unsigned http_status) {
    if (http_status >= 200 && http_status < 300) {
        return outcome_class::ok;
    }
    switch (http_status) {
        case 429:
            return outcome_class::retryable;  // "Limits reset every minute"
        case 401:                             // bad key, or a key made before the first top-up
        case 402:                             // insufficient balance
        case 403:                             // model not available on this account level
            return outcome_class::account_problem;
        default:
            break;
    }
    if (http_status >= 500) {
        return outcome_class::ambiguous;  // the task may exist (SDK: "may already have been
                                          // created")
    }
    return outcome_class::rejected_input;  // 400, 404 (unknown model path), 413, 422, …
}

submit_result parse_submit(unsigned http_status, std::string_view body) {
    submit_result r;
    r.http_status = http_status;
    const auto v = parse_json(body);
    r.cls = classify_status(http_status);
    if (r.cls == outcome_class::ok) {
        if (const unsigned code = envelope_error_code(v); code != 0) {
            r.cls = classify_status(code);  // an error reported inside a 200
        }
    }
    if (r.cls != outcome_class::ok) {
        r.message = error_text(http_status, v);
        return r;
    }
    const json::object* data = data_object(v);
    std::string id = data != nullptr ? string_field(*data, "id") : std::string();
    if (id.empty()) {
        // It may have created (and billed) a task: never blindly resubmitted.
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
    const auto v = parse_json(body);
    if (http_status == 404 || http_status == 400) {
        // Unknown id (perhaps not yet visible right after the submit): the pipeline's grace.
        r.cls = outcome_class::ok;
        r.state = remote_state::not_found;
        r.message = error_text(http_status, v);
        return r;
    }
    if (auto cls = classify_status(http_status); cls != outcome_class::ok) {
        // A failed GET is never ambiguous: reading is free and repeatable.
        r.cls = cls == outcome_class::ambiguous ? outcome_class::retryable : cls;
        r.message = error_text(http_status, v);
        return r;
    }
    const json::object* data = data_object(v);
    if (data == nullptr) {
        r.cls = outcome_class::retryable;
        r.message = envelope_error_code(v) != 0
                        ? error_text(http_status, v)
                        : "HTTP " + std::to_string(http_status) + " with an unreadable body";
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
    if (r.status == "completed") {
        if (const auto* outs = data.if_contains("outputs"); outs != nullptr && outs->is_array() &&
                                                            !outs->as_array().empty() &&
                                                            outs->as_array()[0].is_string()) {
            r.video_url = outs->as_array()[0].as_string();
        }
        if (r.video_url.empty()) {
            // Paid and finished, but nothing to fetch: held for an operator, not polled forever.
            r.cls = outcome_class::bad_answer;
            r.message = "wavespeed answered status 'completed' without an output URL";
            return r;
        }
        r.state = remote_state::succeeded;
        // timings.inference (ms) leaves out the time queued: a lower bound only.
        if (const auto* timings = data.if_contains("timings"); timings && timings->is_object()) {
            if (const auto* ms = timings->as_object().if_contains("inference");
                ms && (ms->is_int64() || ms->is_uint64() || ms->is_double())) {
                const double v = ms->to_number<double>() / 1000.0;
                if (v >= 0 && v < 86400) {
                    r.generation_at_least_s = v;
                }
            }
        }
        return r;
    }
    if (r.status == "failed" || r.status == "cancelled" || r.status == "canceled" ||
        r.status == "timeout") {
        r.state = remote_state::failed;
        r.message = string_field(data, "error");
        if (r.message.empty()) {
            r.message = "generation " + r.status;
        }
        bool moderated = false;
        if (const auto* nsfw = data.if_contains("has_nsfw_contents");
            nsfw != nullptr && nsfw->is_array()) {
            for (const auto& flag : nsfw->as_array()) {
                moderated = moderated || (flag.is_bool() && flag.as_bool());
            }
        }
        if (moderated) {
            r.message += " (flagged NSFW)";
        }
        // Moderation is a verdict on the input: never retried. Other failures are refunded
        // by WaveSpeed and retried by the pipeline within its attempt limit.
        r.cls = moderated ? outcome_class::rejected_input : outcome_class::retryable;
        return r;
    }
    if (r.status == "created" || r.status == "processing" || r.status == "pending") {
        r.state = remote_state::pending;  // "pending" is on one doc page (get-started)
        return r;
    }
    return undocumented_status("wavespeed", std::move(r));
}

}  // namespace shotfarm::providers::wavespeed
