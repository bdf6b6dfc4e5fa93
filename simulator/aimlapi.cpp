#include "simulator/aimlapi.hpp"

#include <chrono>
#include <cmath>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "simulator/common.hpp"
#include "simulator/media.hpp"

namespace shotfarm::simulator::aimlapi {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view provider_name = "aimlapi";
constexpr std::string_view current_path = "/v2/video/generations";
constexpr std::string_view legacy_path = "/v2/generate/video/minimax/generation";
constexpr std::size_t max_prompt_chars = 2000;
// "$1 USD = 2,000,000 credits": aimlapi/api-docs, docs/faq/how-can-i-track-my-funds.md.
constexpr double credits_per_usd = 2'000'000;

// What AI/ML API accepts per model (its schemas in aimlapi/api-docs, with MiniMax's own
// combination rules) and charges (2.3 and 2.3-fast derived from the doc examples at 768P 6 s; the
// rest is a GAP, priced with WaveSpeed's 10 s / 1080P ratios).
struct model_spec {
    std::string_view id;
    bool image_required;
    double price_768p_6s;
    double price_768p_10s;
    double price_1080p_6s;
};

// clang-format off
const std::vector<model_spec> models = {
    {"minimax/hailuo-02",       false, 0.294, 0.56, 0.49},
    {"minimax/hailuo-2.3",      false, 0.294, 0.56, 0.49},
    {"minimax/hailuo-2.3-fast", true,  0.1995, 0.32, 0.33},
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

json::object error_body(
    sim_state& state, http::status status, std::string_view path, std::string message
) {
    json::object body;
    body["message"] = std::move(message);
    body["path"] = path;
    body["requestId"] = state.next_request_id();
    body["statusCode"] = static_cast<unsigned>(status);
    body["timestamp"] = iso8601(std::chrono::system_clock::now());
    return body;
}

net::http_response_t error(
    sim_state& state,
    http::status status,
    std::string_view reason,
    std::string_view path,
    std::string message
) {
    state.count_rejection(static_cast<unsigned>(status), reason);
    return json_response(status, error_body(state, status, path, std::move(message)));
}

net::http_response_t invalid(sim_state& state, std::string_view path, const std::string& detail) {
    return error(
        state, http::status::bad_request, "validation", path, "Body validation error! " + detail
    );
}

json::object meta(const job& j) {
    json::object usage;
    usage["credits_used"] = static_cast<std::int64_t>(std::llround(j.price_usd * credits_per_usd));
    json::object m;
    m["usage"] = std::move(usage);
    return m;
}

// In-progress statuses: `queued` then `waiting` while created, `active` then `generating`
// while processing (the undocumented values its docs' polling loops wait on included).
std::string_view status_of(sim_state& state, const job& j) {
    if (j.hostile.bogus_status) {
        return bogus_status;
    }
    const auto phase = state.phase(j);
    const auto t = state.now();
    switch (phase) {
        case job_phase::created:
            return t < j.submitted + (j.processing - j.submitted) / 2 ? "queued" : "waiting";
        case job_phase::processing:
            if (j.finishes == sim_clock::time_point::max()) {
                return "generating";
            }
            return t < j.processing + (j.finishes - j.processing) / 5 ? "active" : "generating";
        case job_phase::completed:
            return "completed";
        case job_phase::failed:
            return "error";
    }
    return "error";
}

net::http_response_t submit(
    sim_state& state, const net::http_request_t& req, const key_config& key, bool legacy
) {
    const auto path = path_of(req.target());
    const std::string image_name = legacy ? "first_frame_image" : "image_url";
    const std::string enhance_name = legacy ? "prompt_optimizer" : "enhance_prompt";
    boost::system::error_code ec;
    auto parsed = json::parse(req.body(), ec);
    if (ec || !parsed.is_object()) {
        return invalid(state, path, "Expected object, received invalid JSON");
    }
    const auto& body = parsed.as_object();
    const auto* model_field = body.if_contains("model");
    if (model_field == nullptr || !model_field->is_string()) {
        return invalid(state, path, "model: Required");
    }
    const std::string model_id(model_field->as_string());
    const auto* spec = find_model(model_id);
    if (spec == nullptr) {
        return invalid(
            state,
            path,
            "model: Invalid enum value. Expected 'minimax/hailuo-02' | 'minimax/hailuo-2.3' | "
            "'minimax/hailuo-2.3-fast', received '" +
                model_id + "'"
        );
    }
    const auto* p = body.if_contains("prompt");
    if (p == nullptr || !p->is_string() || p->as_string().empty()) {
        return invalid(state, path, "prompt: Required");
    }
    const std::string prompt(p->as_string());
    if (utf8_length(prompt) > max_prompt_chars) {
        return invalid(state, path, "prompt: String must contain at most 2000 character(s)");
    }

    checked_image image;
    const auto* image_field = body.if_contains(image_name);
    if (image_field != nullptr && !image_field->is_null()) {
        if (!image_field->is_string()) {
            return invalid(state, path, image_name + ": Expected string");
        }
        if (auto problem = check_image(state, image_field->as_string(), image, false)) {
            return invalid(state, path, image_name + ": " + *problem);
        }
    } else if (spec->image_required) {
        return invalid(state, path, image_name + ": Required for " + model_id);
    }

    std::string resolution = "768P";
    if (const auto* r = body.if_contains("resolution"); r != nullptr && !r->is_null()) {
        if (!r->is_string() || (r->as_string() != "768P" && r->as_string() != "1080P")) {
            return invalid(
                state, path, "resolution: Invalid enum value. Expected '768P' | '1080P'"
            );
        }
        resolution = std::string(r->as_string());
    }
    int duration = 6;
    if (const auto* d = body.if_contains("duration"); d != nullptr && !d->is_null()) {
        const auto n = as_integer(*d);
        if (!n || (*n != 6 && *n != 10)) {
            return invalid(
                state, path, "duration: Expected 6 | 10, received " + json::serialize(*d)
            );
        }
        duration = static_cast<int>(*n);
    }
    if (duration == 10 && resolution == "1080P") {
        return invalid(state, path, "duration: 10 seconds is not supported at 1080P");
    }
    json::object params;
    params["resolution"] = resolution;
    if (const auto* e = body.if_contains(enhance_name); e != nullptr && !e->is_null()) {
        if (!e->is_bool()) {
            return invalid(state, path, enhance_name + ": Expected boolean");
        }
        params[enhance_name] = e->as_bool();
    }
    if (const auto* l = body.if_contains("last_image_url"); l != nullptr && l->is_string()) {
        if (model_id != "minimax/hailuo-02") {
            return invalid(state, path, "last_image_url: only supported by minimax/hailuo-02");
        }
        params["last_image_url"] = *l;
    }
    if (legacy) {
        params["legacy"] = true;
    }

    const double price = resolution == "1080P" ? spec->price_1080p_6s
                         : duration == 10      ? spec->price_768p_10s
                                               : spec->price_768p_6s;
    switch (state.admit(key, price)) {
        case sim_state::admission::rate_limited:
        case sim_state::admission::over_concurrency:
            return error(
                state,
                http::status::too_many_requests,
                "rate_limit",
                path,
                "Too Many Requests: you hit a rate or concurrency limit"
            );
        case sim_state::admission::submit_rate_limited:
            return error(
                state,
                http::status::too_many_requests,
                "submit_rate",
                path,
                "Too Many Requests: you hit a rate or concurrency limit"
            );
        case sim_state::admission::insufficient_balance:
            return error(
                state,
                http::status::forbidden,
                "balance",
                path,
                "You've run out of credits. Please top up your balance to continue."
            );
        case sim_state::admission::accepted:
            break;
    }
    auto j =
        new_job(provider_name, key, model_id, prompt, image, duration, price, std::move(params));
    const auto forced = prompt_trigger(prompt);
    const auto& accepted = state.accept(std::move(j), forced);
    json::object answer;
    answer["generation_id"] = accepted.id;
    answer["status"] = "queued";
    answer["meta"] = meta(accepted);
    return json_response(http::status::ok, answer);
}

net::http_response_t poll(sim_state& state, const net::http_request_t& req, const key_config& key) {
    const auto path = path_of(req.target());
    const auto id = query_param(req.target(), "generation_id");
    if (!id || id->empty()) {
        return invalid(state, path, "generation_id: Required");
    }
    auto* j = state.find_job(*id);
    if (j == nullptr || j->key != key.key) {
        return error(state, http::status::not_found, "not_found", path, "Generation not found");
    }
    const auto status = status_of(state, *j);
    json::object answer;
    answer["id"] = j->id;
    answer["status"] = status;
    if (status == "completed") {
        json::object video;
        video["url"] = video_url(state, *j, output_url(state, *j));
        answer["video"] = std::move(video);
    } else {
        answer["video"] = nullptr;
    }
    if (status == "error") {
        json::object err;
        if (j->outcome == job_outcome::moderated) {
            err["name"] = "ModerationError";
            err["message"] = "The prompt or image was flagged by the content moderation system";
        } else {
            err["name"] = "GenerationError";
            err["message"] = "Video generation failed";
        }
        answer["error"] = std::move(err);
    } else {
        answer["error"] = nullptr;
    }
    answer["meta"] = meta(*j);
    return json_response(http::status::ok, answer);
}

net::http_response_t route(sim_state& state, const net::http_request_t& req) {
    const auto path = path_of(req.target());
    const auto token = bearer_token(req);
    const auto* key = token ? state.find_key(*token, provider_name) : nullptr;
    if (key == nullptr) {
        return error(
            state,
            http::status::unauthorized,
            "auth",
            path,
            "This request requires a valid API key. Please provide your API key in the "
            "Authorization header."
        );
    }
    if (path == current_path || path == legacy_path) {
        if (req.method() == http::verb::post) {
            return submit(state, req, *key, path == legacy_path);
        }
        if (req.method() == http::verb::get) {
            return poll(state, req, *key);
        }
    }
    return error(
        state,
        http::status::not_found,
        "not_found",
        path,
        "Cannot " + std::string(req.method_string()) + " " + std::string(path)
    );
}

}  // namespace

boost::asio::awaitable<net::http_response_t> handle(
    std::shared_ptr<sim_state> state, net::http_request_t req
) {
    co_return route(*state, req);
}

net::http_response_t fault_answer(sim_state& state, http::status status, std::string_view path) {
    std::string message = status == http::status::too_many_requests     ? "Too Many Requests"
                          : status == http::status::service_unavailable ? "Service unavailable"
                                                                        : "Internal server error";
    return json_response(status, error_body(state, status, path, std::move(message)));
}

}  // namespace shotfarm::simulator::aimlapi
