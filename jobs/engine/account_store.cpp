// The job store's account side: limits synced from the config, the shared request limiter, the
// feedback that drives AIMD and the circuit breaker, learned generation times and budgets.
// Every piece of state lives in PostgreSQL, so all daemons on one database see the same.
#include <algorithm>
#include <cstdio>

#include "jobs/engine/sql_params.hpp"
#include "jobs/engine/store.hpp"
#include "jobs/sched/submit_window.hpp"

namespace shotfarm::jobs {

namespace asio = boost::asio;
using sql::opt_number;
using sql::params_of;

namespace {

/// See claim_next: requests leave at most every 60/rate s, stretched a little for jitter.
constexpr double request_spacing_factor = 60.0 * 1.01;

/// How late a request may leave without delaying the ones after it (see the schema).
constexpr double clock_slack_s = 0.25;

}  // namespace

asio::awaitable<void> job_store::sync_accounts(
    std::vector<account_limits> accounts, std::optional<double> global_budget_usd
) {
    // Rows are locked in name order (as claims lock one at a time, no cycle can form).
    std::sort(accounts.begin(), accounts.end(), [](const auto& a, const auto& b) {
        return a.name < b.name;
    });
    co_await pg::in_transaction(pool_, [&](pg::connection& c) -> asio::awaitable<void> {
        for (const auto& a : accounts) {
            const auto window = sched::submit_window_for(a.submits_per_minute);
            co_await c.exec(
                "INSERT INTO accounts (name, provider, max_concurrency, submits_per_minute, "
                "requests_per_minute, budget_usd_per_day, effective_concurrency, "
                "submit_window, submit_window_s) "
                "VALUES ($1, $2, $3::int, $4::int, $5::int, $6::numeric, $3::int, $7::int, "
                "$8::float8) "
                "ON CONFLICT (name) DO UPDATE SET provider = EXCLUDED.provider, "
                "max_concurrency = EXCLUDED.max_concurrency, "
                "submits_per_minute = EXCLUDED.submits_per_minute, "
                "submit_window = EXCLUDED.submit_window, "
                "submit_window_s = EXCLUDED.submit_window_s, "
                "requests_per_minute = EXCLUDED.requests_per_minute, "
                "budget_usd_per_day = EXCLUDED.budget_usd_per_day, "
                "effective_concurrency = least(accounts.effective_concurrency, "
                "EXCLUDED.max_concurrency), disabled_reason = NULL, updated_at = now()",
                params_of(
                    a.name,
                    a.provider,
                    std::to_string(a.max_concurrency),
                    std::to_string(a.submits_per_minute),
                    std::to_string(a.requests_per_minute),
                    opt_number(a.budget_usd_per_day),
                    std::to_string(window.length),
                    std::to_string(window.span_s)
                )
            );
        }
        co_await c.exec(
            "INSERT INTO budgets (scope, cap_usd) VALUES ('global', $1::numeric) "
            "ON CONFLICT (scope) DO UPDATE SET cap_usd = EXCLUDED.cap_usd",
            params_of(opt_number(global_budget_usd))
        );
    });
    // Caps may have been raised: jobs waiting for budget look again now. Outside the
    // transaction above: a claim holding a job row may be waiting for an account row.
    auto conn = co_await pool_.acquire();
    co_await conn->exec(
        "UPDATE jobs SET next_attempt_at = now(), wait_reason = NULL "
        "WHERE state IN ('queued', 'retry_wait') AND wait_reason IS NOT NULL"
    );
}

asio::awaitable<std::vector<account_status>> job_store::account_statuses() {
    auto conn = co_await pool_.acquire();
    auto r = co_await conn->exec(
        "SELECT a.name, a.provider, a.max_concurrency, a.effective_concurrency, "
        "(SELECT count(*) FROM jobs j WHERE j.account = a.name "
        " AND j.state IN ('submitting', 'running')), "
        "extract(epoch FROM greatest(" +
        sql::window_free_at("a.submit_log", "a.") +
        ", n.t) - n.t)::float8, "
        "extract(epoch FROM greatest(a.request_tat, n.t) - n.t)::float8, "
        "extract(epoch FROM greatest(a.paused_until, n.t) - n.t)::float8, "
        "extract(epoch FROM greatest(a.breaker_open_until, n.t) - n.t)::float8, "
        "a.breaker_failures, a.disabled_reason, "
        "coalesce((SELECT (b.spent_usd + b.reserved_usd)::float8 FROM budgets b WHERE b.scope = "
        " 'account/' || a.name || '/' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')), 0), "
        "a.budget_usd_per_day::float8, "
        "a.submit_window - (SELECT count(*) FROM unnest(a.submit_log) s WHERE s > n.t - "
        " make_interval(secs => a.submit_window_s)) "
        "FROM accounts a, (SELECT clock_timestamp() AS t) n ORDER BY a.name"
    );
    std::vector<account_status> out;
    for (int i = 0; i < r.rows(); ++i) {
        account_status s;
        s.name = r.get(i, 0);
        s.provider = r.get(i, 1);
        s.max_concurrency = static_cast<int>(r.get_int(i, 2));
        s.effective_concurrency = r.get_double(i, 3);
        s.inflight = static_cast<int>(r.get_int(i, 4));
        s.submit_wait_s = r.get_double(i, 5);
        s.request_wait_s = r.get_double(i, 6);
        s.paused_s = r.get_double(i, 7);
        s.breaker_open_s = r.get_double(i, 8);
        s.breaker_tripped = r.get_int(i, 9) >= breaker_threshold;
        s.disabled_reason = r.get_opt(i, 10);
        s.spent_today_usd = r.get_double(i, 11);
        if (!r.is_null(i, 12)) {
            s.budget_usd_per_day = r.get_double(i, 12);
        }
        s.submit_room = static_cast<int>(std::max<std::int64_t>(0, r.get_int(i, 13)));
        out.push_back(std::move(s));
    }
    co_return out;
}

asio::awaitable<std::chrono::milliseconds> job_store::reserve_request(
    std::string account, bool submit
) {
    auto conn = co_await pool_.acquire();
    // The slot is the earliest moment the limiters allow: the request clock, and for a submit
    // the submit window of the POSTs already sent (schemas/sql/0006_submit_windows.sql), which
    // then records the slot. The request clock moves 60/rate s on — from its own value if the
    // slot was at most `slack` late (a request that left a little late must not delay every
    // later one), else from the slot; see schemas/sql/0003_scheduler.sql. SET expressions
    // read the old row and are evaluated once the row lock is held.
    const std::string slot = "(CASE WHEN $3 THEN greatest(request_tat, " +
                             sql::window_free_at("submit_sent_log") +
                             ", clock_timestamp()) ELSE greatest(request_tat, clock_timestamp()) "
                             "END)";
    const std::string slack = "make_interval(secs => $4::float8)";
    auto next = [&](const std::string& clock, const std::string& rate) {
        return "(CASE WHEN " + slot + " - " + clock + " <= " + slack + " THEN " + clock + " ELSE " +
               slot + " END) + make_interval(secs => $2::float8 / " + rate + ")";
    };
    const std::string update =
        "UPDATE accounts SET request_tat = " + next("request_tat", "requests_per_minute") +
        ", submit_sent_log = CASE WHEN $3 THEN " + sql::window_append("submit_sent_log", slot) +
        " ELSE submit_sent_log END, last_request_slot = " + slot +
        " WHERE name = $1 RETURNING extract(epoch FROM last_request_slot - "
        "clock_timestamp())::float8";
    auto r = co_await conn->exec(
        update,
        params_of(
            account,
            std::to_string(request_spacing_factor),
            std::string(submit ? "t" : "f"),
            std::to_string(clock_slack_s)
        )
    );
    if (r.rows() == 0) {
        co_return std::chrono::milliseconds{0};
    }
    const double wait = std::max(0.0, r.get_double(0, 0));
    co_return std::chrono::milliseconds(static_cast<long long>(wait * 1000.0));
}

asio::awaitable<bool> job_store::account_feedback(
    std::string account, account_event event, std::chrono::milliseconds pause, std::string reason
) {
    const double pause_s = static_cast<double>(pause.count()) / 1000.0;
    if (reason.empty()) {
        reason = "account problem";
    }
    std::string sql;
    pg::params params;
    switch (event) {
        case account_event::accepted:
            // Additive increase: about +1 per `effective` accepted submits, up to the cap.
            sql =
                "UPDATE accounts SET effective_concurrency = least(max_concurrency::float8, "
                "effective_concurrency + 1.0 / greatest(effective_concurrency, 1.0)), "
                "consecutive_429 = 0, breaker_failures = 0, breaker_opens = 0, "
                "breaker_open_until = NULL, updated_at = now() WHERE name = $1";
            params = params_of(account);
            break;
        case account_event::healthy:
            sql =
                "UPDATE accounts SET breaker_failures = 0, breaker_opens = 0, "
                "breaker_open_until = NULL, updated_at = now() "
                "WHERE name = $1 AND breaker_failures > 0";
            params = params_of(account);
            break;
        case account_event::rate_limited:
            // Multiplicative decrease, and a pause (Retry-After or backoff chosen by the caller).
            sql =
                "UPDATE accounts SET effective_concurrency = greatest(1.0, "
                "effective_concurrency / 2), consecutive_429 = consecutive_429 + 1, "
                "paused_until = greatest(paused_until, clock_timestamp() + "
                "make_interval(secs => $2::float8)), updated_at = now() WHERE name = $1";
            params = params_of(account, std::to_string(pause_s));
            break;
        case account_event::failure:
            // Open after breaker_threshold failures in a row, for 10 s, 20 s, … up to 5 min.
            sql =
                "UPDATE accounts SET breaker_failures = breaker_failures + 1, "
                "breaker_open_until = CASE WHEN breaker_failures + 1 >= $2::int THEN "
                "clock_timestamp() + make_interval(secs => least(300, 10 * 2 ^ least("
                "breaker_opens, 8))) ELSE breaker_open_until END, "
                "breaker_opens = CASE WHEN breaker_failures + 1 >= $2::int THEN breaker_opens + 1 "
                "ELSE breaker_opens END, updated_at = now() WHERE name = $1 "
                "RETURNING breaker_failures = $2::int";
            params = params_of(account, std::to_string(breaker_threshold));
            break;
        case account_event::account_problem:
            sql = "UPDATE accounts SET disabled_reason = $2, updated_at = now() WHERE name = $1";
            params = params_of(account, reason);
            break;
    }
    auto conn = co_await pool_.acquire();
    auto r = co_await conn->exec(sql, std::move(params));
    co_return event == account_event::failure&& r.rows() == 1 && r.get(0, 0) == "t";
}

asio::awaitable<void> job_store::learn_generation_time(
    std::string provider, std::string model, double after_s, double by_s
) {
    after_s = std::max(0.0, after_s);
    by_s = std::max(by_s, after_s);
    auto conn = co_await pool_.acquire();
    co_await conn->exec(
        "INSERT INTO generation_observations (provider, model, after_s, by_s, owner) "
        "VALUES ($1, $2, $3::float8, $4::float8, $5)",
        params_of(provider, model, std::to_string(after_s), std::to_string(by_s), owner_)
    );
}

asio::awaitable<std::vector<job_store::generation_observation>> job_store::generation_observations(
    std::int64_t after_id, std::chrono::seconds horizon, bool others_only
) {
    auto conn = co_await pool_.acquire();
    if (after_id == 0) {  // the first read of a run: rows beyond any use go
        co_await conn->exec(
            "DELETE FROM generation_observations WHERE observed_at < now() - interval '7 days'"
        );
    }
    auto r = co_await conn->exec(
        "SELECT id, provider, model, after_s, by_s, extract(epoch FROM observed_at)::float8 "
        "FROM generation_observations WHERE id > $1::bigint "
        "AND observed_at > now() - make_interval(secs => $2::float8) "
        "AND NOT ($3::bool AND owner = $4) ORDER BY id",
        params_of(
            std::to_string(after_id),
            std::to_string(horizon.count()),
            others_only ? "true" : "false",
            owner_
        )
    );
    std::vector<generation_observation> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
        out.push_back(generation_observation{
            r.get_int(i, 0),
            std::string(r.get(i, 1)),
            std::string(r.get(i, 2)),
            r.get_double(i, 3),
            r.get_double(i, 4),
            r.get_double(i, 5)});
    }
    co_return out;
}

