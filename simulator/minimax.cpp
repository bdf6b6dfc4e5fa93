#include "simulator/minimax.hpp"

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>

#include "simulator/common.hpp"
#include "simulator/media.hpp"
#include "simulator/webhooks.hpp"

namespace shotfarm::simulator::minimax {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view provider_name = "minimax";
constexpr std::size_t max_prompt_chars = 2000;

// base_resp codes (https://platform.minimax.io/docs/api-reference/errorcode.md).
constexpr int code_rate_limit = 1002;
constexpr int code_auth = 1004;
constexpr int code_balance = 1008;
constexpr int code_unknown = 1000;
constexpr int code_timeout = 1001;
constexpr int code_input_sensitive = 1026;
constexpr int code_output_sensitive = 1027;
constexpr int code_invalid_params = 2013;
constexpr int code_invalid_key = 2049;

// Per model (https://platform.minimax.io/docs/api-reference/video-generation-i2v): which
// resolutions, whether 10 s is allowed at each, i2v-only, and a price per resolution × duration
// (MiniMax's USD matrix is a GAP — 768P from third-party summaries, the
// rest scaled like WaveSpeed's; 0 = combination not offered).
struct model_spec {
    std::string_view id;
    bool i2v_only;
    double p512_6, p512_10, p768_6, p768_10, p1080_6;  // 0: resolution not offered
};

// clang-format off
const std::vector<model_spec> models = {
    {"MiniMax-Hailuo-02",       false, 0.10, 0.15, 0.25, 0.52, 0.49},
    {"MiniMax-Hailuo-2.3",      false, 0.00, 0.00, 0.25, 0.52, 0.49},
    {"MiniMax-Hailuo-2.3-Fast", true,  0.00, 0.00, 0.19, 0.32, 0.33},
};
// clang-format on

const model_spec* find_model(std::string_view id) {
    for (const auto& m : models) {
        if (m.id == id) {
            return &m;
        }
    }
    return nullptr;
}

json::object base_resp(int code, std::string_view msg) {
    json::object b;
    b["status_code"] = code;
    b["status_msg"] = msg;
    return b;
}

net::http_response_t answer(sim_state& state, http::status status, json::object body) {
    auto res = json_response(status, body);
    res.set("Trace-Id", state.next_request_id());
    return res;
}

// A business error: HTTP 200, base_resp carries it.
net::http_response_t fail(sim_state& state, int code, std::string_view reason, std::string msg) {
    state.count_rejection(static_cast<unsigned>(code), reason);
    json::object body;
    body["base_resp"] = base_resp(code, msg);
    return answer(state, http::status::ok, std::move(body));
}

net::http_response_t invalid(sim_state& state, std::string msg) {
    return fail(state, code_invalid_params, "validation", "invalid params, " + msg);
}

std::pair<int, int> dimensions(std::string_view resolution) {
    if (resolution == "1080P") {
        return {1920, 1080};
    }
    if (resolution == "512P") {
        return {912, 512};
    }
    return {1366, 768};
}

// A create that passed validation: the job to accept and its price, once the callback (if
// any) echoed its challenge.
struct prepared_create {
    job j;
    double price = 0;
    std::string callback_url;
};

// Validates a create. Returns the refusal, or nullopt with `out` filled.
std::optional<net::http_response_t> prepare_create(
    sim_state& state, const net::http_request_t& req, const key_config& key, prepared_create& out
) {
    boost::system::error_code ec;
    auto parsed = json::parse(req.body(), ec);
    if (ec || !parsed.is_object()) {
        return invalid(state, "body must be a JSON object");
    }
    const auto& body = parsed.as_object();
    const auto* model_field = body.if_contains("model");
    if (model_field == nullptr || !model_field->is_string()) {
        return invalid(state, "model is required");
    }
    const std::string model_id(model_field->as_string());
    const auto* spec = find_model(model_id);
    if (spec == nullptr) {
        return invalid(state, "unknown model " + model_id);
    }
    std::string prompt;
    if (const auto* p = body.if_contains("prompt"); p != nullptr && !p->is_null()) {
        if (!p->is_string()) {
            return invalid(state, "prompt must be a string");
        }
        prompt = std::string(p->as_string());
    }
    if (utf8_length(prompt) > max_prompt_chars) {
        return invalid(state, "prompt exceeds 2000 characters");
    }
    checked_image image;
    const auto* image_field = body.if_contains("first_frame_image");
    const bool has_image = image_field != nullptr && !image_field->is_null();
    if (has_image) {
        if (!image_field->is_string()) {
            return invalid(state, "first_frame_image must be a string");
        }
        if (auto problem = check_image(state, image_field->as_string(), image, true)) {
            return invalid(state, "first_frame_image: " + *problem);
        }
    } else if (spec->i2v_only) {
        return invalid(
            state, model_id + " supports image-to-video only: first_frame_image is required"
        );
    } else if (prompt.empty()) {
        return invalid(state, "prompt is required for text-to-video");
    }
    std::string resolution = "768P";
    if (const auto* r = body.if_contains("resolution"); r != nullptr && !r->is_null()) {
        if (!r->is_string()) {
            return invalid(state, "resolution must be a string");
        }
        resolution = std::string(r->as_string());
    }
    int duration = 6;
    if (const auto* d = body.if_contains("duration"); d != nullptr && !d->is_null()) {
        const auto n = as_integer(*d);
        if (!n || (*n != 6 && *n != 10)) {
            return invalid(state, "duration must be 6 or 10");
        }
        duration = static_cast<int>(*n);
    }
    double price = 0;
    if (resolution == "512P") {
        price = duration == 10 ? spec->p512_10 : spec->p512_6;
        if (price > 0 && !has_image) {
            return invalid(state, "512P is only available for image-to-video");
        }
    } else if (resolution == "768P") {
        price = duration == 10 ? spec->p768_10 : spec->p768_6;
    } else if (resolution == "1080P") {
        if (duration == 10) {
            return invalid(state, "1080P supports 6 s only");
        }
        price = spec->p1080_6;
    } else {
        return invalid(state, "resolution " + resolution + " is not supported by " + model_id);
    }
    if (price <= 0) {
        return invalid(state, "resolution " + resolution + " is not supported by " + model_id);
    }
    json::object params;
    params["resolution"] = resolution;
    for (const auto* flag : {"prompt_optimizer", "fast_pretreatment", "aigc_watermark"}) {
        if (const auto* f = body.if_contains(flag); f != nullptr && !f->is_null()) {
            if (!f->is_bool()) {
                return invalid(state, std::string(flag) + " must be a boolean");
            }
            params[flag] = f->as_bool();
        }
    }
    if (const auto* c = body.if_contains("callback_url"); c != nullptr && !c->is_null()) {
        if (!c->is_string() || !is_http_url(c->as_string())) {
            return invalid(state, "callback_url must be an http(s) URL");
        }
        params["callback_url"] = c->as_string();
        out.callback_url = std::string(c->as_string());
    }
    if (prompt.find("[sim:reject]") != std::string::npos) {
        // Input moderation at submit: refused, never billed (code 1026, "input new_sensitive").
        return fail(state, code_input_sensitive, "moderation", "input new_sensitive");
    }
    out.price = price;
    out.j =
        new_job(provider_name, key, model_id, prompt, image, duration, price, std::move(params));
    return std::nullopt;
}

// Applies the key's limits to a validated create and accepts it. Synchronous: nothing runs
// between the admission and the acceptance.
net::http_response_t admit_create(sim_state& state, const key_config& key, prepared_create p) {
    switch (state.admit(key, p.price)) {
        case sim_state::admission::rate_limited:
        case sim_state::admission::over_concurrency:
            return fail(state, code_rate_limit, "rate_limit", "rate limit exceeded");
        case sim_state::admission::submit_rate_limited:
            return fail(state, code_rate_limit, "submit_rate", "rate limit exceeded");
        case sim_state::admission::insufficient_balance:
            return fail(state, code_balance, "balance", "insufficient balance");
        case sim_state::admission::accepted:
            break;
    }
    const auto forced = prompt_trigger(p.j.prompt);
    const auto& accepted = state.accept(std::move(p.j), forced);
    json::object out;
    out["task_id"] = accepted.id;
    out["base_resp"] = base_resp(0, "success");
    return answer(state, http::status::ok, std::move(out));
}

net::http_response_t query(
    sim_state& state, const net::http_request_t& req, const key_config& key
) {
    const auto id = query_param(req.target(), "task_id");
    if (!id || id->empty()) {
        return invalid(state, "task_id is required");
    }
    auto* j = state.find_job(*id);
    if (j == nullptr || j->key != key.key) {
        return invalid(state, "task not found");
    }
    json::object out;
    out["task_id"] = j->id;
    const auto phase = state.phase(*j);
    const auto t = state.now();
    switch (phase) {
        case job_phase::created:
            out["status"] =
                t < j->submitted + (j->processing - j->submitted) / 2 ? "Preparing" : "Queueing";
            break;
        case job_phase::processing:
            out["status"] = "Processing";
            break;
        case job_phase::completed:
            out["status"] = "Success";
            break;
        case job_phase::failed:
            out["status"] = state.config().minimax_fail_status;
            break;
    }
    if (j->hostile.bogus_status) {
        out["status"] = "Teleported";  // a word MiniMax does not document
    }
    if (phase == job_phase::completed && !j->hostile.bogus_status) {
        const auto* r = j->params.if_contains("resolution");
        const auto [w, h] = dimensions(r != nullptr && r->is_string() ? r->as_string() : "768P");
        out["file_id"] = j->file_id;
        out["video_width"] = w;
        out["video_height"] = h;
    } else {
        out["file_id"] = "";
    }
    if (phase == job_phase::failed && !j->hostile.bogus_status) {
        out["base_resp"] = j->outcome == job_outcome::moderated
                               ? base_resp(code_output_sensitive, "output new_sensitive")
                               : base_resp(code_unknown, "video generation failed");
    } else {
        out["base_resp"] = base_resp(0, "success");
    }
    return answer(state, http::status::ok, std::move(out));
}

net::http_response_t retrieve(
    sim_state& state, const net::http_request_t& req, const key_config& key
) {
    const auto id = query_param(req.target(), "file_id");
    if (!id || id->empty()) {
        return invalid(state, "file_id is required");
    }
    auto* j = state.find_job_by_file(*id);
    if (j == nullptr || j->key != key.key || state.phase(*j) != job_phase::completed) {
        return invalid(state, "file not found");
    }
    const auto token = state.issue_download(*j, state.scaled(state.config().minimax_url_ttl_s));
    const auto created =
        j->submitted_wall +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(j->finishes - j->submitted);
    json::object file;
    file["file_id"] = j->file_id;
    file["bytes"] = j->output.size();
    file["created_at"] = unix_ms(created) / 1000;
    file["filename"] = "output_aigc.mp4";
    file["purpose"] = "video_generation";
    file["download_url"] =
        video_url(state, *j, state.base_url() + "/_sim/dl/" + token + "/output.mp4");
    json::object out;
    out["file"] = std::move(file);
    out["base_resp"] = base_resp(0, "success");
    return answer(state, http::status::ok, std::move(out));
}

net::http_response_t route(
    sim_state& state, const net::http_request_t& req, const key_config*& create_key
) {
    const auto path = path_of(req.target());
    const auto token = bearer_token(req);
    if (!token || token->empty()) {
        return fail(state, code_auth, "auth", "authorized failed: cookie is missing, log in again");
    }
    const auto* key = state.find_key(*token, provider_name);
    if (key == nullptr) {
        return fail(state, code_invalid_key, "auth", "invalid api key");
    }
    if (path == "/v1/video_generation" && req.method() == http::verb::post) {
        create_key = key;  // the caller creates (it may wait for the callback's echo)
        return {};
    }
    if (path == "/v1/query/video_generation" && req.method() == http::verb::get) {
        return query(state, req, *key);
    }
    if (path == "/v1/files/retrieve" && req.method() == http::verb::get) {
        return retrieve(state, req, *key);
    }
    state.count_rejection(404, "not_found");
    json::object body;
    body["base_resp"] = base_resp(code_unknown, "not found");
    return answer(state, http::status::not_found, std::move(body));
}

}  // namespace

