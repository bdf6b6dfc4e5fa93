#include "providers/answer_checks.hpp"

#include <chrono>

#include "providers/provider_id.hpp"

namespace shotfarm::providers {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// The escaped form of the character at text[i] into `piece`; returns how many bytes it used.
std::size_t escape_one(std::string_view text, std::size_t i, std::string& piece) {
    piece.clear();
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
        piece = "\\n";
        return 1;
    }
    if (c == '\r') {
        piece = "\\r";
        return 1;
    }
    if (c == '\t') {
        piece = "\\t";
        return 1;
    }
    const std::size_t n = utf8_sequence_length(text, i);
    if (c < 0x20 || c == 0x7f || n == 0) {
        piece = {'\\', 'x', hex_digits[c >> 4], hex_digits[c & 15]};
        return 1;
    }
    if (n == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
        const auto cp = static_cast<unsigned char>(text[i + 1]);  // U+0080..U+009F (C1)
        piece = {'\\', 'u', '0', '0', hex_digits[cp >> 4], hex_digits[cp & 15]};
        return 2;
    }
    piece.assign(text.substr(i, n));
    return n;
}

// Escapes text into out until the end or until one more piece would pass `limit` bytes;
// returns how many input bytes were consumed.
std::size_t escape_into(std::string_view text, std::size_t limit, std::string& out) {
    std::string piece;
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t used = escape_one(text, i, piece);
        if (out.size() + piece.size() > limit) {
            break;
        }
        out += piece;
        i += used;
    }
    return i;
}

std::string redacted(std::string text, std::string_view key) {
    if (key.size() < 4) {
        return text;  // an empty (or toy) key: nothing meaningful to look for
    }
    constexpr std::string_view placeholder = "[api key]";
    // Searching on after the placeholder: a key that is part of it must not loop for ever.
    for (auto at = text.find(key); at != std::string::npos;
         at = text.find(key, at + placeholder.size())) {
        text.replace(at, key.size(), placeholder);
    }
    return text;
}

std::string safe_message(std::string_view key, const std::string& message) {
    return bounded_text(redacted(message, key));
}

}  // namespace

std::string bounded_text(std::string_view text, std::size_t max_bytes) {
    std::string out;
    out.reserve(std::min(text.size(), max_bytes));
    if (escape_into(text, max_bytes, out) == text.size()) {
        return out;
    }
    const std::string marker = "… (truncated, " + std::to_string(text.size()) + " bytes)";
    if (marker.size() >= max_bytes) {
        return out;  // too small a budget for the marker: the cut text alone
    }
    out.clear();
    escape_into(text, max_bytes - marker.size(), out);
    return out + marker;
}

std::optional<std::string> answer_url_problem(std::string_view url) {
    if (url.empty()) {
        return std::string("it is empty");
    }
    if (url.size() > max_answer_url_bytes) {
        return "it is " + std::to_string(url.size()) + " bytes long, over the " +
               std::to_string(max_answer_url_bytes) + "-byte limit";
    }
    for (std::size_t i = 0; i < url.size();) {
        const auto c = static_cast<unsigned char>(url[i]);
        if (c <= 0x20 || c == 0x7f) {
            return std::string(c == 0x20 ? "it holds a space" : "it holds a control character") +
                   " at byte " + std::to_string(i);
        }
        const std::size_t n = utf8_sequence_length(url, i);
        if (n == 0) {
            return "it is not valid UTF-8 at byte " + std::to_string(i);
        }
        i += n;
    }
    return std::nullopt;
}

submit_result checked_submit(std::string_view provider, std::string_view api_key, submit_result r) {
    if (r.cls == outcome_class::ok) {
        if (auto why = provider_id_problem(r.provider_job_id)) {
            r.cls = outcome_class::bad_answer;
            r.message = std::string(provider) + " returned an unusable job id: " + *why;
            if (!r.provider_job_id.empty()) {
                r.message += " ('" + bounded_text(r.provider_job_id, max_status_bytes) + "')";
            }
        }
    }
    if (r.cls != outcome_class::ok) {
        r.provider_job_id.clear();
    }
    r.message = safe_message(api_key, r.message);
    return r;
}

