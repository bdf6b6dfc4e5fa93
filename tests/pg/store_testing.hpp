// Helpers for the job store's tests against a real PostgreSQL (tests/pg/*_pgtest.cpp): SQL by
// hand, fields of a job or an attempt, its event chain, shots and lists, and the quick ways to
// bring a job into a state through the store itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <type_traits>
#include <unistd.h>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <gtest/gtest.h>

#include "jobs/engine/store.hpp"
#include "jobs/shotlist.hpp"
#include "pg/pool.hpp"

// ASSERT_* `return`, which a coroutine may not: these `co_return` instead.
#define CO_ASSERT_TRUE(cond)                             \
    do {                                                 \
        if (!(cond)) {                                   \
            ADD_FAILURE() << "assertion failed: " #cond; \
            co_return;                                   \
        }                                                \
    } while (false)

namespace shotfarm::testing::store_tests {

namespace asio = boost::asio;
namespace pg = shotfarm::pg;
namespace jobs = shotfarm::jobs;
using jobs::job_state;

using chooser = std::function<std::optional<jobs::account_choice>(const jobs::job_record&)>;

inline constexpr const char* project = "film";

// ---- helpers ----------------------------------------------------------------------------------

inline std::string to_param(const std::string& s) {
    return s;
}
template <class T>
requires std::is_arithmetic_v<T> std::string to_param(T v) {
    return std::to_string(v);
}

template <class... Args>
inline pg::params params_of(const Args&... args) {
    return pg::params{pg::param(to_param(args))...};
}

// One statement on a pooled connection (checks and fault injection by hand).
inline asio::awaitable<pg::result> sql(pg::pool& pool, std::string query, pg::params p = {}) {
    auto conn = co_await pool.acquire();
    co_return co_await conn->exec(std::move(query), std::move(p));
}

// Puts rows into a state by hand, past the database's transition guard (a test's set-up, not a
// move the pipeline may make): as superuser, with triggers off for this one statement.
inline asio::awaitable<void> force(pg::pool& pool, std::string query, pg::params p = {}) {
    auto conn = co_await pool.acquire();
    co_await conn->exec("SET session_replication_role = replica");
    co_await conn->exec(std::move(query), std::move(p));
    co_await conn->exec("RESET session_replication_role");
}

inline asio::awaitable<std::int64_t> count(pg::pool& pool, std::string query, pg::params p = {}) {
    auto r = co_await sql(pool, std::move(query), std::move(p));
    co_return r.get_int(0, 0);
}

// "from>to" of every event of a job, oldest first ("-" for a NULL from_state).
inline asio::awaitable<std::vector<std::string>> events_of(pg::pool& pool, std::int64_t job_id) {
    auto p = params_of(job_id);
    auto r = co_await sql(
        pool,
        "SELECT coalesce(from_state::text, '-') || '>' || to_state::text FROM job_events "
        "WHERE job_id = $1::bigint ORDER BY id",
        std::move(p)
    );
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) {
        out.emplace_back(r.get(i, 0));
    }
    co_return out;
}

// One column of a job row as text (nullopt for NULL).
inline asio::awaitable<std::optional<std::string>> job_field(
    pg::pool& pool, std::int64_t job_id, std::string column
) {
    auto p = params_of(job_id);
    auto r =
        co_await sql(pool, "SELECT " + column + " FROM jobs WHERE id = $1::bigint", std::move(p));
    co_return r.get_opt(0, 0);
}

inline asio::awaitable<std::optional<std::string>> attempt_field(
    pg::pool& pool, std::int64_t attempt_id, std::string column
) {
    auto p = params_of(attempt_id);
    auto r = co_await sql(
        pool, "SELECT " + column + " FROM attempts WHERE id = $1::bigint", std::move(p)
    );
    co_return r.get_opt(0, 0);
}

// Seconds from the database's now() to a timestamp column of a job.
inline asio::awaitable<double> seconds_from_now(
    pg::pool& pool, std::int64_t job_id, std::string column
) {
    auto p = params_of(job_id);
    auto r = co_await sql(
        pool,
        "SELECT extract(epoch FROM " + column + " - now()) FROM jobs WHERE id = $1::bigint",
        std::move(p)
    );
    co_return r.get_double(0, 0);
}

inline jobs::shot make_shot(const std::string& id, int takes = 1, int priority = 0, int line = 1) {
    jobs::shot s;
    s.id = id;
    s.prompt = "a lighthouse at dusk, shot " + id;
    s.takes = takes;
    s.priority = priority;
    s.line = line;
    s.col = 3;
    s.spec_hash = "hash-" + id + "-v1-t" + std::to_string(takes);
    return s;
}

inline jobs::shot_list make_list(std::vector<jobs::shot> shots, const std::string& proj = project) {
    jobs::shot_list l;
    l.file = "/srv/lists/" + proj + ".yaml";
    l.project = proj;
    l.shots = std::move(shots);
    return l;
}

inline chooser always(const std::string& account, double price = 0.28) {
    return [account, price](const jobs::job_record&) -> std::optional<jobs::account_choice> {
        return jobs::account_choice{account, "atlas", "minimax/hailuo-02/standard", price};
    };
}

inline std::string this_host() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return host;
}

// The pid of a process that existed and is gone (reaped) — a daemon killed with -9.
inline pid_t dead_pid() {
    const pid_t child = ::fork();
    if (child == 0) {
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
}

inline std::int64_t id_of(
    const std::vector<jobs::job_record>& all, const std::string& shot, int take = 1
) {
    for (const auto& j : all) {
        if (j.shot_id == shot && j.take == take) {
            return j.id;
        }
    }
    ADD_FAILURE() << "no job for " << shot << " take " << take;
    return 0;
}

// Claims the project's next job and records it accepted: a job in `running`, as its owner sees it.
inline asio::awaitable<jobs::job_record> to_running(
    jobs::job_store& store, std::string proj, std::string provider_job_id
) {
    const auto pick = always("acc-a");
    auto claimed = co_await store.claim_for_submit(proj, pick);
    if (!claimed) {
        throw std::runtime_error("nothing to claim in " + proj);
    }
    if (!co_await store.record_accepted(claimed->job, claimed->attempt_id, provider_job_id)) {
        throw std::runtime_error("record_accepted refused a fresh claim");
    }
    jobs::job_record job = claimed->job;
    job.state = job_state::running;
    job.provider_job_id = provider_job_id;
    co_return job;
}

inline asio::awaitable<jobs::job_record> to_downloading(
    jobs::job_store& store, std::string proj, std::string provider_job_id
) {
    auto job = co_await to_running(store, proj, provider_job_id);
    std::string url = "https://cdn.example/" + provider_job_id + ".mp4";
    if (!co_await store.record_ready(job, url)) {
        throw std::runtime_error("record_ready refused a running job");
    }
    job.state = job_state::downloading;
    job.video_url = url;
    co_return job;
}

}  // namespace shotfarm::testing::store_tests
