#pragma GCC diagnostic ignored "-Wnull-dereference"  // GCC 12 false positive inside Asio

#include "simulator/webhooks.hpp"

#include <array>
#include <cmath>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "simulator/atlas.hpp"
#include "simulator/media.hpp"
#include "simulator/minimax.hpp"
#include "simulator/wavespeed.hpp"

namespace shotfarm::simulator {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view secret_prefix = "whsec_";

// FNV-1a: a stable number for a key name (std::hash differs between implementations).
std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const char c : s) {
        h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    }
    return h;
}

std::string unix_seconds_now() {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch()
    )
                              .count());
}

std::string string_param(const job& j, std::string_view name) {
    const auto* v = j.params.if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Atlas: {"session_id","event_type","status":"OK"|"ERROR","payload":<poll data now>,"error"}.
std::string atlas_body(sim_state& state, const job& j) {
    auto data = atlas::prediction_data(state, j);
    const auto* error = data.if_contains("error");
    const std::string error_text =
        error != nullptr && error->is_string() ? std::string(error->as_string()) : std::string();
    json::object b;
    b["session_id"] = j.id;
    b["event_type"] = atlas_video_event;
    b["status"] = state.phase(j) == job_phase::completed ? "OK" : "ERROR";
    b["payload"] = std::move(data);
    b["error"] = error_text;
    return json::serialize(b);
}

// WaveSpeed: the prediction itself, not wrapped in {code, data}, with the inputs it ran on.
std::string wavespeed_body(sim_state& state, const job& j) {
    auto data = wavespeed::prediction_data(state, j);
    json::object input;
    if (!j.prompt.empty()) {
        input["prompt"] = j.prompt;
    }
    if (!j.image.empty()) {
        input["image"] = j.image;
    }
    input["duration"] = j.duration_s;
    for (const auto& [k, v] : j.params) {
        if (k != "webhook") {
            input[k] = v;
        }
    }
    json::object b;
    for (const auto* field : {"id", "model"}) {
        b[field] = data[field];
    }
    b["input"] = std::move(input);
    for (const auto* field :
         {"outputs", "urls", "has_nsfw_contents", "status", "created_at", "error", "timings"}) {
        b[field] = data[field];
    }
    return json::serialize(b);
}

}  // namespace

std::string webhook_secret(const sim_state& state, const key_config& key) {
    if (key.webhook_secret) {
        return *key.webhook_secret;
    }
    // Base64 text, like a real one, so a receiver that wrongly base64-decodes it gets a
    // different key (and fails) instead of an error that hides the mistake.
    return std::string(secret_prefix) +
           base64_encode(
               state.draw_bytes(draw_stream::wavespeed_secret, fnv1a(key.key), 24),
               base64_alphabet::standard
           );
}

std::string wavespeed_signature(std::string_view secret, std::string_view message) {
    if (secret.starts_with(secret_prefix)) {
        secret.remove_prefix(secret_prefix.size());
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int len = 0;
    HMAC(
        EVP_sha256(),
        secret.data(),
        static_cast<int>(secret.size()),
        reinterpret_cast<const unsigned char*>(message.data()),
        message.size(),
        mac.data(),
        &len
    );
    return "v3," + hex_lower(std::string_view(reinterpret_cast<const char*>(mac.data()), len));
}

struct webhook_sender::signing_key {
    std::string kid;
    std::string public_key;  // raw 32 bytes
    EVP_PKEY* pkey = nullptr;

    signing_key() = default;
    signing_key(const signing_key&) = delete;
    signing_key& operator=(const signing_key&) = delete;
    ~signing_key() { EVP_PKEY_free(pkey); }

    // A 64-byte Ed25519 signature of `message`.
    std::string sign(std::string_view message) const {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        std::array<unsigned char, 64> sig{};
        std::size_t len = sig.size();
        const bool ok = ctx != nullptr &&
                        EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
                        EVP_DigestSign(
                            ctx,
                            sig.data(),
                            &len,
                            reinterpret_cast<const unsigned char*>(message.data()),
                            message.size()
                        ) == 1;
        EVP_MD_CTX_free(ctx);
        if (!ok) {
            throw std::runtime_error("Ed25519 signing failed");
        }
        return std::string(reinterpret_cast<const char*>(sig.data()), len);
    }
};

namespace {

// The k-th Atlas signing key: its private key is 32 seeded bytes, so runs repeat.
std::unique_ptr<webhook_sender::signing_key> make_signing_key(
    const sim_state& state, std::uint64_t k
) {
    const auto seed = state.draw_bytes(draw_stream::atlas_signing_key, k, 32);
    auto key = std::make_unique<webhook_sender::signing_key>();
    key->pkey = EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size()
    );
    std::array<unsigned char, 32> pub{};
    std::size_t len = pub.size();
    if (key->pkey == nullptr || EVP_PKEY_get_raw_public_key(key->pkey, pub.data(), &len) != 1) {
        throw std::runtime_error("cannot make an Ed25519 key");
    }
    key->public_key.assign(reinterpret_cast<const char*>(pub.data()), len);
    key->kid = "sim-ed25519-" + std::to_string(k) + "-" + sha256_hex(key->public_key).substr(0, 12);
    return key;
}

}  // namespace