poll_result checked_poll(std::string_view provider, std::string_view api_key, poll_result r) {
    if (r.cls == outcome_class::ok && r.state == remote_state::succeeded) {
        if (auto why = answer_url_problem(r.video_url)) {
            r.cls = outcome_class::bad_answer;
            r.message = std::string(provider) + " answered status '" +
                        bounded_text(r.status, max_status_bytes) +
                        "' with an unusable video URL: " + *why;
        }
    }
    if (r.cls == outcome_class::bad_answer) {
        r.state = remote_state::pending;
        r.video_url.clear();
    }
    r.status = bounded_text(redacted(r.status, api_key), max_status_bytes);
    r.message = safe_message(api_key, r.message);
    return r;
}

upload_result checked_upload(std::string_view provider, std::string_view api_key, upload_result r) {
    if (r.cls == outcome_class::ok) {
        if (auto why = answer_url_problem(r.url); why && !r.url.starts_with("data:")) {
            r.cls = outcome_class::bad_answer;
            r.message = std::string(provider) + " answered an upload with an unusable URL: " + *why;
        }
    }
    if (r.cls != outcome_class::ok) {
        r.url.clear();
    }
    r.message = safe_message(api_key, r.message);
    return r;
}

poll_result undocumented_status(std::string_view provider, poll_result r) {
    r.cls = outcome_class::bad_answer;
    r.state = remote_state::pending;
    r.video_url.clear();
    r.message = r.status.empty()
                    ? std::string(provider) + " answered without a status word"
                    : std::string(provider) + " answered status '" +
                          bounded_text(r.status, max_status_bytes) + "' which it does not document";
    return r;
}

std::optional<double> parse_utc_timestamp(std::string_view t) {
    // YYYY-MM-DDTHH:MM:SS[.fff…](Z|+00:00)
    auto digits = [&](std::size_t at, std::size_t n) -> std::optional<int> {
        if (at + n > t.size()) {
            return std::nullopt;
        }
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (t[i] < '0' || t[i] > '9') {
                return std::nullopt;
            }
            v = v * 10 + (t[i] - '0');
        }
        return v;
    };
    const auto year = digits(0, 4);
    const auto month = digits(5, 2);
    const auto day = digits(8, 2);
    const auto hour = digits(11, 2);
    const auto minute = digits(14, 2);
    const auto second = digits(17, 2);
    if (!year || !month || !day || !hour || !minute || !second || t[4] != '-' || t[7] != '-' ||
        (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || t[13] != ':' || t[16] != ':') {
        return std::nullopt;
    }
    std::size_t at = 19;
    double fraction = 0;
    if (at < t.size() && t[at] == '.') {
        double scale = 0.1;
        std::size_t n = 0;
        for (++at; at < t.size() && t[at] >= '0' && t[at] <= '9' && n < 9; ++at, ++n) {
            fraction += (t[at] - '0') * scale;
            scale /= 10;
        }
        if (n == 0) {
            return std::nullopt;
        }
    }
    const auto zone = t.substr(std::min(at, t.size()));
    if (zone != "Z" && zone != "z" && zone != "+00:00") {
        return std::nullopt;
    }
    const std::chrono::year_month_day date{
        std::chrono::year{*year}, std::chrono::month(*month), std::chrono::day(*day)};
    if (*year < 2000 || *year > 2999 || !date.ok() || *hour > 23 || *minute > 59 || *second > 60) {
        return std::nullopt;
    }
    const auto days = std::chrono::sys_days(date).time_since_epoch().count();
    return static_cast<double>(days) * 86400 + *hour * 3600 + *minute * 60 + *second + fraction;
}

}  // namespace shotfarm::providers
