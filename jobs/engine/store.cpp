#include "jobs/engine/store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <initializer_list>
#include <numeric>
#include <set>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "jobs/engine/sql_params.hpp"
#include "jobs/shotlist.hpp"

namespace shotfarm::jobs {

namespace asio = boost::asio;
namespace json = boost::json;

std::string job_record::ref() const {
    char take_s[16];
    std::snprintf(take_s, sizeof take_s, "t%02d", take);
    return project + "/" + shot_id + "/" + take_s;
}

namespace {

// ---- queries --------------------------------------------------------------------------------

constexpr const char* job_columns = R"(
    j.id, j.project, j.shot_id, j.take, j.state, j.priority, j.model, j.mode, j.duration_s,
    j.resolution, j.prompt, j.image, j.pin_provider, j.pin_account, j.account, j.provider,
    j.provider_model, coalesce(j.price_usd, 0), j.provider_job_id, j.video_url, j.lease_epoch,
    j.attempts, j.retries,
    (SELECT count(*) FROM attempts a
      WHERE a.job_id = j.id AND a.outcome IN ('accepted', 'ambiguous')) - j.billed_base,
    coalesce(extract(epoch FROM now() - j.accepted_at), 0),
    j.output_path, j.sha256, j.error,
    to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    to_char(j.accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    to_char(j.ready_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    extract(epoch FROM j.ready_at - j.accepted_at))";

constexpr const char* active_states = "('submitting', 'running', 'downloading')";

job_record read_job(const pg::result& r, int row) {
    job_record j;
    int c = 0;
    j.id = r.get_int(row, c++);
    j.project = r.get(row, c++);
    j.shot_id = r.get(row, c++);
    j.take = static_cast<int>(r.get_int(row, c++));
    j.state = parse_job_state(r.get(row, c++)).value_or(job_state::held);
    j.priority = static_cast<int>(r.get_int(row, c++));
    j.model = r.get(row, c++);
    j.mode = r.get(row, c++);
    j.duration_s = static_cast<int>(r.get_int(row, c++));
    j.resolution = r.get_opt(row, c++);
    j.prompt = r.get(row, c++);
    j.image = r.get_opt(row, c++);
    j.pin_provider = r.get_opt(row, c++);
    j.pin_account = r.get_opt(row, c++);
    j.account = r.get_opt(row, c++);
    j.provider = r.get_opt(row, c++);
    j.provider_model = r.get_opt(row, c++);
    j.price_usd = r.get_double(row, c++);
    j.provider_job_id = r.get_opt(row, c++);
    j.video_url = r.get_opt(row, c++);
    j.lease_epoch = r.get_int(row, c++);
    j.attempts = static_cast<int>(r.get_int(row, c++));
    j.retries = static_cast<int>(r.get_int(row, c++));
    j.billed_attempts = static_cast<int>(r.get_int(row, c++));
    j.seconds_since_accepted = r.get_double(row, c++);
    j.output_path = r.get_opt(row, c++);
    j.sha256 = r.get_opt(row, c++);
    j.error = r.get_opt(row, c++);
    j.created_at = r.get_opt(row, c++);
    j.accepted_at = r.get_opt(row, c++);
    j.ready_at = r.get_opt(row, c++);
    if (!r.is_null(row, c)) {
        j.generation_seconds = r.get_double(row, c);
    }
    ++c;
    return j;
}

std::string select_jobs(const std::string& where_and_tail) {
    return std::string("SELECT ") + job_columns + " FROM jobs j " + where_and_tail;
}

}  // namespace

std::string select_jobs_sql(const std::string& where_and_tail) {
    return select_jobs(where_and_tail);
}

job_record read_job_row(const pg::result& r, int row) {
    return read_job(r, row);
}

namespace {

std::string seconds_param(std::chrono::milliseconds d) {
    return std::to_string(static_cast<double>(d.count()) / 1000.0);
}

std::string_view outcome_name(attempt_outcome o) {
    switch (o) {
        case attempt_outcome::ambiguous:
            return "ambiguous";
        case attempt_outcome::rejected:
            return "rejected";
        case attempt_outcome::not_sent:
            return "not_sent";
    }
    return "ambiguous";
}

json::object spec_of(const shot& s) {
    json::object o;
    o["id"] = s.id;
    o["prompt"] = s.prompt;
    o["model"] = s.model;
    o["duration"] = s.duration;
    o["takes"] = s.takes;
    o["priority"] = s.priority;
    if (s.image) {
        o["image"] = *s.image;
    }
    if (s.resolution) {
        o["resolution"] = *s.resolution;
    }
    if (s.provider) {
        o["provider"] = *s.provider;
    }
    if (s.account) {
        o["account"] = *s.account;
    }
    return o;
}

using sql::opt;
using sql::opt_number;
using sql::params_of;

/// An owner is "host:pid:token". Dead if on this host and the pid no longer exists.
bool owner_is_dead_local_process(const std::string& owner, const std::string& self) {
    if (owner == self) {
        return false;
    }
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const std::string prefix = std::string(host) + ":";
    if (owner.rfind(prefix, 0) != 0) {
        return false;
    }
    const auto rest = owner.substr(prefix.size());
    const auto colon = rest.find(':');
    long pid = 0;
    try {
        pid = std::stol(rest.substr(0, colon));
    } catch (const std::exception&) {
        return false;
    }
    if (pid <= 0) {
        return false;
    }
    return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

/// A text[] literal whose elements may be NULL.
std::string pg_array(const std::vector<std::optional<std::string>>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) {
            out += ',';
        }
        if (!items[i]) {
            out += "NULL";
            continue;
        }
        out += '"';
        for (char ch : *items[i]) {
            if (ch == '"' || ch == '\\') {
                out += '\\';
            }
            out += ch;
        }
        out += '"';
    }
    return out + "}";
}

std::string pg_text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) {
            out += ',';
        }
        out += '"';
        for (char ch : items[i]) {
            if (ch == '"' || ch == '\\') {
                out += '\\';
            }
            out += ch;
        }
        out += '"';
    }
    return out + "}";
}

/// Each Phase B/C operation moves a job only out of the one state it is for and only to the
/// targets it documents (and job_state.hpp allows). The SQL guard alone is not enough: it
/// compares the row with the caller's record, so a record in the wrong state would pass.
bool may_move(
    const job_record& job, job_state from, job_state to, std::initializer_list<job_state> targets
) {
    return job.state == from && transition_allowed(from, to) &&
           std::find(targets.begin(), targets.end(), to) != targets.end();
}