// One event of one job: Atlas's and WaveSpeed's terminal event, MiniMax's `processing` and
// terminal pushes.
struct webhook_sender::event {
    job* j = nullptr;
    std::string url;
    bool terminal = true;
    std::uint64_t n = 0;  // seq * 2 + (terminal ? 1 : 0): keys this event's seeded draws
    sim_clock::time_point at;
    std::string id;  // WaveSpeed webhook-id: the same for a retry or a duplicate
    bool bad_signature = false;
};

namespace {

net::client_options sender_options() {
    net::client_options opts;
    opts.user_agent = "shotfarm-sim-webhooks/1";
    return opts;
}

}  // namespace

webhook_sender::webhook_sender(asio::any_io_executor ex, std::shared_ptr<sim_state> state)
    : ex_(ex), state_(std::move(state)), client_(ex, sender_options()) {
    atlas_keys_.push_back(make_signing_key(*state_, 0));
}

webhook_sender::~webhook_sender() = default;

void webhook_sender::accepted(job& j) {
    std::string url;
    if (j.provider == "atlas") {
        url = string_param(j, "webhook_url");
    } else if (j.provider == "wavespeed") {
        url = string_param(j, "webhook");
    } else if (j.provider == "minimax") {
        url = string_param(j, "callback_url");
    }
    if (url.empty()) {
        return;
    }
    // MiniMax pushes each change: `processing` once the job leaves its queue (a job moderated
    // at the end of its queue goes straight to failed).
    if (j.provider == "minimax" && j.processing < j.finishes) {
        schedule(j, url, false);
    }
    if (j.outcome != job_outcome::stuck) {
        schedule(j, url, true);
    }
}

void webhook_sender::schedule(job& j, const std::string& url, bool terminal) {
    auto ev = std::make_shared<event>();
    ev->j = &j;
    ev->url = url;
    ev->terminal = terminal;
    ev->n = j.seq * 2 + (terminal ? 1 : 0);
    ev->at = terminal ? j.finishes : j.processing;
    ev->id = "msg_" + hex_lower(state_->draw_bytes(draw_stream::webhook_event_id, ev->n, 16));
    ev->bad_signature = j.prompt.find(bad_signature_trigger) != std::string::npos;
    asio::co_spawn(ex_, run_event(shared_from_this(), std::move(ev)), asio::detached);
}

asio::awaitable<void> webhook_sender::run_event(
    std::shared_ptr<webhook_sender> /*keep*/, std::shared_ptr<event> ev
) {
    const auto& cfg = state_->config().webhooks;
    // Three draws per event: loss, duplicate, jitter.
    const auto draw = [&](std::uint64_t which) {
        return state_->draw_uniform(draw_stream::webhook_fault, ev->n * 3 + which);
    };
    const double jitter = cfg.delay_jitter_s > 0 ? draw(2) * cfg.delay_jitter_s : 0.0;
    asio::steady_timer timer(ex_);
    timer.expires_at(ev->at + state_->scaled(cfg.delay_s + jitter));
    co_await timer.async_wait(asio::use_awaitable);

    const auto& j = *ev->j;
    auto& counts = state_->webhooks(j.provider);
    if (cfg.loss > 0 && draw(0) < cfg.loss) {
        ++counts.lost;
        co_return;
    }
    std::string body;
    if (j.provider == "atlas") {
        body = atlas_body(*state_, j);
    } else if (j.provider == "wavespeed") {
        body = wavespeed_body(*state_, j);
    } else {
        body = json::serialize(minimax::callback_body(j, ev->terminal));
    }
    if (cfg.duplicate > 0 && draw(1) < cfg.duplicate) {
        ++counts.duplicated;
        asio::co_spawn(ex_, deliver(shared_from_this(), ev, body), asio::detached);
    }
    co_await deliver(shared_from_this(), ev, std::move(body));
}

