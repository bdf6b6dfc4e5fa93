// The simulator's configuration (SIM.yaml): time scale, seed, API keys with their limits, and
// per-model generation-time distributions. See docs/simulator.md for every knob.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shotfarm::simulator {

struct key_config {
    std::string key;
    std::string provider;               // "atlas" (also spelled "atlascloud"), "wavespeed",
                                        // "aimlapi" or "minimax"
    int max_concurrency = 0;            // generations in flight; 0 = unlimited
    int requests_per_minute = 0;        // submits per rate window; 0 = unlimited
    int submits_per_minute = 0;         // accepted generation submits per rate window;
                                        // 0 = unlimited
    std::optional<double> balance_usd;  // absent = unlimited; a submit over it is refused in
                                        // the provider's shape (402, 403, 1008)
    // WaveSpeed only: the account's webhook signing secret ("whsec_..."); absent = derived from
    // the seed and the key. Never logged, never in the ledger.
    std::optional<std::string> webhook_secret;
};

// Log-normal generation time: median_s * exp(sigma * N(0,1)), in provider seconds (before
// time_scale).
struct model_timing {
    double median_s = 90.0;
    double sigma = 0.3;
};

// Injected faults (SIM.yaml `faults:`): each a probability 0..1, drawn from the seed.
struct fault_config {
    double http_429 = 0;           // submits and polls: the provider's rate-limit answer
    double http_5xx = 0;           // submits and polls: 500 or 503 (alternating draws)
    double reset = 0;              // submits and polls: connection closed, no answer
    double slow = 0;               // submits and polls: answered after slow_s
    double slow_s = 30;            // wall-clock seconds (not scaled): longer than client timeouts
    double malformed_json = 0;     // submits and polls: 200 with a truncated JSON body
    double generation_failed = 0;  // accepted submits: the job fails
    double moderated = 0;          // accepted submits: the job fails moderation
    double stuck = 0;              // accepted submits: the job never finishes
    double lost_response = 0;      // submits: the job is created and billed, the client sees
                                   // the connection closed without an answer
};

// Webhook delivery (SIM.yaml `webhooks:`): faults on the way to the receiver, drawn from the seed.
struct webhook_config {
    double loss = 0;             // probability an event is never delivered
    double duplicate = 0;        // probability an event is delivered twice (same event id)
    double delay_s = 0;          // provider seconds (scaled) between the event and its delivery
    double delay_jitter_s = 0;   // plus a uniform draw in [0, delay_jitter_s), scaled
    int retries = 3;             // a non-2xx or failed delivery is retried after 1, 2, 4, ... s
                                 // (provider seconds, scaled)
    double timeout_s = 10;       // wall-clock seconds one delivery may take before it failed
    int atlas_rotate_after = 0;  // a new Ed25519 key (new kid) after every N signed deliveries;
                                 // 0 = never
};

// A change of generation speed (SIM.yaml `speed_changes:`, or POST /_sim/speed at run time): a
// job accepted once `after_s` wall seconds have passed since the simulator started gets its
// drawn generation time multiplied by `factor` (the applicable entry with the latest after_s
// wins; among equal after_s, the later one).
struct speed_change {
    double after_s = 0;
    double factor = 1;
    std::string provider;  // empty: every provider
};

struct sim_config {
    double time_scale = 1.0;
    std::uint64_t seed = 1;
    std::vector<key_config> keys;
    std::map<std::string, model_timing> models;
    // Explicit SIM.yaml `default_timing`: when set it wins over the documented per-provider
    // defaults (documented_timing) for models not in `models`.
    std::optional<model_timing> default_timing;
    double rate_window_s = 60.0;       // wall-clock seconds, not scaled
    double visibility_lag_s = 2.0;     // provider seconds, scaled by time_scale
    double succeeded_fraction = 0.2;   // share of successes reported as `succeeded`
    double created_fraction = 0.1;     // share of a generation spent in `created`
    double fail_fraction = 0.0;        // share of jobs failing with a generic error
    double moderation_fraction = 0.0;  // share of jobs failing moderation (1039)
    fault_config faults;
    double minimax_url_ttl_s = 3600;           // provider seconds (scaled) a download_url lives
    int minimax_expire_first_urls = 0;         // per task, the first N download_urls are expired
    std::string minimax_fail_status = "Fail";  // "Fail" (spec) or "Failed" (the CLI's spelling)
    // `[sim:url_foreign]` / `[sim:redirect_foreign]`: the loopback port the hostile video URL
    // names, one the simulator does not own. Port 1 (tcpmux) has no listener on a test machine;
    // a test sets it to a port it watches (or the daemon's own /metrics port).
    std::uint16_t foreign_url_port = 1;
    webhook_config webhooks;
    std::vector<speed_change> speed_changes;
};

// Whether `name` is a provider the simulator emulates ("atlas", "wavespeed", "aimlapi",
// "minimax").
bool is_provider(std::string_view name);

// The generation time a provider documents for its model (and clip length), as a log-normal
// whose median is the geometric mean of the documented range and whose range spans ±2 sigma;
// nullopt when the provider gives no figure. Table and sources: docs/simulator.md.
std::optional<model_timing> documented_timing(
    std::string_view provider, std::string_view model, int duration_s
);

// Used when neither `models`, `default_timing` nor documented_timing gives a timing.
inline constexpr model_timing fallback_timing{90.0, 0.3};

// Parses SIM.yaml text. Throws std::runtime_error naming the offending key (unknown key, wrong
// type, out-of-range value).
sim_config parse_config(const std::string& yaml_text);
sim_config load_config(const std::filesystem::path& path);

}  // namespace shotfarm::simulator
