#include "jobs/engine/pipeline.hpp"

#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "jobs/json_text.hpp"
#include "jobs/log.hpp"
#include "jobs/output.hpp"
#include "jobs/sched/scheduling.hpp"
#include "net/http_client.hpp"
#include "net/url_policy.hpp"

namespace shotfarm::jobs {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using providers::outcome_class;
using providers::remote_state;

/// For feedback() calls without a reason (a named object: GCC 12 mishandles temporaries with
/// destructors inside a co_await expression).
const std::string no_reason;

/// While the database is unreachable: base, doubling per failure, at most 2 s (a reconnect
/// costs one failed connect on a local socket; being back within 2 s of the database matters
/// more than the few attempts saved).
std::chrono::milliseconds outage_backoff(std::chrono::milliseconds base, int failures) {
    return std::min<std::chrono::milliseconds>(2s, base * (1 << std::min(failures, 6)));
}

/// The configured accounts' limits, as the database keeps them for every daemon.
std::vector<account_limits> limits_of(const app_config& cfg) {
    std::vector<account_limits> out;
    for (const auto& a : cfg.accounts) {
        out.push_back(account_limits{
            a.name,
            a.provider,
            a.max_concurrency,
            a.submit_rate(),
            a.requests_per_minute,
            a.budget_usd_per_day});
    }
    return out;
}

/// Redirect hops a video download follows, each checked against the download policy.
constexpr int max_download_redirects = 3;

/// How long an upload URL is reused for further submits (Atlas: "may expire", no figure given).
constexpr std::chrono::seconds upload_reuse{3600};

/// One configured account as this daemon uses it. Its limits and health are shared state in
/// PostgreSQL (job_store::claim_next, reserve_request, account_feedback), so they hold for
/// every daemon on the database; here are only the adapter and local counts for metrics.
struct pipeline::slot {
    providers::account acct;
    int submit_rate = 1;  ///< submits per minute (config, provider default applied)
    int requests_per_minute = 60;
    int max_concurrency = 1;
    bool webhooks = false;  ///< the provider pushes results: polling is the safety net
    /// Shared: a task keeps the adapter it started with when a reload replaces it.
    std::shared_ptr<providers::provider> api;
    int inflight = 0;       ///< this daemon's jobs in flight on it (for the gauge)
    bool disabled = false;  ///< auth/balance problem seen by this daemon: no submits this run
    bool retired = false;   ///< gone from the config (reload): finishes its jobs, takes none
    int consecutive_429 = 0;
    bool failing = false;  ///< a failure was reported and no success since
    /// Where this account's video URLs may be fetched from: https to public addresses, the
    /// base_url's origin, the account's download_hosts.
    net::url_policy downloads;
};

pipeline_options options_from(const app_config& cfg, std::string project) {
    pipeline_options o;
    o.project = std::move(project);
    o.output_dir = cfg.output_dir;
    o.hold_ambiguous = cfg.ambiguous_policy == "hold";
    o.max_attempts = cfg.max_attempts;
    o.poll_interval = std::chrono::milliseconds(static_cast<long long>(cfg.poll_interval_s * 1000));
    o.max_poll_interval =
        std::chrono::milliseconds(static_cast<long long>(cfg.max_poll_interval_s * 1000));
    o.max_download_bytes = cfg.max_download_bytes;
    o.lease_ttl = std::chrono::seconds(cfg.lease_ttl_s);
    o.shutdown_grace =
        std::chrono::milliseconds(static_cast<long long>(cfg.shutdown_grace_s * 1000));
    return o;
}

pipeline::pipeline(
    asio::any_io_executor ex,
    std::shared_ptr<const app_config> cfg,
    job_store& store,
    net::http_client& http,
    run_metrics& metrics,
    pipeline_options opts
)
    : ex_(ex),
      cfg_(std::move(cfg)),
      store_(store),
      http_(http),
      metrics_(metrics),
      opts_(std::move(opts)),
      catalog_(make_catalog(*cfg_)),
      wake_timer_(ex),
      stop_timer_(ex),
      fence_timer_(ex),
      push_timer_(ex),
      rng_(std::random_device{}()) {
    for (const auto& a : cfg_->accounts) {
        add_slot(a);
    }
    stop_timer_.expires_at(clock_type::time_point::max());
    fence_timer_.expires_at(clock_type::time_point::max());
    push_timer_.expires_at(clock_type::time_point::max());
}

void pipeline::add_slot(const account_config& a) {
    slot* s = slot_for(a.name);
    if (s == nullptr) {
        slots_.push_back(std::make_unique<slot>());
        s = slots_.back().get();
        metrics_.inflight.with({a.provider, a.name}).set(0);
    }
    s->acct.name = a.name;
    s->acct.provider = a.provider;
    s->acct.base_url = a.base_url;
    s->acct.api_key = a.api_key;
    s->submit_rate = a.submit_rate();
    s->requests_per_minute = a.requests_per_minute;
    s->max_concurrency = a.max_concurrency;
    s->webhooks = webhook_url(*cfg_, a).has_value();
    s->retired = false;
    s->disabled = false;
    s->acct.before_request = [this, name = a.name](providers::request_kind kind) {
        return pace(name, kind);
    };
    s->api = providers::make_provider(s->acct, http_);
    try {
        s->downloads = net::url_policy(a.base_url, a.download_hosts);
    } catch (const std::invalid_argument& e) {
        // The config loader refuses such a base_url first; should one get here, the strict
        // policy (public https only) is the safe fallback.
        s->downloads = net::url_policy();
        log(log_level::error,
            "account.download_policy",
            {{"account", a.name}, {"error", e.what()}, {"detail", "only public https URLs"}});
    }
}

asio::awaitable<void> pipeline::reload(std::shared_ptr<const app_config> cfg) {
    // The shared limits first: if the database refuses, nothing local has changed.
    co_await store_.sync_accounts(limits_of(*cfg), cfg->budget_usd);
    for (auto& s : slots_) {
        s->retired = true;
    }
    for (const auto& a : cfg->accounts) {
        add_slot(a);
    }
    catalog_ = make_catalog(*cfg);
    opts_.hold_ambiguous = cfg->ambiguous_policy == "hold";
    opts_.max_attempts = cfg->max_attempts;
    cfg_ = std::move(cfg);
    int retired = 0;
    for (const auto& s : slots_) {
        retired += s->retired ? 1 : 0;
    }
    log(log_level::info,
        "config.reloaded",
        {{"accounts", static_cast<std::int64_t>(cfg_->accounts.size())},
         {"retired_accounts", retired}});
    wake();
}

pipeline::~pipeline() = default;

void pipeline::request_stop() {
    if (stop_requested_) {
        return;
    }
    stop_requested_ = true;
    log(log_level::info, "pipeline.stopping", {{"project", opts_.project}});
    stop_timer_.cancel();
    wake();
}

void pipeline::wake() {
    wake_pending_ = true;
    wake_timer_.cancel();
}

std::string pipeline::where(const job_record& job) const {
    return job.provider.value_or("?") + " account '" + job.account.value_or("?") + "' shot " +
           job.ref();
}

std::chrono::milliseconds pipeline::backoff_delay(int retry) {
    return full_jitter(opts_.backoff, retry, rng_);
}

pipeline::slot* pipeline::slot_for(const std::string& account) {
    for (auto& s : slots_) {
        if (s->acct.name == account) {
            return s.get();
        }
    }
    return nullptr;
}

std::optional<providers::offer> pipeline::offer_for(
    const job_record& job, const std::string& provider
) const {
    const auto m = job.mode == "i2v" ? providers::mode::i2v : providers::mode::t2v;
    for (auto& o : catalog_.find(job.model, m, job.duration_s, provider)) {
        // Never send a request the provider would refuse: an empty prompt only where allowed.
        if (job.prompt.empty() && o.prompt_required) {
            continue;
        }
        return std::move(o);
    }
    return std::nullopt;
}

std::vector<account_choice> pipeline::rank(const job_record& job) {
    std::vector<sched::account_view> views;
    for (auto& s : slots_) {
        if (job.pin_account && *job.pin_account != s->acct.name) {
            continue;
        }
        if (job.pin_provider && *job.pin_provider != s->acct.provider) {
            continue;
        }
        if (s->disabled || s->retired) {
            continue;
        }
        auto offer = offer_for(job, s->acct.provider);
        if (!offer) {
            continue;
        }
        sched::account_view v{
            s->acct.name, s->acct.provider, offer->provider_model, offer->price_usd};
        const auto& e = estimate_for(s->acct.provider, job);
        v.expected_generation_s = e.predictive.mean();
        v.late_generation_s = e.predictive.quantile(0.9);
        v.slots = s->max_concurrency;
        v.submits_per_minute = s->submit_rate;
        for (const auto& st : statuses_) {
            if (st.name != s->acct.name) {
                continue;
            }
            // The database has the last word (claim_next); this only skips accounts that
            // cannot take a submit soon, so a claim does not ask them in vain.
            const int cap = std::max(1, static_cast<int>(st.effective_concurrency + 1e-9));
            if (st.disabled_reason || st.paused_s > 0 || st.breaker_open_s > 0 ||
                (st.budget_usd_per_day &&
                 st.spent_today_usd + offer->price_usd > *st.budget_usd_per_day + 1e-9)) {
                v.usable = false;
            }
            v.wait_s = std::max(st.submit_wait_s, st.request_wait_s);
            if (st.inflight >= cap) {
                // Full: a slot frees about every generation ÷ slots (what a job would wait
                // for it, to compare with a slower account that has room now).
                v.full = true;
                v.wait_s = std::max(v.wait_s, v.expected_generation_s / cap);
            }
            v.slots = cap;
            v.load = static_cast<double>(st.inflight) / cap;
        }
        views.push_back(std::move(v));
    }
    const sched::rank_inputs in{cfg_->strategy == "cheapest", 0, queue_left_};
    std::vector<account_choice> out;
    for (auto& v : sched::rank_accounts(std::move(views), in)) {
        out.push_back(account_choice{
            std::move(v.account), std::move(v.provider), std::move(v.provider_model), v.price_usd});
    }
    return out;
}

std::vector<std::size_t> pipeline::claim_order(const std::vector<job_record>& jobs) {
    std::vector<sched::claim_candidate> c;
    for (const auto& j : jobs) {
        double best = std::numeric_limits<double>::infinity();
        for (const auto& s : slots_) {
            if (!s->disabled && !s->retired && offer_for(j, s->acct.provider)) {
                best = std::min(best, expected_generation_s(s->acct.provider, j));
            }
        }
        c.push_back({j.priority, std::isfinite(best) ? best : 0.0});
    }
    return sched::claim_order(c, true);
}

int pipeline::total_slots() const {
    int n = 0;
    for (const auto& s : slots_) {
        if (!s->disabled && !s->retired) {
            n += s->max_concurrency;
        }
    }
    return n;
}

namespace {

std::string timing_key(const job_record& job) {
    // A 10 s video takes longer than a 6 s one of the same model (AI/ML API: "4-5 minutes for a
    // 6-second video and 8-9 minutes for a 10-second video", aimlapi/api-docs
    // docs/api-references/video-models/minimax/hailuo-02.md): learned apart.
    return job.model + "@" + std::to_string(job.duration_s) + "s";
}

}  // namespace

namespace {

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

sched::generation_estimator& pipeline::estimator_for(
    const std::string& provider, const std::string& model_key, std::string_view model
) {
    const double configured = generation_prior_s(*cfg_, model);
    auto [it, added] = estimators_.try_emplace(provider + "/" + model_key, configured);
    if (it->second.observations() == 0) {
        // Nothing seen of this model on this provider yet: its prior is the configured one
        // scaled by how this provider's other models compare with theirs (a provider twice
        // as slow as the priors say is likely so for this model too) — and held more tightly
        // then, being learned rather than guessed.
        double log_ratio = 0;
        int known = 0;
        const auto now = unix_now();
        for (auto& [other_key, other] : estimators_) {
            if (other.observations() < 3 || !other_key.starts_with(provider + "/")) {
                continue;
            }
            const auto rest = std::string_view(other_key).substr(provider.size() + 1);
            const double its_prior = generation_prior_s(*cfg_, rest.substr(0, rest.find('@')));
            log_ratio += std::log(other.current(now).fit.median() / its_prior);
            ++known;
        }
        const sched::estimator_options defaults;
        it->second.set_prior(
            configured * std::exp(known > 0 ? log_ratio / known : 0.0),
            known > 0 ? 0.5 : defaults.prior_log_median_sd
        );
    }
    // Once observed, the prior it started with stays: the observations speak from then on.
    return it->second;
}

const sched::estimate& pipeline::estimate_for(const std::string& provider, const job_record& job) {
    return estimator_for(provider, timing_key(job), job.model).current(unix_now());
}

double pipeline::expected_generation_s(const std::string& provider, const job_record& job) {
    return estimate_for(provider, job).predictive.mean();
}

double pipeline::poll_price(const slot& s, const std::string& key, const sched::estimate& e) {
    // Polls per job to plan for: the configured target, less when the account's request
    // budget is tight; twice it for the last jobs, whose wait decides when the night ends.
    // With webhooks the push brings the result and polls are only the safety net for a lost
    // one: planned as if for `safety_polls_per_job` (not doubled at the end: the push serves
    // the last jobs as well), they come late, mostly after the push.
    const sched::request_budget budget{
        .requests_per_minute = static_cast<double>(s.requests_per_minute),
        .submits_per_minute = static_cast<double>(s.submit_rate),
        .slots = s.max_concurrency,
        .submitting = queue_left_ > 0};
    const double wanted = s.webhooks ? sched::safety_polls_per_job : cfg_->polls_per_job;
    const double target = sched::planned_polls_per_job(
        queue_left_ == 0 && !s.webhooks ? 2 * wanted : wanted, budget, e.predictive.mean()
    );
    auto& cached = poll_prices_[s.acct.name + "|" + key];
    if (cached.mu != e.predictive.mu || cached.sigma != e.predictive.sigma ||
        cached.target != target || cached.limits_min != opts_.poll_interval.count()) {
        cached.mu = e.predictive.mu;
        cached.sigma = e.predictive.sigma;
        cached.target = target;
        cached.limits_min = opts_.poll_interval.count();
        cached.lambda = sched::lambda_for(e.predictive, target, poll_limits());
    }
    return cached.lambda;
}

sched::poll_limits pipeline::poll_limits() const {
    return sched::poll_limits{
        std::chrono::duration<double>(opts_.poll_interval).count(),
        std::chrono::duration<double>(opts_.max_poll_interval).count()};
}

asio::awaitable<void> pipeline::refresh_accounts() {
    statuses_ = co_await store_.account_statuses();
    const auto now = clock_type::now();
    if (now - observations_at_ >= 5s) {
        // Other daemons' completions (ours were added as they happened); at the first read,
        // every recent one, ours from before a restart included.
        const bool first = observations_seen_ == 0;
        for (auto& o : co_await store_.generation_observations(
                 observations_seen_, std::chrono::hours(24), !first
             )) {
            observations_seen_ = std::max(observations_seen_, o.id);
            const auto at = o.model.find('@');
            estimator_for(o.provider, o.model, std::string_view(o.model).substr(0, at))
                .add({o.after_s, o.by_s, o.observed_unix_s});
        }
        observations_at_ = now;
    }
}

asio::awaitable<void> pipeline::pace(std::string account, providers::request_kind kind) {
    const bool submit = kind == providers::request_kind::submit;
    // No slot without the database: an outage is waited out (nothing has been sent yet).
    std::chrono::milliseconds wait{0};
    std::function<asio::awaitable<bool>()> reserve = [&]() -> asio::awaitable<bool> {
        wait = co_await store_.reserve_request(account, submit);
        co_return true;
    };
    co_await durably(std::move(reserve));
    if (wait.count() > 0 && submit) {
        co_await sleep_or_stop(wait);  // a stop cuts it short: the submit is then not sent
    } else if (wait.count() > 0) {
        asio::steady_timer t(ex_, wait);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

asio::awaitable<void> pipeline::feedback(
    slot& s, account_event ev, std::chrono::milliseconds pause, std::string why
) {
    if (ev == account_event::healthy) {
        if (!s.failing) {
            co_return;  // nothing to undo: no write per successful poll
        }
        s.failing = false;
    }
    if (ev == account_event::accepted) {
        s.failing = false;
    }
    if (ev == account_event::failure) {
        s.failing = true;
    }
    try {
        const bool opened = co_await store_.account_feedback(s.acct.name, ev, pause, why);
        if (opened) {
            metrics_.breaker_opened.with({s.acct.provider, s.acct.name}).inc();
            log(log_level::error,
                "account.breaker_open",
                {{"provider", s.acct.provider},
                 {"account", s.acct.name},
                 {"failures", breaker_threshold},
                 {"detail",
                  "repeated 5xx/transport failures: no submits to this account until a probe "
                  "succeeds (first probe in 10 s); its jobs go to other accounts"}});
        }
        if (ev == account_event::rate_limited) {
            log(log_level::warn,
                "account.rate_limited",
                {{"provider", s.acct.provider},
                 {"account", s.acct.name},
                 {"pause_ms", static_cast<std::int64_t>(pause.count())}});
        }
    } catch (const std::exception& e) {
        log(log_level::warn,
            "account.feedback_failed",
            {{"account", s.acct.name}, {"error", e.what()}});
    }
}

bool pipeline::every_account_unusable() const {
    for (const auto& s : slots_) {
        if (!s->disabled && !s->retired) {
            return false;
        }
    }
    return true;
}

void pipeline::spawn(job_record job, std::int64_t attempt_id) {
    ++active_tasks_;
    const std::int64_t id = job.id;
    std::string ref = where(job);
    busy_.insert(id);
    asio::co_spawn(
        ex_,
        job_task(std::move(job), attempt_id),
        [this, id, ref = std::move(ref)](std::exception_ptr e) {
            --active_tasks_;
            busy_.erase(id);
            fenced_.erase(id);
            if (e) {
                std::string what = "unknown exception";
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    what = ex.what();
                } catch (...) {
                }
                hold_faulted(id, ref, what);
            }
            wake();
        }
    );
}

void pipeline::hold_faulted(std::int64_t job_id, const std::string& ref, const std::string& what) {
    // A task that throws is a bug in shotfarm, not something the provider said: run again it
    // would most likely throw again (a loop that never ends the night). Logged once, and the
    // job parked for an operator; `shotfarm retry` sends it on once the cause is understood.
    log(log_level::error,
        "job.task_failed",
        {{"job_id", job_id},
         {"job", ref},
         {"error", what},
         {"detail", "internal error: the job is held for an operator (shotfarm retry)"}});
    faulted_.insert(job_id);
    ++active_tasks_;  // the run does not end before the hold is recorded
    const std::string reason = ref + ": internal error: " + what;
    asio::co_spawn(
        ex_,
        [this, job_id, reason]() -> asio::awaitable<bool> {
            std::function<asio::awaitable<bool>()> write = [&] {
                return store_.hold_after_fault(job_id, reason);
            };
            co_return co_await durably(std::move(write));
        },
        [this, job_id](std::exception_ptr e, bool) {
            --active_tasks_;
            // Recorded (or no longer ours): the recovery may look at the job again; a held
            // job is not in flight, so it does not take it.
            faulted_.erase(job_id);
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    log(log_level::error,
                        "job.hold_failed",
                        {{"job_id", job_id}, {"error", ex.what()}});
                }
            }
            wake();
        }
    );
}

asio::awaitable<void> pipeline::hold_unusable(
    job_record& job, const slot& s, std::string why, std::string error_class
) {
    log(log_level::error,
        "job.unusable_answer",
        {{"job", job.ref()},
         {"provider", s.acct.provider},
         {"account", s.acct.name},
         {"class", error_class},
         {"reason", why},
         {"detail", "paid: held for an operator, never fetched or polled in a loop"}});
    const std::string message = where(job) + ": " + why;
    const job_state from = job.state;
    std::function<asio::awaitable<bool>()> write = [&] {
        return from == job_state::running
                   ? store_.record_remote_failure(job, job_state::held, 0ms, message, error_class)
                   : store_.record_download_failure(job, job_state::held, message, error_class);
    };
    const bool owned = co_await durably(std::move(write));
    job.state = owned ? job_state::held : lost_lease(job);
}

namespace {

/// A plain coroutine taking the path by value (GCC 12 double-frees a lambda coroutine's
/// capture made inside a co_await expression).
asio::awaitable<std::string> hash_on_pool(std::filesystem::path file) {
    co_return sha256_file(file);
}

}  // namespace

asio::awaitable<std::string> pipeline::hash_file(std::filesystem::path file) {
    auto work = hash_on_pool(std::move(file));
    co_return co_await asio::co_spawn(
        blocking_.get_executor(), std::move(work), asio::use_awaitable
    );
}

asio::awaitable<bool> pipeline::sleep_or_stop(std::chrono::milliseconds d, std::int64_t job_id) {
    using namespace asio::experimental::awaitable_operators;
    const auto until = clock_type::now() + d;
    for (;;) {
        if (stop_requested_ || (job_id != 0 && fenced(job_id))) {
            co_return false;
        }
        if (clock_type::now() >= until || (job_id != 0 && pushes_.count(job_id) > 0)) {
            co_return true;
        }
        asio::steady_timer t(ex_, until);
        // fence_timer_ is cancelled when the heartbeat finds jobs taken from us, push_timer_
        // when a provider pushed a result: every sleeper wakes, and those whose job is still
        // ours and has no push sleep on.
        co_await (
            t.async_wait(asio::as_tuple(asio::use_awaitable)) ||
            stop_timer_.async_wait(asio::as_tuple(asio::use_awaitable)) ||
            fence_timer_.async_wait(asio::as_tuple(asio::use_awaitable)) ||
            push_timer_.async_wait(asio::as_tuple(asio::use_awaitable))
        );
    }
}

void pipeline::push(const std::string& account, providers::webhook_event event) {
    auto it = polling_.find(account + '\n' + event.provider_job_id);
    if (it == polling_.end()) {
        // Not ours, not polled yet, or done: the safety poll (or nothing) covers it.
        log(log_level::debug,
            "webhook.unmatched",
            {{"account", account}, {"provider_job_id", event.provider_job_id}});
        return;
    }
    if (event.unverified && event.result.state == remote_state::pending) {
        return;  // MiniMax's unsigned "processing": a poll could only say the same
    }
    const bool confirm = event.confirm_by_poll();
    pushes_[it->second] = pushed{std::move(event.result), confirm};
    push_timer_.cancel();
}

void pipeline::set_ready(bool ready, const std::string& why) {
    if (ready == ready_) {
        return;
    }
    ready_ = ready;
    if (ready) {
        log(log_level::info, "database.available", {});
    } else {
        log(log_level::error,
            "database.unavailable",
            {{"error", why},
             {"detail",
              "retrying with backoff; requests in flight are kept and recorded once it is "
              "back; no new submits meanwhile"}});
    }
    if (opts_.on_ready) {
        opts_.on_ready(ready);
    }
}

asio::awaitable<bool> pipeline::durably(std::function<asio::awaitable<bool>()> write) {
    for (int failures = 0;; ++failures) {
        try {
            co_return co_await write();
        } catch (const pg::error& e) {
            if (!e.outage() || hard_stop_) {
                throw;
            }
            set_ready(false, e.what());
        }
        // Not cut short by a stop request: what the provider said must be recorded first.
        asio::steady_timer t(ex_, outage_backoff(100ms, failures));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

asio::awaitable<void> pipeline::verify_outputs() {
    // The recorded files, checked against their SHA-256: a missing or damaged one (disk
    // trouble, someone deleted it, a kill between rename and record that left another file)
    // is fetched again — re-polling for a fresh URL if the old one expired; never paid again.
    // A failure (the database gone, say) ends the check; the completion handler logs it.
    const auto outputs = co_await store_.finished_outputs(opts_.project);
    int checked = 0, refetched = 0;
    for (const auto& out : outputs) {
        if (stop_requested_) {
            co_return;
        }
        std::string problem;
        std::error_code ec;
        if (out.path.empty() || !std::filesystem::is_regular_file(out.path, ec)) {
            problem = "file missing";
        } else if (out.bytes >= 0 && std::filesystem::file_size(out.path, ec) != static_cast<std::uintmax_t>(out.bytes)) {
            problem = "file size differs from the recorded one";
        } else if (co_await hash_file(out.path) != out.sha256) {
            problem = "SHA-256 differs from the recorded one";
        }
        ++checked;
        if (!problem.empty()) {
            const std::string why = "output check at start: " + problem + ": fetching it again";
            auto job = co_await store_.refetch_output(out, why);
            if (job) {
                ++refetched;
                log(log_level::warn,
                    "job.output_refetch",
                    {{"job", job->ref()}, {"file", out.path}, {"problem", problem}});
                if (slot_for(job->account.value_or("")) != nullptr) {
                    spawn(std::move(*job), 0);
                }
            }
        }
    }
    log(log_level::info, "outputs.verified", {{"checked", checked}, {"refetched", refetched}});
}

asio::awaitable<run_summary> pipeline::run() {
    started_ = clock_type::now();
    metrics_.up.with({}).set(1);

    // Start-up: wait for the database (it may be starting too, or restarting).
    for (int failures = 0; !stop_requested_; ++failures) {
        try {
            const auto spent = co_await store_.spend();
            co_await store_.sync_accounts(limits_of(*cfg_), cfg_->budget_usd);
            co_await store_.register_daemon(cfg_->file.string());
            co_await recover();
            {
                // The queue's length decides the poll targets and the claim order from the
                // first claim on (nothing left to submit would look like the end of the night).
                auto counts = co_await store_.state_counts(opts_.project);
                queue_left_ = counts[job_state::queued] + counts[job_state::retry_wait];
            }
            for (const auto& row : spent) {  // the counter starts at what is already spent
                metrics_.spend_usd.with({row.account, row.provider, row.model}).inc(row.usd);
            }
            break;
        } catch (const pg::error& e) {
            if (!e.outage()) {
                throw;
            }
            set_ready(false, e.what());
        }
        co_await sleep_or_stop(outage_backoff(200ms, failures));
    }
    auto last_recovery = clock_type::now();

    asio::co_spawn(ex_, heartbeat(), asio::detached);
    if (opts_.verify_outputs && !stop_requested_) {
        // Counted as a task: the pipeline does not end (or get destroyed) under it.
        ++active_tasks_;
        asio::co_spawn(ex_, verify_outputs(), [this](std::exception_ptr e) {
            --active_tasks_;
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    log(log_level::warn, "outputs.verify_failed", {{"error", ex.what()}});
                }
            }
            wake();
        });
    }

    run_summary summary;
    int outage_failures = 0;
    while (!stop_requested_) {
        auto next = std::chrono::milliseconds(1000);
        try {
            // Hand out as many due jobs as the accounts can take right now.
            co_await refresh_accounts();
            std::optional<double> retry_in;
            for (;;) {
                // The last waves go longest first (LPT): the longest job started last would
                // otherwise end the night alone. Before that, the database's order stands.
                jobs::claim_order order;
                if (sched::longest_first(queue_left_, total_slots())) {
                    order.per_batch = 64;
                    order.reorder = [this](const std::vector<job_record>& jobs) {
                        return claim_order(jobs);
                    };
                }
                auto res = co_await store_.claim_next(
                    opts_.project, [this](const job_record& j) { return rank(j); }, std::move(order)
                );
                if (!res.claimed) {
                    retry_in = res.retry_in_s;
                    break;
                }
                auto& claimed = *res.claimed;
                slot* s = slot_for(*claimed.job.account);
                ++s->inflight;
                for (auto& st : statuses_) {
                    if (st.name == s->acct.name) {  // until the next refresh
                        ++st.inflight;
                        if (--st.submit_room <= 0) {  // the window is full: about a spacing
                            st.submit_wait_s = std::max(st.submit_wait_s, 60.0 / s->submit_rate);
                        }
                        st.spent_today_usd += claimed.job.price_usd;
                    }
                }
                metrics_.queue_wait_seconds.with({}).observe(
                    std::chrono::duration<double>(clock_type::now() - started_).count()
                );
                spawn(std::move(claimed.job), claimed.attempt_id);
                queue_left_ = std::max(0, queue_left_ - 1);
            }
            set_ready(true, "");
            outage_failures = 0;
            co_await report_progress(false);
            if (clock_type::now() - last_recovery >= recovery_period) {
                co_await recover();
                last_recovery = clock_type::now();
            }

            auto counts = co_await store_.state_counts(opts_.project);
            queue_left_ = counts[job_state::queued] + counts[job_state::retry_wait];
            int unfinished = 0;
            for (auto [st, n] : counts) {
                if (!is_terminal(st) && st != job_state::held) {
                    unfinished += n;
                }
            }
            if (!opts_.keep_running) {
                if (unfinished == 0 && active_tasks_ == 0) {
                    break;
                }
                if (active_tasks_ == 0) {
                    // Nothing in flight: if every job left waits for budget, no progress is
                    // possible.
                    auto waiting = co_await store_.budget_waiting(opts_.project);
                    if (waiting.first > 0 && waiting.first == unfinished) {
                        summary.budget_waiting = waiting.first;
                        summary.budget_reason = waiting.second;
                        log(log_level::warn,
                            "pipeline.budget_exhausted",
                            {{"project", opts_.project},
                             {"waiting", waiting.first},
                             {"reason", waiting.second}});
                        break;
                    }
                }
                if (active_tasks_ == 0 && every_account_unusable()) {
                    summary.no_usable_account = true;
                    log(log_level::error,
                        "pipeline.no_usable_account",
                        {{"project", opts_.project}, {"unfinished", unfinished}});
                    break;
                }
            }

            // Sleep until something happens: a job finishes a step, a job falls due, an
            // account frees up, or once a second for progress.
            if (auto due = co_await store_.seconds_until_due(opts_.project)) {
                next = std::min(
                    next, std::chrono::milliseconds(static_cast<long long>(*due * 1000) + 5)
                );
            }
            if (retry_in) {  // an account's limiter or pause opens then
                next = std::min(
                    next, std::chrono::milliseconds(static_cast<long long>(*retry_in * 1000) + 5)
                );
            }
        } catch (const pg::error& e) {
            if (!e.outage()) {
                throw;
            }
            // The database is down or restarting: no claims (so no submits) until it is back;
            // tasks in flight carry on and record what they learn once it is.
            set_ready(false, e.what());
            next = outage_backoff(200ms, outage_failures++);
            if (opts_.on_outage && clock_type::now() - last_outage_hook_ >= 5s) {
                last_outage_hook_ = clock_type::now();
                opts_.on_outage();
            }
        }
        if (!wake_pending_) {
            wake_timer_.expires_after(next);
            co_await wake_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        wake_pending_ = false;
    }

    // Let in-flight steps settle: POSTs complete and are recorded; polls stop at their wait;
    // after the grace, whatever is still in flight is abandoned where it stands (its job's
    // recorded state says what a restart does: a POST that left is ambiguous, one that did
    // not is sent again, a poll or download is done again).
    const auto grace_end = clock_type::now() + opts_.shutdown_grace;
    while (active_tasks_ > 0 && clock_type::now() < grace_end) {
        wake_pending_ = false;
        wake_timer_.expires_after(200ms);
        co_await wake_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    const bool stopped = stop_requested_;
    stop_requested_ = true;  // ends the heartbeat
    stop_timer_.cancel();
    summary.abandoned = active_tasks_;
    if (active_tasks_ > 0) {
        hard_stop_ = true;
        log(log_level::warn,
            "pipeline.abandoned",
            {{"tasks", active_tasks_},
             {"detail", "the shutdown grace is over; their jobs resume from their recorded state"}}
        );
    }
    summary.stopped = stopped;
    try {
        co_await store_.release_leases();
        co_await store_.unregister_daemon();
        co_await report_progress(true);
        summary.counts = co_await store_.state_counts(opts_.project);
        if (!opts_.keep_running) {
            summary.jobs = co_await store_.jobs_of(opts_.project);
        }
        for (const auto& row : co_await store_.spend()) {
            summary.spend_usd += row.usd;
        }
    } catch (const pg::error& e) {
        if (!e.outage()) {
            throw;
        }
        // Leases then simply run out; another daemon (or the next start) takes over.
        log(log_level::warn, "pipeline.stop_without_database", {{"error", e.what()}});
        summary.database_down = true;
    }
    metrics_.up.with({}).set(0);
    co_return summary;
}

asio::awaitable<void> pipeline::recover() {
    std::vector<std::int64_t> busy(busy_.begin(), busy_.end());
    busy.insert(busy.end(), faulted_.begin(), faulted_.end());
    auto rec = co_await store_.recover_orphans(opts_.project, opts_.hold_ambiguous, busy);
    if (rec.ambiguous > 0 || rec.adopted > 0 || rec.unsent > 0 || !rec.resume.empty()) {
        log(log_level::info,
            "pipeline.recovered",
            {{"project", opts_.project},
             {"resumed", rec.resume.size()},
             {"adopted", rec.adopted},
             {"unsent", rec.unsent},
             {"ambiguous", rec.ambiguous}});
    }
    for (const auto& [provider, account] : rec.ambiguous_at) {
        metrics_.ambiguous.with({provider, account}).inc();
        metrics_.retries.with({"ambiguous_recovered"}).inc();
    }
    for (auto& job : rec.resume) {
        slot* s = job.account ? slot_for(*job.account) : nullptr;
        if (s == nullptr) {
            log(log_level::error,
                "job.unknown_account",
                {{"job", job.ref()},
                 {"account", job.account.value_or("")},
                 {"detail", "the job's account is not in this config; it stays as it is"}});
            continue;
        }
        if (occupies_provider(job.state)) {
            ++s->inflight;
        }
        spawn(std::move(job), 0);
    }
}

asio::awaitable<void> pipeline::heartbeat() {
    // A third of the lease, at most 5 s: a cancel or a takeover is noticed within seconds.
    const auto period = std::min<std::chrono::milliseconds>(
        5s, std::chrono::duration_cast<std::chrono::milliseconds>(opts_.lease_ttl) / 3
    );
    while (co_await sleep_or_stop(period)) {
        try {
            // Only jobs busy before the renewal started count: one claimed meanwhile was not
            // ours yet when the renewal ran.
            const std::set<std::int64_t> before = busy_;
            const auto ours = co_await store_.renew_leases();
            // A job a task of ours works on that is no longer ours was taken over (our lease
            // ran out) or canceled by an operator: its task stops at its next wait, and a POST
            // not yet sent is never sent (mark_sent checks the epoch).
            bool newly = false;
            for (std::int64_t id : before) {
                if (busy_.count(id) > 0 && ours.count(id) == 0 && fenced_.insert(id).second) {
                    newly = true;
                    log(log_level::warn,
                        "job.lease_lost",
                        {{"job_id", id},
                         {"detail",
                          "taken over by another daemon or canceled by an operator; this "
                          "daemon stops working on it"}});
                }
            }
            if (newly) {
                fence_timer_.cancel();
            }
        } catch (const std::exception& e) {
            log(log_level::warn, "lease.renew_failed", {{"error", e.what()}});
        }
    }
}

asio::awaitable<void> pipeline::report_progress(bool force) {
    const auto now = clock_type::now();
    if (!force && now - last_progress_ < 1s) {
        co_return;
    }
    last_progress_ = now;
    auto all = co_await store_.state_counts_all();
    for (auto [st, n] : all) {
        metrics_.jobs.with({std::string(to_string(st))}).set(n);
    }
    for (const auto& s : slots_) {
        metrics_.inflight.with({s->acct.provider, s->acct.name}).set(s->inflight);
    }
    for (const auto& st : statuses_) {
        metrics_.effective_concurrency.with({st.provider, st.name}).set(st.effective_concurrency);
        metrics_.budget_spent_usd.with({"account/" + st.name}).set(st.spent_today_usd);
        if (st.budget_usd_per_day) {
            metrics_.budget_remaining_usd.with({"account/" + st.name})
                .set(*st.budget_usd_per_day - st.spent_today_usd);
        }
    }
    for (const auto& b : co_await store_.budgets()) {
        if (b.scope == "global") {
            metrics_.budget_spent_usd.with({"global"}).set(b.spent_usd + b.reserved_usd);
            if (b.cap_usd) {
                metrics_.budget_remaining_usd.with({"global"})
                    .set(*b.cap_usd - b.spent_usd - b.reserved_usd);
            }
        }
    }
    if (opts_.progress == nullptr) {
        co_return;
    }
    auto c = co_await store_.state_counts(opts_.project);
    int total = 0;
    for (auto [st, n] : c) {
        total += n;
    }
    double spend = 0;
    for (const auto& row : co_await store_.spend()) {
        spend += row.usd;
    }
    std::ostringstream line;
    line << "[" << std::setw(4)
         << std::chrono::duration_cast<std::chrono::seconds>(now - started_).count() << "s] "
         << c[job_state::succeeded] << "/" << total << " done";
    for (job_state st :
         {job_state::queued,
          job_state::submitting,
          job_state::running,
          job_state::downloading,
          job_state::retry_wait,
          job_state::failed,
          job_state::held}) {
        if (c[st] > 0) {
            line << " · " << to_string(st) << " " << c[st];
        }
    }
    line << " · spent $" << std::fixed << std::setprecision(2) << spend;
    if (line.str().substr(7) != last_progress_line_ || force) {
        last_progress_line_ = line.str().substr(7);
        *opts_.progress << line.str() << std::endl;
    }
}

// ---- one job --------------------------------------------------------------------------------

job_state pipeline::lost_lease(const job_record& job) {
    // Another daemon took the job over (our lease expired): stop working on it. The returned
    // state is local only; it is never written.
    log(log_level::warn,
        "job.fenced",
        {{"job", job.ref()},
         {"detail", "the job's lease moved to another owner; leaving it to them"}});
    return job_state::canceled;
}

void pipeline::release_slot(job_record& job, slot& s, bool& held) {
    if (held) {
        held = false;
        --s.inflight;
        metrics_.inflight.with({s.acct.provider, s.acct.name}).set(s.inflight);
        wake();
    }
    (void)job;
}

asio::awaitable<void> pipeline::job_task(job_record job, std::int64_t attempt_id) {
    slot* s = slot_for(job.account.value_or(""));
    if (s == nullptr) {
        co_return;
    }
    bool holds_slot = occupies_provider(job.state);
    try {
        if (job.state == job_state::submitting) {
            co_await submit_step(job, attempt_id, *s);
        }
        while (!stop_requested_ &&
               (job.state == job_state::running || job.state == job_state::downloading)) {
            if (job.state == job_state::running) {
                if (!holds_slot) {
                    holds_slot = true;  // back to polling for a fresh URL
                    ++s->inflight;
                }
                co_await poll_step(job, *s);
                if (job.state == job_state::running) {
                    if (fenced(job.id)) {
                        job.state = lost_lease(job);
                    }
                    break;  // stopping (the next run polls it) or no longer ours
                }
            }
            release_slot(job, *s, holds_slot);
            if (job.state == job_state::downloading) {
                co_await download_step(job, *s);
            }
        }
    } catch (...) {
        release_slot(job, *s, holds_slot);
        throw;
    }
    release_slot(job, *s, holds_slot);
}

asio::awaitable<void> pipeline::submit_step(job_record& job, std::int64_t attempt_id, slot& s) {
    const std::string provider = s.acct.provider;
    auto offer = offer_for(job, provider);
    auto fail_attempt = [&](attempt_outcome outcome,
                            unsigned status,
                            std::string message,
                            job_state to,
                            std::chrono::milliseconds delay,
                            std::string cls) -> asio::awaitable<void> {
        log(to == job_state::failed ? log_level::error : log_level::warn,
            "job.submit_not_accepted",
            {{"job", job.ref()},
             {"provider", provider},
             {"account", s.acct.name},
             {"class", cls},
             {"next_state", to_string(to)},
             {"message", message}});
        std::function<asio::awaitable<bool>()> write1 = [&] {
            return store_.record_submit_failure(
                job, attempt_id, outcome, status, where(job) + ": " + message, to, delay, cls
            );
        };
        const bool owned = co_await durably(std::move(write1));
        job.state = owned ? to : lost_lease(job);
    };
    if (!offer) {
        co_await fail_attempt(
            attempt_outcome::not_sent,
            0,
            "no offer for model " + job.model + " on " + provider,
            job_state::failed,
            0ms,
            "rejected_input"
        );
        co_return;
    }

    providers::submit_request req;
    for (const auto& a : cfg_->accounts) {
        if (a.name == s.acct.name) {
            req.webhook_url = webhook_url(*cfg_, a);
        }
    }
    req.provider_model = offer->provider_model;
    req.prompt = job.prompt;
    req.duration = job.duration_s;
    req.send_duration = offer->duration_param;
    req.extra_params = offer->extra_params;
    if (job.image) {
        if (job.image->rfind("https://", 0) == 0) {
            req.image_url = *job.image;
        } else {
            // Each distinct image is uploaded once per account (by its bytes' SHA-256); the
            // URL is reused while it is surely still valid.
            const std::string image_sha = co_await hash_file(*job.image);
            // One upload at a time per (account, image): a second job with the same first
            // frame waits for the first upload and then reuses it.
            const std::string upload_key = s.acct.name + "/" + image_sha;
            while (uploading_.count(upload_key) > 0) {
                asio::steady_timer t(ex_, 20ms);
                co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            }
            uploading_.insert(upload_key);
            struct upload_guard {
                std::set<std::string>& set;
                std::string key;
                ~upload_guard() { set.erase(key); }
            } guard{uploading_, upload_key};
            // Outages are waited out here as everywhere in a task (the submit needs the
            // database next anyway): an exception would hold the job for an operator.
            std::optional<std::string> cached;
            std::function<asio::awaitable<bool>()> lookup = [&]() -> asio::awaitable<bool> {
                cached = co_await store_.cached_upload(s.acct.name, image_sha, upload_reuse);
                co_return true;
            };
            co_await durably(std::move(lookup));
            providers::upload_result up;
            if (cached) {
                up.cls = outcome_class::ok;
                up.url = *cached;
                metrics_.uploads.with({provider, s.acct.name, "reused"}).inc();
            } else {
                auto api = s.api;
                up = co_await api->upload_image(*job.image);
                const bool remote = up.cls == outcome_class::ok && up.url.rfind("http", 0) == 0;
                if (remote) {  // data: URIs are built locally: nothing to remember
                    std::function<asio::awaitable<bool>()> remember =
                        [&]() -> asio::awaitable<bool> {
                        co_await store_.remember_upload(s.acct.name, image_sha, up.url);
                        co_return true;
                    };
                    co_await durably(std::move(remember));
                }
                metrics_.uploads.with({provider, s.acct.name, remote ? "uploaded" : "inline"})
                    .inc();
            }
            if (up.cls != outcome_class::ok) {
                const bool give_up =
                    up.cls == outcome_class::rejected_input || job.retries + 1 >= opts_.max_retries;
                co_await fail_attempt(
                    attempt_outcome::not_sent,
                    0,
                    "image upload failed: " + up.message,
                    give_up ? job_state::failed : job_state::retry_wait,
                    backoff_delay(job.retries),
                    std::string(providers::to_string(up.cls))
                );
                metrics_.retries.with({"upload"}).inc();
                co_return;
            }
            req.image_url = up.url;
        }
    }

    // The last moment before the paid POST leaves: recorded first (a crash before it costs
    // nothing; after it, the submit is ambiguous), and only while the job is still ours and
    // we are not stopping.
    enum class not_sent_reason { none, fenced, stopping };
    not_sent_reason held_back = not_sent_reason::none;
    req.before_send = [this, &job, attempt_id, &held_back]() -> asio::awaitable<void> {
        if (stop_requested_) {
            held_back = not_sent_reason::stopping;
            throw std::runtime_error("stopping: the submit is not sent");
        }
        std::function<asio::awaitable<bool>()> mark = [&] {
            return store_.mark_sent(job, attempt_id);
        };
        if (!co_await durably(std::move(mark))) {
            held_back = not_sent_reason::fenced;
            throw std::runtime_error("the job is no longer ours: the submit is not sent");
        }
    };
    const auto t0 = clock_type::now();
    auto api = s.api;
    providers::submit_result res;
    try {
        res = co_await api->submit(std::move(req));
    } catch (const std::exception&) {
        if (held_back == not_sent_reason::none) {
            throw;
        }
    }
    if (held_back == not_sent_reason::fenced) {
        job.state = lost_lease(job);
        co_return;
    }
    if (held_back == not_sent_reason::stopping) {
        co_await fail_attempt(
            attempt_outcome::not_sent,
            0,
            "the daemon is stopping: not sent",
            job_state::queued,
            0ms,
            "not_sent"
        );
        co_return;
    }
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    const std::string outcome(providers::to_string(res.cls));
    metrics_.submit_seconds.with({provider, outcome}).observe(secs);
    metrics_.submissions.with({provider, s.acct.name, outcome}).inc();

    switch (res.cls) {
        case outcome_class::ok: {
            s.consecutive_429 = 0;
            co_await feedback(s, account_event::accepted, 0ms, no_reason);
            metrics_.spend_usd.with({s.acct.name, provider, job.model}).inc(job.price_usd);
            std::function<asio::awaitable<bool>()> write2 = [&] {
                return store_.record_accepted(job, attempt_id, res.provider_job_id);
            };
            const bool owned = co_await durably(std::move(write2));
            log(log_level::info,
                "job.accepted",
                {{"job", job.ref()},
                 {"provider", provider},
                 {"account", s.acct.name},
                 {"provider_job_id", res.provider_job_id},
                 {"price_usd", job.price_usd}});
            job.provider_job_id = res.provider_job_id;
            job.seconds_since_accepted = 0;
            // Fenced out: the id is on the attempt row and the new lease owner adopts it.
            job.state = owned ? job_state::running : lost_lease(job);
            co_return;
        }
        case outcome_class::retryable: {
            if (res.rate_limited) {
                // Retry-After when the provider sends one (Atlas never does), else exponential
                // backoff with full jitter; the account's concurrency halves (AIMD).
                ++s.consecutive_429;
                const auto pause =
                    res.retry_after
                        ? std::chrono::duration_cast<std::chrono::milliseconds>(*res.retry_after)
                        : full_jitter(backoff_policy{1000ms, 60000ms}, s.consecutive_429, rng_);
                co_await feedback(s, account_event::rate_limited, pause, no_reason);
                metrics_.rate_limited.with({provider, s.acct.name}).inc();
            } else {
                co_await feedback(s, account_event::failure, 0ms, no_reason);
            }
            metrics_.retries.with({res.rate_limited ? "rate_limited" : "transport"}).inc();
            const bool give_up = job.retries + 1 >= opts_.max_retries;
            co_await fail_attempt(
                res.http_status ? attempt_outcome::rejected : attempt_outcome::not_sent,
                res.http_status,
                res.message,
                give_up ? job_state::failed : job_state::retry_wait,
                res.rate_limited ? 0ms : backoff_delay(job.retries),
                outcome
            );
            co_return;
        }
        case outcome_class::rejected_input:
            co_await fail_attempt(
                attempt_outcome::rejected,
                res.http_status,
                res.message,
                job_state::failed,
                0ms,
                outcome
            );
            co_return;
        case outcome_class::account_problem:
            s.disabled = true;
            co_await feedback(s, account_event::account_problem, 0ms, res.message);
            log(log_level::error,
                "account.paused",
                {{"provider", provider},
                 {"account", s.acct.name},
                 {"reason", res.message},
                 {"detail",
                  "no more submits to this account in this run; its jobs go to other "
                  "accounts or wait"}});
            co_await fail_attempt(
                attempt_outcome::rejected,
                res.http_status,
                res.message,
                job_state::queued,
                0ms,
                outcome
            );
            co_return;
        case outcome_class::bad_answer:
            // Accepted (so maybe billed) but the answer cannot be used (an id we will not put
            // in a URL): held for an operator, never sent again behind their back.
            metrics_.spend_usd.with({s.acct.name, provider, job.model}).inc(job.price_usd);
            co_await fail_attempt(
                attempt_outcome::ambiguous,
                res.http_status,
                "unusable answer (may have been billed): " + res.message,
                job_state::held,
                0ms,
                outcome
            );
            co_return;
        case outcome_class::ambiguous: {
            co_await feedback(s, account_event::failure, 0ms, no_reason);
            metrics_.ambiguous.with({provider, s.acct.name}).inc();
            metrics_.spend_usd.with({s.acct.name, provider, job.model}).inc(job.price_usd);
            const bool exhausted = job.billed_attempts + 1 >= opts_.max_attempts;
            const job_state to = opts_.hold_ambiguous ? job_state::held
                                 : exhausted          ? job_state::failed
                                                      : job_state::retry_wait;
            metrics_.retries.with({"ambiguous_submit"}).inc();
            co_await fail_attempt(
                attempt_outcome::ambiguous,
                res.http_status,
                "ambiguous submit (may have been billed): " + res.message,
                to,
                backoff_delay(job.retries),
                outcome
            );
            co_return;
        }
    }
}

asio::awaitable<void> pipeline::poll_step(job_record& job, slot& s) {
    const std::string provider = s.acct.provider;
    const auto task_start = clock_type::now();
    const double accepted_before = job.seconds_since_accepted;
    auto since_accepted = [&] {
        return accepted_before +
               std::chrono::duration<double>(clock_type::now() - task_start).count();
    };
    // Polls follow the plan (jobs/sched/polling.hpp): from the learned distribution of this
    // provider's generation times for the model and clip length, each next poll where the
    // expected wait of a finished video, weighed against the polls spent, is least.
    const std::string key = timing_key(job);
    const auto limits = poll_limits();
    // The last age at which the generation was seen pending (by this task: after a restart
    // what earlier polls saw is not known, so the interval starts at 0 — wider, still true).
    double last_pending = 0;
    auto plan_next = [&](double pending_s) {
        const auto& e = estimate_for(provider, job);
        const double next =
            sched::next_poll_for(e, pending_s, poll_price(s, key, e), limits, s.webhooks);
        const double wait = std::max(next - since_accepted(), limits.min_interval_s);
        return std::chrono::milliseconds(static_cast<long long>(wait * 1000));
    };
    auto interval = plan_next(0);
    int transient = 0;
    // Where a provider's push finds this job (pipeline::push), for as long as it is polled.
    const std::string push_key = s.acct.name + '\n' + *job.provider_job_id;
    polling_[push_key] = job.id;
    struct unregister {
        pipeline& p;
        const std::string& key;
        std::int64_t id;
        ~unregister() {
            if (auto it = p.polling_.find(key); it != p.polling_.end() && it->second == id) {
                p.polling_.erase(it);
            }
            p.pushes_.erase(id);
        }
    } unregister_on_exit{*this, push_key, job.id};
    while (co_await sleep_or_stop(interval, job.id)) {
        providers::poll_result res;
        bool from_push = false;
        auto push = pushes_.find(job.id);
        if (push != pushes_.end() && !push->second.confirm) {
            from_push = true;
            // A verified push: applied as the poll result it is (the same parser, the same
            // answer checks), and no poll is spent.
            res = std::move(push->second.result);
            pushes_.erase(push);
            metrics_.pushes_applied.with({provider}).inc();
        } else {
            if (push != pushes_.end()) {
                pushes_.erase(push);  // a hint: poll now and believe the poll
            }
            const auto t0 = clock_type::now();
            auto api = s.api;
            res = co_await api->poll(*job.provider_job_id);
            const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
            metrics_.poll_seconds
                .with(
                    {provider,
                     res.cls == outcome_class::ok ? "ok" : std::string(to_string(res.cls))}
                )
                .observe(secs);
        }

        if (since_accepted() > static_cast<double>(opts_.job_deadline.count())) {
            std::function<asio::awaitable<bool>()> write3 = [&] {
                return store_.record_remote_failure(
                    job,
                    job_state::held,
                    0ms,
                    where(job) + ": no result after " + std::to_string(opts_.job_deadline.count()) +
                        " s (provider id " + *job.provider_job_id + ")",
                    "stuck"
                );
            };
            const bool owned = co_await durably(std::move(write3));
            job.state = owned ? job_state::held : lost_lease(job);
            co_return;
        }
        if (res.cls == outcome_class::bad_answer) {
            // Not a hiccup to poll through: the provider said something we cannot act on (a
            // status it does not document, a video URL that is no URL).
            co_await hold_unusable(job, s, res.message, "bad_answer");
            co_return;
        }
        if (res.state == remote_state::failed) {
            const bool moderated = res.cls == outcome_class::rejected_input;
            const bool exhausted = job.billed_attempts + 1 >= opts_.max_attempts;
            const job_state to = moderated || exhausted ? job_state::failed : job_state::retry_wait;
            log(log_level::warn,
                "job.remote_failed",
                {{"job", job.ref()},
                 {"provider", provider},
                 {"account", s.acct.name},
                 {"provider_job_id", *job.provider_job_id},
                 {"moderated", moderated},
                 {"message", res.message}});
            if (to == job_state::retry_wait) {
                metrics_.retries.with({"remote_failed"}).inc();
            }
            std::function<asio::awaitable<bool>()> write4 = [&] {
                return store_.record_remote_failure(
                    job,
                    to,
                    backoff_delay(job.retries),
                    where(job) + ": " + res.message,
                    moderated ? "rejected_input" : "remote_failed"
                );
            };
            const bool owned = co_await durably(std::move(write4));
            job.state = owned ? to : lost_lease(job);
            co_return;
        }
        if (res.cls != outcome_class::ok) {
            // The poll itself failed; reading is free, so keep trying, more slowly.
            if (res.http_status == 0 || res.http_status >= 500) {
                co_await feedback(s, account_event::failure, 0ms, no_reason);
            }
            ++transient;
            interval = std::clamp(
                plan_next(since_accepted()) * (1 + std::min(transient, 4)),
                opts_.poll_interval,
                opts_.max_poll_interval
            );
            metrics_.retries.with({"poll"}).inc();
            if (transient >= opts_.max_retries) {
                // Paid, and it may still finish: park it for an operator rather than poll
                // forever (shotfarm retry polls again; the provider id is kept).
                std::function<asio::awaitable<bool>()> write5 = [&] {
                    return store_.record_remote_failure(
                        job,
                        job_state::held,
                        0ms,
                        where(job) + ": " + std::to_string(transient) +
                            " polls in a row failed (last: " + res.message + "); provider id " +
                            *job.provider_job_id + " kept",
                        "poll_failed"
                    );
                };
                const bool owned = co_await durably(std::move(write5));
                job.state = owned ? job_state::held : lost_lease(job);
                co_return;
            }
            log(transient > 3 ? log_level::warn : log_level::debug,
                "job.poll_failed",
                {{"job", job.ref()},
                 {"provider", provider},
                 {"account", s.acct.name},
                 {"class", to_string(res.cls)},
                 {"message", res.message}});
            continue;
        }
        transient = 0;
        co_await feedback(s, account_event::healthy, 0ms, no_reason);
        switch (res.state) {
            case remote_state::pending:
                last_pending = since_accepted();
                interval = plan_next(last_pending);
                break;
            case remote_state::not_found:
                if (since_accepted() > static_cast<double>(opts_.not_found_grace.count())) {
                    std::function<asio::awaitable<bool>()> write6 = [&] {
                        return store_.record_remote_failure(
                            job,
                            job_state::held,
                            0ms,
                            where(job) + ": the provider does not know id " + *job.provider_job_id +
                                " (" + res.message + ")",
                            "lost"
                        );
                    };
                    const bool owned = co_await durably(std::move(write6));
                    job.state = owned ? job_state::held : lost_lease(job);
                    co_return;
                }
                interval = opts_.poll_interval;
                break;
            case remote_state::succeeded: {
                if (auto refused = s.downloads.check_url(res.video_url)) {
                    co_await hold_unusable(job, s, "video URL refused: " + *refused, "url_refused");
                    co_return;
                }
                const double seen_at = since_accepted();
                metrics_.generation_seconds.with({provider, job.model}).observe(seen_at);
                // It became ready after the last "pending" and by now: the interval is what
                // is known (the time we saw it alone would only ever confirm the schedule).
                // A provider-reported generation time inside it narrows it to a point; one
                // outside it is not believed.
                double after = last_pending;
                double by = seen_at;
                if (res.generation_s && *res.generation_s >= after - 1.0 &&
                    *res.generation_s <= by + 1.0) {
                    after = by = std::clamp(*res.generation_s, after, by);
                } else if (from_push) {
                    // A push is sent when the video is ready: its arrival is taken as the
                    // time (its delivery delay counted in, the safe side for planning).
                    after = by;
                } else if (res.generation_at_least_s && *res.generation_at_least_s <= by) {
                    after = std::max(after, *res.generation_at_least_s);
                }
                estimator_for(provider, key, job.model).add({after, by, unix_now()});
                try {
                    co_await store_.learn_generation_time(provider, key, after, by);
                } catch (const pg::error& e) {
                    // The other daemons miss one observation (ours has it): not worth holding
                    // the job for, as an exception out of this task would.
                    if (!e.outage()) {
                        throw;
                    }
                }
                std::function<asio::awaitable<bool>()> write7 = [&] {
                    return store_.record_ready(job, res.video_url);
                };
                const bool owned = co_await durably(std::move(write7));
                job.video_url = res.video_url;
                job.state = owned ? job_state::downloading : lost_lease(job);
                co_return;
            }
            case remote_state::failed:
                break;  // handled above
        }
    }
}

asio::awaitable<void> pipeline::download_step(job_record& job, slot& s) {
    const std::string provider = s.acct.provider;
    const auto paths = paths_for(opts_.output_dir, job.project, job.shot_id, job.take);
    std::filesystem::create_directories(paths.dir);
    // Temp files of this take left by a killed daemon, or by one fenced out of the job.
    if (const int stale = remove_stale_temps(paths); stale > 0) {
        log(log_level::info, "job.stale_temp_removed", {{"job", job.ref()}, {"files", stale}});
    }
    // A URL recorded before this check existed, or by another daemon's config: checked again.
    if (auto refused = s.downloads.check_url(job.video_url.value_or(""))) {
        co_await hold_unusable(job, s, "video URL refused: " + *refused, "url_refused");
        co_return;
    }
    int failures = 0;
    while (!stop_requested_ && !fenced(job.id)) {
        const auto t0 = clock_type::now();
        net::http_request req;
        req.url = *job.video_url;  // no credentials: the CDN is not the API origin
        req.timeout = 10min;
        // Every address and redirect hop is checked against the account's policy, and the
        // connection goes to the address that was checked.
        auto dl = co_await http_.download(
            req, paths.temp, opts_.max_download_bytes, &s.downloads, max_download_redirects
        );
        const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
        if (dl.refused) {
            std::error_code ignore;
            std::filesystem::remove(paths.temp, ignore);
            metrics_.download_seconds.with({provider, "refused"}).observe(secs);
            co_await hold_unusable(job, s, "download refused: " + dl.error_message, "url_refused");
            co_return;
        }
        std::string problem;
        bool expired = false;
        if (dl.ec) {
            problem = dl.error_message.empty() ? dl.ec.message() : dl.error_message;
        } else if (dl.status < 200 || dl.status >= 300) {
            problem = "HTTP " + std::to_string(dl.status);
            expired = dl.status == 403 || dl.status == 404 || dl.status == 410;
        } else if (!looks_like_mp4(paths.temp)) {
            problem = "the file is not an MP4 (no ftyp box)";
        }
        if (problem.empty() && fenced(job.id)) {
            std::error_code ignore;
            std::filesystem::remove(paths.temp, ignore);
            job.state = lost_lease(job);  // the new owner publishes it
            co_return;
        }
        if (problem.empty()) {
            const std::string sha = co_await hash_file(paths.temp);
            publish_file(paths.temp, paths.video);
            json::object side;
            side["project"] = job.project;
            side["shot"] = job.shot_id;
            side["take"] = job.take;
            side["prompt"] = job.prompt;
            side["model"] = job.model;
            side["mode"] = job.mode;
            side["duration_s"] = job.duration_s;
            side["image"] = job.image ? json::value(*job.image) : json::value(nullptr);
            side["provider"] = provider;
            side["account"] = s.acct.name;
            side["provider_model"] = job.provider_model.value_or("");
            side["provider_job_id"] = job.provider_job_id.value_or("");
            side["job_id"] = job.id;
            side["cost_usd"] = job.price_usd;
            side["attempts"] = job.attempts;
            side["sha256"] = sha;
            side["bytes"] = dl.bytes;
            side["file"] = paths.video.filename().string();
            json::object timings;
            std::optional<job_record> now;
            std::function<asio::awaitable<bool>()> reread = [&]() -> asio::awaitable<bool> {
                now = co_await store_.get_job(job.id);
                co_return true;
            };
            co_await durably(std::move(reread));
            if (now) {
                auto opt_text = [](const std::optional<std::string>& t) {
                    return t ? json::value(*t) : json::value(nullptr);
                };
                timings["queued_at"] = opt_text(now->created_at);
                timings["accepted_at"] = opt_text(now->accepted_at);
                timings["ready_at"] = opt_text(now->ready_at);
                timings["generation_seconds"] =
                    now->generation_seconds ? json::value(*now->generation_seconds) : nullptr;
            }
            timings["download_seconds"] = secs;
            side["timings"] = std::move(timings);
            write_file_durably(paths.sidecar, to_json_text(side, 2) + "\n");
            metrics_.download_seconds.with({provider, "ok"}).observe(secs);
            metrics_.downloaded_bytes.with({provider}).inc(static_cast<double>(dl.bytes));
            std::function<asio::awaitable<bool>()> write8 = [&] {
                return store_.record_downloaded(
                    job, paths.video.string(), sha, static_cast<std::int64_t>(dl.bytes)
                );
            };
            const bool owned = co_await durably(std::move(write8));
            job.state = owned ? job_state::succeeded : lost_lease(job);
            log(log_level::info,
                "job.succeeded",
                {{"job", job.ref()},
                 {"provider", provider},
                 {"account", s.acct.name},
                 {"file", paths.video.string()},
                 {"sha256", sha}});
            co_return;
        }

        metrics_.download_seconds.with({provider, "error"}).observe(secs);
        std::error_code ignore;
        std::filesystem::remove(paths.temp, ignore);
        ++failures;
        metrics_.retries.with({expired ? "url_expired" : "download"}).inc();
        // Five failures of this URL, or the job's free retries spent (an expired URL sends it
        // back to polling for a fresh one, which must not go on for ever).
        const bool give_up = failures >= 5 || job.retries + 1 >= opts_.max_retries;
        const job_state to = give_up   ? job_state::failed
                             : expired ? job_state::running
                                       : job_state::downloading;
        log(give_up ? log_level::error : log_level::warn,
            "job.download_failed",
            {{"job", job.ref()},
             {"provider", provider},
             {"account", s.acct.name},
             {"next_state", to_string(to)},
             {"message", problem}});
        if (to != job_state::downloading) {
            std::function<asio::awaitable<bool>()> write9 = [&] {
                return store_.record_download_failure(
                    job, to, where(job) + ": download: " + problem
                );
            };
            const bool owned = co_await durably(std::move(write9));
            ++job.retries;  // as the store counted it
            job.state = owned ? to : lost_lease(job);
            co_return;
        }
        if (!co_await sleep_or_stop(backoff_delay(failures), job.id)) {
            co_return;
        }
    }
}

}  // namespace shotfarm::jobs
