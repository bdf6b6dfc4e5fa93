// Provider push (webhooks) without I/O: what a delivery to `/webhooks/<account>` is worth, decided
// by plain functions over the request, the account's keys and a clock passed in. The daemon's
// route reads the request (at most webhook_body_limit bytes), calls verify_webhook, answers
// outcome.http_status at once, and applies an event like a poll result. Polling goes on as the
// safety net: a webhook that is lost, refused or only a hint changes nothing by itself.
//
// The rules per provider (docs/webhooks.md):
// - Atlas Cloud signs with Ed25519 over the exact bytes "<X-AtlasCloud-Webhook-Timestamp>.<raw
//   body>"; the signature is base64url (64 bytes), the key is the JWKS entry named by
//   X-AtlasCloud-Webhook-Key-Id. The body is {"session_id", "event_type", "status",
//   "payload": <a prediction, as a poll returns it>, "error"}.
// - WaveSpeed signs with HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<raw body>", keyed by
//   the account's webhook secret without its "whsec_" prefix (not base64-decoded); the header
//   `webhook-signature` holds one or more space-separated "v3,<hex>". The body is the prediction
//   object itself (not wrapped in {code, data}).
// - MiniMax signs nothing: a body {"challenge": …} is echoed, any other is a hint to poll.
// Signed deliveries must carry a timestamp within ±window of now, and are remembered by id so
// that a second delivery of the same one is a `duplicate` (answered 200, applied never).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "providers/provider.hpp"
#include "providers/webhook_crypto.hpp"

namespace shotfarm::providers {

/// Timestamps are unix seconds; the verifier is handed "now" on this clock.
using webhook_clock = std::chrono::system_clock;

/// The largest webhook body the route reads for Atlas and MiniMax (their pushes are a few
/// hundred bytes).
inline constexpr std::size_t max_webhook_body_bytes = 64 * 1024;

/// The route's body limit for `provider`'s webhooks: max_webhook_body_bytes, except WaveSpeed's,
/// whose payload echoes the submit's `input`, and that holds the first frame inline as a data:
/// URL: 64 KiB plus the base64 of the largest image we send (about 26.7 MB). An unknown
/// provider gets max_webhook_body_bytes.
std::size_t webhook_body_limit(std::string_view provider) noexcept;

/// Both signed providers document a five-minute replay window.
inline constexpr std::chrono::seconds default_webhook_window{300};

/// One delivery as the route read it.
struct webhook_request {
    std::string provider;  ///< the account's provider: "atlas", "wavespeed" or "minimax"
    std::map<std::string, std::string> headers;  ///< names lower-cased
    std::string body;                            ///< the raw bytes, as signed
};

/// What a delivery says about one job.
struct webhook_event {
    std::string provider;
    std::string provider_job_id;  ///< passed provider_id_problem, holds no '/' or '\\'
    /// The id the replay guard knows it by: Atlas's session_id (inside the signed body; its
    /// X-AtlasCloud-Webhook-Id header is not signed and not used), WaveSpeed's webhook-id
    /// (signed). Empty for MiniMax.
    std::string webhook_id;
    /// MiniMax: nobody signed it. Only a hint: poll the job now and apply what the poll says.
    bool unverified = false;
    /// Read by the same code as the adapter's poll and passed through the same answer checks
    /// (answer_checks.hpp): state pending (cls ok), succeeded (cls ok, video_url set), or failed
    /// (cls retryable, or rejected_input for moderation). MiniMax's success names only a
    /// file_id: there `state` is succeeded, `video_url` is empty and `status` is the provider's
    /// word — "succeeded, URL unknown": the poll (which retrieves the file) fetches it.
    poll_result result;

