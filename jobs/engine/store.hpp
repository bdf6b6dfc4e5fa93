// The PostgreSQL job store: every step of a job is one short transaction here, and every
// write by a job's owner names the lease epoch it claimed with, so a daemon that lost the
// lease cannot overwrite the new owner's state (docs/operations.md, "Leases, fencing, and what
// happens on a crash").
// All SQL of the daemon lives in store.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "jobs/diagnostic.hpp"
#include "jobs/job_state.hpp"
#include "pg/pool.hpp"

namespace shotfarm::jobs {

struct shot_list;

/// A job row as the pipeline sees it.
struct job_record {
    std::int64_t id = 0;
    std::string project;
    std::string shot_id;
    int take = 1;
    job_state state = job_state::queued;
    int priority = 0;
    std::string model;
    std::string mode;
    int duration_s = 6;
    std::optional<std::string> resolution;
    std::string prompt;
    std::optional<std::string> image;
    std::optional<std::string> pin_provider;
    std::optional<std::string> pin_account;
    std::optional<std::string> account;
    std::optional<std::string> provider;
    std::optional<std::string> provider_model;
    double price_usd = 0;
    std::optional<std::string> provider_job_id;
    std::optional<std::string> video_url;
    std::int64_t lease_epoch = 0;
    int attempts = 0;
    int retries = 0;
    int billed_attempts = 0;  ///< attempts whose money is spent (accepted or ambiguous)
    double seconds_since_accepted = 0;
    std::optional<std::string> output_path;
    std::optional<std::string> sha256;
    std::optional<std::string> error;
    // Timestamps (UTC, ISO 8601) from the database clock.
    std::optional<std::string> created_at;
    std::optional<std::string> accepted_at;
    std::optional<std::string> ready_at;
    std::optional<double> generation_seconds;  ///< ready_at - accepted_at

    /// "project/shot/tNN" for messages.
    std::string ref() const;
};

/// What the dispatcher chose for a claimable job.
struct account_choice {
    std::string account;
    std::string provider;
    std::string provider_model;
    double price_usd = 0;
};

/// An account's limits, as configured (synced into the `accounts` table at start).
struct account_limits {
    std::string name;
    std::string provider;
    int max_concurrency = 1;
    int submits_per_minute = 1;
    int requests_per_minute = 1;
    std::optional<double> budget_usd_per_day;
};

/// An account's shared scheduling state, as the database holds it now.
struct account_status {
    std::string name;
    std::string provider;
    int max_concurrency = 1;
    double effective_concurrency = 1;  ///< AIMD: shrinks on 429s, grows back slowly
    int inflight = 0;                  ///< jobs in submitting or running on it (all daemons)
    double submit_wait_s = 0;          ///< until the submit window lets the next one go
    int submit_room = 1;               ///< submits the window lets go now (0 when waiting)
    double request_wait_s = 0;         ///< until the request limiter has a free slot
    double paused_s = 0;               ///< until a 429 pause ends
    double breaker_open_s = 0;         ///< until the circuit breaker lets a probe through
    bool breaker_tripped = false;      ///< open or half-open
    std::optional<std::string> disabled_reason;
    double spent_today_usd = 0;  ///< this UTC day, spent + reserved
    std::optional<double> budget_usd_per_day;
};

/// What happened on an account, for its limiters and its circuit breaker.
enum class account_event {
    accepted,         ///< a submit was accepted: AIMD grows, breaker closes
    healthy,          ///< a read succeeded: the breaker closes
    rate_limited,     ///< a 429: AIMD halves, the account pauses for `pause`
    failure,          ///< 5xx or transport failure: counts toward opening the breaker
    account_problem,  ///< auth or balance: no more submits until a restart with it configured
};

/// Circuit breaker: opens after this many consecutive failures.
inline constexpr int breaker_threshold = 5;

/// A job claimed for submission: Phase A is committed (state submitting, attempt reserved).
struct claimed_submit {
    job_record job;
    std::int64_t attempt_id = 0;
};

/// What a claim found when it handed out nothing.
/// How a claim picks among due jobs: up to `per_batch` per batch are read (locked); `reorder`
/// (if set) returns the order to try them in, as indices.
struct claim_order {
    int per_batch = 16;
    std::function<std::vector<std::size_t>(const std::vector<job_record>&)> reorder;
};

struct claim_result {
    std::optional<claimed_submit> claimed;
    /// Seconds until an account that refused on a limit (rate, pause, breaker) may take a
    /// submit again; nullopt when none did (waiting is then for a job or a free slot).
    std::optional<double> retry_in_s;
    int budget_blocked = 0;  ///< candidates that waited for budget in this claim
};

struct ingest_result {
    int shots_added = 0;
    int shots_unchanged = 0;
    int jobs_added = 0;
    diagnostics conflicts;  ///< non-empty: nothing was stored
};

/// Outcome recorded for a submit attempt that did not produce an accepted job.
enum class attempt_outcome { ambiguous, rejected, not_sent };

struct recovered {
    std::vector<job_record> resume;  ///< now ours, in running or downloading: poll/download
    int ambiguous = 0;               ///< submitting jobs without an id (resolved per policy)
    std::vector<std::pair<std::string, std::string>> ambiguous_at;  ///< their {provider, account}
    int adopted = 0;  ///< submitting jobs whose id had been recorded
    int unsent = 0;   ///< submitting jobs whose POST never left: back to the queue, unbilled
};

struct spend_row {
    std::string account;
    std::string provider;
    std::string model;
    double usd = 0;
};

/// Which jobs an operator command is about: one job (by id), or a project's jobs narrowed by
/// shot and take. Empty strings / nullopt match anything.
struct job_selector {
    std::optional<std::int64_t> job_id;
    std::string project;
    std::string shot;
    std::optional<int> take;

