#include "providers/webhook.hpp"

#include <exception>

#include <boost/json.hpp>

#include "providers/answer_checks.hpp"
#include "providers/atlas/atlas_wire.hpp"
#include "providers/image_limits.hpp"
#include "providers/minimax/minimax_wire.hpp"
#include "providers/provider_id.hpp"
#include "providers/wavespeed/wavespeed_wire.hpp"

namespace shotfarm::providers {

namespace json = boost::json;

namespace {

/// A reason is cut to this many bytes: it may quote the provider's words.
constexpr std::size_t max_reason_bytes = 512;
/// A value quoted in a reason (a status word, a key id) is cut to this many bytes.
constexpr std::size_t max_quote_bytes = 64;
/// A signature header longer than this is refused unread; so are entries beyond the count.
constexpr std::size_t max_signature_header_bytes = 4096;
constexpr std::size_t max_signature_entries = 16;
/// Unix seconds have 10 digits until 2286.
constexpr std::size_t max_timestamp_digits = 12;
constexpr std::string_view atlas_event_type = "video.task.terminal";

webhook_outcome refused(unsigned http_status, std::string reason) {
    webhook_outcome o;
    o.verdict = webhook_verdict::refused;
    o.http_status = http_status;
    o.reason = std::move(reason);
    return o;
}

std::string excerpt(std::string_view value) {
    return "'" + bounded_text(value, max_quote_bytes) + "'";
}

const std::string* header(const webhook_request& req, std::string_view lower_name) {
    const auto it = req.headers.find(std::string(lower_name));
    return it == req.headers.end() ? nullptr : &it->second;
}

// The three headers a signed delivery needs (names lower-case), or the first one missing.
struct signed_headers {
    std::array<const std::string*, 3> values{};
    std::string missing;
};

signed_headers signature_headers(
    const webhook_request& req, const std::array<std::string_view, 3>& names
) {
    signed_headers got;
    for (std::size_t i = 0; i < names.size(); ++i) {
        got.values[i] = header(req, names[i]);
        if (got.values[i] == nullptr && got.missing.empty()) {
            got.missing = names[i];
        }
    }
    return got;
}

std::string describe(const json::value* v) {
    if (v == nullptr) {
        return "missing";
    }
    switch (v->kind()) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "a boolean";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return "a number";
        case json::kind::string:
            return "a string";
        case json::kind::array:
            return "an array";
        case json::kind::object:
            return "an object";
    }
    return "unreadable";
}

std::optional<json::object> parse_object(std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    return std::move(v.as_object());
}

// A field that must be a string; `why` says what it was instead.
const json::string* string_member(const json::object& o, std::string_view key, std::string& why) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        why = std::string(key) + " is " + describe(v) + ", not a string";
        return nullptr;
    }
    return &v->as_string();
}

// A job id named by a webhook: usable as data (provider_id_problem), and without a path
// separator, which none of the three providers' ids has (Atlas "pred_…"/hex, WaveSpeed hex,
// MiniMax digits) — a delivery naming one is not about a job we submitted.
std::optional<std::string> job_id_problem(std::string_view id) {
    if (auto why = provider_id_problem(id)) {
        return why;
    }
    if (id.find_first_of("/\\") != std::string_view::npos) {
        return std::string("it holds a path separator, which no id this provider issues has");
    }
    return std::nullopt;
}

// Unix seconds within ±window of now; the time point, or the reason.
std::optional<webhook_clock::time_point> check_timestamp(
    std::string_view text,
    std::chrono::seconds window,
    webhook_clock::time_point now,
    std::string& why
) {
    if (text.empty() || text.size() > max_timestamp_digits ||
        text.find_first_not_of("0123456789") != std::string_view::npos) {
        why = "the timestamp is not unix seconds";
        return std::nullopt;
    }
    long long seconds = 0;
    for (char c : text) {
        seconds = seconds * 10 + (c - '0');
    }
    // Compared in seconds: a far-off timestamp would overflow the clock's nanoseconds.
    const long long now_s =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const long long skew = now_s - seconds;
    if (skew > window.count() || -skew > window.count()) {
        why = "the timestamp is " + std::to_string(skew < 0 ? -skew : skew) + " s in the " +
              (skew < 0 ? "future" : "past") + ", outside the ±" + std::to_string(window.count()) +
              " s window";
        return std::nullopt;
    }
    return webhook_clock::time_point{std::chrono::seconds(seconds)};
}