asio::awaitable<bool> refused() {
    co_return false;
}

/// Thrown inside the ingest transaction to roll it back with the conflicts.
struct ingest_conflict {
    diagnostics conflicts;
};

/// After a write matched no row: whether the job already is in `to` under `epoch` — the
/// same write committed earlier, and this is its replay after the COMMIT's answer was lost.
asio::awaitable<bool> already_applied(
    pg::connection& c, std::int64_t job_id, std::int64_t epoch, job_state to
) {
    auto r = co_await c.exec(
        "SELECT 1 FROM jobs WHERE id = $1::bigint AND lease_epoch = $2::bigint "
        "AND state = $3::job_state",
        params_of(std::to_string(job_id), std::to_string(epoch), std::string(to_string(to)))
    );
    co_return r.rows() == 1;
}

}  // namespace

job_store::job_store(pg::pool& pool, std::string owner, std::chrono::seconds lease_ttl)
    : pool_(pool), owner_(std::move(owner)), lease_ttl_(lease_ttl) {}

asio::awaitable<ingest_result> job_store::ingest(const shot_list& list) {
    try {
        co_return co_await pg::in_transaction(
            pool_,
            [&list](pg::connection& c) -> asio::awaitable<ingest_result> {
                ingest_result res;
                diagnostics conflicts;
                // The batch: its priority and budget follow the latest ingest of the list (a
                // raised budget lets waiting jobs go at once).
                co_await c.exec(
                    "INSERT INTO batches (project, priority, budget_usd, source_file) "
                    "VALUES ($1, $2::int, $3::numeric, $4) ON CONFLICT (project) DO UPDATE SET "
                    "priority = EXCLUDED.priority, budget_usd = EXCLUDED.budget_usd, "
                    "source_file = EXCLUDED.source_file",
                    params_of(
                        list.project,
                        std::to_string(list.priority),
                        opt_number(list.budget_usd),
                        list.file.string()
                    )
                );
                co_await c.exec(
                    "UPDATE jobs SET next_attempt_at = now(), wait_reason = NULL "
                    "WHERE project = $1 AND state = 'queued' AND wait_reason IS NOT NULL",
                    params_of(list.project)
                );
                // In chunks, a few statements each, whatever the list's size: one statement
                // per shot made 100,000 shots take minutes.
                constexpr std::size_t chunk = 2000;
                for (std::size_t first = 0; first < list.shots.size(); first += chunk) {
                    const std::size_t last = std::min(list.shots.size(), first + chunk);
                    std::vector<std::optional<std::string>> ids, specs, hashes;
                    for (std::size_t i = first; i < last; ++i) {
                        const shot& s = list.shots[i];
                        ids.emplace_back(s.id);
                        specs.emplace_back(json::serialize(spec_of(s)));
                        hashes.emplace_back(s.spec_hash);
                    }
                    // New shots are inserted; for known ones, the stored hash comes back (the
                    // main query sees the table as it was before this statement's insert).
                    auto shots = co_await c.exec(
                        "WITH input AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) "
                        "WITH ORDINALITY AS t (shot_id, spec, spec_hash, n)), "
                        "ins AS (INSERT INTO shots (project, shot_id, spec, spec_hash, "
                        "source_file) SELECT $1, shot_id, spec::jsonb, spec_hash, $5 FROM input "
                        "ON CONFLICT (project, shot_id) DO NOTHING RETURNING shot_id) "
                        "SELECT i.n, ins.shot_id IS NOT NULL, s.spec_hash, s.source_file "
                        "FROM input i LEFT JOIN ins ON ins.shot_id = i.shot_id "
                        "LEFT JOIN shots s ON s.project = $1 AND s.shot_id = i.shot_id "
                        "ORDER BY i.n",
                        params_of(
                            list.project,
                            pg_array(ids),
                            pg_array(specs),
                            pg_array(hashes),
                            list.file.string()
                        )
                    );
                    std::vector<std::optional<std::string>> j_shot, j_take, j_prio, j_model, j_mode,
                        j_duration, j_resolution, j_prompt, j_image, j_pin_provider, j_pin_account;
                    for (int row = 0; row < shots.rows(); ++row) {
                        const shot& s =
                            list.shots[first + static_cast<std::size_t>(shots.get_int(row, 0) - 1)];
                        if (shots.get(row, 1) != "t") {
                            if (shots.get(row, 2) != s.spec_hash) {
                                conflicts.push_back(diagnostic{
                                    list.file.string(),
                                    s.line,
                                    s.col,
                                    "shot '" + s.id + "' of project '" + list.project +
                                        "' was already ingested (from " +
                                        std::string(shots.get(row, 3)) +
                                        ") with a different spec; give it a new id, or "
                                        "change the project"});
                                continue;
                            }
                            ++res.shots_unchanged;
                        } else {
                            ++res.shots_added;
                        }
                        std::optional<std::string> image;
                        if (s.image_path) {
                            image = s.image_path->string();
                        } else if (s.image) {
                            image = *s.image;
                        }
                        for (int take = 1; take <= s.takes; ++take) {
                            j_shot.emplace_back(s.id);
                            j_take.emplace_back(std::to_string(take));
                            j_prio.emplace_back(std::to_string(s.priority));
                            j_model.emplace_back(s.model);
                            j_mode.emplace_back(s.image ? "i2v" : "t2v");
                            j_duration.emplace_back(std::to_string(s.duration));
                            j_resolution.push_back(s.resolution);
                            j_prompt.emplace_back(s.prompt);
                            j_image.push_back(image);
                            j_pin_provider.push_back(s.provider);
                            j_pin_account.push_back(s.account);
                        }
                    }
                    if (j_shot.empty() || !conflicts.empty()) {
                        continue;  // a conflict rolls everything back anyway
                    }
                    auto jobs = co_await c.exec(
                        "WITH ins AS (INSERT INTO jobs (project, shot_id, take, priority, model, "
                        "mode, duration_s, resolution, prompt, image, pin_provider, pin_account) "
                        "SELECT $1, shot_id, take::int, priority::int, model, mode, "
                        "duration_s::int, resolution, prompt, image, pin_provider, pin_account "
                        "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], "
                        "$6::text[], $7::text[], $8::text[], $9::text[], $10::text[], "
                        "$11::text[], $12::text[]) AS t (shot_id, take, priority, model, mode, "
                        "duration_s, resolution, prompt, image, pin_provider, pin_account) "
                        "ON CONFLICT (project, shot_id, take) DO UPDATE SET priority = "
                        "EXCLUDED.priority WHERE jobs.state IN ('queued', 'retry_wait') AND "
                        "jobs.priority <> EXCLUDED.priority RETURNING id, xmax = 0 AS fresh) "
                        "INSERT INTO job_events (job_id, to_state, detail) "
                        "SELECT id, 'queued', 'ingested' FROM ins WHERE fresh RETURNING job_id",
                        params_of(
                            list.project,
                            pg_array(j_shot),
                            pg_array(j_take),
                            pg_array(j_prio),
                            pg_array(j_model),
                            pg_array(j_mode),
                            pg_array(j_duration),
                            pg_array(j_resolution),
                            pg_array(j_prompt),
                            pg_array(j_image),
                            pg_array(j_pin_provider),
                            pg_array(j_pin_account)
                        )
                    );
                    res.jobs_added += jobs.rows();
                }
                if (!conflicts.empty()) {
                    throw ingest_conflict{std::move(conflicts)};
                }
                co_return res;
            }
        );
    } catch (ingest_conflict& conflict) {
        ingest_result res;
        res.conflicts = std::move(conflict.conflicts);
        co_return res;
    }
}

