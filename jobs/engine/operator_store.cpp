// The operator's side of the job store: cancel, retry, history, status, and the re-fetch of a
// finished job whose file went missing. Every change is one guarded UPDATE per job, in one
// transaction with its job_events row; it bumps the lease epoch, so the daemon that owned the
// job is fenced out of any further write about it.
#include <cstdio>

#include "jobs/engine/sql_params.hpp"
#include "jobs/engine/store.hpp"

namespace shotfarm::jobs {

namespace asio = boost::asio;
using sql::params_of;

namespace {

/// The selector as four parameters: $1 job id, $2 project, $3 shot, $4 take (NULL/'' = any).
pg::params selector_params(const job_selector& s) {
    pg::params p;
    p.push_back(s.job_id ? pg::param(std::to_string(*s.job_id)) : std::nullopt);
    p.push_back(s.project);
    p.push_back(s.shot);
    p.push_back(s.take ? pg::param(std::to_string(*s.take)) : std::nullopt);
    return p;
}

constexpr const char* selector_where =
    "($1::bigint IS NULL OR j.id = $1::bigint) AND ($2 = '' OR j.project = $2) "
    "AND ($3 = '' OR j.shot_id = $3) AND ($4::int IS NULL OR j.take = $4::int)";

std::string ref_of(const pg::result& r, int row, int col) {
    char take[16];
    std::snprintf(take, sizeof take, "t%02d", static_cast<int>(r.get_int(row, col + 2)));
    return std::string(r.get(row, col)) + "/" + std::string(r.get(row, col + 1)) + "/" + take;
}

/// A selected job as locked for an operator's change, and its error class.
struct locked_job {
    operator_change change;
    std::string error_class;
};

/// Locks the selected jobs in `states` (an SQL list), in id order. Not SKIP LOCKED: a claim in
/// progress finishes first, and this sees its result.
asio::awaitable<std::vector<locked_job>> lock_selected(
    pg::connection& c, const job_selector& which, const char* states
) {
    auto rows = co_await c.exec(
        std::string("SELECT j.id, j.state, j.project, j.shot_id, j.take, j.provider_job_id, "
                    "coalesce(j.provider, ''), coalesce(j.account, ''), "
                    "coalesce(j.error_class, '') FROM jobs j WHERE ") +
            selector_where + " AND j.state IN " + states + " ORDER BY j.id FOR UPDATE",
        selector_params(which)
    );
    std::vector<locked_job> out;
    for (int i = 0; i < rows.rows(); ++i) {
        locked_job l;
        l.change.job_id = rows.get_int(i, 0);
        l.change.from = parse_job_state(rows.get(i, 1)).value_or(job_state::held);
        l.change.ref = ref_of(rows, i, 2);
        l.change.provider_job_id = rows.get_opt(i, 5);
        l.change.provider = rows.get(i, 6);
        l.change.account = rows.get(i, 7);
        l.error_class = rows.get(i, 8);
        out.push_back(std::move(l));
    }
    co_return out;
}

}  // namespace

std::string job_selector::describe() const {
    if (job_id) {
        return "job " + std::to_string(*job_id);
    }
    std::string out = project;
    if (!shot.empty()) {
        out += "/" + shot;
    }
    if (take) {
        char t[16];
        std::snprintf(t, sizeof t, "/t%02d", *take);
        out += t;
    }
    return out;
}

asio::awaitable<std::vector<operator_change>> job_store::cancel(
    job_selector which, std::string reason
) {
    co_return co_await pg::in_transaction(
        pool_,
        [&](pg::connection& c) -> asio::awaitable<std::vector<operator_change>> {
            std::vector<operator_change> out;
            for (auto& locked : co_await lock_selected(
                     c,
                     which,
                     "('queued', 'submitting', 'running', 'downloading', 'retry_wait', 'held')"
                 )) {
                operator_change ch = std::move(locked.change);
                ch.to = job_state::canceled;
                const std::string id = std::to_string(ch.job_id);
                // A submit in flight: if its POST never left, it never will (the owner's
                // mark_sent fails on the new epoch) and nothing is owed; if it left, the
                // provider may have created the job — counted as spent.
                auto att = co_await c.exec(
                    "UPDATE attempts SET outcome = CASE WHEN sent_at IS NULL THEN 'not_sent' "
                    "ELSE 'ambiguous' END, finished_at = now(), message = 'canceled by an "
                    "operator while in flight' WHERE job_id = $1::bigint AND outcome = "
                    "'pending' RETURNING outcome",
                    params_of(id)
                );
                ch.may_bill = ch.provider_job_id.has_value() ||
                              (att.rows() > 0 && att.get(0, 0) == "ambiguous");
                std::string detail = "canceled by operator";
                if (!reason.empty()) {
                    detail += ": " + reason;
                }
                if (ch.may_bill) {
                    detail +=
                        ch.provider_job_id
                            ? "; the provider may still bill for generation " + *ch.provider_job_id
                            : "; a submit was in flight: the provider may still bill";
                }
                co_await c.exec(
                    "WITH u AS (UPDATE jobs SET state = 'canceled', lease_owner = NULL, "
                    "lease_expires_at = NULL, lease_epoch = lease_epoch + 1, "
                    "finished_at = now(), updated_at = now(), error = $3, "
                    "error_class = 'canceled' WHERE id = $1::bigint AND state = $2::job_state "
                    "RETURNING id, lease_epoch) INSERT INTO job_events (job_id, from_state, "
                    "to_state, detail, lease_epoch) SELECT id, $2::job_state, 'canceled', $3, "
                    "lease_epoch FROM u",
                    params_of(id, std::string(to_string(ch.from)), detail)
                );
                out.push_back(std::move(ch));
            }
            co_return out;
        }
    );
}

asio::awaitable<std::vector<operator_change>> job_store::retry(job_selector which) {
    co_return co_await pg::in_transaction(
        pool_,
        [&](pg::connection& c) -> asio::awaitable<std::vector<operator_change>> {
            std::vector<operator_change> out;
            for (auto& locked :
                 co_await lock_selected(c, which, "('failed', 'canceled', 'held', 'retry_wait')")) {
                operator_change ch = std::move(locked.change);
                const std::string& error_class = locked.error_class;
                // A paid generation we may still get the video of is polled again, never paid
                // for again: held after failing polls, stuck or lost, or failed downloading.
                const bool poll_again =
                    ch.provider_job_id &&
                    ((ch.from == job_state::held && error_class != "ambiguous") ||
                     (ch.from == job_state::failed && error_class == "download"));
                ch.to = poll_again ? job_state::running : job_state::queued;
                std::string detail;
                if (poll_again) {
                    detail = "retry by operator: poll generation " + *ch.provider_job_id +
                             " again (not paid again)";
                } else if (ch.from == job_state::retry_wait) {
                    detail = "retry by operator: due now";
                } else {
                    detail = "retry by operator: a new generation (max_attempts counts anew)";
                }
                co_await c.exec(
                    "WITH u AS (UPDATE jobs SET state = $3::job_state, lease_owner = NULL, "
                    "lease_expires_at = NULL, lease_epoch = lease_epoch + 1, retries = 0, "
                    "next_attempt_at = now(), finished_at = NULL, error = NULL, "
                    "error_class = NULL, wait_reason = NULL, updated_at = now(), "
                    "accepted_at = CASE WHEN $3::job_state = 'running' THEN now() "
                    "ELSE accepted_at END, "
                    "billed_base = CASE WHEN $2::job_state = 'retry_wait' THEN billed_base ELSE "
                    "(SELECT count(*) FROM attempts a WHERE a.job_id = jobs.id AND a.outcome IN "
                    "('accepted', 'ambiguous')) END "
                    "WHERE id = $1::bigint AND state = $2::job_state RETURNING id, lease_epoch) "
                    "INSERT INTO job_events (job_id, from_state, to_state, detail, lease_epoch) "
                    "SELECT id, $2::job_state, $3::job_state, $4, lease_epoch FROM u",
                    params_of(
                        std::to_string(ch.job_id),
                        std::string(to_string(ch.from)),
                        std::string(to_string(ch.to)),
                        detail
                    )
                );
                out.push_back(std::move(ch));
            }
            co_return out;
        }
    );
}

asio::awaitable<std::vector<job_id_ref>> job_store::find_jobs(job_selector which) {
    auto c = co_await pool_.acquire();
    auto r = co_await c->exec(
        std::string("SELECT j.id, j.project, j.shot_id, j.take, j.state FROM jobs j WHERE ") +
            selector_where + " ORDER BY j.project, j.shot_id, j.take",
        selector_params(which)
    );
    std::vector<job_id_ref> out;
    for (int i = 0; i < r.rows(); ++i) {
        out.push_back(job_id_ref{
            r.get_int(i, 0),
            ref_of(r, i, 1),
            parse_job_state(r.get(i, 4)).value_or(job_state::held)});
    }
    co_return out;
}

asio::awaitable<std::vector<job_event_row>> job_store::history(std::int64_t job_id) {
    auto c = co_await pool_.acquire();
    auto r = co_await c->exec(
        "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
        "from_state, to_state, actor, coalesce(detail, ''), lease_epoch "
        "FROM job_events WHERE job_id = $1::bigint ORDER BY id",
        params_of(std::to_string(job_id))
    );
    std::vector<job_event_row> out;
    for (int i = 0; i < r.rows(); ++i) {
        job_event_row e;
        e.at = r.get(i, 0);
        if (!r.is_null(i, 1)) {
            e.from = parse_job_state(r.get(i, 1));
        }
        e.to = parse_job_state(r.get(i, 2)).value_or(job_state::held);
        e.actor = r.get(i, 3);
        e.detail = r.get(i, 4);
        if (!r.is_null(i, 5)) {
            e.lease_epoch = r.get_int(i, 5);
        }
        out.push_back(std::move(e));
    }
    co_return out;
}

asio::awaitable<status_report> job_store::status() {
    status_report out;
    auto c = co_await pool_.acquire();
    auto batches = co_await c->exec(
        "SELECT b.project, b.priority, b.budget_usd::float8, coalesce(b.source_file, ''), "
        "to_char(b.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "coalesce((SELECT (spent_usd + reserved_usd)::float8 FROM budgets "
        "          WHERE scope = 'batch/' || b.project), 0) "
        "FROM batches b ORDER BY b.created_at, b.project"
    );
    for (int i = 0; i < batches.rows(); ++i) {
        status_report::batch b;
        b.project = batches.get(i, 0);
        b.priority = static_cast<int>(batches.get_int(i, 1));
        if (!batches.is_null(i, 2)) {
            b.budget_usd = batches.get_double(i, 2);
        }
        b.source_file = batches.get(i, 3);
        b.created_at = batches.get(i, 4);
        b.spent_usd = batches.get_double(i, 5);
        for (job_state s : all_job_states) {
            b.jobs[s] = 0;
        }
        out.batches.push_back(std::move(b));
    }
    for (job_state s : all_job_states) {
        out.jobs[s] = 0;
    }
    auto counts =
        co_await c->exec("SELECT project, state, count(*) FROM jobs GROUP BY project, state");
    for (int i = 0; i < counts.rows(); ++i) {
        const auto st = parse_job_state(counts.get(i, 1));
        if (!st) {
            continue;
        }
        const int n = static_cast<int>(counts.get_int(i, 2));
        out.jobs[*st] += n;
        for (auto& b : out.batches) {
            if (b.project == counts.get(i, 0)) {
                b.jobs[*st] += n;
            }
        }
    }
    auto daemons = co_await c->exec(
        "SELECT owner, host, pid, "
        "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "extract(epoch FROM now() - seen_at)::float8, stopped_at IS NOT NULL, "
        "(SELECT count(*) FROM jobs j WHERE j.lease_owner = d.owner AND j.state IN "
        "('submitting', 'running', 'downloading') AND j.lease_expires_at > now()) "
        "FROM daemons d WHERE stopped_at IS NULL OR stopped_at > now() - interval '1 day' "
        "ORDER BY started_at"
    );
    for (int i = 0; i < daemons.rows(); ++i) {
        status_report::daemon d;
        d.owner = daemons.get(i, 0);
        d.host = daemons.get(i, 1);
        d.pid = static_cast<int>(daemons.get_int(i, 2));
        d.started_at = daemons.get(i, 3);
        d.seen_s_ago = daemons.get_double(i, 4);
        d.stopped = daemons.get(i, 5) == "t";
        d.leased_jobs = static_cast<int>(daemons.get_int(i, 6));
        d.alive = !d.stopped && d.seen_s_ago < 3.0 * static_cast<double>(lease_ttl_.count());
        out.daemons.push_back(std::move(d));
    }
    c.release();
    for (const auto& row : co_await spend()) {
        out.spent_usd += row.usd;
    }
    for (const auto& b : co_await budgets()) {
        out.budgets.push_back(status_report::budget{b.scope, b.cap_usd, b.spent_usd, b.reserved_usd}
        );
    }
    out.accounts = co_await account_statuses();
    co_return out;
}

asio::awaitable<std::vector<finished_output>> job_store::finished_outputs(std::string project) {
    auto c = co_await pool_.acquire();
    auto r = co_await c->exec(
        "SELECT id, coalesce(output_path, ''), coalesce(sha256, ''), coalesce(bytes, -1) "
        "FROM jobs WHERE ($1 = '' OR project = $1) AND state = 'succeeded' ORDER BY id",
        params_of(project)
    );
    std::vector<finished_output> out;
    for (int i = 0; i < r.rows(); ++i) {
        out.push_back(finished_output{
            r.get_int(i, 0), std::string(r.get(i, 1)), std::string(r.get(i, 2)), r.get_int(i, 3)});
    }
    co_return out;
}

asio::awaitable<std::optional<job_record>> job_store::refetch_output(
    finished_output output, std::string why
) {
    co_return co_await pg::in_transaction(
        pool_,
        [&](pg::connection& c) -> asio::awaitable<std::optional<job_record>> {
            // Only if nothing changed since it was read (another daemon may have been first).
            auto r = co_await c.exec(
                "WITH u AS (UPDATE jobs SET state = 'downloading', lease_owner = $3, "
                "lease_epoch = lease_epoch + 1, lease_expires_at = now() + make_interval(secs "
                "=> $4::double precision), finished_at = NULL, updated_at = now() "
                "WHERE id = $1::bigint AND state = 'succeeded' AND sha256 IS NOT DISTINCT FROM "
                "nullif($2, '') AND video_url IS NOT NULL RETURNING id, lease_epoch) "
                "INSERT INTO job_events (job_id, from_state, to_state, detail, lease_epoch) "
                "SELECT id, 'succeeded', 'downloading', $5, lease_epoch FROM u RETURNING job_id",
                params_of(
                    std::to_string(output.job_id),
                    output.sha256,
                    owner_,
                    std::to_string(lease_ttl_.count()),
                    why
                )
            );
            if (r.rows() == 0) {
                co_return std::nullopt;
            }
            auto job = co_await c.exec(
                select_jobs_sql("WHERE j.id = $1::bigint"), params_of(std::to_string(output.job_id))
            );
            co_return read_job_row(job, 0);
        }
    );
}

}  // namespace shotfarm::jobs
