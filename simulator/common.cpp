#include "simulator/common.hpp"

#include <algorithm>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>

#include "simulator/media.hpp"

namespace shotfarm::simulator {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::size_t max_image_bytes = 20u * 1024 * 1024;

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/// %XX decoded; '+' is a space in a query value (form encoding), itself in a path segment.
std::string percent_decode(std::string_view s, bool plus_is_space = true) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
            hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

}  // namespace

std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) {
        return std::nullopt;
    }
    auto rest = target.substr(q + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const auto pair = rest.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == name) {
            return eq == std::string_view::npos ? std::string()
                                                : percent_decode(pair.substr(eq + 1));
        }
        if (amp == std::string_view::npos) {
            break;
        }
        rest = rest.substr(amp + 1);
    }
    return std::nullopt;
}

std::optional<std::string_view> bearer_token(const net::http_request_t& req) {
    const auto auth = req[http::field::authorization];
    constexpr std::string_view prefix = "Bearer ";
    if (!auth.starts_with(prefix)) {
        return std::nullopt;
    }
    return auth.substr(prefix.size());
}

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) {
        n += (c & 0xc0) != 0x80 ? 1 : 0;
    }
    return n;
}

bool is_http_url(std::string_view url) {
    const auto rest = url.starts_with("https://")  ? url.substr(8)
                      : url.starts_with("http://") ? url.substr(7)
                                                   : std::string_view{};
    return !rest.empty() && rest.front() != '/';
}

std::optional<std::int64_t> as_integer(const json::value& v) {
    if (v.is_int64()) {
        return v.as_int64();
    }
    if (v.is_uint64()) {
        return static_cast<std::int64_t>(v.as_uint64());
    }
    return std::nullopt;
}

std::optional<job_outcome> prompt_trigger(std::string_view prompt) {
    if (prompt.find("[sim:moderate]") != std::string_view::npos) {
        return job_outcome::moderated;
    }
    if (prompt.find("[sim:fail]") != std::string_view::npos) {
        return job_outcome::failure;
    }
    if (prompt.find("[sim:stuck]") != std::string_view::npos) {
        return job_outcome::stuck;
    }
    return std::nullopt;
}

std::optional<std::string> check_image(
    sim_state& state, std::string_view image, checked_image& out, bool allow_webp
) {
    const std::string formats = allow_webp ? "JPG/JPEG, PNG or WebP" : "JPG/JPEG or PNG";
    std::string bytes;
    if (image.starts_with("data:")) {
        const auto comma = image.find(',');
        const auto semi = image.find(';');
        const std::string shape = "image must be a data:image/<" + formats + ">;base64,... URL";
        if (comma == std::string_view::npos || semi == std::string_view::npos || semi > comma) {
            return shape;
        }
        const auto mime = image.substr(5, semi - 5);
        auto encoding = image.substr(semi + 1, comma - semi - 1);
        while (!encoding.empty() && encoding.front() == ' ') {
            encoding.remove_prefix(1);
        }
        const bool mime_ok = mime == "image/jpeg" || mime == "image/jpg" || mime == "image/png" ||
                             (allow_webp && mime == "image/webp");
        if (!mime_ok || encoding != "base64") {
            return shape;
        }
        auto decoded = base64_decode(image.substr(comma + 1));
        if (!decoded) {
            return "image is not valid base64";
        }
        bytes = std::move(*decoded);
        out.description = std::string(image.substr(0, comma + 1)) + "<" +
                          std::to_string(bytes.size()) + " bytes>";
    } else if (image.starts_with(state.base_url() + "/_sim/media/")) {
        const auto name = image.substr(state.base_url().size() + 12);
        const auto* item = state.find_media(name);
        if (item == nullptr) {
            return "image could not be downloaded: " + std::string(image);
        }
        bytes = item->bytes;
        out.description = std::string(image);
    } else if (is_http_url(image)) {
        // A public URL the simulator cannot fetch: accepted as the provider would.
        out.description = std::string(image);
        return std::nullopt;
    } else {
        return "image must be a public URL or a base64 data URL";
    }

    const auto info = sniff_image(bytes);
    if (!info || (!allow_webp && info->mime == "image/webp")) {
        return "image format must be " + formats;
    }
    if (bytes.size() > max_image_bytes) {
        return "image file size cannot exceed 20MB";
    }
    if (info->width == 0 || info->height == 0) {
        return "image could not be decoded";
    }
    const auto short_side = std::min(info->width, info->height);
    if (short_side <= 300) {
        return "image short side must be greater than 300 pixels (got " +
               std::to_string(info->width) + "x" + std::to_string(info->height) + ")";
    }
    const double aspect = static_cast<double>(info->width) / info->height;
    if (aspect <= 2.0 / 5.0 || aspect >= 5.0 / 2.0) {
        return "image aspect ratio must be greater than 2:5 and less than 5:2";
    }
    out.sha256 = sha256_hex(bytes);
    return std::nullopt;
}