asio::awaitable<std::optional<claimed_submit>> job_store::claim_for_submit(
    std::string project, std::function<std::optional<account_choice>(const job_record&)> choose
) {
    auto res = co_await claim_next(std::move(project), [&choose](const job_record& j) {
        std::vector<account_choice> out;
        if (auto c = choose(j)) {
            out.push_back(std::move(*c));
        }
        return out;
    });
    co_return std::move(res.claimed);
}

namespace {

/// One account's gate, read under its row lock inside the claim transaction.
struct account_gate {
    bool known = false;  ///< no row: an account this database has no limits for (tests)
    bool open = false;
    std::optional<double> retry_in_s;
    bool probe = false;  ///< the breaker is half-open: this claim is its probe
};

/// `lock`: take the account's row lock (the final check before claiming); without it a plain
/// read to choose.
asio::awaitable<account_gate> check_account(
    pg::connection& c, const std::string& account, bool lock
) {
    account_gate g;
    if (lock) {
        // The lock first, on its own: a statement that waited for it would otherwise judge the
        // limiter clocks by the time it started, not by the time it got the row.
        co_await c.exec("SELECT 1 FROM accounts WHERE name = $1 FOR UPDATE", params_of(account));
    }
    auto r = co_await c.exec(
        "SELECT a.max_concurrency, a.effective_concurrency, a.disabled_reason IS NOT NULL, "
        "extract(epoch FROM greatest(a.paused_until, n.t) - n.t)::float8, "
        "a.breaker_failures, "
        "extract(epoch FROM greatest(a.breaker_open_until, n.t) - n.t)::float8, "
        "extract(epoch FROM greatest(" +
            sql::window_free_at("a.submit_log", "a.") +
            ", n.t) - n.t)::float8 "
            "FROM accounts a, (SELECT clock_timestamp() AS t) n WHERE a.name = $1",
        params_of(account)
    );
    if (r.rows() == 0) {
        g.open = true;
        co_return g;
    }
    g.known = true;
    const double effective = r.get_double(0, 1);
    const bool disabled = r.get(0, 2) == "t";
    const double paused = r.is_null(0, 3) ? 0 : r.get_double(0, 3);
    const int failures = static_cast<int>(r.get_int(0, 4));
    const double open_for = r.is_null(0, 5) ? 0 : r.get_double(0, 5);
    const double submit_wait = r.get_double(0, 6);
    if (disabled) {
        co_return g;
    }
    if (paused > 0 || open_for > 0 || submit_wait > 0.005) {
        g.retry_in_s = std::max({paused, open_for, submit_wait});
        co_return g;
    }
    auto n = co_await c.exec(
        "SELECT count(*) FROM jobs WHERE account = $1 AND state IN ('submitting', 'running')",
        params_of(account)
    );
    const auto cap = std::max<std::int64_t>(1, static_cast<std::int64_t>(effective + 1e-9));
    if (n.get_int(0, 0) >= cap) {
        co_return g;  // a slot frees when a job of it ends: the pipeline wakes then
    }
    g.open = true;
    g.probe = failures >= breaker_threshold;
    co_return g;
}

/// Whether `price` fits every budget the attempt would count against. Empty when it fits, else
/// why not. With `lock` the three scope rows are created if missing and locked (in scope order:
/// account/ < batch/ < global, the order every writer uses) until the claim commits; without
/// it a plain read. Caps: the account's and the batch's from their rows, the global one as
/// sync_accounts stored it.
asio::awaitable<std::string> check_budgets(
    pg::connection& c,
    const std::string& account,
    const std::string& project,
    double price,
    bool lock
) {
    const std::string scopes =
        "(VALUES ('account/' || $1 || '/' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD'), "
        " (SELECT budget_usd_per_day FROM accounts WHERE name = $1)), "
        "('batch/' || $2, (SELECT budget_usd FROM batches WHERE project = $2)), "
        "('global', (SELECT cap_usd FROM budgets WHERE scope = 'global'))) "
        "AS v (scope, cap_usd)";
    pg::result r;
    if (lock) {
        r = co_await c.exec(
            "INSERT INTO budgets AS b (scope, cap_usd) SELECT scope, cap_usd FROM " + scopes +
                " ORDER BY scope ON CONFLICT (scope) DO UPDATE SET cap_usd = EXCLUDED.cap_usd "
                "RETURNING b.scope, b.cap_usd IS NULL OR b.spent_usd + b.reserved_usd + "
                "$3::numeric <= b.cap_usd, b.cap_usd::float8, "
                "(b.spent_usd + b.reserved_usd)::float8",
            params_of(account, project, std::to_string(price))
        );
    } else {
        r = co_await c.exec(
            "SELECT v.scope, v.cap_usd IS NULL OR coalesce(b.spent_usd + b.reserved_usd, 0) + "
            "$3::numeric <= v.cap_usd, v.cap_usd::float8, "
            "coalesce(b.spent_usd + b.reserved_usd, 0)::float8 FROM " +
                scopes + " LEFT JOIN budgets b ON b.scope = v.scope",
            params_of(account, project, std::to_string(price))
        );
    }
    for (int i = 0; i < r.rows(); ++i) {
        if (r.get(i, 1) == "t") {
            continue;
        }
        const std::string scope(r.get(i, 0));
        char money[96];
        std::snprintf(
            money,
            sizeof money,
            "cap $%.2f, spent+reserved $%.2f, next $%.2f",
            r.get_double(i, 2),
            r.get_double(i, 3),
            price
        );
        if (scope == "global") {
            co_return std::string("budget: global budget_usd reached (") + money + ")";
        }
        if (scope.rfind("batch/", 0) == 0) {
            co_return "budget: batch '" + project + "' budget_usd reached (" + money + ")";
        }
        co_return "budget: account '" + account + "' budget_usd_per_day reached (" + money + ")";
    }
    co_return std::string{};
}

}  // namespace