boost::asio::awaitable<net::http_response_t> handle(
    std::shared_ptr<sim_state> state, std::shared_ptr<webhook_sender> hooks, net::http_request_t req
) {
    const key_config* key = nullptr;
    auto res = route(*state, req, key);
    if (key == nullptr) {
        co_return res;
    }
    prepared_create p;
    if (auto refused = prepare_create(*state, req, *key, p)) {
        co_return std::move(*refused);
    }
    if (!p.callback_url.empty() && !co_await hooks->challenge(p.callback_url)) {
        // The URL itself is not repeated: it may carry the receiver's own token.
        co_return fail(
            *state,
            code_invalid_params,
            "callback",
            "invalid params, callback_url did not answer the challenge (HTTP 200 with the same "
            "challenge value within 3 s)"
        );
    }
    co_return admit_create(*state, *key, std::move(p));
}

json::object callback_body(const job& j, bool terminal) {
    json::object out;
    out["task_id"] = j.id;
    if (!terminal) {
        out["status"] = "processing";
        out["base_resp"] = base_resp(0, "success");
        return out;
    }
    const bool success = j.outcome == job_outcome::success;
    out["status"] = success ? "success" : "failed";
    if (success) {
        out["file_id"] = j.file_id;
        out["base_resp"] = base_resp(0, "success");
    } else {
        out["base_resp"] = j.outcome == job_outcome::moderated
                               ? base_resp(code_output_sensitive, "output new_sensitive")
                               : base_resp(code_unknown, "video generation failed");
    }
    return out;
}

net::http_response_t fault_answer(sim_state& state, http::status status) {
    json::object body;
    if (status == http::status::too_many_requests) {
        body["base_resp"] = base_resp(code_rate_limit, "rate limit exceeded");
        return answer(state, http::status::ok, std::move(body));
    }
    body["base_resp"] = status == http::status::service_unavailable
                            ? base_resp(code_timeout, "request timeout")
                            : base_resp(code_unknown, "unknown error");
    return answer(state, status, std::move(body));
}

}  // namespace shotfarm::simulator::minimax