// The checks a polled answer passes (answer_checks.hpp), for a pushed one, then what an event
// may carry: pending, succeeded, failed. MiniMax's success names no URL yet (`url_expected`
// false): it stays "succeeded, URL unknown" instead of becoming a bad answer.
std::optional<std::string> check_result(
    std::string_view provider, std::string_view secret, poll_result& r, bool url_expected
) {
    const bool url_unknown =
        !url_expected && r.cls == outcome_class::ok && r.state == remote_state::succeeded;
    if (url_unknown) {
        r.state = remote_state::pending;
    }
    r = checked_poll(provider, secret, std::move(r));
    if (url_unknown && r.cls == outcome_class::ok) {
        r.state = remote_state::succeeded;
        r.video_url.clear();
    }
    if (r.cls == outcome_class::bad_answer) {
        return "the result is unusable: " + r.message;
    }
    if (r.state == remote_state::not_found ||
        (r.state == remote_state::pending && r.cls != outcome_class::ok)) {
        return "the result names no state of the job: " + r.message;
    }
    return std::nullopt;
}

webhook_outcome accepted(
    std::string_view provider,
    std::string job_id,
    std::string webhook_id,
    poll_result result,
    bool unverified
) {
    webhook_outcome o;
    o.verdict = webhook_verdict::event;
    o.http_status = 200;
    o.event = webhook_event{
        std::string(provider),
        std::move(job_id),
        std::move(webhook_id),
        unverified,
        std::move(result)};
    return o;
}

// Remembers a verified delivery; a second sight is a duplicate, whatever the body says.
std::optional<webhook_outcome> replayed(
    replay_guard& seen,
    std::string_view provider,
    std::string_view id,
    webhook_clock::time_point signed_at,
    std::chrono::seconds window,
    webhook_clock::time_point now
) {
    if (seen.first_sight(provider, id, signed_at + window, now)) {
        return std::nullopt;
    }
    webhook_outcome o;
    o.verdict = webhook_verdict::duplicate;
    o.http_status = 200;
    o.reason = "delivery " + excerpt(id) + " was seen before; nothing applied";
    return o;
}