    std::string describe() const;
};

/// What an operator command did to one job.
struct operator_change {
    std::int64_t job_id = 0;
    std::string ref;  ///< project/shot/tNN
    job_state from = job_state::queued;
    job_state to = job_state::queued;
    std::optional<std::string> provider_job_id;
    std::string provider;
    std::string account;
    bool may_bill = false;  ///< canceled after (possibly) reaching the provider
};

struct job_id_ref {
    std::int64_t id = 0;
    std::string ref;
    job_state state = job_state::queued;
};

/// One row of a job's history (job_events).
struct job_event_row {
    std::string at;  ///< UTC, ISO 8601, database clock
    std::optional<job_state> from;
    job_state to = job_state::queued;
    std::string actor;   ///< daemon "host:pid:token" or "operator:user@host"
    std::string detail;  ///< why
    std::optional<std::int64_t> lease_epoch;
};

/// A succeeded job's recorded file, for verification at start.
struct finished_output {
    std::int64_t job_id = 0;
    std::string path;
    std::string sha256;
    std::int64_t bytes = -1;
};

/// Everything `shotfarm status` shows.
struct status_report {
    struct batch {
        std::string project;
        int priority = 0;
        std::optional<double> budget_usd;
        double spent_usd = 0;  ///< spent + reserved
        std::string source_file;
        std::string created_at;
        std::map<job_state, int> jobs;
    };
    struct daemon {
        std::string owner;
        std::string host;
        int pid = 0;
        std::string started_at;
        double seen_s_ago = 0;
        bool stopped = false;
        bool alive = false;  ///< not stopped and heard from within 3 lease lengths
        int leased_jobs = 0;
    };
    std::vector<batch> batches;
    std::map<job_state, int> jobs;
    double spent_usd = 0;
    std::vector<daemon> daemons;
    std::vector<account_status> accounts;
    struct budget {
        std::string scope;
        std::optional<double> cap_usd;
        double spent_usd = 0;
        double reserved_usd = 0;
    };
    std::vector<budget> budgets;
};

class job_store {
public:
    /// owner: this daemon's identity (host:pid:token); lease_ttl: how long a claim lasts
    /// without renewal.
    job_store(pg::pool& pool, std::string owner, std::chrono::seconds lease_ttl);

    const std::string& owner() const { return owner_; }

    /// Stores a validated shot list in one transaction. Idempotent: the same list again adds
    /// nothing. A shot whose spec changed under the same id is a conflict (nothing stored).
    boost::asio::awaitable<ingest_result> ingest(const shot_list& list);

    /// Phase A: claims the first due job (priority, then due time) for which `choose`
    /// returns an account, reserves the attempt and moves it to submitting. nullopt if none.
    boost::asio::awaitable<std::optional<claimed_submit>> claim_for_submit(
        std::string project, std::function<std::optional<account_choice>(const job_record&)> choose
    );

