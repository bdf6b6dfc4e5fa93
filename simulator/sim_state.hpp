// The simulator's shared state: keys and their limits, the job table, the billing ledger, the
// media store, a seeded source of randomness and the clock. Provider route files (atlas.cpp,
// later wavespeed.cpp, ...) read and update it; it knows nothing about any wire format.
// Single-threaded: used only from the simulator's one io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "simulator/config.hpp"

namespace shotfarm::simulator {

using sim_clock = std::chrono::steady_clock;

enum class job_outcome { success, failure, moderated, stuck };
enum class job_phase { created, processing, completed, failed };

std::string_view to_string(job_phase phase);

// Hostile answers (prompt triggers, docs/simulator.md "Hostile answers"): what a provider that
// answers oddly sends for this job. The farm must refuse each without getting stuck.
enum class url_trap {
    none,
    ftp,               // `[sim:url_ftp]`: ftp://<sim host>/...
    foreign,           // `[sim:url_foreign]`: http://127.0.0.1:<foreign_url_port>/metrics
    private_address,   // `[sim:url_private]`: the cloud metadata address
    redirect,          // `[sim:redirect:N]`: N 302 hops on the sim's own origin, then the file
    redirect_foreign,  // `[sim:redirect_foreign]`: one 302 to the foreign port
    redirect_private,  // `[sim:redirect_private]`: one 302 to the cloud metadata address
};
enum class id_trap {
    none,
    climb,     // `[sim:id_climb]`: ../../../admin/delete?x=<n>
    control,   // `[sim:id_ctrl]`: a space and a control character
    too_long,  // `[sim:id_long]`: 300 bytes
};
struct hostile_answer {
    url_trap url = url_trap::none;
    int redirects = 0;  // url_trap::redirect: hops before the file, 1..5
    id_trap id = id_trap::none;
    bool bogus_status = false;  // `[sim:status_bogus]`: polls answer an undocumented status
};

// The hostile-answer triggers in a prompt (none: a default hostile_answer).
hostile_answer parse_hostile(std::string_view prompt);

// Where the hostile URLs point that the simulator does not serve.
inline constexpr std::string_view private_video_url = "http://169.254.169.254/latest/meta-data/";

// One billed generation.
struct job {
    std::uint64_t seq = 0;  // 0-based order of acceptance; drives the seeded draws
    std::string id;
    std::string provider;
    std::string key;
    std::string model;
    std::string prompt;
    std::string image;         // as sent (data URLs abbreviated)
    std::string image_sha256;  // of the image bytes when the simulator could read them
    int duration_s = 0;
    double price_usd = 0;
    boost::json::object params;  // other accepted request fields, echoed in the ledger

    std::chrono::system_clock::time_point submitted_wall;
    sim_clock::time_point submitted;
    sim_clock::time_point visible;     // polls before this answer 404
    sim_clock::time_point processing;  // created -> processing
    sim_clock::time_point finishes;    // -> terminal (never for `stuck`)
    double generation_s = 0;           // drawn generation time × speed_factor, provider seconds
                                       // (unscaled)
    double speed_factor = 1;           // the speed change in force when it was accepted
    double predict_s = 0;              // reported metrics.predict_time
    job_outcome outcome = job_outcome::success;
    bool reports_succeeded = false;  // success reported as `succeeded` instead of `completed`

    std::string output;  // MP4 bytes
    std::string output_sha256;
    std::string file_id;  // MiniMax: the id /v1/files/retrieve takes once the job succeeded
    int urls_issued = 0;  // MiniMax: download_urls issued for this job so far

    hostile_answer hostile;
    int file_fetches = 0;      // GETs of the job's output (any route that serves the bytes)
    int redirect_fetches = 0;  // 302 hops served for the job's `[sim:redirect...]` URL