webhook_outcome verify_atlas(
    const webhook_request& req,
    const webhook_keys& keys,
    replay_guard& seen,
    webhook_clock::time_point now
) {
    const auto got = signature_headers(
        req,
        {"x-atlascloud-webhook-timestamp",
         "x-atlascloud-webhook-signature-ed25519",
         "x-atlascloud-webhook-key-id"}
    );
    if (!got.missing.empty()) {
        return refused(401, "missing header " + got.missing);
    }
    const std::string* timestamp = got.values[0];
    const std::string* signature = got.values[1];
    const std::string* kid = got.values[2];
    std::string why;
    const auto signed_at = check_timestamp(*timestamp, keys.window, now, why);
    if (!signed_at) {
        return refused(401, why);
    }
    const auto sig = signature->size() <= max_signature_header_bytes ? base64url_decode(*signature)
                                                                     : std::nullopt;
    if (!sig || sig->size() != 64) {
        return refused(401, "the signature is not base64url of 64 bytes");
    }
    if (auto bad = provider_id_problem(*kid)) {
        return refused(401, "the key id is unusable: " + *bad);
    }
    const ed25519_public_key* key =
        keys.atlas_keys != nullptr ? keys.atlas_keys->find(*kid) : nullptr;
    if (key == nullptr) {
        webhook_outcome o;
        o.verdict = webhook_verdict::need_keys;
        o.http_status = 401;
        o.kid = *kid;
        o.reason = "signed with key id " + excerpt(*kid) + ", which the JWKS cache does not hold";
        return o;
    }
    if (!ed25519_verify(*key, *timestamp + "." + req.body, *sig)) {
        return refused(401, "the Ed25519 signature does not match the timestamp and body");
    }

    auto body = parse_object(req.body);
    if (!body) {
        return refused(400, "the body is not a JSON object");
    }
    const json::string* session = string_member(*body, "session_id", why);
    if (session == nullptr) {
        return refused(400, why);
    }
    if (auto bad = job_id_problem(*session)) {
        return refused(400, "session_id is unusable: " + *bad);
    }
    if (const json::value* type = body->if_contains("event_type"); type != nullptr) {
        if (!type->is_string() || type->as_string() != atlas_event_type) {
            return refused(
                400,
                "event_type is " +
                    (type->is_string() ? excerpt(type->as_string()) : describe(type)) +
                    ", not video.task.terminal"
            );
        }
    }
    json::value* payload = body->if_contains("payload");
    if (payload == nullptr || !payload->is_object()) {
        return refused(400, "payload is " + describe(payload) + ", not an object");
    }
    // The failure's words may sit beside the payload rather than in it.
    json::object& prediction = payload->as_object();
    if (const json::value* error = body->if_contains("error");
        error != nullptr && error->is_string() && !error->as_string().empty()) {
        const json::value* inner = prediction.if_contains("error");
        if (inner == nullptr || !inner->is_string() || inner->as_string().empty()) {
            prediction["error"] = error->as_string();
        }
    }
    poll_result result = atlas::parse_prediction(prediction);
    if (auto bad = check_result("atlas", {}, result, true)) {
        return refused(400, *bad);
    }
    if (auto dup = replayed(seen, "atlas", *session, *signed_at, keys.window, now)) {
        return *dup;
    }
    return accepted(
        "atlas", std::string(*session), std::string(*session), std::move(result), false
    );
}

// Whether one of the `v3,<hex>` entries in `header` is the HMAC `mac`; other versions are
// skipped.
bool some_v3_matches(std::string_view header_value, std::string_view mac, bool& any_v3) {
    std::size_t entries = 0;
    bool match = false;
    while (!header_value.empty() && entries < max_signature_entries) {
        const std::size_t space = header_value.find(' ');
        const std::string_view entry = header_value.substr(0, space);
        header_value.remove_prefix(
            space == std::string_view::npos ? header_value.size() : space + 1
        );
        if (entry.empty()) {
            continue;
        }
        ++entries;
        if (!entry.starts_with("v3,")) {
            continue;
        }
        any_v3 = true;
        const auto given = hex_decode(entry.substr(3));
        // Every entry is compared, so the time taken says nothing about which one matched.
        match = (given && equal_constant_time(*given, mac)) || match;
    }
    return match;
}

webhook_outcome verify_wavespeed(
    const webhook_request& req,
    const webhook_keys& keys,
    replay_guard& seen,
    webhook_clock::time_point now
) {
    const auto got =
        signature_headers(req, {"webhook-id", "webhook-timestamp", "webhook-signature"});
    if (!got.missing.empty()) {
        return refused(401, "missing header " + got.missing);
    }
    const std::string* id = got.values[0];
    const std::string* timestamp = got.values[1];
    const std::string* signature = got.values[2];
    if (auto bad = provider_id_problem(*id)) {
        return refused(401, "the webhook-id is unusable: " + *bad);
    }
    std::string why;
    const auto signed_at = check_timestamp(*timestamp, keys.window, now, why);
    if (!signed_at) {
        return refused(401, why);
    }
    // The key is the secret's text after "whsec_", used as it is (not base64-decoded).
    std::string_view secret = keys.wavespeed_secret;
    if (secret.starts_with("whsec_")) {
        secret.remove_prefix(6);
    }
    if (secret.empty()) {
        return refused(500, "no webhook secret is configured for this account");
    }
    if (signature->size() > max_signature_header_bytes) {
        return refused(401, "the webhook-signature header is too long");
    }
    const std::string mac = hmac_sha256(secret, *id + "." + *timestamp + "." + req.body);
    bool any_v3 = false;
    if (!some_v3_matches(*signature, mac, any_v3)) {
        return refused(
            401,
            any_v3 ? "no v3 signature matches the HMAC of the id, timestamp and body"
                   : "the webhook-signature header holds no v3 entry"
        );
    }

    auto body = parse_object(req.body);
    if (!body) {
        return refused(400, "the body is not a JSON object");
    }
    const json::string* job = string_member(*body, "id", why);
    if (job == nullptr) {
        return refused(400, why);
    }
    if (auto bad = job_id_problem(*job)) {
        return refused(400, "id is unusable: " + *bad);
    }
    poll_result result = wavespeed::parse_prediction(*body);
    if (auto bad = check_result("wavespeed", secret, result, true)) {
        return refused(400, *bad);
    }
    if (auto dup = replayed(seen, "wavespeed", *id, *signed_at, keys.window, now)) {
        return *dup;
    }
    return accepted("wavespeed", std::string(*job), *id, std::move(result), false);
}