    /// The scheduler's claim, in one transaction: takes due jobs in order — priority, then the
    /// batch with the fewest jobs in flight (equal-priority batches share), then due time —
    /// and gives the first the first account in `rank`'s order that passes every check in the
    /// database: not disabled, not paused, breaker closed (or this is its one probe), jobs in
    /// flight < effective concurrency, submit limiter (GCRA) open, and the price fits the
    /// account's day budget, the batch budget and the global budget (row-locked, so this holds
    /// across daemons). A job that fits no budget stays queued with `wait_reason` set and is
    /// looked at again 10 s later. `project` "" = every batch.
    boost::asio::awaitable<claim_result> claim_next(
        std::string project,
        std::function<std::vector<account_choice>(const job_record&)> rank,
        claim_order order = claim_order()
    );

    /// Writes the configured accounts' limits (keeping their learned state: AIMD, pauses,
    /// breaker, limiter clocks) and the global cap. Clears `disabled_reason` (a restart with
    /// the account configured means the operator wants it used).
    boost::asio::awaitable<void> sync_accounts(
        std::vector<account_limits> accounts, std::optional<double> global_budget_usd
    );
    boost::asio::awaitable<std::vector<account_status>> account_statuses();
    /// Takes the account's next request slot (GCRA over requests_per_minute, shared by every
    /// daemon) and returns how long to wait before sending (0 when the slot is now).
    /// For a submit (`submit` true) the slot is also at least 60/submits_per_minute s after the
    /// previous submit's, so the POSTs themselves keep the submit rate.
    boost::asio::awaitable<std::chrono::milliseconds> reserve_request(
        std::string account, bool submit = false
    );
    /// True when this event opened the account's circuit breaker.
    boost::asio::awaitable<bool> account_feedback(
        std::string account,
        account_event event,
        std::chrono::milliseconds pause,
        std::string reason
    );
    /// What a poll saw of a finished generation: ready after `after_s`, by `by_s` (seconds
    /// since accepted), for the scheduler's estimate (shared by every daemon).
    struct generation_observation {
        std::int64_t id = 0;
        std::string provider;
        std::string model;  ///< provider-neutral model and clip length, "hailuo-02-standard@6s"
        double after_s = 0;
        double by_s = 0;
        double observed_unix_s = 0;  ///< database clock
    };
    boost::asio::awaitable<void> learn_generation_time(
        std::string provider, std::string model, double after_s, double by_s
    );
    /// Observations after `after_id` made in the last `horizon`, oldest first; with
    /// `others_only`, not this store's owner's own (it added those as it made them).
    boost::asio::awaitable<std::vector<generation_observation>> generation_observations(
        std::int64_t after_id, std::chrono::seconds horizon, bool others_only
    );
    /// Budgets as stored: scope -> {cap (nullopt = none), spent, reserved}.
    struct budget_row {
        std::string scope;
        std::optional<double> cap_usd;
        double spent_usd = 0;
        double reserved_usd = 0;
    };
    boost::asio::awaitable<std::vector<budget_row>> budgets();

    /// Phase B: the provider accepted. The attempt keeps the id even if we were fenced out.
    /// Returns false if the job's lease moved on (the new owner will adopt the id).
    boost::asio::awaitable<bool> record_accepted(
        job_record job, std::int64_t attempt_id, std::string provider_job_id
    );

    /// A submit that was not accepted: settles the attempt and moves the job on to `to`
    /// (retry_wait after `delay`, failed, held or queued).
    boost::asio::awaitable<bool> record_submit_failure(
        job_record job,
        std::int64_t attempt_id,
        attempt_outcome outcome,
        unsigned http_status,
        std::string message,
        job_state to,
        std::chrono::milliseconds delay,
        std::string error_class
    );

    /// running → downloading with the video URL.
    boost::asio::awaitable<bool> record_ready(job_record job, std::string video_url);
    /// running → retry_wait/failed/held after the remote generation failed or got stuck.
    boost::asio::awaitable<bool> record_remote_failure(
        job_record job,
        job_state to,
        std::chrono::milliseconds delay,
        std::string message,
        std::string error_class
    );
    /// downloading → succeeded with the verified file.
    boost::asio::awaitable<bool> record_downloaded(
        job_record job, std::string output_path, std::string sha256, std::int64_t bytes
    );
    /// downloading → running (refresh the URL by polling), downloading (retry), failed, or
    /// held (the answer cannot be used: a URL or redirect the download policy refuses).
    boost::asio::awaitable<bool> record_download_failure(
        job_record job, job_state to, std::string message, std::string error_class = "download"
    );
    /// A task of ours died on an exception — a bug, not an answer: the job is held for an
    /// operator with the reason, never run again in a loop. A submit whose POST had left is
    /// settled ambiguous (it may have been billed), one that had not as not sent. False if the
    /// job is no longer ours in an in-flight state.
    boost::asio::awaitable<bool> hold_after_fault(std::int64_t job_id, std::string reason);

