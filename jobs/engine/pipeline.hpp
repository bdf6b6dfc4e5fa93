// The pipeline of one project's jobs: claim → submit → poll → download → succeeded, each step
// recorded in PostgreSQL (job_store) before the next. One io thread; one coroutine per job in
// flight; a dispatcher that hands due jobs to accounts with free capacity.
#pragma once

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "jobs/backoff.hpp"
#include "jobs/config.hpp"
#include "jobs/engine/run_metrics.hpp"
#include "jobs/engine/store.hpp"
#include "jobs/sched/estimator.hpp"
#include "jobs/sched/polling.hpp"
#include "providers/catalog.hpp"
#include "providers/provider.hpp"
#include "providers/webhook.hpp"

namespace shotfarm::net {
class http_client;
}

namespace shotfarm::jobs {

struct pipeline_options {
    std::string project;
    std::filesystem::path output_dir;
    bool hold_ambiguous = false;
    int max_attempts = 5;  ///< billed attempts per job (remote failures, ambiguous resubmits)
    int max_retries = 40;  ///< transient failures per job before it fails
    std::chrono::milliseconds poll_interval{5000};
    std::chrono::milliseconds max_poll_interval{30000};
    std::chrono::seconds not_found_grace{30};  ///< Atlas: a new id may 404 for a while
    std::chrono::seconds job_deadline{std::chrono::hours(3)};
    std::uint64_t max_download_bytes = 512ull << 20;
    backoff_policy backoff;
    std::chrono::seconds lease_ttl{30};
    std::ostream* progress = nullptr;  ///< human progress lines; nullptr for none
    /// Daemon mode: never return when the work is done (wait for more batches), only on stop.
    bool keep_running = false;
    /// After a stop request, how long in-flight exchanges get to finish and be recorded; then
    /// they are abandoned (each job left in a state a restart understands).
    std::chrono::milliseconds shutdown_grace{20000};
    /// At start: check every succeeded job's file against its recorded SHA-256 and fetch it
    /// again if missing or different.
    bool verify_outputs = true;
    /// Called with true once the database answers and work goes on, false while it does not
    /// (for /readyz).
    std::function<void(bool)> on_ready;
    /// Called (at most every 5 s) while the database is unreachable: the embedded cluster's
    /// owner starts it again if its server is gone. Blocking is fine: nothing else can move.
    std::function<void()> on_outage;
};

struct run_summary {
    std::map<job_state, int> counts;
    double spend_usd = 0;
    std::vector<job_record> jobs;
    bool stopped = false;            ///< by a signal, before everything finished
    bool no_usable_account = false;  ///< every account that could serve the rest is paused
    int budget_waiting = 0;          ///< jobs left queued because no budget had room
    std::string budget_reason;       ///< one of their reasons ("budget: batch 'x' …")
    int abandoned = 0;               ///< tasks still in flight when the shutdown grace ended
    bool database_down = false;      ///< the final bookkeeping could not reach the database
};

/// Builds pipeline options from the config (the parts that are not per run).
pipeline_options options_from(const app_config& cfg, std::string project);

class pipeline {
public:
    pipeline(
        boost::asio::any_io_executor ex,
        std::shared_ptr<const app_config> cfg,
        job_store& store,
        net::http_client& http,
        run_metrics& metrics,
        pipeline_options opts
    );
    ~pipeline();
    pipeline(const pipeline&) = delete;
    pipeline& operator=(const pipeline&) = delete;

    /// Works until every job of the project is terminal or held, or stop is requested; then
    /// waits for in-flight requests to settle, releases leases and returns.
    boost::asio::awaitable<run_summary> run();

    /// Graceful stop: no new submits; polls and downloads stop at their next wait; an
    /// in-flight POST completes and is recorded. Safe to call from a signal handler's
    /// completion (on the io thread).
    void request_stop();

    /// A provider's push for a job of `account` (already verified by the webhook route): the
    /// job's poll loop wakes and applies it like a poll result — or, when it must be confirmed
    /// (MiniMax's unsigned callback, a success without a URL), polls at once. A push for a job
    /// this daemon is not polling is dropped (its owner's safety poll covers it). Idempotent:
    /// a job applies the first push it sees; later ones for it find it gone.
    void push(const std::string& account, providers::webhook_event event);
    bool stopping() const { return stop_requested_; }

    /// SIGHUP: a new config (already validated). Accounts, their keys, limits and budgets, the
    /// global budget, prices and strategy take effect at once; jobs in flight on an account
    /// that is gone from the config finish on it, no new ones go there.
    boost::asio::awaitable<void> reload(std::shared_ptr<const app_config> cfg);

private:
    struct slot;