asio::awaitable<std::pair<int, std::string>> job_store::budget_waiting(std::string project) {
    auto conn = co_await pool_.acquire();
    auto r = co_await conn->exec(
        "SELECT count(*), min(wait_reason) FROM jobs WHERE ($1 = '' OR project = $1) "
        "AND state IN ('queued', 'retry_wait') AND wait_reason LIKE 'budget:%'",
        params_of(project)
    );
    std::pair<int, std::string> out{static_cast<int>(r.get_int(0, 0)), ""};
    if (!r.is_null(0, 1)) {
        out.second = r.get(0, 1);
    }
    co_return out;
}

asio::awaitable<std::vector<job_store::budget_row>> job_store::budgets() {
    auto conn = co_await pool_.acquire();
    auto r = co_await conn->exec(
        "SELECT scope, cap_usd::float8, spent_usd::float8, reserved_usd::float8 FROM budgets "
        "ORDER BY scope"
    );
    std::vector<budget_row> out;
    for (int i = 0; i < r.rows(); ++i) {
        budget_row b;
        b.scope = r.get(i, 0);
        if (!r.is_null(i, 1)) {
            b.cap_usd = r.get_double(i, 1);
        }
        b.spent_usd = r.get_double(i, 2);
        b.reserved_usd = r.get_double(i, 3);
        out.push_back(std::move(b));
    }
    co_return out;
}

}  // namespace shotfarm::jobs