    /// Takes over this project's in-flight jobs whose owner is gone (lease expired, or a dead
    /// process on this host). `hold_ambiguous` picks the policy for submits without an id.
    boost::asio::awaitable<recovered> recover(std::string project, bool hold_ambiguous);
    /// The same, and also this daemon's own in-flight jobs that no task of it works on any
    /// more (`busy` lists the ids that have one): a step that failed on an exception, or a
    /// late provider id adopted after an ambiguous ruling. Called periodically while running.
    boost::asio::awaitable<recovered> recover_orphans(
        std::string project, bool hold_ambiguous, std::vector<std::int64_t> busy
    );

    /// Renews this daemon's leases (database clock) and returns the ids still ours: a job of
    /// ours missing from it was taken over or canceled, and its task must stop.
    boost::asio::awaitable<std::set<std::int64_t>> renew_leases();
    boost::asio::awaitable<void> release_leases();
    /// Marks the attempt's POST as leaving now — the moment after which a crash makes the
    /// submit ambiguous. False when the job is no longer ours in `submitting` (fenced out or
    /// canceled): the POST must not be sent.
    boost::asio::awaitable<bool> mark_sent(job_record job, std::int64_t attempt_id);
    /// The daemons table: this process works on the database / has stopped cleanly.
    boost::asio::awaitable<void> register_daemon(std::string config_file);
    boost::asio::awaitable<void> unregister_daemon();

    boost::asio::awaitable<std::map<job_state, int>> state_counts(std::string project);
    /// All states across projects (for metrics).
    boost::asio::awaitable<std::map<job_state, int>> state_counts_all();
    boost::asio::awaitable<std::vector<spend_row>> spend();
    /// Unfinished jobs of the project that wait for budget, and one of their reasons.
    boost::asio::awaitable<std::pair<int, std::string>> budget_waiting(std::string project);
    /// Seconds until the next queued/retry_wait job of the project is due (nullopt: none).
    boost::asio::awaitable<std::optional<double>> seconds_until_due(std::string project);
    boost::asio::awaitable<std::vector<job_record>> jobs_of(std::string project);
    /// The URL an image with these bytes was uploaded to on this account, if that happened
    /// less than `max_age` ago (provider upload URLs expire).
    boost::asio::awaitable<std::optional<std::string>> cached_upload(
        std::string account, std::string sha256, std::chrono::seconds max_age
    );
    boost::asio::awaitable<void> remember_upload(
        std::string account, std::string sha256, std::string url
    );
    // ---- operator commands (operator_store.cpp) ----
    /// Cancels every unfinished selected job: terminal `canceled`, lease epoch bumped (its
    /// daemon is fenced out: it stops polling, and a POST not yet sent is never sent).
    boost::asio::awaitable<std::vector<operator_change>> cancel(
        job_selector which, std::string reason
    );
    /// Retries every selected job that is failed, canceled, held or waiting: a paid generation
    /// whose video may still come (held after polls failed, stuck, lost; failed downloading)
    /// is polled again; any other goes back to the queue (a new generation; max_attempts
    /// counts from here).
    boost::asio::awaitable<std::vector<operator_change>> retry(job_selector which);
    boost::asio::awaitable<std::vector<job_id_ref>> find_jobs(job_selector which);
    boost::asio::awaitable<std::vector<job_event_row>> history(std::int64_t job_id);
    boost::asio::awaitable<status_report> status();
    /// Succeeded jobs and their recorded files ("" = every project).
    boost::asio::awaitable<std::vector<finished_output>> finished_outputs(std::string project);
    /// succeeded → downloading, leased to this daemon, if the job is still as `output` says:
    /// its file is missing or damaged and is fetched again (polling for a fresh URL if the
    /// old one expired). nullopt if another daemon was first.
    boost::asio::awaitable<std::optional<job_record>> refetch_output(
        finished_output output, std::string why
    );

    /// One job as stored now (nullopt if there is no such id).
    boost::asio::awaitable<std::optional<job_record>> get_job(std::int64_t id);

private:
    boost::asio::awaitable<recovered> recover_impl(
        std::string project, bool hold_ambiguous, bool take_own, std::vector<std::int64_t> busy
    );
    boost::asio::awaitable<bool> transition(
        job_record job, job_state to, std::string extra_sets, pg::params extra, std::string detail
    );

    pg::pool& pool_;
    std::string owner_;
    std::chrono::seconds lease_ttl_;
};

}  // namespace shotfarm::jobs