asio::awaitable<claim_result> job_store::claim_next(
    std::string project,
    std::function<std::vector<account_choice>(const job_record&)> rank,
    claim_order order
) {
    const std::string ttl = std::to_string(lease_ttl_.count());
    co_return co_await pg::in_transaction(
        pool_,
        [&](pg::connection& c) -> asio::awaitable<claim_result> {
            claim_result out;
            // Up to `per_batch` due jobs per batch, locked; then in one order across batches
            // (or the caller's).
            auto rows = co_await c.exec(
                std::string("SELECT ") + job_columns +
                    " FROM (SELECT b.project, (SELECT count(*) FROM jobs x WHERE x.project = "
                    "b.project AND x.state IN " +
                    active_states +
                    ") AS inflight FROM batches b WHERE $1 = '' OR b.project = $1) bl "
                    "CROSS JOIN LATERAL (SELECT * FROM jobs j WHERE j.project = bl.project "
                    "AND j.state IN ('queued', 'retry_wait') AND j.next_attempt_at <= now() "
                    "ORDER BY j.priority DESC, j.next_attempt_at, j.id LIMIT $2::int "
                    "FOR UPDATE SKIP LOCKED) j "
                    "ORDER BY j.priority DESC, bl.inflight, j.next_attempt_at, j.id",
                params_of(project, std::to_string(std::max(1, order.per_batch)))
            );
            std::vector<job_record> candidates;
            for (int i = 0; i < rows.rows(); ++i) {
                candidates.push_back(read_job(rows, i));
            }
            std::vector<std::size_t> tries(candidates.size());
            std::iota(tries.begin(), tries.end(), std::size_t{0});
            if (order.reorder) {
                tries = order.reorder(candidates);
            }
            std::set<std::string> refused;  // accounts whose limits said no in this claim
            for (const std::size_t index : tries) {
                job_record job = std::move(candidates.at(index));
                std::string budget_reason;
                bool limited = false;  // an account refused on a limit: not a budget wait
                for (const auto& choice : rank(job)) {
                    if (refused.count(choice.account) > 0) {
                        limited = true;
                        continue;
                    }
                    // Choose with plain reads: no lock is held while choosing, so claims
                    // that rank accounts differently cannot wait on each other in a cycle.
                    auto gate = co_await check_account(c, choice.account, false);
                    if (!gate.open) {
                        refused.insert(choice.account);
                        limited = true;
                        if (gate.retry_in_s) {
                            out.retry_in_s = std::min(
                                out.retry_in_s.value_or(*gate.retry_in_s), *gate.retry_in_s
                            );
                        }
                        continue;
                    }
                    budget_reason = co_await check_budgets(
                        c, choice.account, job.project, choice.price_usd, false
                    );
                    if (!budget_reason.empty()) {
                        if (budget_reason.rfind("budget: account", 0) == 0) {
                            continue;  // another account may still have room today
                        }
                        break;  // batch or global: no account helps
                    }
                    // Then lock in the one order every writer uses — this account's row, then
                    // the budget rows in scope order — and check again: another daemon may
                    // have taken the slot or the money meanwhile. Under a savepoint, so that
                    // a refusal releases these locks at once (a claim never holds one
                    // account's row while it waits for another's).
                    co_await c.exec("SAVEPOINT account_check");
                    gate = co_await check_account(c, choice.account, true);
                    if (!gate.open) {
                        co_await c.exec("ROLLBACK TO SAVEPOINT account_check");
                        refused.insert(choice.account);
                        limited = true;
                        out.retry_in_s = 0.0;  // it may have room again in a moment
                        continue;
                    }
                    budget_reason = co_await check_budgets(
                        c, choice.account, job.project, choice.price_usd, true
                    );
                    if (!budget_reason.empty()) {
                        co_await c.exec("ROLLBACK TO SAVEPOINT account_check");
                        if (budget_reason.rfind("budget: account", 0) == 0) {
                            continue;
                        }
                        break;
                    }
                    co_await c.exec("RELEASE SAVEPOINT account_check");
                    if (gate.known) {
                        co_await c.exec(
                            "UPDATE accounts SET submit_log = " +
                                sql::window_append("submit_log", "clock_timestamp()") +
                                ", breaker_open_until = CASE WHEN $2 THEN "
                                "clock_timestamp() + interval '60 seconds' ELSE "
                                "breaker_open_until END, updated_at = now() WHERE name = $1",
                            params_of(choice.account, std::string(gate.probe ? "true" : "false"))
                        );
                    }
                    auto upd = co_await c.exec(
                        "UPDATE jobs SET state = 'submitting', account = $2, provider = $3, "
                        "provider_model = $4, price_usd = $5::numeric, attempts = attempts + 1, "
                        "provider_job_id = NULL, video_url = NULL, error = NULL, "
                        "error_class = NULL, wait_reason = NULL, "
                        "lease_owner = $6, lease_epoch = lease_epoch + 1, "
                        "lease_expires_at = now() + make_interval(secs => $7::double precision), "
                        "updated_at = now() WHERE id = $1::bigint RETURNING lease_epoch, attempts",
                        params_of(
                            std::to_string(job.id),
                            choice.account,
                            choice.provider,
                            choice.provider_model,
                            std::to_string(choice.price_usd),
                            owner_,
                            ttl
                        )
                    );
                    const std::string from(to_string(job.state));
                    job.state = job_state::submitting;
                    job.lease_epoch = upd.get_int(0, 0);
                    job.attempts = static_cast<int>(upd.get_int(0, 1));
                    job.account = choice.account;
                    job.provider = choice.provider;
                    job.provider_model = choice.provider_model;
                    job.price_usd = choice.price_usd;
                    job.provider_job_id.reset();
                    job.video_url.reset();
                    // The attempt row reserves the price (trigger attempts_money).
                    auto att = co_await c.exec(
                        "INSERT INTO attempts (job_id, project, lease_epoch, account, provider, "
                        "provider_model, price_usd) VALUES ($1::bigint, $2, $3::bigint, $4, $5, "
                        "$6, $7::numeric) RETURNING id",
                        params_of(
                            std::to_string(job.id),
                            job.project,
                            std::to_string(job.lease_epoch),
                            choice.account,
                            choice.provider,
                            choice.provider_model,
                            std::to_string(choice.price_usd)
                        )
                    );
                    co_await c.exec(
                        "INSERT INTO job_events (job_id, from_state, to_state, detail, "
                        "lease_epoch) VALUES ($1::bigint, $2::job_state, 'submitting', $3, "
                        "$4::bigint)",
                        params_of(
                            std::to_string(job.id),
                            from,
                            "account " + choice.account,
                            std::to_string(job.lease_epoch)
                        )
                    );
                    out.claimed = claimed_submit{std::move(job), att.get_int(0, 0)};
                    co_return out;
                }
                if (!budget_reason.empty() && !limited) {
                    ++out.budget_blocked;
                    co_await c.exec(
                        "UPDATE jobs SET wait_reason = $2, "
                        "next_attempt_at = now() + interval '10 seconds' WHERE id = $1::bigint",
                        params_of(std::to_string(job.id), budget_reason)
                    );
                }
            }
            co_return out;
        }
    );
}