    // Webhooks: when the first delivery of the job's terminal event was sent (MiniMax: of its
    // terminal status push), and how many webhook POSTs went out for the job (retries and
    // duplicates included; not the MiniMax challenge).
    std::optional<std::chrono::system_clock::time_point> webhook_sent_wall;
    int webhook_posts = 0;
};

// Draw streams for modules outside sim_state (sim_state's own streams are private and below
// 64), so adding a kind of draw never shifts another.
enum class draw_stream : std::uint64_t {
    webhook_fault = 64,  // loss, duplicate, delay jitter
    webhook_event_id,    // WaveSpeed webhook-id
    webhook_challenge,   // MiniMax challenge values
    atlas_signing_key,   // Ed25519 private keys
    wavespeed_secret,    // derived webhook secrets
};

// Per provider webhook counters (the ledger's `webhooks`). A delivery is one copy of an event
// (a duplicated event has two); each is POSTed until a 2xx or the retries run out.
struct webhook_counts {
    std::uint64_t sent = 0;              // deliveries started (first POST of each copy)
    std::uint64_t delivered = 0;         // deliveries answered 2xx
    std::uint64_t lost = 0;              // events never sent (`webhooks.loss`)
    std::uint64_t duplicated = 0;        // events sent twice (`webhooks.duplicate`)
    std::uint64_t retried = 0;           // retry POSTs
    std::uint64_t failed = 0;            // deliveries given up after the last retry
    std::uint64_t challenges = 0;        // MiniMax: challenges sent
    std::uint64_t challenge_failed = 0;  // MiniMax: challenges not echoed in time (submit refused)
};

// Ledger outcome: pending, completed, failed, moderated, stuck (stuck from acceptance on).
std::string_view outcome_name(const job& j, job_phase phase);

struct media_item {
    std::string bytes;
    std::string mime;
    std::string filename;
};

class sim_state {
public:
    explicit sim_state(sim_config config);

    const sim_config& config() const { return config_; }
    // "http://127.0.0.1:40123", set once the listener is bound.
    const std::string& base_url() const { return base_url_; }
    void set_base_url(std::string url) { base_url_ = std::move(url); }

    sim_clock::time_point now() const { return sim_clock::now(); }
    // Provider seconds -> wall-clock duration under time_scale.
    sim_clock::duration scaled(double provider_seconds) const;

    // The configured key for this provider, or nullptr (unknown key, or another provider's).
    const key_config* find_key(std::string_view key, std::string_view provider) const;
    // The configured key, whatever its provider, or nullptr.
    const key_config* find_any_key(std::string_view key) const;

    enum class admission {
        accepted,
        rate_limited,
        over_concurrency,
        submit_rate_limited,
        insufficient_balance
    };
    // Applies the key's limits to one submit that passed validation. rate_limited: more than
    // requests_per_minute submits in the last rate_window_s (the attempt is not counted);
    // otherwise the attempt is counted, then concurrency, submits_per_minute (accepted submits
    // in the last rate_window_s) and balance are checked, in that order.
    admission admit(const key_config& key, double price_usd);

    // Records an accepted submission: draws its timing and outcome, makes its output, bills it.
    // `forced` overrides the seeded outcome draw (prompt triggers). The generation time is the
    // draw times the speed factor in force (speed_factor()).
    job& accept(job j, std::optional<job_outcome> forced);

    // The job the last accept() created, once: the router takes it right after the handler
    // returns (no handler suspends between accepting and answering), so it is the job that
    // request created, or nullptr.
    job* take_just_accepted() { return std::exchange(just_accepted_, nullptr); }

    // The generation-time factor a job of `provider` accepted now gets: the applicable entry of
    // SIM.yaml `speed_changes` and set_speed() with the latest after_s, else 1.
    double speed_factor(std::string_view provider) const;
    // POST /_sim/speed: from now on (after_s = seconds since start), `factor` for `provider`
    // (empty: every provider). Returns the after_s recorded.
    double set_speed(double factor, std::string provider);
    // Wall seconds since the simulator started.
    double elapsed_s() const;

    // Seeded draws for other modules: uniform in [0, 1), and `n_bytes` pseudo-random bytes.
    // Deterministic for a given seed, stream and n.
    double draw_uniform(draw_stream stream, std::uint64_t n) const;
    std::string draw_bytes(draw_stream stream, std::uint64_t n, std::size_t n_bytes) const;

    // Webhook counters of `provider` (atlas, wavespeed, minimax).
    webhook_counts& webhooks(std::string_view provider);

    job* find_job(std::string_view id);
    job* find_job_by_file(std::string_view file_id);
    // How many jobs were accepted so far (a submit that created one is detected by the change).
    std::size_t job_count() const { return jobs_.size(); }

    // One seeded draw for an injected fault: true with probability `p`. Hits are counted per
    // fault name in the ledger's `faults`. p == 0 never draws (so it shifts nothing).
    bool draw_fault(std::string_view name, double p);

