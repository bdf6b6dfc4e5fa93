#include "providers/minimax/minimax_wire.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include <boost/json.hpp>

#include "providers/answer_checks.hpp"
#include "providers/provider_id.hpp"

namespace shotfarm::providers::minimax {

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

const json::object* as_object(const std::optional<json::value>& v) {
    return v && v->is_object() ? &v->as_object() : nullptr;
}

std::string string_field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) {
        return {};
    }
    if (v->is_string()) {
        return std::string(v->as_string());
    }
    if (v->is_int64()) {
        return std::to_string(v->as_int64());  // ids are strings, but be lenient
    }
    if (v->is_uint64()) {
        return std::to_string(v->as_uint64());
    }
    return {};
}

struct base_resp {
    bool present = false;
    long long code = 0;
    std::string msg;
};

base_resp read_base_resp(const json::object* o) {
    base_resp b;
    if (o == nullptr) {
        return b;
    }
    const auto* br = o->if_contains("base_resp");
    if (br == nullptr || !br->is_object()) {
        return b;
    }
    b.present = true;
    if (const auto* c = br->as_object().if_contains("status_code"); c != nullptr) {
        if (const auto* n = c->if_int64(); n != nullptr) {
            b.code = *n;
        }
    }
    b.msg = string_field(br->as_object(), "status_msg");
    return b;
}

std::string base_resp_text(const base_resp& b) {
    std::string text = "base_resp " + std::to_string(b.code);
    if (!b.msg.empty()) {
        text += ": " + b.msg;
    }
    return text;
}

std::string http_error_text(unsigned http_status, const json::object* o) {
    std::string text = "HTTP " + std::to_string(http_status);
    if (const auto b = read_base_resp(o); b.present && (b.code != 0 || !b.msg.empty())) {
        text += " (" + base_resp_text(b) + ")";
    } else if (o != nullptr) {
        for (const char* key : {"message", "error", "msg"}) {
            if (auto m = string_field(*o, key); !m.empty()) {
                text += ": " + m;
                break;
            }
        }
    }
    return text;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return s;
}

}  // namespace

std::string query_path(std::string_view task_id) {
    return "/v1/query/video_generation?task_id=" + encode_path_segment(task_id);
}

std::string retrieve_path(std::string_view file_id) {
    return "/v1/files/retrieve?file_id=" + encode_path_segment(file_id);
}

std::string submit_body(const submit_request& req) {
    json::object body;
    body["model"] = req.provider_model;
    body["prompt"] = req.prompt;
    if (req.image_url) {
        body["first_frame_image"] = *req.image_url;
    }
    if (req.send_duration) {
        body["duration"] = req.duration;
    }
    for (const auto& [k, v] : req.extra_params) {
        body[k] = v;  // resolution ("768P"/"1080P"/"512P"), prompt_optimizer, …
    }
    if (req.webhook_url) {
        body["callback_url"] = *req.webhook_url;  // challenge first, then status pushes
    }
    return json::serialize(body);
}

outcome_class classify_base_resp(long long status_code) {
    switch (status_code) {
        case 0:
            return outcome_class::ok;
        case 1000:  // unknown error
        case 1001:  // request timeout
        case 1002:  // rate limit
        case 1024:  // internal error
        case 1033:  // system error
        case 1039:  // token limit
        case 1041:  // connection limit
        case 2045:  // rate growth limit
            return outcome_class::retryable;
        case 1026:  // input flagged (new_sensitive)
        case 1027:  // output flagged
        case 1042:  // invisible character ratio
        case 2013:  // invalid params
            return outcome_class::rejected_input;
        case 1004:  // not authorized
        case 2049:  // invalid API key
        case 1008:  // insufficient balance
        case 1028:  // quota exhausted
        case 1030:
        case 2056:  // usage limit (Token Plan window)
            return outcome_class::account_problem;
        default:
            // MiniMax creates no task when it answers an error: nothing billed, try again.
            return outcome_class::retryable;
    }
}

outcome_class classify_status(unsigned http_status) {
    if (http_status >= 200 && http_status < 300) {
        return outcome_class::ok;
    }
    switch (http_status) {
        case 429:
            return outcome_class::retryable;
        case 401:
        case 402:
        case 403:
            return outcome_class::account_problem;
        default:
            break;
    }
    if (http_status >= 500) {
        return outcome_class::ambiguous;
    }
    return outcome_class::rejected_input;
}

submit_result parse_submit(unsigned http_status, std::string_view body) {
    submit_result r;
    r.http_status = http_status;
    const auto v = parse_json(body);
    const json::object* o = as_object(v);
    r.cls = classify_status(http_status);
    if (r.cls != outcome_class::ok) {
        r.message = http_error_text(http_status, o);
        return r;
    }
    if (const auto b = read_base_resp(o); b.code != 0) {
        r.cls = classify_base_resp(b.code);
        r.message = base_resp_text(b);
        r.rate_limited = b.code == 1002 || b.code == 1041 || b.code == 2045;
        return r;
    }
    std::string id = o != nullptr ? string_field(*o, "task_id") : std::string();
    if (id.empty()) {
        r.cls = outcome_class::ambiguous;
        r.message = "HTTP " + std::to_string(http_status) + " without a task_id";
        return r;
    }
    r.provider_job_id = std::move(id);
    return r;
}