    boost::asio::awaitable<void> job_task(job_record job, std::int64_t attempt_id);
    boost::asio::awaitable<void> submit_step(job_record& job, std::int64_t attempt_id, slot& s);
    boost::asio::awaitable<void> poll_step(job_record& job, slot& s);
    boost::asio::awaitable<void> download_step(job_record& job, slot& s);
    boost::asio::awaitable<void> heartbeat();
    /// Takes over in-flight jobs nobody works on (dead owners, expired leases, our own failed
    /// tasks) and spawns tasks to carry them on.
    boost::asio::awaitable<void> recover();
    boost::asio::awaitable<void> report_progress(bool force);
    /// Sleeps `d`; false if a stop was requested or (job_id != 0) the job was taken from us.
    boost::asio::awaitable<bool> sleep_or_stop(
        std::chrono::milliseconds d, std::int64_t job_id = 0
    );
    /// Runs a database write, waiting out an outage (reconnecting with backoff) rather than
    /// losing what the provider said; gives up only once the shutdown grace is over.
    boost::asio::awaitable<bool> durably(std::function<boost::asio::awaitable<bool>()> write);
    void set_ready(bool ready, const std::string& why);
    /// At start: every succeeded job's file is checked; missing or damaged ones are fetched
    /// again.
    boost::asio::awaitable<void> verify_outputs();
    void add_slot(const account_config& a);
    bool fenced(std::int64_t job_id) const { return fenced_.count(job_id) > 0; }
    /// A job task ended on an exception: logged once, and the job held for an operator (the
    /// periodic recovery must not start it again and again).
    void hold_faulted(std::int64_t job_id, const std::string& ref, const std::string& what);
    /// The answer's video URL cannot be used (refused by the account's download policy, or
    /// the download was refused on the way): the paid job is held with the reason.
    boost::asio::awaitable<void> hold_unusable(
        job_record& job, const slot& s, std::string why, std::string error_class
    );
    /// SHA-256 of a file, computed on the blocking pool (a 500 MB video or a 20 MB image must
    /// not stall every other job's timers on the io thread).
    boost::asio::awaitable<std::string> hash_file(std::filesystem::path file);

    /// Accounts that may take the job, best first (strategy: fastest or cheapest).
    std::vector<account_choice> rank(const job_record& job);
    /// The order to try due jobs in during the last waves: longest expected first.
    std::vector<std::size_t> claim_order(const std::vector<job_record>& jobs);
    int total_slots() const;
    /// Refreshes the shared account states and other daemons' observed generation times.
    boost::asio::awaitable<void> refresh_accounts();
    /// The learned generation times of a provider's model and clip length ("model@6s").
    sched::generation_estimator& estimator_for(
        const std::string& provider, const std::string& model_key, std::string_view model
    );
    const sched::estimate& estimate_for(const std::string& provider, const job_record& job);
    /// Mean seconds a generation of this model and duration takes on this provider, as
    /// learned (the configured prior until there are observations).
    double expected_generation_s(const std::string& provider, const job_record& job);
    /// What one poll of this account is worth in seconds of waiting (the planner's lambda),
    /// from the polls-per-job target and the account's request budget.
    double poll_price(const slot& s, const std::string& key, const sched::estimate& e);
    sched::poll_limits poll_limits() const;
    /// Waits for the account's next request slot (shared by every daemon).
    boost::asio::awaitable<void> pace(std::string account, providers::request_kind kind);
    /// Tells the database what happened on an account (AIMD, pauses, breaker).
    boost::asio::awaitable<void> feedback(
        slot& s, account_event ev, std::chrono::milliseconds pause, std::string why
    );
    std::optional<providers::offer> offer_for(const job_record& job, const std::string& provider)
        const;
    slot* slot_for(const std::string& account);
    void spawn(job_record job, std::int64_t attempt_id);
    void release_slot(job_record& job, slot& s, bool& held);
    job_state lost_lease(const job_record& job);
    void wake();
    std::string where(const job_record& job) const;
    std::chrono::milliseconds backoff_delay(int retry);
    bool every_account_unusable() const;

    boost::asio::any_io_executor ex_;
    std::shared_ptr<const app_config> cfg_;
    job_store& store_;
    net::http_client& http_;
    run_metrics& metrics_;
    pipeline_options opts_;
    providers::catalog catalog_;
    std::vector<std::unique_ptr<slot>> slots_;
    boost::asio::steady_timer wake_timer_;
    boost::asio::steady_timer stop_timer_;
    boost::asio::steady_timer fence_timer_;  ///< cancelled when jobs are found fenced out
    bool wake_pending_ = false;
    bool stop_requested_ = false;
    bool hard_stop_ = false;  ///< the shutdown grace is over: abandon what is in flight
    bool ready_ = false;
    std::set<std::int64_t> fenced_;  ///< busy jobs no longer ours (taken over or canceled)
    /// Jobs in their poll loop, by "account\n provider job id" (where pushes find them).
    std::map<std::string, std::int64_t> polling_;
    struct pushed {
        providers::poll_result result;
        bool confirm = false;  ///< poll first (unverified hint)
    };
    std::map<std::int64_t, pushed> pushes_;  ///< by job id, until its poll loop takes it
    boost::asio::steady_timer push_timer_;   ///< cancelled when a push arrives: sleepers look
    int active_tasks_ = 0;
    std::set<std::int64_t> busy_;      ///< ids of jobs a task of ours works on
    std::set<std::int64_t> faulted_;   ///< jobs whose task threw, until they are recorded held
    std::set<std::string> uploading_;  ///< "account/sha256" of image uploads in progress
    static constexpr std::chrono::seconds recovery_period{5};
    std::vector<account_status> statuses_;
    int queue_left_ = 0;  ///< queued + retry_wait jobs of the project, as last counted
    /// "provider/model@Ns" -> its learned generation times.
    std::map<std::string, sched::generation_estimator> estimators_;
    std::int64_t observations_seen_ = 0;  ///< the last generation_observations id read
    std::chrono::steady_clock::time_point observations_at_{};
    struct poll_price_cache {
        double mu = 0;
        double sigma = 0;
        double target = 0;
        long long limits_min = -1;
        double lambda = 0;
    };
    std::map<std::string, poll_price_cache> poll_prices_;  ///< by "account|model@Ns"
    std::mt19937_64 rng_;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point last_progress_{};
    std::chrono::steady_clock::time_point last_outage_hook_{};
    std::string last_progress_line_;
    /// File hashing and other blocking work, off the io thread. Declared last: joined first.
    boost::asio::thread_pool blocking_{1};
};

}  // namespace shotfarm::jobs
