#include "simulator/wavespeed.hpp"

#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>

#include "simulator/common.hpp"
#include "simulator/media.hpp"
#include "simulator/webhooks.hpp"

namespace shotfarm::simulator::wavespeed {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view provider_name = "wavespeed";
constexpr std::string_view api_prefix = "/api/v3/";
constexpr std::string_view predictions_prefix = "/api/v3/predictions/";
constexpr std::size_t max_prompt_chars = 2000;

enum class image_rule { required, optional, ignored };

// What WaveSpeed accepts per Hailuo model path and its price (its model pages,
// https://wavespeed.ai/docs/docs-api/minimax/minimax-hailuo-*).
struct model_spec {
    std::string_view id;
    bool prompt_required;
    image_rule image;
    bool has_duration;  // false: fixed-length tier, 6 s (or absent) only
    double price_6s;
    double price_10s;
};

// clang-format off
const std::vector<model_spec> models = {
    {"minimax/hailuo-02/fast",          false, image_rule::required, true,  0.10, 0.15},
    {"minimax/hailuo-02/standard",      true,  image_rule::optional, true,  0.23, 0.56},
    {"minimax/hailuo-02/i2v-standard",  false, image_rule::required, true,  0.23, 0.56},
    {"minimax/hailuo-02/t2v-standard",  true,  image_rule::ignored,  true,  0.23, 0.56},
    {"minimax/hailuo-02/pro",           true,  image_rule::optional, false, 0.48, 0.00},
    {"minimax/hailuo-02/i2v-pro",       true,  image_rule::required, false, 0.49, 0.00},
    {"minimax/hailuo-02/t2v-pro",       true,  image_rule::ignored,  false, 0.49, 0.00},
    {"minimax/hailuo-2.3/t2v-standard", true,  image_rule::ignored,  true,  0.23, 0.56},
    {"minimax/hailuo-2.3/t2v-pro",      true,  image_rule::ignored,  false, 0.49, 0.00},
    {"minimax/hailuo-2.3/i2v-standard", false, image_rule::required, true,  0.28, 0.56},
    {"minimax/hailuo-2.3/i2v-pro",      false, image_rule::required, false, 0.49, 0.00},
    {"minimax/hailuo-2.3/fast",         false, image_rule::required, true,  0.19, 0.32},
    {"minimax/hailuo-2.3/fast-pro",     false, image_rule::required, false, 0.49, 0.00},
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

net::http_response_t error(
    sim_state& state, http::status status, std::string_view reason, std::string message
) {
    state.count_rejection(static_cast<unsigned>(status), reason);
    json::object body;
    body["code"] = static_cast<unsigned>(status);
    body["message"] = std::move(message);
    return json_response(status, body);
}

net::http_response_t ok(json::object data) {
    json::object body;
    body["code"] = 200;
    body["message"] = "success";
    body["data"] = std::move(data);
    return json_response(http::status::ok, body);
}

// The prediction object in `data` (submit and result).
json::object prediction(sim_state& state, const job& j) {
    const auto phase = state.phase(j);
    json::object d;
    d["id"] = j.id;
    d["model"] = j.model;
    d["status"] = j.hostile.bogus_status ? bogus_status : to_string(phase);
    json::array outputs;
    json::array nsfw;
    if (j.hostile.bogus_status) {
        // Only the undocumented status word: no outputs, no error, no timings.
    } else if (phase == job_phase::completed) {
        outputs.push_back(json::value(video_url(state, j, output_url(state, j))));
        nsfw.push_back(false);
    } else if (phase == job_phase::failed && j.outcome == job_outcome::moderated) {
        nsfw.push_back(true);
    }
    d["outputs"] = std::move(outputs);
    json::object urls;
    urls["get"] = state.base_url() + std::string(predictions_prefix) + j.id + "/result";
    d["urls"] = std::move(urls);
    d["has_nsfw_contents"] = std::move(nsfw);
    d["created_at"] = iso8601(j.submitted_wall);
    d["error"] = "";
    if (phase == job_phase::failed && !j.hostile.bogus_status) {
        d["error"] = j.outcome == job_outcome::moderated
                         ? "NSFW content detected: the input or output violates the content policy"
                         : "Generation failed: internal inference error";
    }
    json::object timings;
    if ((phase == job_phase::completed || phase == job_phase::failed) && !j.hostile.bogus_status) {
        // On the clock the answers' timestamps run on (wall time: provider seconds x
        // time_scale), as a client measures it against its own.
        timings["inference"] =
            static_cast<std::int64_t>(j.predict_s * state.config().time_scale * 1000);
    }
    d["timings"] = std::move(timings);
    return d;
}

net::http_response_t submit(
    sim_state& state, const net::http_request_t& req, const key_config& key, std::string model_id
) {
    const auto* spec = find_model(model_id);
    if (spec == nullptr) {
        return error(
            state, http::status::not_found, "unknown_model", "model " + model_id + " not found"
        );
    }
    boost::system::error_code ec;
    auto parsed = json::parse(req.body(), ec);
    if (ec || !parsed.is_object()) {
        return error(
            state, http::status::bad_request, "validation", "request body must be a JSON object"
        );
    }
    const auto& body = parsed.as_object();

    std::string prompt;
    if (const auto* p = body.if_contains("prompt"); p != nullptr && !p->is_null()) {
        if (!p->is_string()) {
            return error(state, http::status::bad_request, "validation", "prompt must be a string");
        }
        prompt = std::string(p->as_string());
    }
    if (spec->prompt_required && prompt.empty()) {
        return error(state, http::status::bad_request, "validation", "prompt is required");
    }
    if (utf8_length(prompt) > max_prompt_chars) {
        return error(
            state,
            http::status::bad_request,
            "validation",
            "prompt exceeds the maximum of 2000 characters"
        );
    }

    checked_image image;
    const auto* image_field = body.if_contains("image");
    const bool has_image =
        image_field != nullptr && image_field->is_string() && !image_field->as_string().empty();
    if (has_image && spec->image != image_rule::ignored) {
        if (auto problem = check_image(state, image_field->as_string(), image, false)) {
            return error(state, http::status::bad_request, "validation", *problem);
        }
    } else if (image_field != nullptr && !image_field->is_null() && !image_field->is_string()) {
        return error(state, http::status::bad_request, "validation", "image must be a string");
    } else if (spec->image == image_rule::required) {
        return error(state, http::status::bad_request, "validation", "image is required");
    }
    json::object params;
    if (const auto* e = body.if_contains("end_image");
        e != nullptr && e->is_string() && !e->as_string().empty()) {
        checked_image end;
        if (auto problem = check_image(state, e->as_string(), end, false)) {
            return error(state, http::status::bad_request, "validation", "end_image: " + *problem);
        }
        params["end_image"] = end.description;
    }

    int duration = 6;
    if (const auto* d = body.if_contains("duration"); d != nullptr && !d->is_null()) {
        const auto n = as_integer(*d);
        if (!n) {
            return error(
                state, http::status::bad_request, "validation", "duration must be an integer"
            );
        }
        if (!(*n == 6 || (*n == 10 && spec->price_10s > 0))) {
            return error(
                state,
                http::status::bad_request,
                "validation",
                "duration " + std::to_string(*n) + " is not supported by " + model_id
            );
        }
        duration = static_cast<int>(*n);
    }
    for (const auto* flag : {"enable_prompt_expansion", "go_fast", "enable_sync_mode"}) {
        if (const auto* f = body.if_contains(flag); f != nullptr && !f->is_null()) {
            if (!f->is_bool()) {
                return error(
                    state,
                    http::status::bad_request,
                    "validation",
                    std::string(flag) + " must be a boolean"
                );
            }
            params[flag] = f->as_bool();
        }
    }
    if (auto webhook = query_param(req.target(), "webhook")) {
        if (!is_http_url(*webhook)) {
            return error(state, http::status::bad_request, "validation", "invalid webhook URL");
        }
        params["webhook"] = *webhook;
    }

    const double price = duration == 10 ? spec->price_10s : spec->price_6s;
    switch (state.admit(key, price)) {
        case sim_state::admission::rate_limited:
            return error(state, http::status::too_many_requests, "rate_limit", "Too Many Requests");
        case sim_state::admission::over_concurrency:
            return error(
                state,
                http::status::too_many_requests,
                "concurrency",
                "Too Many Requests: concurrent task limit reached"
            );
        case sim_state::admission::submit_rate_limited:
            return error(
                state,
                http::status::too_many_requests,
                "submit_rate",
                "Too Many Requests: task submission rate limit reached"
            );
        case sim_state::admission::insufficient_balance:
            return error(
                state,
                http::status::payment_required,
                "balance",
                "Insufficient balance: please top up your account"
            );
        case sim_state::admission::accepted:
            break;
    }

    auto j =
        new_job(provider_name, key, model_id, prompt, image, duration, price, std::move(params));
    const auto forced = prompt_trigger(prompt);
    const auto& accepted = state.accept(std::move(j), forced);
    auto data = prediction(state, accepted);
    data["status"] = "created";
    data["outputs"] = json::array{};
    return ok(std::move(data));
}

net::http_response_t route(sim_state& state, const net::http_request_t& req) {
    const auto path = path_of(req.target());
    const auto token = bearer_token(req);
    const auto* key = token ? state.find_key(*token, provider_name) : nullptr;
    if (key == nullptr) {
        return error(
            state, http::status::unauthorized, "auth", "Unauthorized: invalid or missing API key"
        );
    }
    if (req.method() == http::verb::get && path.starts_with(predictions_prefix)) {
        auto id = path.substr(predictions_prefix.size());
        if (id.ends_with("/result")) {
            id.remove_suffix(7);
        }
        // One path segment, percent-decoded (hostile ids carry '/' and '?').
        auto* j =
            id.find('/') == std::string_view::npos ? state.find_job(decode_segment(id)) : nullptr;
        if (j == nullptr || j->key != key->key) {
            return error(state, http::status::not_found, "not_found", "prediction not found");
        }
        return ok(prediction(state, *j));
    }
    if (req.method() == http::verb::get && path == "/api/v3/webhook/secret") {
        json::object data;
        data["secret"] = webhook_secret(state, *key);
        return ok(std::move(data));
    }
    if (req.method() == http::verb::post) {
        return submit(state, req, *key, std::string(path.substr(api_prefix.size())));
    }
    return error(state, http::status::not_found, "not_found", "not found");
}

}  // namespace

boost::asio::awaitable<net::http_response_t> handle(
    std::shared_ptr<sim_state> state, net::http_request_t req
) {
    co_return route(*state, req);
}

json::object prediction_data(sim_state& state, const job& j) {
    return prediction(state, j);
}

net::http_response_t fault_answer(sim_state& /*state*/, http::status status) {
    json::object body;
    body["code"] = static_cast<unsigned>(status);
    body["message"] = status == http::status::too_many_requests
                          ? "Too Many Requests"
                          : std::string(http::obsolete_reason(status));
    return json_response(status, body);
}

}  // namespace shotfarm::simulator::wavespeed