asio::awaitable<bool> job_store::transition(
    job_record job, job_state to, std::string extra_sets, pg::params extra, std::string detail
) {
    // One statement: the guarded update and its event row commit together or not at all.
    pg::params p = {
        std::to_string(job.id),
        std::to_string(job.lease_epoch),
        std::string(to_string(job.state)),
        std::string(to_string(to)),
        detail};
    for (auto& e : extra) {
        p.push_back(std::move(e));
    }
    auto r = co_await pool_.acquire();
    auto res = co_await r->exec(
        "WITH u AS (UPDATE jobs SET state = $4::job_state, updated_at = now()" + extra_sets +
            " WHERE id = $1::bigint AND lease_epoch = $2::bigint AND state = $3::job_state "
            "RETURNING id, lease_epoch) "
            "INSERT INTO job_events (job_id, from_state, to_state, detail, lease_epoch) "
            "SELECT id, $3::job_state, $4::job_state, $5, lease_epoch FROM u RETURNING job_id",
        std::move(p)
    );
    if (res.rows() == 1) {
        co_return true;
    }
    // A replay after a COMMIT whose outcome was unknown (the connection died): if the job is
    // where this transition would have put it, under our epoch, it was applied.
    co_return co_await already_applied(*r, job.id, job.lease_epoch, to);
}

asio::awaitable<bool> job_store::record_accepted(
    job_record job, std::int64_t attempt_id, std::string provider_job_id
) {
    co_return co_await pg::in_transaction(pool_, [&](pg::connection& c) -> asio::awaitable<bool> {
        // The attempt row is keyed by its own id, not the lease: a fenced-out daemon
        // still records the paid job's id so the new owner adopts it.
        co_await c.exec(
            "UPDATE attempts SET outcome = 'accepted', provider_job_id = $2, "
            "finished_at = now() WHERE id = $1::bigint",
            params_of(std::to_string(attempt_id), provider_job_id)
        );
        auto res = co_await c.exec(
            "WITH u AS (UPDATE jobs SET state = 'running', provider_job_id = $3, "
            "accepted_at = now(), updated_at = now() "
            "WHERE id = $1::bigint AND lease_epoch = $2::bigint AND state = 'submitting' "
            "RETURNING id, lease_epoch) "
            "INSERT INTO job_events (job_id, from_state, to_state, detail, lease_epoch) "
            "SELECT id, 'submitting', 'running', 'provider id ' || $3, lease_epoch FROM u "
            "RETURNING job_id",
            params_of(std::to_string(job.id), std::to_string(job.lease_epoch), provider_job_id)
        );
        if (res.rows() == 1) {
            co_return true;
        }
        // A replay of this very write (its COMMIT's answer was lost): nothing more to do.
        auto mine = co_await c.exec(
            "SELECT 1 FROM jobs WHERE id = $1::bigint AND lease_epoch = $2::bigint "
            "AND state IN ('running', 'downloading') AND provider_job_id = $3",
            params_of(std::to_string(job.id), std::to_string(job.lease_epoch), provider_job_id)
        );
        if (mine.rows() == 1) {
            co_return true;
        }
        // Fenced out. If the new owner ruled this submit ambiguous and has not sent another
        // one yet, the id we hold is the job's generation: adopt it rather than pay again. The
        // lease is left expired so that recovery picks the job up for polling.
        auto cur = co_await c.exec(
            "SELECT state FROM jobs WHERE id = $1::bigint AND provider_job_id IS NULL FOR UPDATE",
            params_of(std::to_string(job.id))
        );
        const auto state = cur.rows() == 1 ? parse_job_state(cur.get(0, 0)) : std::nullopt;
        if (state && (*state == job_state::retry_wait || *state == job_state::held)) {
            co_await c.exec(
                "UPDATE jobs SET state = 'running', provider_job_id = $2, accepted_at = now(), "
                "error = NULL, error_class = NULL, lease_expires_at = now(), updated_at = now() "
                "WHERE id = $1::bigint",
                params_of(std::to_string(job.id), provider_job_id)
            );
            co_await c.exec(
                "INSERT INTO job_events (job_id, from_state, to_state, detail) VALUES "
                "($1::bigint, $2::job_state, 'running', 'adopted late provider id ' || $3)",
                params_of(std::to_string(job.id), std::string(to_string(*state)), provider_job_id)
            );
        }
        co_return false;
    });
}