webhook_outcome read_minimax(const webhook_request& req) {
    auto body = parse_object(req.body);
    if (!body) {
        return refused(400, "the body is not a JSON object");
    }
    std::string why;
    if (body->contains("challenge")) {
        const json::string* challenge = string_member(*body, "challenge", why);
        if (challenge == nullptr) {
            return refused(400, why);
        }
        if (auto bad = provider_id_problem(*challenge)) {
            return refused(400, "the challenge is unusable: " + *bad);
        }
        webhook_outcome o;
        o.verdict = webhook_verdict::challenge;
        o.http_status = 200;
        o.challenge = *challenge;
        return o;
    }
    const json::string* task = string_member(*body, "task_id", why);
    if (task == nullptr) {
        return refused(400, why);
    }
    if (auto bad = job_id_problem(*task)) {
        return refused(400, "task_id is unusable: " + *bad);
    }
    // The push "matches the query answer"; a success names a file_id, not yet a URL.
    poll_result result = minimax::parse_query_object(*body).poll;
    if (auto bad = check_result("minimax", {}, result, false)) {
        return refused(400, *bad);
    }
    return accepted("minimax", std::string(*task), std::string(), std::move(result), true);
}

webhook_outcome dispatch(
    const webhook_request& req,
    const webhook_keys& keys,
    replay_guard& seen,
    webhook_clock::time_point now
) {
    if (req.provider != "atlas" && req.provider != "wavespeed" && req.provider != "minimax") {
        return refused(404, "provider " + excerpt(req.provider) + " sends no webhooks");
    }
    if (const std::size_t limit = webhook_body_limit(req.provider); req.body.size() > limit) {
        return refused(
            413,
            "the body is " + std::to_string(req.body.size()) + " bytes, over the " +
                std::to_string(limit) + "-byte limit"
        );
    }
    if (req.provider == "atlas") {
        return verify_atlas(req, keys, seen, now);
    }
    if (req.provider == "wavespeed") {
        return verify_wavespeed(req, keys, seen, now);
    }
    return read_minimax(req);
}

}  // namespace

std::size_t webhook_body_limit(std::string_view provider) noexcept {
    if (provider == "wavespeed") {
        constexpr std::size_t data_url_prefix = 64;  // "data:image/jpeg;base64,"
        return max_webhook_body_bytes + data_url_prefix + (max_image_bytes + 2) / 3 * 4;
    }
    return max_webhook_body_bytes;
}

std::string_view to_string(webhook_verdict v) noexcept {
    switch (v) {
        case webhook_verdict::event:
            return "event";
        case webhook_verdict::challenge:
            return "challenge";
        case webhook_verdict::duplicate:
            return "duplicate";
        case webhook_verdict::need_keys:
            return "need_keys";
        case webhook_verdict::refused:
            return "refused";
    }
    return "unknown";
}

std::string challenge_reply(std::string_view challenge) {
    json::object o;
    o["challenge"] = challenge;
    return json::serialize(o);
}

