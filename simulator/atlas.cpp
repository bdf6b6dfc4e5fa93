#include "simulator/atlas.hpp"

#include <optional>
#include <string_view>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "simulator/common.hpp"
#include "simulator/media.hpp"

namespace shotfarm::simulator::atlas {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view provider_name = "atlas";
// Body limit 413: https://atlascloud.ai/docs/en/errors. Prompt "Maximum support 2000 characters":
// https://www.atlascloud.ai/docs/more-models/minimax/video-01/generateVideo. Moderation
// error_code: https://www.atlascloud.ai/docs/errors.md.
constexpr std::size_t max_body_bytes = 50u * 1024 * 1024;
constexpr std::size_t max_prompt_chars = 2000;
constexpr int moderation_error_code = 1039;

enum class image_rule { required, optional, ignored };

// What Atlas accepts per Hailuo model (its schemas, as its ComfyUI nodes
// AtlasCloudAI/atlascloud_comfyui expose them) and what a run costs (Atlas's model pages, else
// WaveSpeed's price; each row's source is in docs/simulator.md).
// This is the provider's table, kept apart from shotfarm's own catalog on purpose.
struct model_spec {
    std::string_view id;
    bool prompt_required;
    image_rule image;
    bool has_duration;  // false: the schema has no duration field; the clip is 6 s
    double price_6s;
    double price_10s;  // 0: 10 s not offered
};

// clang-format off
const std::vector<model_spec> models = {
    {"minimax/hailuo-02/fast",           false, image_rule::required, true,  0.10, 0.15},
    {"minimax/hailuo-02/standard",       true,  image_rule::optional, true,  0.23, 0.56},
    {"minimax/hailuo-02/i2v-standard",   true,  image_rule::required, true,  0.23, 0.56},
    {"minimax/hailuo-02/t2v-standard",   true,  image_rule::ignored,  true,  0.23, 0.56},
    {"minimax/hailuo-02/pro",            true,  image_rule::optional, true,  0.48, 0.00},
    {"minimax/hailuo-02/i2v-pro",        false, image_rule::required, false, 0.49, 0.00},
    {"minimax/hailuo-02/t2v-pro",        true,  image_rule::ignored,  false, 0.49, 0.00},
    {"minimax/hailuo-2.3/fast",          false, image_rule::required, true,  0.19, 0.32},
    {"minimax/hailuo-2.3/i2v-standard",  false, image_rule::required, true,  0.28, 0.56},
    {"minimax/hailuo-2.3/i2v-pro",       false, image_rule::required, false, 0.49, 0.00},
    {"minimax/hailuo-2.3/t2v-standard",  true,  image_rule::ignored,  true,  0.28, 0.56},
    {"minimax/hailuo-2.3/t2v-pro",       true,  image_rule::ignored,  false, 0.49, 0.00},
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

// One answer in Atlas's shape; `rid` goes in the X-Request-ID header (and error bodies).
net::http_response_t json_answer(
    http::status status, const json::value& body, const std::string& rid
) {
    net::http_response_t res{status, 11};
    res.set(http::field::content_type, "application/json");
    res.set("X-Request-ID", rid);
    res.body() = json::serialize(body);
    return res;
}

class exchange {
public:
    exchange(sim_state& state, const net::http_request_t& req)
        : state_(state), req_(req), rid_(state.next_request_id()) {}

    net::http_response_t error(http::status status, std::string_view reason, std::string msg) {
        state_.count_rejection(static_cast<unsigned>(status), reason);
        json::object body;
        body["code"] = static_cast<unsigned>(status);
        body["msg"] = std::move(msg);
        body["request_id"] = rid_;
        body["data"] = nullptr;
        return json_answer(status, body, rid_);
    }

    net::http_response_t ok(json::object body) { return json_answer(http::status::ok, body, rid_); }

    const std::string& request_id() const { return rid_; }
    sim_state& state() { return state_; }
    const net::http_request_t& req() const { return req_; }

private:
    sim_state& state_;
    const net::http_request_t& req_;
    std::string rid_;
};

std::string prediction_url(const sim_state& state, const std::string& id) {
    return state.base_url() + "/api/v1/model/prediction/" + id;
}

// The prediction object Atlas returns in `data` (submit and poll).
json::object prediction(sim_state& state, const job& j, std::optional<std::string_view> status) {
    const auto phase = state.phase(j);
    const bool done = phase == job_phase::completed || phase == job_phase::failed;
    json::object d;
    d["id"] = j.id;
    d["model"] = j.model;
    if (status) {
        d["status"] = *status;
    } else if (j.hostile.bogus_status) {
        d["status"] = bogus_status;  // and nothing else changes: no outputs, no error
    } else if (phase == job_phase::completed && j.reports_succeeded) {
        d["status"] = "succeeded";
    } else {
        d["status"] = to_string(phase);
    }
    if (phase == job_phase::completed && !status && !j.hostile.bogus_status) {
        d["outputs"] = json::array{json::value(video_url(state, j, output_url(state, j)))};
        d["has_nsfw_contents"] = json::array{false};
    } else {
        d["outputs"] = nullptr;
        d["has_nsfw_contents"] = json::array{};
    }
    json::object urls;
    urls["get"] = prediction_url(state, j.id);
    d["urls"] = std::move(urls);
    json::object metrics;
    const bool reported_done = done && !status && !j.hostile.bogus_status;
    if (reported_done) {
        metrics["predict_time"] = j.predict_s;
    }
    d["metrics"] = std::move(metrics);
    d["created_at"] = iso8601(j.submitted_wall);
    if (reported_done) {
        const auto finished =
            j.submitted_wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                   j.finishes - j.submitted
                               );
        d["completed_at"] = iso8601(finished);
    } else {
        d["completed_at"] = nullptr;
    }
    d["error"] = "";
    if (phase == job_phase::failed && reported_done) {
        if (j.outcome == job_outcome::moderated) {
            d["error"] =
                "Input rejected by content moderation: the prompt or image may violate our "
                "content policy";
            d["error_code"] = moderation_error_code;
        } else {
            d["error"] = "Generation failed: the model returned an internal error";
        }
    }
    return d;
}

net::http_response_t generate_video(exchange& ex, const key_config& key) {
    auto& state = ex.state();
    const auto& req = ex.req();
    if (req.body().size() > max_body_bytes) {
        return ex.error(
            http::status::payload_too_large,
            "too_large",
            "request body exceeds 50 MB: send a URL instead of inline Base64, or upload the file "
            "first"
        );
    }
    if (req[http::field::content_type].find("application/json") == std::string_view::npos) {
        return ex.error(
            http::status::bad_request, "validation", "Content-Type must be application/json"
        );
    }
    boost::system::error_code ec;
    auto parsed = json::parse(req.body(), ec);
    if (ec || !parsed.is_object()) {
        return ex.error(
            http::status::bad_request, "validation", "request body must be a JSON object"
        );
    }
    const auto& body = parsed.as_object();

    const auto* model_field = body.if_contains("model");
    if (model_field == nullptr || !model_field->is_string() || model_field->as_string().empty()) {
        return ex.error(http::status::bad_request, "validation", "model is required");
    }
    const std::string model_id(model_field->as_string());
    const auto* spec = find_model(model_id);
    if (spec == nullptr) {
        return ex.error(
            http::status::not_found,
            "unknown_model",
            "model " + model_id + " not found or not available to your account"
        );
    }

    std::string prompt;
    if (const auto* p = body.if_contains("prompt"); p != nullptr && !p->is_null()) {
        if (!p->is_string()) {
            return ex.error(http::status::bad_request, "validation", "prompt must be a string");
        }
        prompt = std::string(p->as_string());
    }
    if (spec->prompt_required && prompt.empty()) {
        return ex.error(
            http::status::bad_request, "validation", "prompt is required for model " + model_id
        );
    }
    if (utf8_length(prompt) > max_prompt_chars) {
        return ex.error(
            http::status::bad_request, "validation", "prompt exceeds the maximum of 2000 characters"
        );
    }

    checked_image image;
    const auto* image_field = body.if_contains("image");
    const bool has_image = image_field != nullptr && !image_field->is_null() &&
                           !(image_field->is_string() && image_field->as_string().empty());
    if (has_image && spec->image != image_rule::ignored) {
        if (!image_field->is_string()) {
            return ex.error(http::status::bad_request, "validation", "image must be a string");
        }
        if (auto problem = check_image(state, image_field->as_string(), image, false)) {
            return ex.error(http::status::bad_request, "validation", *problem);
        }
    } else if (spec->image == image_rule::required) {
        return ex.error(
            http::status::bad_request, "validation", "image is required for model " + model_id
        );
    }

    int duration = 6;
    if (const auto* d = body.if_contains("duration"); d != nullptr && !d->is_null()) {
        const auto as_int =
            d->is_int64() ? std::optional<std::int64_t>(d->as_int64())
            : d->is_uint64()
                ? std::optional<std::int64_t>(static_cast<std::int64_t>(d->as_uint64()))
                : std::nullopt;
        if (!as_int) {
            return ex.error(http::status::bad_request, "validation", "duration must be an integer");
        }
        const bool allowed = *as_int == 6 || (*as_int == 10 && spec->price_10s > 0);
        if (!allowed) {
            const std::string allowed_list = !spec->has_duration ? "model has a fixed 6 s duration"
                                             : spec->price_10s > 0 ? "allowed: 6, 10"
                                                                   : "allowed: 6";
            return ex.error(
                http::status::bad_request,
                "validation",
                "duration " + std::to_string(*as_int) + " is not supported by model " + model_id +
                    " (" + allowed_list + ")"
            );
        }
        duration = static_cast<int>(*as_int);
    }

    json::object params;
    for (const auto* flag : {"enable_prompt_expansion", "go_fast"}) {
        if (const auto* f = body.if_contains(flag); f != nullptr && !f->is_null()) {
            if (!f->is_bool()) {
                return ex.error(
                    http::status::bad_request,
                    "validation",
                    std::string(flag) + " must be a boolean"
                );
            }
            params[flag] = f->as_bool();
        }
    }
    if (const auto* w = body.if_contains("webhook_url"); w != nullptr && !w->is_null()) {
        if (!w->is_string() || !is_http_url(w->as_string())) {
            return ex.error(http::status::bad_request, "validation", "invalid webhook_url");
        }
        params["webhook_url"] = w->as_string();
    }

    const double price = duration == 10 ? spec->price_10s : spec->price_6s;
    switch (state.admit(key, price)) {
        case sim_state::admission::rate_limited:
            return ex.error(
                http::status::too_many_requests,
                "rate_limit",
                "rate limit reached: too many requests, please back off and retry"
            );
        case sim_state::admission::over_concurrency:
            return ex.error(
                http::status::too_many_requests,
                "concurrency",
                "rate limit reached: too many concurrent tasks, please back off and retry"
            );
        case sim_state::admission::submit_rate_limited:
            return ex.error(
                http::status::too_many_requests,
                "submit_rate",
                "rate limit reached: too many generation requests, please back off and retry"
            );
        case sim_state::admission::insufficient_balance:
            return ex.error(http::status::payment_required, "balance", "insufficient balance");
        case sim_state::admission::accepted:
            break;
    }

    const auto forced = prompt_trigger(prompt);

    auto j =
        new_job(provider_name, key, model_id, prompt, image, duration, price, std::move(params));
    const auto& accepted = state.accept(std::move(j), forced);

    json::object answer;
    answer["code"] = 200;
    answer["data"] = prediction(state, accepted, "created");
    return ex.ok(std::move(answer));
}

net::http_response_t get_prediction(exchange& ex, const key_config& key, std::string_view id) {
    auto& state = ex.state();
    auto* j = state.find_job(id);
    // Another account's prediction is as invisible as a missing one.
    if (j == nullptr || j->key != key.key) {
        return ex.error(http::status::not_found, "not_found", "prediction not found");
    }
    if (state.now() < j->visible) {
        // A freshly created prediction is briefly not found (Atlas's own ComfyUI client polls
        // through 400/404 for 30 s after a submit).
        state.count_lag_404();
        json::object body;
        body["code"] = 404;
        body["msg"] = "prediction not found";
        body["request_id"] = ex.request_id();
        body["data"] = nullptr;
        return json_answer(http::status::not_found, body, ex.request_id());
    }
    json::object answer;
    answer["code"] = 200;
    answer["data"] = prediction(state, *j, std::nullopt);
    return ex.ok(std::move(answer));
}

struct form_file {
    std::string filename;
    std::string bytes;
};

// Finds the part named `field` in a multipart/form-data body.
std::optional<form_file> multipart_file(
    std::string_view content_type, std::string_view body, std::string_view field
) {
    const auto b = content_type.find("boundary=");
    if (b == std::string_view::npos) {
        return std::nullopt;
    }
    auto boundary = content_type.substr(b + 9);
    boundary = boundary.substr(0, boundary.find(';'));
    if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"') {
        boundary = boundary.substr(1, boundary.size() - 2);
    }
    const std::string delimiter = "--" + std::string(boundary);
    std::size_t pos = body.find(delimiter);
    while (pos != std::string_view::npos) {
        pos += delimiter.size();
        if (body.substr(pos, 2) == "--") {
            break;  // closing delimiter
        }
        const auto headers_end = body.find("\r\n\r\n", pos);
        if (headers_end == std::string_view::npos) {
            break;
        }
        const auto headers = body.substr(pos, headers_end - pos);
        const auto data_begin = headers_end + 4;
        const auto next = body.find("\r\n" + delimiter, data_begin);
        if (next == std::string_view::npos) {
            break;
        }
        const std::string name_attr = "name=\"" + std::string(field) + "\"";
        if (headers.find(name_attr) != std::string_view::npos) {
            form_file file;
            file.bytes = std::string(body.substr(data_begin, next - data_begin));
            if (const auto fn = headers.find("filename=\""); fn != std::string_view::npos) {
                const auto start = fn + 10;
                file.filename =
                    std::string(headers.substr(start, headers.find('"', start) - start));
            }
            return file;
        }
        pos = next + 2;
    }
    return std::nullopt;
}