asio::awaitable<bool> job_store::record_submit_failure(
    job_record job,
    std::int64_t attempt_id,
    attempt_outcome outcome,
    unsigned http_status,
    std::string message,
    job_state to,
    std::chrono::milliseconds delay,
    std::string error_class
) {
    if (!may_move(
            job,
            job_state::submitting,
            to,
            {job_state::retry_wait, job_state::failed, job_state::held, job_state::queued}
        )) {
        co_return false;
    }
    // Not inline in the co_await below: GCC 12 destroys a conditional's temporary twice there.
    pg::param status_param;
    if (http_status != 0) {
        status_param = std::to_string(http_status);
    }
    co_return co_await pg::in_transaction(pool_, [&](pg::connection& c) -> asio::awaitable<bool> {
        co_await c.exec(
            "UPDATE attempts SET outcome = $2, http_status = $3::int, message = $4, "
            "finished_at = now() WHERE id = $1::bigint AND outcome = 'pending'",
            params_of(
                std::to_string(attempt_id),
                std::string(outcome_name(outcome)),
                status_param,
                message
            )
        );
        auto res = co_await c.exec(
            "WITH u AS (UPDATE jobs SET state = $3::job_state, error = $4, error_class = $5, "
            "retries = retries + 1, "
            "next_attempt_at = now() + make_interval(secs => $6::double precision), "
            "finished_at = CASE WHEN $3::job_state = 'failed' THEN now() END, "
            "updated_at = now() "
            "WHERE id = $1::bigint AND lease_epoch = $2::bigint AND state = 'submitting' "
            "RETURNING id, lease_epoch) "
            "INSERT INTO job_events (job_id, from_state, to_state, detail, lease_epoch) "
            "SELECT id, 'submitting', $3::job_state, $5 || ': ' || $4, lease_epoch FROM u "
            "RETURNING job_id",
            params_of(
                std::to_string(job.id),
                std::to_string(job.lease_epoch),
                std::string(to_string(to)),
                message,
                error_class,
                seconds_param(delay)
            )
        );
        co_return res.rows() == 1 || co_await already_applied(c, job.id, job.lease_epoch, to);
    });
}

asio::awaitable<bool> job_store::record_ready(job_record job, std::string video_url) {
    if (!may_move(job, job_state::running, job_state::downloading, {job_state::downloading})) {
        return refused();
    }
    return transition(
        std::move(job),
        job_state::downloading,
        ", video_url = $6, ready_at = coalesce(ready_at, now())",
        {video_url},
        "video ready"
    );
}

asio::awaitable<bool> job_store::record_remote_failure(
    job_record job,
    job_state to,
    std::chrono::milliseconds delay,
    std::string message,
    std::string error_class
) {
    if (!may_move(
            job, job_state::running, to, {job_state::retry_wait, job_state::failed, job_state::held}
        )) {
        return refused();
    }
    return transition(
        std::move(job),
        to,
        ", error = $6, error_class = $7, retries = retries + 1, "
        "next_attempt_at = now() + make_interval(secs => $8::double precision), "
        "finished_at = CASE WHEN $4::job_state = 'failed' THEN now() END",
        {message, error_class, seconds_param(delay)},
        error_class + ": " + message
    );
}

asio::awaitable<bool> job_store::record_downloaded(
    job_record job, std::string output_path, std::string sha256, std::int64_t bytes
) {
    if (!may_move(job, job_state::downloading, job_state::succeeded, {job_state::succeeded})) {
        return refused();
    }
    return transition(
        std::move(job),
        job_state::succeeded,
        ", output_path = $6, sha256 = $7, bytes = $8::bigint, error = NULL, error_class = NULL, "
        "finished_at = now()",
        {output_path, sha256, std::to_string(bytes)},
        "sha256 " + sha256
    );
}

asio::awaitable<bool> job_store::record_download_failure(
    job_record job, job_state to, std::string message, std::string error_class
) {
    if (!may_move(
            job,
            job_state::downloading,
            to,
            {job_state::running, job_state::downloading, job_state::failed, job_state::held}
        )) {
        return refused();
    }
    return transition(
        std::move(job),
        to,
        ", error = $6, error_class = $7, retries = retries + 1, "
        "finished_at = CASE WHEN $4::job_state = 'failed' THEN now() END",
        {message, error_class},
        error_class + ": " + message
    );
}

asio::awaitable<bool> job_store::hold_after_fault(std::int64_t job_id, std::string reason) {
    co_return co_await pg::in_transaction(pool_, [&](pg::connection& c) -> asio::awaitable<bool> {
        auto row = co_await c.exec(
            std::string("SELECT state::text, lease_epoch FROM jobs WHERE id = $1::bigint "
                        "AND lease_owner = $2 AND state IN ") +
                active_states + " FOR UPDATE",
            params_of(std::to_string(job_id), owner_)
        );
        if (row.rows() != 1) {
            co_return false;
        }
        const std::string from(row.get(0, 0));
        const std::string epoch(row.get(0, 1));
        if (from == "submitting") {
            co_await c.exec(
                "UPDATE attempts SET outcome = CASE WHEN sent_at IS NULL THEN 'not_sent' "
                "ELSE 'ambiguous' END, finished_at = now(), message = $2 "
                "WHERE job_id = $1::bigint AND outcome = 'pending'",
                params_of(std::to_string(job_id), reason)
            );
        }
        co_await c.exec(
            "UPDATE jobs SET state = 'held', error = $2, error_class = 'task_failed', "
            "updated_at = now() WHERE id = $1::bigint",
            params_of(std::to_string(job_id), reason)
        );
        co_await c.exec(
            "INSERT INTO job_events (job_id, from_state, to_state, detail, lease_epoch) "
            "VALUES ($1::bigint, $2::job_state, 'held', 'task_failed: ' || $3, $4::bigint)",
            params_of(std::to_string(job_id), from, reason, epoch)
        );
        co_return true;
    });
}

asio::awaitable<recovered> job_store::recover(std::string project, bool hold_ambiguous) {
    return recover_impl(std::move(project), hold_ambiguous, false, std::vector<std::int64_t>{});
}

asio::awaitable<recovered> job_store::recover_orphans(
    std::string project, bool hold_ambiguous, std::vector<std::int64_t> busy
) {
    return recover_impl(std::move(project), hold_ambiguous, true, std::move(busy));
}