    /// True when the event must not be applied as it stands but the job polled at once:
    /// unverified, or succeeded without a video URL.
    bool confirm_by_poll() const noexcept {
        return unverified || (result.state == remote_state::succeeded && result.video_url.empty());
    }
};

enum class webhook_verdict {
    event,      ///< apply `event` (or poll first: event->confirm_by_poll()); answer 200
    challenge,  ///< answer 200 with challenge_reply(outcome.challenge), at once
    duplicate,  ///< this delivery was seen (and applied) before: answer 200, apply nothing
    need_keys,  ///< Atlas signed with a key id the cache lacks: refetch the JWKS, verify again
    refused,    ///< forged, stale, malformed or hostile: answer http_status, apply nothing
};

std::string_view to_string(webhook_verdict v) noexcept;

struct webhook_outcome {
    webhook_verdict verdict = webhook_verdict::refused;
    std::optional<webhook_event> event;  ///< set for `event`
    std::string challenge;               ///< `challenge`: the value to echo
    std::string kid;                     ///< `need_keys`: the key id asked for
    /// Why (refused, duplicate, need_keys): safe to log — never a secret, never more of the
    /// body than a bounded, escaped excerpt.
    std::string reason;
    /// What the route answers: 200 (event, challenge, duplicate), 400 (malformed body), 401
    /// (signature, timestamp, unknown key — also need_keys when no refetch is allowed), 413
    /// (body over the limit), 500 (the account has no secret configured).
    unsigned http_status = 400;
};

/// {"challenge":"<value>"}, JSON-escaped.
std::string challenge_reply(std::string_view challenge);

/// Atlas's public keys by key id, parsed from its JWKS, with when they were fetched. The cache
/// decides when a refetch is allowed (a forged key id must not make the daemon hammer the JWKS
/// URL); the caller does the fetch:
///
///     auto o = verify_webhook(req, keys, guard, now);
///     if (o.verdict == webhook_verdict::need_keys && cache.claim_fetch(now)) {
///         cache.load(co_await fetch(jwks_url), now);   // keeps the old keys on failure
///         o = verify_webhook(req, keys, guard, now);   // once
///     }
///
/// Not thread-safe: one io thread.
class jwks_cache {
public:
    /// A JWKS document larger than this is refused.
    static constexpr std::size_t max_document_bytes = 64 * 1024;
    /// Keys beyond this many are ignored.
    static constexpr std::size_t max_keys = 32;

    explicit jwks_cache(std::chrono::seconds min_refetch = std::chrono::seconds(60))
        : min_refetch_(min_refetch) {}

    /// Replaces the keys with the Ed25519 ones in `document` ({"keys":[{"kty":"OKP",
    /// "crv":"Ed25519","kid":…,"x":<base64url of 32 bytes>}, …]}); entries of another type, or
    /// with `use` other than "sig", are skipped. Returns why nothing was loaded (not JSON, no
    /// usable key, too large), in which case the old keys stay; nullopt on success.
    std::optional<std::string> load(std::string_view document, webhook_clock::time_point now);

    /// True, and the attempt recorded, when a fetch may start now: never tried, or the last
    /// attempt at least min_refetch ago.
    bool claim_fetch(webhook_clock::time_point now);

    /// The key named `kid`, or null.
    const ed25519_public_key* find(std::string_view kid) const;

    std::optional<webhook_clock::time_point> fetched_at() const { return fetched_at_; }
    std::size_t size() const { return keys_.size(); }

private:
    std::chrono::seconds min_refetch_;
    std::map<std::string, ed25519_public_key, std::less<>> keys_;
    std::optional<webhook_clock::time_point> fetched_at_;
    std::optional<webhook_clock::time_point> last_attempt_;
};

/// The ids of signed deliveries seen within the window, per provider, so that a replay (or a
/// provider's own second delivery) is a `duplicate`. Memory is bounded: an id is forgotten when
/// its timestamp leaves the window (the timestamp check refuses it from then on), and beyond
/// `capacity` ids the soonest to expire go first. Not thread-safe: one io thread.
class replay_guard {
public:
    explicit replay_guard(std::size_t capacity = 100'000) : capacity_(capacity) {}

    /// True the first time (provider, id) is seen — it is remembered until `until` — false
    /// when it is already remembered (its expiry is then extended to `until` if later).
    bool first_sight(
        std::string_view provider,
        std::string_view id,
        webhook_clock::time_point until,
        webhook_clock::time_point now
    );

    std::size_t size() const { return expiry_.size(); }

private:
    void forget_until(webhook_clock::time_point now);

    std::size_t capacity_;
    std::unordered_map<std::string, webhook_clock::time_point> expiry_;
    std::set<std::pair<webhook_clock::time_point, std::string>> by_expiry_;
};

/// What one account's deliveries are verified with.
struct webhook_keys {
    /// WaveSpeed: the account's webhook secret as WaveSpeed shows it ("whsec_…"). A secret:
    /// never logged, never in a reason.
    std::string wavespeed_secret;
    /// Atlas: the JWKS cache (shared by every Atlas account with the same JWKS URL). Null: every
    /// Atlas delivery is need_keys.
    const jwks_cache* atlas_keys = nullptr;
    std::chrono::seconds window = default_webhook_window;
};

/// The verdict on one delivery to an account of provider req.provider ("atlas", "wavespeed",
/// "minimax"; any other is refused). Records accepted signed deliveries in `seen`. Never throws
/// for anything in `req`.
webhook_outcome verify_webhook(
    const webhook_request& req,
    const webhook_keys& keys,
    replay_guard& seen,
    webhook_clock::time_point now
);

}  // namespace shotfarm::providers