asio::awaitable<void> webhook_sender::deliver(
    std::shared_ptr<webhook_sender> /*keep*/, std::shared_ptr<event> ev, std::string body
) {
    const auto& cfg = state_->config().webhooks;
    auto& j = *ev->j;
    auto& counts = state_->webhooks(j.provider);
    ++counts.sent;
    if (ev->terminal && !j.webhook_sent_wall) {
        j.webhook_sent_wall = std::chrono::system_clock::now();
    }
    for (int attempt = 0; attempt <= cfg.retries; ++attempt) {
        if (attempt > 0) {
            ++counts.retried;
            asio::steady_timer timer(ex_);
            timer.expires_after(state_->scaled(std::ldexp(1.0, attempt - 1)));
            co_await timer.async_wait(asio::use_awaitable);
        }
        net::http_request req;
        req.method = http::verb::post;
        req.url = ev->url;
        req.body = body;
        req.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(cfg.timeout_s * 1000));
        req.max_response_bytes = 64u << 10;
        req.headers = sign(*ev, body);
        req.headers.emplace_back("Content-Type", "application/json");
        ++j.webhook_posts;
        bool ok = false;
        try {
            const auto r = co_await client_.send(std::move(req));
            ok = !r.ec && r.response.status >= 200 && r.response.status < 300;
        } catch (const std::invalid_argument&) {
            // A URL or header (a hostile job id) the client refuses to send: a failed attempt.
        }
        if (ok) {
            ++counts.delivered;
            co_return;
        }
    }
    ++counts.failed;
}

const webhook_sender::signing_key& webhook_sender::atlas_key() {
    const auto every = static_cast<std::uint64_t>(state_->config().webhooks.atlas_rotate_after);
    const auto index = every > 0 ? atlas_signed_ / every : 0;
    ++atlas_signed_;
    while (atlas_keys_.size() <= index) {
        atlas_keys_.push_back(make_signing_key(*state_, atlas_keys_.size()));
    }
    return *atlas_keys_[index];
}

std::vector<std::pair<std::string, std::string>> webhook_sender::sign(
    const event& ev, const std::string& body
) {
    const auto& j = *ev.j;
    const auto timestamp = unix_seconds_now();
    // `[sim:webhook_badsig]`: the signature covers one byte more than was sent.
    const std::string tail = ev.bad_signature ? " " : "";
    if (j.provider == "atlas") {
        const auto& key = atlas_key();
        const auto signature = key.sign(timestamp + "." + body + tail);
        return {
            {"X-AtlasCloud-Webhook-Id", j.id},
            {"X-AtlasCloud-Webhook-Timestamp", timestamp},
            {"X-AtlasCloud-Webhook-Event", std::string(atlas_video_event)},
            {"X-AtlasCloud-Webhook-Key-Id", key.kid},
            {"X-AtlasCloud-Webhook-Signature-Ed25519",
             base64_encode(signature, base64_alphabet::url_unpadded)},
        };
    }
    if (j.provider == "wavespeed") {
        const auto* key = state_->find_key(j.key, "wavespeed");
        const auto secret = key != nullptr ? webhook_secret(*state_, *key) : std::string();
        return {
            {"webhook-id", ev.id},
            {"webhook-timestamp", timestamp},
            {"webhook-signature",
             wavespeed_signature(secret, ev.id + "." + timestamp + "." + body + tail)},
        };
    }
    return {};  // MiniMax callbacks are unsigned
}

asio::awaitable<bool> webhook_sender::challenge(std::string url) {
    auto keep = shared_from_this();
    auto& counts = state_->webhooks("minimax");
    ++counts.challenges;
    const auto value =
        hex_lower(state_->draw_bytes(draw_stream::webhook_challenge, challenges_++, 16));
    net::http_request req;
    req.method = http::verb::post;
    req.url = std::move(url);
    req.body = json::serialize(json::object{{"challenge", value}});
    req.headers.emplace_back("Content-Type", "application/json");
    req.timeout = minimax_challenge_timeout;
    req.max_response_bytes = 64u << 10;
    bool ok = false;
    try {
        const auto r = co_await client_.send(std::move(req));
        if (!r.ec && r.response.status == 200) {
            boost::system::error_code ec;
            const auto answer = json::parse(r.response.body, ec);
            const auto* echoed =
                !ec && answer.is_object() ? answer.as_object().if_contains("challenge") : nullptr;
            ok = echoed != nullptr && echoed->is_string() && echoed->as_string() == value;
        }
    } catch (const std::invalid_argument&) {
        // A callback_url the client cannot send to: not validated.
    }
    if (!ok) {
        ++counts.challenge_failed;
    }
    co_return ok;
}

json::object webhook_sender::jwks() {
    json::array keys;
    const auto first = atlas_keys_.size() >= 2 ? atlas_keys_.size() - 2 : 0;
    for (auto i = atlas_keys_.size(); i-- > first;) {
        const auto& k = *atlas_keys_[i];
        keys.push_back(json::object{
            {"kty", "OKP"},
            {"crv", "Ed25519"},
            {"kid", k.kid},
            {"x", base64_encode(k.public_key, base64_alphabet::url_unpadded)},
            {"use", "sig"},
            {"alg", "EdDSA"}});
    }
    return json::object{{"keys", std::move(keys)}};
}

}  // namespace shotfarm::simulator