net::http_response_t upload_media(exchange& ex) {
    auto& state = ex.state();
    const auto& req = ex.req();
    const auto content_type = req[http::field::content_type];
    if (content_type.find("multipart/form-data") == std::string_view::npos) {
        return ex.error(
            http::status::bad_request, "validation", "Content-Type must be multipart/form-data"
        );
    }
    auto file = multipart_file(content_type, req.body(), "file");
    if (!file || file->bytes.empty()) {
        return ex.error(http::status::bad_request, "validation", "file is required");
    }
    const auto info = sniff_image(file->bytes);
    if (!info || info->mime == "image/webp") {
        return ex.error(
            http::status::bad_request,
            "validation",
            "unsupported file type: only JPG/JPEG and PNG images are accepted"
        );
    }
    const auto size = file->bytes.size();
    auto filename = file->filename.empty() ? "upload." + info->extension : file->filename;
    const auto name = state.put_media(media_item{std::move(file->bytes), info->mime, filename});

    json::object data;
    data["type"] = info->mime;
    data["download_url"] = state.base_url() + "/_sim/media/" + name;
    data["filename"] = filename;
    data["size"] = size;
    json::object answer;
    answer["code"] = 200;
    answer["message"] = "success";
    answer["data"] = std::move(data);
    return ex.ok(std::move(answer));
}