query_result parse_query(unsigned http_status, std::string_view body) {
    query_result q;
    poll_result& r = q.poll;
    r.http_status = http_status;
    const auto v = parse_json(body);
    const json::object* o = as_object(v);
    if (http_status == 404) {
        r.cls = outcome_class::ok;
        r.state = remote_state::not_found;
        r.message = http_error_text(http_status, o);
        return q;
    }
    if (auto cls = classify_status(http_status); cls != outcome_class::ok) {
        r.cls = cls == outcome_class::ambiguous ? outcome_class::retryable : cls;
        r.message = http_error_text(http_status, o);
        return q;
    }
    if (o == nullptr) {
        r.cls = outcome_class::retryable;
        r.message = "HTTP " + std::to_string(http_status) + " with an unreadable body";
        return q;
    }
    query_result read = parse_query_object(*o);
    read.poll.http_status = http_status;
    return read;
}

query_result parse_query_object(const json::object& o) {
    query_result q;
    poll_result& r = q.poll;
    const auto b = read_base_resp(&o);
    r.status = string_field(o, "status");
    const std::string status = lower(r.status);
    if (status == "fail" || status == "failed") {
        r.cls = outcome_class::ok;
        r.state = remote_state::failed;
        r.message = b.msg.empty() || b.msg == "success" ? "generation " + r.status : b.msg;
        const bool moderated = b.code == 1026 || b.code == 1027;
        if (b.code != 0) {
            r.message += " (base_resp " + std::to_string(b.code) + ")";
        }
        r.cls = moderated ? outcome_class::rejected_input : outcome_class::retryable;
        return q;
    }
    if (b.code != 0) {
        // Check base_resp on every query, or a dead task looks in progress forever (integrators
        // have polled an expired task's empty status for 30 minutes).
        r.message = base_resp_text(b);
        if (b.code == 2013) {
            r.cls = outcome_class::ok;  // an unknown (or expired) task_id: the not-found grace
            r.state = remote_state::not_found;
        } else {
            r.cls = classify_base_resp(b.code);
        }
        return q;
    }
    r.cls = outcome_class::ok;
    if (status == "success") {
        q.file_id = string_field(o, "file_id");
        if (auto why = provider_id_problem(q.file_id)) {
            // Paid and finished, but nothing we can retrieve: held for an operator.
            r.cls = outcome_class::bad_answer;
            r.message =
                "minimax answered status '" + r.status + "' with an unusable file_id: " + *why;
            q.file_id.clear();
            return q;
        }
        r.state = remote_state::succeeded;
        return q;
    }
    if (status == "preparing" || status == "queueing" || status == "processing") {
        r.state = remote_state::pending;
        return q;
    }
    q.poll = undocumented_status("minimax", std::move(q.poll));
    return q;
}

upload_result parse_retrieve(unsigned http_status, std::string_view body) {
    upload_result r;
    const auto v = parse_json(body);
    const json::object* o = as_object(v);
    r.cls = classify_status(http_status);
    if (r.cls == outcome_class::ambiguous) {
        r.cls = outcome_class::retryable;  // a GET: free and repeatable
    }
    if (r.cls != outcome_class::ok) {
        r.message = http_error_text(http_status, o);
        return r;
    }
    if (const auto b = read_base_resp(o); b.code != 0) {
        r.cls = classify_base_resp(b.code);
        if (r.cls == outcome_class::rejected_input) {
            r.cls = outcome_class::retryable;  // not a verdict on the job's input
        }
        r.message = base_resp_text(b);
        return r;
    }
    if (o == nullptr) {
        // A broken body (cut short, an HTML error page) says nothing of the file: read again.
        r.cls = outcome_class::retryable;
        r.message =
            "files/retrieve: HTTP " + std::to_string(http_status) + " with an unreadable body";
        return r;
    }
    if (const auto* f = o->if_contains("file"); f != nullptr && f->is_object()) {
        r.url = string_field(f->as_object(), "download_url");
    }
    if (r.url.empty()) {
        r.cls = outcome_class::bad_answer;
        r.message = "minimax files/retrieve answered without file.download_url";
    }
    return r;
}

poll_result finish_poll(query_result query, const upload_result& retrieved) {
    poll_result r = std::move(query.poll);
    if (retrieved.cls == outcome_class::ok) {
        r.video_url = retrieved.url;
        r.state = remote_state::succeeded;
        return r;
    }
    r.state = remote_state::pending;
    r.cls = retrieved.cls;
    r.message = "retrieving file " + query.file_id + ": " + retrieved.message;
    return r;
}

}  // namespace shotfarm::providers::minimax