asio::awaitable<recovered> job_store::recover_impl(
    std::string project, bool hold_ambiguous, bool take_own, std::vector<std::int64_t> busy
) {
    // Owners of this project's in-flight jobs that are dead processes on this host: their
    // leases need not run out before we carry on (a restart after kill -9).
    std::vector<std::string> dead;
    {
        auto c = co_await pool_.acquire();
        auto owners = co_await c->exec(
            std::string("SELECT DISTINCT lease_owner FROM jobs WHERE ($1 = '' OR project = $1) "
                        "AND state IN ") +
                active_states + " AND lease_owner IS NOT NULL",
            params_of(project)
        );
        for (int i = 0; i < owners.rows(); ++i) {
            std::string o(owners.get(i, 0));
            if (owner_is_dead_local_process(o, owner_)) {
                dead.push_back(std::move(o));
            }
        }
    }
    const std::string ttl = std::to_string(lease_ttl_.count());
    const std::string policy_state = hold_ambiguous ? "held" : "retry_wait";
    std::string busy_ids = "{";
    for (std::size_t i = 0; i < busy.size(); ++i) {
        busy_ids += (i ? "," : "") + std::to_string(busy[i]);
    }
    busy_ids += "}";
    const std::string take_own_param = take_own ? "true" : "false";
    co_return co_await pg::in_transaction(
        pool_,
        [&](pg::connection& c) -> asio::awaitable<recovered> {
            recovered out;
            auto rows = co_await c.exec(
                select_jobs(
                    std::string("WHERE ($1 = '' OR j.project = $1) AND j.state IN ") +
                    active_states +
                    " AND ((j.lease_owner IS DISTINCT FROM $3 "
                    "       AND (j.lease_expires_at IS NULL OR j.lease_expires_at < now() "
                    "            OR j.lease_owner = ANY($2::text[]))) "
                    "  OR ($4::boolean AND j.lease_owner = $3 "
                    "      AND NOT (j.id = ANY($5::bigint[])))) "
                    "ORDER BY j.id FOR UPDATE OF j SKIP LOCKED"
                ),
                params_of(project, pg_text_array(dead), owner_, take_own_param, busy_ids)
            );
            for (int i = 0; i < rows.rows(); ++i) {
                job_record job = read_job(rows, i);
                auto upd = co_await c.exec(
                    "UPDATE jobs SET lease_owner = $2, lease_epoch = lease_epoch + 1, "
                    "lease_expires_at = now() + make_interval(secs => $3::double precision), "
                    "updated_at = now() WHERE id = $1::bigint RETURNING lease_epoch",
                    params_of(std::to_string(job.id), owner_, ttl)
                );
                job.lease_epoch = upd.get_int(0, 0);
                if (job.state != job_state::submitting) {
                    out.resume.push_back(std::move(job));
                    continue;
                }
                // A crash between Phase A and Phase B. If the id reached the attempt row, the
                // job was accepted: adopt it. Otherwise the POST may or may not have been
                // billed: the attempt stays counted as spent (ambiguous).
                auto att = co_await c.exec(
                    "SELECT id, provider_job_id, sent_at IS NOT NULL FROM attempts "
                    "WHERE job_id = $1::bigint ORDER BY id DESC LIMIT 1",
                    params_of(std::to_string(job.id))
                );
                if (att.rows() == 1 && !att.is_null(0, 1)) {
                    std::string pid(att.get(0, 1));
                    co_await c.exec(
                        "UPDATE jobs SET state = 'running', provider_job_id = $2, "
                        "accepted_at = coalesce(accepted_at, now()) WHERE id = $1::bigint",
                        params_of(std::to_string(job.id), pid)
                    );
                    co_await c.exec(
                        "INSERT INTO job_events (job_id, from_state, to_state, detail, "
                        "lease_epoch) VALUES ($1::bigint, 'submitting', 'running', "
                        "'recovered: adopted ' || $2, $3::bigint)",
                        params_of(std::to_string(job.id), pid, std::to_string(job.lease_epoch))
                    );
                    job.state = job_state::running;
                    job.provider_job_id = pid;
                    ++out.adopted;
                    out.resume.push_back(std::move(job));
                    continue;
                }
                if (att.rows() == 1 && att.get(0, 2) != "t") {
                    // Stopped before the POST left (waiting for its rate-limit slot, say):
                    // nothing was sent, so nothing is owed and nothing is ambiguous.
                    co_await c.exec(
                        "UPDATE attempts SET outcome = 'not_sent', finished_at = now(), "
                        "message = 'the daemon stopped before the request left' "
                        "WHERE id = $1::bigint AND outcome = 'pending'",
                        params_of(std::string(att.get(0, 0)))
                    );
                    co_await c.exec(
                        "UPDATE jobs SET state = 'queued', next_attempt_at = now() "
                        "WHERE id = $1::bigint",
                        params_of(std::to_string(job.id))
                    );
                    co_await c.exec(
                        "INSERT INTO job_events (job_id, from_state, to_state, detail, "
                        "lease_epoch) VALUES ($1::bigint, 'submitting', 'queued', "
                        "'recovered: the submit never left (not billed)', $2::bigint)",
                        params_of(std::to_string(job.id), std::to_string(job.lease_epoch))
                    );
                    ++out.unsent;
                    continue;
                }
                if (att.rows() == 1) {
                    co_await c.exec(
                        "UPDATE attempts SET outcome = 'ambiguous', finished_at = now(), "
                        "message = 'daemon stopped while the submit was in flight' "
                        "WHERE id = $1::bigint AND outcome = 'pending'",
                        params_of(std::string(att.get(0, 0)))
                    );
                }
                co_await c.exec(
                    "UPDATE jobs SET state = $2::job_state, error = 'ambiguous submit: the "
                    "daemon stopped while the request was in flight', "
                    "error_class = 'ambiguous', next_attempt_at = now() WHERE id = $1::bigint",
                    params_of(std::to_string(job.id), policy_state)
                );
                co_await c.exec(
                    "INSERT INTO job_events (job_id, from_state, to_state, detail, lease_epoch) "
                    "VALUES ($1::bigint, 'submitting', $2::job_state, 'recovered: ambiguous "
                    "submit (the request had left when its daemon stopped)', $3::bigint)",
                    params_of(std::to_string(job.id), policy_state, std::to_string(job.lease_epoch))
                );
                ++out.ambiguous;
                out.ambiguous_at.emplace_back(job.provider.value_or(""), job.account.value_or(""));
            }
            co_return out;
        }
    );
}