net::http_response_t list_models(exchange& ex) {
    json::array list;
    for (const auto& m : models) {
        json::object entry;
        entry["model"] = m.id;
        entry["type"] = "Video";
        json::object price;
        price["actual"] = m.price_6s;
        price["origin"] = m.price_6s;
        entry["price"] = std::move(price);
        list.push_back(std::move(entry));
    }
    json::object answer;
    answer["code"] = 200;
    answer["data"] = std::move(list);
    return ex.ok(std::move(answer));
}

net::http_response_t route(sim_state& state, const net::http_request_t& req) {
    exchange ex(state, req);
    const auto path = path_of(req.target());
    const auto method = req.method();

    if (path == "/api/v1/models" && method == http::verb::get) {
        return list_models(ex);  // the catalog needs no key
    }
    // Auth before routing: a wrong path with a bad key is 401, not 404
    // (https://atlascloud.ai/docs/en/errors).
    const auto token = bearer_token(req);
    const auto* key = token ? state.find_key(*token, provider_name) : nullptr;
    if (key == nullptr) {
        return ex.error(http::status::unauthorized, "auth", "unauthorized");
    }
    if (path == "/api/v1/model/generateVideo" && method == http::verb::post) {
        return generate_video(ex, *key);
    }
    if (path == "/api/v1/model/uploadMedia" && method == http::verb::post) {
        return upload_media(ex);
    }
    constexpr std::string_view prediction_prefix = "/api/v1/model/prediction/";
    if (path.starts_with(prediction_prefix) && method == http::verb::get) {
        const auto id = path.substr(prediction_prefix.size());
        if (!id.empty() && id.find('/') == std::string_view::npos) {
            // The id is one path segment, percent-decoded (hostile ids carry '/' and '?').
            return get_prediction(ex, *key, decode_segment(id));
        }
    }
    return ex.error(http::status::not_found, "not_found", "not found");
}

}  // namespace

boost::asio::awaitable<net::http_response_t> handle(
    std::shared_ptr<sim_state> state, net::http_request_t req
) {
    co_return route(*state, req);
}

json::object prediction_data(sim_state& state, const job& j) {
    return prediction(state, j, std::nullopt);
}

net::http_response_t fault_answer(sim_state& state, http::status status) {
    const auto rid = state.next_request_id();
    json::object body;
    body["code"] = static_cast<unsigned>(status);
    body["msg"] = status == http::status::too_many_requests
                      ? "rate limit reached: too many requests, please back off and retry"
                      : std::string(http::obsolete_reason(status));
    body["request_id"] = rid;
    body["data"] = nullptr;
    return json_answer(status, body, rid);
}

net::http_response_t payload_too_large(sim_state& state) {
    const auto rid = state.next_request_id();
    state.count_rejection(413, "too_large");
    json::object body;
    body["code"] = 413;
    body["msg"] =
        "request body exceeds 50 MB: send a URL instead of inline Base64, or upload the file first";
    body["request_id"] = rid;
    body["data"] = nullptr;
    return json_answer(http::status::payload_too_large, body, rid);
}

}  // namespace shotfarm::simulator::atlas