    // An expiring download link for a job's output (MiniMax): returns its token, served at
    // /_sim/dl/<token>/output.mp4 until `ttl` has passed. The first
    // `minimax_expire_first_urls` links issued for a job are expired from the start.
    std::string issue_download(job& j, sim_clock::duration ttl);
    enum class download_lookup { ok, expired, unknown };
    // `out` is set to the link's job for ok and expired.
    download_lookup find_download(std::string_view token, const job*& out);
    job_phase phase(const job& j) const;
    // Generations of `key` in flight now (created or processing).
    int in_flight(std::string_view key) const;

    // 32 hex digits, deterministic for a given seed and call order.
    std::string next_request_id();

    // Stores an upload; returns its file name ("<hex>.<ext>"), served at /_sim/media/<name>.
    std::string put_media(media_item item);
    const media_item* find_media(std::string_view name) const;

    // Per-key request counts (the ledger's `requests`): every request that presented a
    // configured key, and downloads of a job's output under the job's key. Unknown keys are
    // not counted. Everything but downloads also enters the key's sliding-window peaks (the
    // ledger's `peak_requests_per_window`, and `peak_submits_per_window` for submits).
    enum class request_kind { submit, poll, download, other };
    void count_request(std::string_view key, request_kind kind);

    // Counts an error answer: by HTTP status and by a short reason ("auth", "rate_limit", ...).
    void count_rejection(unsigned status, std::string_view reason);
    void count_lag_404() { ++lag_404_; }

    // An authenticated request (a configured key) to a path outside its provider's documented
    // routes: what a client that pastes an id into a path unencoded sends. The ledger's
    // `escaped_requests` and `escaped_paths` (the first 100, as received).
    void record_escaped(std::string_view target);
    // A request to a media route (outputs, download links, redirects, uploads) that carried an
    // Authorization header: a credential sent to a download host. The ledger's
    // `media_authorized`.
    void count_media_authorized() { ++media_authorized_; }

    boost::json::value ledger_json() const;

private:
    double uniform(std::uint64_t seq, std::uint64_t stream) const;
    std::string hex_id(std::uint64_t stream, std::uint64_t n) const;

    sim_config config_;
    std::string base_url_;
    std::deque<job> jobs_;  // deque: references stay valid as jobs are added
    std::map<std::string, std::size_t, std::less<>> job_index_;
    std::map<std::string, std::deque<sim_clock::time_point>, std::less<>> submit_times_;
    std::map<std::string, std::deque<sim_clock::time_point>, std::less<>> accepted_times_;
    struct request_counts {
        std::uint64_t submit = 0, poll = 0, download = 0, other = 0;
    };
    std::map<std::string, request_counts, std::less<>> requests_;
    std::map<std::string, int, std::less<>> max_inflight_;
    std::map<std::string, double, std::less<>> spent_usd_;
    std::map<std::string, media_item, std::less<>> media_;
    std::map<std::string, std::uint64_t, std::less<>> rejected_by_status_;
    std::map<std::string, std::uint64_t, std::less<>> rejected_by_reason_;
    struct download {
        std::string job_id;
        sim_clock::time_point expires;
    };
    std::map<std::string, download, std::less<>> downloads_;
    std::map<std::string, std::uint64_t, std::less<>> faults_injected_;
    std::uint64_t fault_counter_ = 0;
    std::uint64_t download_counter_ = 0;
    job* just_accepted_ = nullptr;
    sim_clock::time_point started_ = sim_clock::now();
    std::vector<speed_change> runtime_speed_;  // POST /_sim/speed, in arrival order
    // Per key: request times (submits, polls, other API requests; not downloads) and submit
    // times within the last rate_window_s, and the most seen at once.
    struct window_peak {
        std::deque<sim_clock::time_point> times;
        std::size_t peak = 0;
        void add(sim_clock::time_point t, sim_clock::duration window);
    };
    std::map<std::string, window_peak, std::less<>> request_window_;
    std::map<std::string, window_peak, std::less<>> submit_window_;
    std::map<std::string, webhook_counts, std::less<>> webhooks_;
    std::uint64_t lag_404_ = 0;
    std::uint64_t escaped_ = 0;
    std::vector<std::string> escaped_paths_;
    std::uint64_t media_authorized_ = 0;
    std::uint64_t climb_ids_ = 0;
    std::uint64_t request_counter_ = 0;
    std::uint64_t media_counter_ = 0;
};

}  // namespace shotfarm::simulator