asio::awaitable<std::set<std::int64_t>> job_store::renew_leases() {
    auto c = co_await pool_.acquire();
    auto r = co_await c->exec(
        std::string("UPDATE jobs SET lease_expires_at = now() + make_interval(secs => "
                    "$2::double precision) WHERE lease_owner = $1 AND state IN ") +
            active_states + " RETURNING id",
        params_of(owner_, std::to_string(lease_ttl_.count()))
    );
    std::set<std::int64_t> ours;
    for (int i = 0; i < r.rows(); ++i) {
        ours.insert(r.get_int(i, 0));
    }
    co_await c->exec(
        "UPDATE daemons SET seen_at = now(), stopped_at = NULL WHERE owner = $1", params_of(owner_)
    );
    co_return ours;
}

asio::awaitable<bool> job_store::mark_sent(job_record job, std::int64_t attempt_id) {
    auto c = co_await pool_.acquire();
    auto r = co_await c->exec(
        "UPDATE attempts a SET sent_at = now() FROM jobs j WHERE a.id = $1::bigint "
        "AND a.outcome = 'pending' AND j.id = a.job_id AND j.id = $2::bigint "
        "AND j.lease_epoch = $3::bigint AND j.state = 'submitting' RETURNING a.id",
        params_of(
            std::to_string(attempt_id), std::to_string(job.id), std::to_string(job.lease_epoch)
        )
    );
    co_return r.rows() == 1;
}

asio::awaitable<void> job_store::register_daemon(std::string config_file) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    auto c = co_await pool_.acquire();
    co_await c->exec(
        "INSERT INTO daemons (owner, host, pid, config_file) VALUES ($1, $2, $3::int, $4) "
        "ON CONFLICT (owner) DO UPDATE SET seen_at = now(), stopped_at = NULL",
        params_of(owner_, std::string(host), std::to_string(::getpid()), config_file)
    );
}

asio::awaitable<void> job_store::unregister_daemon() {
    auto c = co_await pool_.acquire();
    co_await c->exec(
        "UPDATE daemons SET stopped_at = now(), seen_at = now() WHERE owner = $1", params_of(owner_)
    );
}

asio::awaitable<void> job_store::release_leases() {
    auto c = co_await pool_.acquire();
    co_await c->exec(
        std::string("UPDATE jobs SET lease_expires_at = now() WHERE lease_owner = $1 AND state IN "
        ) + active_states,
        params_of(owner_)
    );
}

namespace {
std::map<job_state, int> read_counts(const pg::result& r) {
    std::map<job_state, int> out;
    for (job_state s : all_job_states) {
        out[s] = 0;
    }
    for (int i = 0; i < r.rows(); ++i) {
        if (auto s = parse_job_state(r.get(i, 0))) {
            out[*s] = static_cast<int>(r.get_int(i, 1));
        }
    }
    return out;
}
}  // namespace

asio::awaitable<std::map<job_state, int>> job_store::state_counts(std::string project) {
    auto c = co_await pool_.acquire();
    auto r = co_await c->exec(
        "SELECT state, count(*) FROM jobs WHERE $1 = '' OR project = $1 GROUP BY state",
        params_of(project)
    );
    co_return read_counts(r);
}

asio::awaitable<std::map<job_state, int>> job_store::state_counts_all() {
    auto c = co_await pool_.acquire();
    auto r = co_await c->exec("SELECT state, count(*) FROM jobs GROUP BY state");
    co_return read_counts(r);
}

asio::awaitable<std::vector<spend_row>> job_store::spend() {
    auto c = co_await pool_.acquire();
    auto r = co_await c->exec(
        "SELECT a.account, a.provider, j.model, sum(a.price_usd) FROM attempts a "
        "JOIN jobs j ON j.id = a.job_id WHERE a.outcome IN ('pending', 'accepted', 'ambiguous') "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    );
    std::vector<spend_row> out;
    for (int i = 0; i < r.rows(); ++i) {
        out.push_back(spend_row{
            std::string(r.get(i, 0)),
            std::string(r.get(i, 1)),
            std::string(r.get(i, 2)),
            r.get_double(i, 3)});
    }
    co_return out;
}

asio::awaitable<std::optional<double>> job_store::seconds_until_due(std::string project) {
    auto c = co_await pool_.acquire();
    // Not greatest(0, ...) in SQL: greatest ignores NULL, so "no job" would read as "due now".
    auto r = co_await c->exec(
        "SELECT extract(epoch FROM min(next_attempt_at) - now()) FROM jobs "
        "WHERE ($1 = '' OR project = $1) AND state IN ('queued', 'retry_wait')",
        params_of(project)
    );
    if (r.rows() == 0 || r.is_null(0, 0)) {
        co_return std::nullopt;
    }
    co_return std::max(0.0, r.get_double(0, 0));
}

asio::awaitable<std::vector<job_record>> job_store::jobs_of(std::string project) {
    auto c = co_await pool_.acquire();
    auto r = co_await c->exec(
        select_jobs("WHERE $1 = '' OR j.project = $1 ORDER BY j.project, j.shot_id, j.take"),
        params_of(project)
    );
    std::vector<job_record> out;
    for (int i = 0; i < r.rows(); ++i) {
        out.push_back(read_job(r, i));
    }
    co_return out;
}

asio::awaitable<std::optional<job_record>> job_store::get_job(std::int64_t id) {
    auto c = co_await pool_.acquire();
    auto r =
        co_await c->exec(select_jobs("WHERE j.id = $1::bigint"), params_of(std::to_string(id)));
    if (r.rows() == 0) {
        co_return std::nullopt;
    }
    co_return read_job(r, 0);
}

asio::awaitable<std::optional<std::string>> job_store::cached_upload(
    std::string account, std::string sha256, std::chrono::seconds max_age
) {
    auto c = co_await pool_.acquire();
    auto r = co_await c->exec(
        "SELECT url FROM uploads WHERE account = $1 AND sha256 = $2 "
        "AND uploaded_at > now() - make_interval(secs => $3::double precision)",
        params_of(account, sha256, std::to_string(max_age.count()))
    );
    if (r.rows() == 0) {
        co_return std::nullopt;
    }
    co_return std::string(r.get(0, 0));
}

asio::awaitable<void> job_store::remember_upload(
    std::string account, std::string sha256, std::string url
) {
    auto c = co_await pool_.acquire();
    co_await c->exec(
        "INSERT INTO uploads (account, sha256, url) VALUES ($1, $2, $3) "
        "ON CONFLICT (account, sha256) DO UPDATE SET url = EXCLUDED.url, uploaded_at = now()",
        params_of(account, sha256, url)
    );
}

}  // namespace shotfarm::jobs
