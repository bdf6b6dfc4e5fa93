#include "providers/aimlapi/aimlapi_wire.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include <boost/json.hpp>

#include "providers/answer_checks.hpp"
#include "providers/provider_id.hpp"

namespace shotfarm::providers::aimlapi {

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

std::string string_field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// `message` is a string, or (validation errors) an array of strings.
std::string message_of(const json::object& o) {
    const auto* m = o.if_contains("message");
    if (m == nullptr) {
        return {};
    }
    if (m->is_string()) {
        return std::string(m->as_string());
    }
    std::string joined;
    if (m->is_array()) {
        for (const auto& part : m->as_array()) {
            if (part.is_string()) {
                joined += joined.empty() ? "" : "; ";
                joined += part.as_string();
            }
        }
    }
    return joined;
}

// {"message":"…","path":"…","requestId":"…","statusCode":403,"timestamp":"…"}.
std::string error_text(unsigned http_status, const std::optional<json::value>& v) {
    std::string text = "HTTP " + std::to_string(http_status);
    if (!v || !v->is_object()) {
        return text;
    }
    const auto& o = v->as_object();
    std::string words = message_of(o);
    if (words.empty()) {
        if (const auto* e = o.if_contains("error"); e != nullptr && e->is_object()) {
            words = message_of(e->as_object());
        }
    }
    if (!words.empty()) {
        text += ": " + words;
    }
    if (auto rid = string_field(o, "requestId"); !rid.empty()) {
        text += " (requestId " + rid + ")";
    }
    return text;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
           }) != hay.end();
}

// AI/ML API documents no moderation code (GAP): recognise it by its words.
bool looks_moderated(std::string_view text) {
    for (std::string_view w : {"moderat", "sensitive", "nsfw", "content policy", "inappropriate"}) {
        if (contains_ci(text, w)) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::string poll_path(std::string_view generation_id) {
    return std::string(submit_path) + "?generation_id=" + encode_path_segment(generation_id);
}

std::string submit_body(const submit_request& req) {
    json::object body;
    body["model"] = req.provider_model;
    body["prompt"] = req.prompt;
    if (req.image_url) {
        body["image_url"] = *req.image_url;
    }
    if (req.send_duration) {
        body["duration"] = req.duration;
    }
    for (const auto& [k, v] : req.extra_params) {
        body[k] = v;  // resolution ("768P"/"1080P"), enhance_prompt, …
    }
    return json::serialize(body);
}

outcome_class classify_status(unsigned http_status) {
    if (http_status >= 200 && http_status < 300) {
        return outcome_class::ok;
    }
    switch (http_status) {
        case 429:
            return outcome_class::retryable;  // rate or concurrency limit
        case 401:                             // missing or invalid key
        case 402:
        case 403:  // "You've run out of credits. Please top up your balance…"
            return outcome_class::account_problem;
        default:
            break;
    }
    if (http_status >= 500) {
        return outcome_class::ambiguous;  // credits are taken at submit: it may exist
    }
    return outcome_class::rejected_input;  // 400 "Body validation error!", 404, 422, …
}

submit_result parse_submit(unsigned http_status, std::string_view body) {
    submit_result r;
    r.http_status = http_status;
    const auto v = parse_json(body);
    r.cls = classify_status(http_status);
    if (r.cls != outcome_class::ok) {
        r.message = error_text(http_status, v);
        return r;
    }
    std::string id;
    if (v && v->is_object()) {
        id = string_field(v->as_object(), "generation_id");
        if (id.empty()) {
            id = string_field(v->as_object(), "id");
        }
    }
    if (id.empty()) {
        // It may have created (and charged for) a generation: never blindly resubmitted.
        r.cls = outcome_class::ambiguous;
        r.message = "HTTP " + std::to_string(http_status) + " without a generation_id";
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
        r.cls = outcome_class::ok;  // perhaps not yet visible: the pipeline's grace applies
        r.state = remote_state::not_found;
        r.message = error_text(http_status, v);
        return r;
    }
    if (auto cls = classify_status(http_status); cls != outcome_class::ok) {
        r.cls = cls == outcome_class::ambiguous ? outcome_class::retryable : cls;
        r.message = error_text(http_status, v);
        return r;
    }
    if (!v || !v->is_object()) {
        r.cls = outcome_class::retryable;
        r.message = "HTTP " + std::to_string(http_status) + " with an unreadable body";
        return r;
    }
    const auto& o = v->as_object();
    r.cls = outcome_class::ok;
    r.status = string_field(o, "status");
    if (r.status == "completed") {
        if (const auto* video = o.if_contains("video"); video != nullptr && video->is_object()) {
            r.video_url = string_field(video->as_object(), "url");
        }
        if (r.video_url.empty()) {
            // Paid and finished, but nothing to fetch: held for an operator, not polled forever.
            r.cls = outcome_class::bad_answer;
            r.message = "aimlapi answered status 'completed' without video.url";
            return r;
        }
        r.state = remote_state::succeeded;
        return r;
    }
    if (r.status == "error" || r.status == "failed") {
        r.state = remote_state::failed;
        std::string name;
        if (const auto* e = o.if_contains("error"); e != nullptr) {
            if (e->is_object()) {
                name = string_field(e->as_object(), "name");
                r.message = message_of(e->as_object());
            } else if (e->is_string()) {
                r.message = e->as_string();
            }
        }
        if (r.message.empty()) {
            r.message = name.empty() ? "generation " + r.status : name;
        } else if (!name.empty()) {
            r.message = name + ": " + r.message;
        }
        r.cls =
            looks_moderated(r.message) ? outcome_class::rejected_input : outcome_class::retryable;
        return r;
    }
    if (r.status.empty() && v->as_object().contains("statusCode")) {
        // An error object inside a 2xx: not a state we can act on; read again.
        r.cls = outcome_class::retryable;
        r.message = error_text(http_status, v);
        return r;
    }
    if (r.status == "queued" || r.status == "generating" || r.status == "waiting" ||
        r.status == "active") {
        // The schema's two, and the two its docs' polling loops wait on (hailuo-2.3.md).
        r.state = remote_state::pending;
        return r;
    }
    return undocumented_status("aimlapi", std::move(r));
}

}  // namespace shotfarm::providers::aimlapi