std::optional<std::string> jwks_cache::load(
    std::string_view document, webhook_clock::time_point now
) {
    if (document.size() > max_document_bytes) {
        return "the JWKS is " + std::to_string(document.size()) + " bytes, over the " +
               std::to_string(max_document_bytes) + "-byte limit";
    }
    auto root = parse_object(document);
    const json::value* list = root ? root->if_contains("keys") : nullptr;
    if (list == nullptr || !list->is_array()) {
        return std::string("the JWKS is not a JSON object with a \"keys\" array");
    }
    std::map<std::string, ed25519_public_key, std::less<>> keys;
    for (const json::value& entry : list->as_array()) {
        if (keys.size() == max_keys) {
            break;
        }
        const json::object* k = entry.if_object();
        if (k == nullptr) {
            continue;
        }
        auto text = [k](std::string_view name) -> std::optional<std::string_view> {
            const json::value* v = k->if_contains(name);
            if (v == nullptr || !v->is_string()) {
                return std::nullopt;
            }
            return std::string_view(v->as_string());
        };
        const auto use = text("use");
        const auto alg = text("alg");
        if (text("kty") != "OKP" || text("crv") != "Ed25519" ||
            (k->contains("use") && use != "sig") || (k->contains("alg") && alg != "EdDSA")) {
            continue;
        }
        const auto kid = text("kid");
        const auto x = text("x");
        const auto raw = x ? base64url_decode(*x) : std::nullopt;
        if (!kid || provider_id_problem(*kid) || !raw || raw->size() != 32) {
            continue;
        }
        ed25519_public_key key{};
        std::copy(raw->begin(), raw->end(), key.begin());
        keys.emplace(std::string(*kid), key);
    }
    if (keys.empty()) {
        return std::string("the JWKS holds no usable Ed25519 key (kty OKP, crv Ed25519, kid, x)");
    }
    keys_ = std::move(keys);
    fetched_at_ = now;
    return std::nullopt;
}

bool jwks_cache::claim_fetch(webhook_clock::time_point now) {
    if (last_attempt_ && now - *last_attempt_ < min_refetch_) {
        return false;
    }
    last_attempt_ = now;
    return true;
}

const ed25519_public_key* jwks_cache::find(std::string_view kid) const {
    const auto it = keys_.find(kid);
    return it == keys_.end() ? nullptr : &it->second;
}

bool replay_guard::first_sight(
    std::string_view provider,
    std::string_view id,
    webhook_clock::time_point until,
    webhook_clock::time_point now
) {
    forget_until(now);
    std::string key = std::string(provider) + '\n' + std::string(id);
    if (const auto it = expiry_.find(key); it != expiry_.end()) {
        if (until > it->second) {
            by_expiry_.erase({it->second, key});
            by_expiry_.emplace(until, key);
            it->second = until;
        }
        return false;
    }
    expiry_.emplace(key, until);
    by_expiry_.emplace(until, key);
    while (expiry_.size() > std::max<std::size_t>(capacity_, 1)) {
        auto oldest = by_expiry_.begin();
        if (oldest->second == key) {
            ++oldest;  // the id just seen stays: its duplicate must still be caught
        }
        expiry_.erase(oldest->second);
        by_expiry_.erase(oldest);
    }
    return true;
}

void replay_guard::forget_until(webhook_clock::time_point now) {
    while (!by_expiry_.empty() && by_expiry_.begin()->first < now) {
        expiry_.erase(by_expiry_.begin()->second);
        by_expiry_.erase(by_expiry_.begin());
    }
}

webhook_outcome verify_webhook(
    const webhook_request& req,
    const webhook_keys& keys,
    replay_guard& seen,
    webhook_clock::time_point now
) {
    webhook_outcome o;
    try {
        o = dispatch(req, keys, seen, now);
    } catch (const std::exception&) {
        // Nothing in the request should get here (parsers report, not throw); if something
        // does — memory, a bug — the delivery is refused and the route keeps serving.
        o = refused(400, "the delivery could not be read");
    }
    o.reason = bounded_text(o.reason, max_reason_bytes);
    return o;
}

}  // namespace shotfarm::providers