job new_job(
    std::string_view provider,
    const key_config& key,
    std::string model,
    std::string prompt,
    const checked_image& image,
    int duration_s,
    double price_usd,
    json::object params
) {
    job j;
    j.provider = std::string(provider);
    j.key = key.key;
    j.model = std::move(model);
    j.prompt = std::move(prompt);
    j.image = image.description;
    j.image_sha256 = image.sha256;
    j.duration_s = duration_s;
    j.price_usd = price_usd;
    j.params = std::move(params);
    return j;
}

net::http_response_t json_response(http::status status, const json::value& body) {
    net::http_response_t res{status, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = json::serialize(body);
    return res;
}

std::string output_url(const sim_state& state, const job& j) {
    return state.base_url() + "/_sim/files/" + encode_segment(j.id) + ".mp4";
}

std::string encode_segment(std::string_view s) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        if (unreserved) {
            out.push_back(ch);
        } else {
            out += {'%', digits[c >> 4], digits[c & 0xf]};
        }
    }
    return out;
}

std::string decode_segment(std::string_view s) {
    return percent_decode(s, false);
}

std::string video_url(const sim_state& state, const job& j, const std::string& normal) {
    const auto foreign = "http://127.0.0.1:" + std::to_string(state.config().foreign_url_port);
    const auto redirect = state.base_url() + "/_sim/redirect/";
    switch (j.hostile.url) {
        case url_trap::none:
            break;
        case url_trap::ftp:
            // The same host, port and path, a scheme no download may use.
            return "ftp://" + normal.substr(normal.find("://") + 3);
        case url_trap::foreign:
            // What the issue saw: a daemon fetching its own metrics.
            return foreign + "/metrics";
        case url_trap::private_address:
            return std::string(private_video_url);
        case url_trap::redirect:
            return redirect + std::to_string(j.hostile.redirects) + "/" + encode_segment(j.id) +
                   ".mp4";
        case url_trap::redirect_foreign:
            return redirect + "foreign/" + encode_segment(j.id) + ".mp4";
        case url_trap::redirect_private:
            return redirect + "private/" + encode_segment(j.id) + ".mp4";
    }
    return normal;
}

namespace {

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    if (path.starts_with('/')) {
        path.remove_prefix(1);
    }
    while (true) {
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) {
            break;
        }
        path.remove_prefix(slash + 1);
    }
    return out;
}

}  // namespace

bool is_documented_route(std::string_view provider, std::string_view target) {
    const auto path = path_of(target);
    const auto parts = segments(path);
    for (const auto& seg : parts) {
        const auto decoded = decode_segment(seg);
        if (decoded == "." || decoded == ".." || seg.empty()) {
            return false;  // dot segments climb; empty ones ("//") are not a route either
        }
    }
    if (provider == "atlas") {
        if (path == "/api/v1/model/generateVideo" || path == "/api/v1/model/uploadMedia" ||
            path == "/api/v1/models" || path == "/api/v1/webhooks/jwks.json") {
            return true;
        }
        return parts.size() == 5 && path.starts_with("/api/v1/model/prediction/");
    }
    if (provider == "wavespeed") {
        if (path == "/api/v3/webhook/secret") {
            return true;
        }
        if (path.starts_with("/api/v3/predictions/")) {
            return parts.size() == 4 || (parts.size() == 5 && parts[4] == "result");
        }
        return path.starts_with("/api/v3/minimax/");  // a model path (unknown ones are a 404)
    }
    if (provider == "aimlapi") {
        return path == "/v2/video/generations" || path == "/v2/generate/video/minimax/generation";
    }
    if (provider == "minimax") {
        return path == "/v1/video_generation" || path == "/v1/query/video_generation" ||
               path == "/v1/files/retrieve";
    }
    return false;
}

}  // namespace shotfarm::simulator
