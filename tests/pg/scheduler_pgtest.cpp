// The scheduler's shared state in PostgreSQL (schemas/sql/0003_scheduler.sql, jobs::job_store
// claim_next and the account side) against a real database: budgets that hold under concurrent
// claimers on separate connections (batch, global, account-day caps), money counters that
// always equal what the attempts say, the database's own over-cap guard, the GCRA submit and
// request limiters, AIMD concurrency with 429 pauses, the circuit breaker and its single probe,
// fair claiming across batches with priorities, disabled accounts, and migration 0003 over a
// database that already had attempts.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "jobs/engine/migrations.hpp"
#include "jobs/engine/store.hpp"
#include "jobs/shotlist.hpp"
#include "pg/error.hpp"
#include "pg/migrate.hpp"
#include "pg/pool.hpp"
#include "tests/pg/store_testing.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/run_coro.hpp"

namespace {

namespace asio = boost::asio;
namespace pg = shotfarm::pg;
namespace jobs = shotfarm::jobs;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using jobs::job_state;
using shotfarm::testing::run_coro;
namespace store_tests = shotfarm::testing::store_tests;
using steady = std::chrono::steady_clock;

using ranker = std::function<std::vector<jobs::account_choice>(const jobs::job_record&)>;

constexpr const char* check_violation = "23514";

// ---- helpers ----------------------------------------------------------------------------------

using store_tests::count;
using store_tests::params_of;
using store_tests::sql;

// The SQLSTATE a statement fails with ("" if it succeeds).
asio::awaitable<std::string> sqlstate_of(pg::pool& pool, std::string query) {
    std::string state;
    try {
        co_await sql(pool, std::move(query));
    } catch (const pg::error& e) {
        state = e.sqlstate();
    }
    co_return state;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(asio::use_awaitable);
}

std::chrono::milliseconds ceil_ms(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000.0)));
}

// Today's UTC day as the budgets' account scopes spell it, from the database clock.
asio::awaitable<std::string> utc_day(pg::pool& pool) {
    auto r = co_await sql(pool, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')");
    co_return std::string(r.get(0, 0));
}

jobs::shot make_shot(const std::string& id, int priority = 0) {
    jobs::shot s;
    s.id = id;
    s.prompt = "a lighthouse at dusk, shot " + id;
    s.priority = priority;
    s.line = 1;
    s.col = 3;
    s.spec_hash = "hash-" + id;
    return s;
}

jobs::shot_list make_list(
    const std::string& proj, int n, std::optional<double> budget = std::nullopt
) {
    jobs::shot_list l;
    l.file = "/srv/lists/" + proj + ".yaml";
    l.project = proj;
    l.budget_usd = budget;
    for (int i = 0; i < n; ++i) {
        char id[16];
        std::snprintf(id, sizeof id, "s%03d", i);
        l.shots.push_back(make_shot(id));
    }
    return l;
}

// Offers the job to `accounts` in this order, all at one price.
ranker rank_of(std::vector<std::string> accounts, double price) {
    return [accounts, price](const jobs::job_record&) {
        std::vector<jobs::account_choice> out;
        for (const auto& a : accounts) {
            out.push_back(jobs::account_choice{a, "atlas", "minimax/hailuo-02/standard", price});
        }
        return out;
    };
}

jobs::account_limits limits(
    const std::string& name,
    int max_concurrency = 100,
    int submits_per_minute = 100000,
    int requests_per_minute = 60,
    std::optional<double> per_day = std::nullopt
) {
    jobs::account_limits a;
    a.name = name;
    a.provider = "atlas";
    a.max_concurrency = max_concurrency;
    a.submits_per_minute = submits_per_minute;
    a.requests_per_minute = requests_per_minute;
    a.budget_usd_per_day = per_day;
    return a;
}

asio::awaitable<std::optional<jobs::account_status>> status_of(
    jobs::job_store& store, std::string account
) {
    auto all = co_await store.account_statuses();
    for (auto& s : all) {
        if (s.name == account) {
            co_return s;
        }
    }
    co_return std::nullopt;
}

asio::awaitable<std::optional<jobs::job_store::budget_row>> budget_of(
    jobs::job_store& store, std::string scope
) {
    auto all = co_await store.budgets();
    for (auto& b : all) {
        if (b.scope == scope) {
            co_return b;
        }
    }
    co_return std::nullopt;
}

// Claims until no job of `proj` ("" = any) is due: waits out limiter refusals, yields while
// other claimers hold the due rows. The claimer of a daemon, minus the provider.
asio::awaitable<std::vector<jobs::claimed_submit>> claim_until_dry(
    jobs::job_store& store, pg::pool& pool, std::string proj, ranker rank
) {
    std::vector<jobs::claimed_submit> got;
    const auto deadline = steady::now() + 30s;
    while (steady::now() < deadline) {
        auto res = co_await store.claim_next(proj, rank);
        if (res.claimed) {
            got.push_back(std::move(*res.claimed));
            continue;
        }
        if (res.retry_in_s) {
            co_await sleep_for(ceil_ms(std::min(*res.retry_in_s, 0.05)));
            continue;
        }
        auto p = params_of(proj);
        const auto due = co_await count(
            pool,
            "SELECT count(*) FROM jobs WHERE ($1 = '' OR project = $1) "
            "AND state IN ('queued', 'retry_wait') AND next_attempt_at <= now()",
            std::move(p)
        );
        if (due == 0) {
            break;
        }
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    }
    co_return got;
}

// One daemon's view: its own pool (own connections) and store.
struct claimer {
    claimer(asio::any_io_executor ex, const std::string& conninfo, const std::string& owner)
        : pool(ex, conninfo, 2), store(pool, owner, 60s) {}
    pg::pool pool;
    jobs::job_store store;
};

// `n` claimers, each syncing `accounts`/`global_cap` as a daemon does at start, then claiming
// `proj` concurrently with its own rank order. Returns every claim.
asio::awaitable<std::vector<jobs::claimed_submit>> race(
    std::string conninfo,
    std::string proj,
    std::vector<std::vector<std::string>> orders,
    double price,
    std::vector<jobs::account_limits> accounts,
    std::optional<double> global_cap
) {
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::unique_ptr<claimer>> cs;
    for (std::size_t i = 0; i < orders.size(); ++i) {
        cs.push_back(std::make_unique<claimer>(
            ex, conninfo, "host-" + std::to_string(i) + ":" + std::to_string(100 + i) + ":r"
        ));
        co_await cs.back()->store.sync_accounts(accounts, global_cap);
    }
    auto loop = [&](std::size_t i) {
        return claim_until_dry(cs[i]->store, cs[i]->pool, proj, rank_of(orders[i], price));
    };
    if (cs.size() != 4) {
        throw std::logic_error("race: four claimers");
    }
    auto [a, b, c, d] = co_await (loop(0) && loop(1) && loop(2) && loop(3));
    std::vector<jobs::claimed_submit> all;
    for (auto* part : {&a, &b, &c, &d}) {
        for (auto& cl : *part) {
            all.push_back(std::move(cl));
        }
    }
    co_return all;
}

// Writes a shot list file and loads it the way `shotfarm submit` does (batch priority and
// budget are resolved by the loader).
jobs::shot_list load_list(const fs::path& file, const std::string& yaml) {
    {
        std::ofstream out(file);
        out << yaml;
    }
    auto res = jobs::load_shotlist(file);
    if (!res.list) {
        std::string all;
        for (const auto& d : res.errors) {
            all += d.message + "\n";
        }
        throw std::runtime_error("shot list did not load: " + all);
    }
    return *res.list;
}

class SchedulerTest : public ::testing::Test {
protected:
    void SetUp() override {
        conninfo_ = shotfarm::testing::fresh_database();
        pg::migrate(conninfo_, jobs::schema_migrations());
    }

    template <class Body>
    void run(Body body) {
        run_coro([&]() -> asio::awaitable<void> {
            pg::pool pool(co_await asio::this_coro::executor, conninfo_, 4);
            jobs::job_store store(pool, "testhost-a:1:a", 60s);
            co_await body(pool, store);
        }());
    }

    std::string conninfo_;
};

// ---- 1. budgets under concurrent claimers -----------------------------------------------------

const std::vector<std::vector<std::string>> four_orders{
    {"acc-1", "acc-2", "acc-3"},
    {"acc-2", "acc-3", "acc-1"},
    {"acc-3", "acc-1", "acc-2"},
    {"acc-1", "acc-3", "acc-2"}};

std::vector<jobs::account_limits> three_accounts() {
    return {limits("acc-1"), limits("acc-2"), limits("acc-3")};
}

// $1.00 at $0.23 a job: 4 fit ($0.92), the fifth would make $1.15.
TEST_F(SchedulerTest, FourConcurrentClaimersNeverGoPastABatchBudget) {
    run([this](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        auto capped = make_list("capped", 30, 1.00);
        auto uncapped = make_list("free", 5);
        co_await store.ingest(capped);
        co_await store.ingest(uncapped);

        auto claims =
            co_await race(conninfo_, "", four_orders, 0.23, three_accounts(), std::nullopt);
        int in_capped = 0;
        std::set<std::int64_t> ids;
        for (const auto& c : claims) {
            ids.insert(c.job.id);
            in_capped += c.job.project == "capped" ? 1 : 0;
        }
        EXPECT_EQ(ids.size(), claims.size()) << "a job was claimed twice";
        EXPECT_EQ(in_capped, 4);
        EXPECT_EQ(claims.size(), 4u + 5u) << "the uncapped batch is not held back";
        EXPECT_EQ(
            co_await count(
                pool,
                "SELECT count(*) FROM attempts WHERE project = 'capped' AND outcome = 'pending'"
            ),
            4
        );
        auto b = co_await budget_of(store, "batch/capped");
        CO_ASSERT_TRUE(b);
        EXPECT_NEAR(b->reserved_usd, 0.92, 1e-9);
        EXPECT_EQ(b->spent_usd, 0);
        EXPECT_EQ(b->cap_usd, 1.00);
        // Every job left waits for budget, and says so.
        EXPECT_EQ(
            co_await count(
                pool, "SELECT count(*) FROM jobs WHERE project = 'capped' AND state = 'queued'"
            ),
            26
        );
        EXPECT_EQ(
            co_await count(
                pool,
                "SELECT count(*) FROM jobs WHERE project = 'capped' AND state = 'queued' "
                "AND wait_reason LIKE 'budget: batch ''capped''%'"
            ),
            26
        );
        auto waiting = co_await store.budget_waiting("capped");
        EXPECT_EQ(waiting.first, 26);
        EXPECT_EQ(waiting.second.rfind("budget:", 0), 0u) << waiting.second;

        // Raising the cap in the list and ingesting it again lets exactly 4 more go.
        capped.budget_usd = 2.00;
        co_await store.ingest(capped);
        auto more =
            co_await race(conninfo_, "capped", four_orders, 0.23, three_accounts(), std::nullopt);
        EXPECT_EQ(more.size(), 4u);
        auto b2 = co_await budget_of(store, "batch/capped");
        CO_ASSERT_TRUE(b2);
        EXPECT_NEAR(b2->reserved_usd, 1.84, 1e-9);
    });
}

TEST_F(SchedulerTest, FourConcurrentClaimersNeverGoPastTheGlobalBudget) {
    run([this](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        auto a = make_list("alpha", 15);
        auto b = make_list("beta", 15);
        co_await store.ingest(a);
        co_await store.ingest(b);

        auto claims = co_await race(conninfo_, "", four_orders, 0.23, three_accounts(), 1.00);
        EXPECT_EQ(claims.size(), 4u);
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM attempts"), 4);
        auto g = co_await budget_of(store, "global");
        CO_ASSERT_TRUE(g);
        EXPECT_EQ(g->cap_usd, 1.00);
        EXPECT_NEAR(g->reserved_usd, 0.92, 1e-9);
        EXPECT_LE(g->reserved_usd + g->spent_usd, 1.00);
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM jobs WHERE state = 'queued'"), 26);
        EXPECT_EQ(
            co_await count(
                pool,
                "SELECT count(*) FROM jobs WHERE state = 'queued' "
                "AND wait_reason LIKE 'budget: global budget_usd reached%'"
            ),
            26
        );
    });
}

// The day cap is per account: the capped one takes 4, the other takes the rest.
TEST_F(SchedulerTest, AnAccountsDayBudgetSendsTheRestToTheOtherAccount) {
    run([this](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        auto list = make_list("film", 30);
        co_await store.ingest(list);
        const std::vector<std::vector<std::string>> orders(4, {"day-capped", "open"});
        std::vector<jobs::account_limits> accounts{
            limits("day-capped", 100, 100000, 60, 1.00), limits("open")};

        auto claims = co_await race(conninfo_, "film", orders, 0.23, accounts, std::nullopt);
        EXPECT_EQ(claims.size(), 30u);
        std::map<std::string, int> per_account;
        for (const auto& c : claims) {
            ++per_account[c.job.account.value_or("?")];
        }
        EXPECT_EQ(per_account["day-capped"], 4);
        EXPECT_EQ(per_account["open"], 26);
        const auto day = co_await utc_day(pool);
        auto capped = co_await budget_of(store, "account/day-capped/" + day);
        CO_ASSERT_TRUE(capped);
        EXPECT_EQ(capped->cap_usd, 1.00);
        EXPECT_NEAR(capped->reserved_usd, 0.92, 1e-9);
        auto open = co_await budget_of(store, "account/open/" + day);
        CO_ASSERT_TRUE(open);
        EXPECT_NEAR(open->reserved_usd, 26 * 0.23, 1e-9);
        EXPECT_EQ(
            co_await count(pool, "SELECT count(*) FROM jobs WHERE wait_reason IS NOT NULL"), 0
        );
        auto st = co_await status_of(store, "day-capped");
        CO_ASSERT_TRUE(st);
        EXPECT_NEAR(st->spent_today_usd, 0.92, 1e-9);
        EXPECT_EQ(st->budget_usd_per_day, 1.00);

        // With only the capped account, a new job waits and names the account's day cap.
        std::vector<jobs::shot> one{make_shot("late")};
        auto late = make_list("late", 0);
        late.shots = one;
        co_await store.ingest(late);
        const auto only_capped = rank_of({"day-capped"}, 0.23);
        auto res = co_await store.claim_next("late", only_capped);
        EXPECT_FALSE(res.claimed);
        EXPECT_EQ(res.budget_blocked, 1);
        auto reason = co_await sql(pool, "SELECT wait_reason FROM jobs WHERE project = 'late'");
        EXPECT_EQ(
            std::string(reason.get(0, 0))
                .rfind("budget: account 'day-capped' budget_usd_per_day", 0),
            0u
        ) << reason.get(0, 0);
    });
}

// schemas/sql/0003_scheduler.sql: "Rows are locked in scope order everywhere (account/ <
// batch/ < global): no deadlocks." A claim that falls through from an account whose day budget
// is spent to the next account locks that account's row while it holds the batch and global
// budget rows; a claimer that ranks the accounts the other way round holds that account's row
// and waits for the batch row. Forced here in that order: the database must not have to break
// a deadlock (it would, after deadlock_timeout, by aborting one claim).
TEST_F(SchedulerTest, TwoClaimersRankingAccountsInOppositeOrderDoNotDeadlock) {
    run_coro([&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        pg::pool watch(ex, conninfo_, 2);
        claimer one(ex, conninfo_, "host-1:1:a");
        claimer two(ex, conninfo_, "host-2:2:b");
        // "spent" cannot take a $0.23 job today; "open" can.
        std::vector<jobs::account_limits> accounts{
            limits("spent", 100, 100000, 60, 0.10), limits("open", 100, 100000000)};
        co_await one.store.sync_accounts(accounts, std::nullopt);
        co_await two.store.sync_accounts(accounts, std::nullopt);
        auto list = make_list("p", 20);  // a claim locks 16: the second one gets the rest
        co_await one.store.ingest(list);
        co_await sql(
            watch, "INSERT INTO budgets (scope) VALUES ('batch/p') ON CONFLICT DO NOTHING"
        );
        auto dt = co_await sql(
            watch,
            "SELECT extract(epoch FROM current_setting('deadlock_timeout')::interval)::float8"
        );
        const double deadlock_timeout_s = dt.get_double(0, 0);

        auto lock_waiters = [&]() -> asio::awaitable<std::int64_t> {
            co_return co_await count(
                watch,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            );
        };
        auto wait_for_waiters = [&](std::int64_t n) -> asio::awaitable<bool> {
            const auto deadline = steady::now() + 10s;
            while (steady::now() < deadline) {
                if (co_await lock_waiters() >= n) {
                    co_return true;
                }
                co_await sleep_for(5ms);
            }
            co_return false;
        };

        // Hold the batch's budget row so both claims stop right at it, one after the other.
        auto gate = co_await watch.acquire();
        co_await gate->exec("BEGIN");
        co_await gate->exec("SELECT 1 FROM budgets WHERE scope = 'batch/p' FOR UPDATE");

        auto done = std::make_shared<int>(0);
        auto got = std::make_shared<std::vector<std::string>>();
        auto finish = [done, got](std::exception_ptr e, jobs::claim_result r) {
            ++*done;
            if (e) {
                got->push_back("error");
            } else {
                got->push_back(r.claimed ? r.claimed->job.account.value_or("?") : "none");
            }
        };
        asio::co_spawn(ex, one.store.claim_next("p", rank_of({"spent", "open"}, 0.23)), finish);
        const bool first_waits = co_await wait_for_waiters(1);
        asio::co_spawn(ex, two.store.claim_next("p", rank_of({"open", "spent"}, 0.23)), finish);
        const bool both_wait = co_await wait_for_waiters(2);
        EXPECT_TRUE(first_waits && both_wait) << "the claims did not queue on the budget row";
        const auto released = steady::now();
        co_await gate->exec("COMMIT");
        while (*done < 2) {
            co_await sleep_for(5ms);
        }
        const double took = std::chrono::duration<double>(steady::now() - released).count();
        const std::vector<std::string> want{"open", "open"};
        EXPECT_EQ(*got, want);
        EXPECT_LT(took, deadlock_timeout_s)
            << "the claims took " << took << " s after the budget row was released: PostgreSQL "
            << "had to break a deadlock between them (deadlock_timeout " << deadlock_timeout_s
            << " s)";
    }());
}

// ---- 2. money counters ------------------------------------------------------------------------

struct money {
    double spent = 0;
    double reserved = 0;
};

TEST_F(SchedulerTest, BudgetCountersFollowTheAttemptsThroughEverySettlement) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::account_limits> accounts{limits("acc-a"), limits("acc-b")};
        co_await store.sync_accounts(accounts, std::nullopt);
        auto p1 = make_list("p1", 4);
        auto p2 = make_list("p2", 3);
        co_await store.ingest(p1);
        co_await store.ingest(p2);
        const std::string msg = "m";
        const auto day = co_await utc_day(pool);
        std::map<std::string, money> want;  // by hand, from what this test does
        auto reserve = [&](const std::string& acc, const std::string& proj, double usd) {
            want["account/" + acc + "/" + day].reserved += usd;
            want["batch/" + proj].reserved += usd;
            want["global"].reserved += usd;
        };
        auto spend = [&](const std::string& acc, const std::string& proj, double usd) {
            for (const auto& s :
                 {"account/" + acc + "/" + day, "batch/" + proj, std::string("global")}) {
                want[s].reserved -= usd;
                want[s].spent += usd;
            }
        };
        auto release = [&](const std::string& acc, const std::string& proj, double usd) {
            for (const auto& s :
                 {"account/" + acc + "/" + day, "batch/" + proj, std::string("global")}) {
                want[s].reserved -= usd;
            }
        };

        const auto a28 = rank_of({"acc-a"}, 0.28);
        const auto a10 = rank_of({"acc-a"}, 0.10);
        const auto b27 = rank_of({"acc-b"}, 0.27);
        const auto b50 = rank_of({"acc-b"}, 0.50);
        const auto b33 = rank_of({"acc-b"}, 0.33);
        const auto a19 = rank_of({"acc-a"}, 0.19);
        const auto a23 = rank_of({"acc-a"}, 0.23);
        auto c1 = (co_await store.claim_next("p1", a28)).claimed;
        auto c2 = (co_await store.claim_next("p1", a10)).claimed;
        auto c3 = (co_await store.claim_next("p1", b27)).claimed;
        auto c4 = (co_await store.claim_next("p1", b50)).claimed;
        auto c5 = (co_await store.claim_next("p2", b33)).claimed;
        auto c6 = (co_await store.claim_next("p2", a19)).claimed;
        CO_ASSERT_TRUE(c1 && c2 && c3 && c4 && c5 && c6);
        reserve("acc-a", "p1", 0.28);
        reserve("acc-a", "p1", 0.10);
        reserve("acc-b", "p1", 0.27);
        reserve("acc-b", "p1", 0.50);
        reserve("acc-b", "p2", 0.33);
        reserve("acc-a", "p2", 0.19);

        const std::string pred = "pred-1";
        EXPECT_TRUE(co_await store.record_accepted(c1->job, c1->attempt_id, pred));
        spend("acc-a", "p1", 0.28);
        EXPECT_TRUE(co_await store.record_submit_failure(
            c2->job,
            c2->attempt_id,
            jobs::attempt_outcome::ambiguous,
            0,
            msg,
            job_state::held,
            0ms,
            "ambiguous"
        ));
        spend("acc-a", "p1", 0.10);
        EXPECT_TRUE(co_await store.record_submit_failure(
            c3->job,
            c3->attempt_id,
            jobs::attempt_outcome::rejected,
            429,
            msg,
            job_state::retry_wait,
            0ms,
            "rate_limited"
        ));
        release("acc-b", "p1", 0.27);
        EXPECT_TRUE(co_await store.record_submit_failure(
            c4->job,
            c4->attempt_id,
            jobs::attempt_outcome::not_sent,
            0,
            msg,
            job_state::retry_wait,
            3600s,
            "connect"
        ));
        release("acc-b", "p1", 0.50);
        // c5's daemon dies between its POST leaving and Phase B: recovery rules the pending
        // attempt ambiguous.
        EXPECT_TRUE(co_await store.mark_sent(c5->job, c5->attempt_id));
        auto p5 = params_of(c5->job.id);
        co_await sql(
            pool,
            "UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1::bigint",
            p5
        );
        jobs::job_store next(pool, "host-b:2:b", 60s);
        auto rec = co_await next.recover("p2", true);
        EXPECT_EQ(rec.ambiguous, 1);
        spend("acc-b", "p2", 0.33);
        // c3's job is due again at once: a second, accepted attempt.
        auto c7 = (co_await store.claim_next("p1", a23)).claimed;
        CO_ASSERT_TRUE(c7);
        EXPECT_EQ(c7->job.id, c3->job.id);
        EXPECT_EQ(c7->job.attempts, 2);
        reserve("acc-a", "p1", 0.23);
        const std::string pred7 = "pred-7";
        EXPECT_TRUE(co_await store.record_accepted(c7->job, c7->attempt_id, pred7));
        spend("acc-a", "p1", 0.23);
        // c6 stays pending (reserved).

        // From the attempts, independently of the trigger's own scope function.
        auto att = co_await sql(
            pool,
            "SELECT account, project, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), "
            "outcome, price_usd::float8 FROM attempts"
        );
        EXPECT_EQ(att.rows(), 7);
        std::map<std::string, money> from_attempts;
        for (int i = 0; i < att.rows(); ++i) {
            const std::string outcome(att.get(i, 3));
            const double usd = att.get_double(i, 4);
            const std::vector<std::string> scopes{
                "account/" + std::string(att.get(i, 0)) + "/" + std::string(att.get(i, 2)),
                "batch/" + std::string(att.get(i, 1)),
                "global"};
            for (const auto& s : scopes) {
                if (outcome == "pending") {
                    from_attempts[s].reserved += usd;
                } else if (outcome == "accepted" || outcome == "ambiguous") {
                    from_attempts[s].spent += usd;
                } else {
                    from_attempts[s];  // released: the scope exists, with nothing on it
                }
            }
        }
        auto rows = co_await store.budgets();
        std::map<std::string, money> stored;
        for (const auto& b : rows) {
            stored[b.scope] = money{b.spent_usd, b.reserved_usd};
        }
        EXPECT_EQ(stored.size(), from_attempts.size());
        EXPECT_EQ(stored.size(), want.size());
        for (const auto& [scope, m] : from_attempts) {
            EXPECT_NEAR(stored[scope].spent, m.spent, 1e-9) << scope;
            EXPECT_NEAR(stored[scope].reserved, m.reserved, 1e-9) << scope;
            EXPECT_NEAR(want[scope].spent, m.spent, 1e-9) << scope;
            EXPECT_NEAR(want[scope].reserved, m.reserved, 1e-9) << scope;
        }
        EXPECT_NEAR(stored["global"].spent, 0.28 + 0.10 + 0.23 + 0.33, 1e-9);
        EXPECT_NEAR(stored["global"].reserved, 0.19, 1e-9);
        EXPECT_NEAR(stored["account/acc-b/" + day].spent, 0.33, 1e-9);
        EXPECT_NEAR(stored["account/acc-b/" + day].reserved, 0, 1e-9);
    });
}

TEST_F(SchedulerTest, TheDatabaseRefusesAReservationPastACap) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        auto list = make_list("p", 3);
        co_await store.ingest(list);
        const auto a30 = rank_of({"acc-a"}, 0.30);
        auto c1 = (co_await store.claim_next("p", a30)).claimed;
        CO_ASSERT_TRUE(c1);
        co_await sql(pool, "UPDATE batches SET budget_usd = 0.50 WHERE project = 'p'");
        co_await sql(pool, "UPDATE budgets SET cap_usd = 0.50 WHERE scope = 'batch/p'");

        // By hand: within the cap is fine, past it the database raises.
        EXPECT_EQ(
            co_await sqlstate_of(
                pool,
                "UPDATE budgets SET reserved_usd = reserved_usd + 0.20 WHERE scope = 'batch/p'"
            ),
            ""
        );
        EXPECT_EQ(
            co_await sqlstate_of(
                pool,
                "UPDATE budgets SET reserved_usd = reserved_usd + 0.01 WHERE scope = 'batch/p'"
            ),
            check_violation
        );
        EXPECT_EQ(
            co_await sqlstate_of(
                pool,
                "UPDATE budgets SET reserved_usd = reserved_usd - 0.20 WHERE scope = 'batch/p'"
            ),
            ""
        ) << "releasing is always allowed";
        // Through an attempt row (the trigger's path), past the cap: refused, nothing written.
        const auto id = std::to_string(c1->job.id);
        EXPECT_EQ(
            co_await sqlstate_of(
                pool,
                "INSERT INTO attempts (job_id, project, lease_epoch, account, provider, "
                "provider_model, price_usd) VALUES (" +
                    id + ", 'p', 1, 'acc-a', 'atlas', 'm', 0.21)"
            ),
            check_violation
        );
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM attempts"), 1);
        auto b = co_await budget_of(store, "batch/p");
        CO_ASSERT_TRUE(b);
        EXPECT_NEAR(b->reserved_usd, 0.30, 1e-9);

        // The claim asks first: $0.21 does not fit and waits, $0.20 fits exactly.
        const auto a21 = rank_of({"acc-a"}, 0.21);
        auto refused = co_await store.claim_next("p", a21);
        EXPECT_FALSE(refused.claimed);
        EXPECT_EQ(refused.budget_blocked, 2);
        co_await sql(pool, "UPDATE jobs SET next_attempt_at = now() WHERE state = 'queued'");
        const auto a20 = rank_of({"acc-a"}, 0.20);
        auto fits = co_await store.claim_next("p", a20);
        EXPECT_TRUE(fits.claimed);
        auto full = co_await budget_of(store, "batch/p");
        CO_ASSERT_TRUE(full);
        EXPECT_NEAR(full->reserved_usd, 0.50, 1e-9);
        // Settling a reservation as spent is not a new reservation: allowed at the cap.
        const std::string pred = "pred-1";
        EXPECT_TRUE(co_await store.record_accepted(c1->job, c1->attempt_id, pred));
        auto after = co_await budget_of(store, "batch/p");
        CO_ASSERT_TRUE(after);
        EXPECT_NEAR(after->spent_usd, 0.30, 1e-9);
        EXPECT_NEAR(after->reserved_usd, 0.20, 1e-9);
    });
}

// ---- 3. limiters ------------------------------------------------------------------------------

TEST_F(SchedulerTest, TheSubmitWindowLetsTheRateGoAtOnceThenOneForEachThatAgesOut) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        // Three a minute: a window of the last three submits over 60 s × 1.01.
        std::vector<jobs::account_limits> accounts{limits("slow", 10, 3)};
        co_await store.sync_accounts(accounts, std::nullopt);
        auto list = make_list("film", 6);
        co_await store.ingest(list);
        const auto rank = rank_of({"slow"}, 0.2);

        for (int i = 0; i < 3; ++i) {  // freed slots refill at once: no spacing between these
            auto r = co_await store.claim_next("film", rank);
            EXPECT_TRUE(r.claimed) << i << " retry_in " << r.retry_in_s.value_or(-1);
        }
        auto fourth = co_await store.claim_next("film", rank);
        EXPECT_FALSE(fourth.claimed);
        CO_ASSERT_TRUE(fourth.retry_in_s);
        EXPECT_GT(*fourth.retry_in_s, 59.0);  // until the first is 60.6 s old
        EXPECT_LE(*fourth.retry_in_s, 60.61);
        auto st = co_await status_of(store, "slow");
        CO_ASSERT_TRUE(st);
        EXPECT_GT(st->submit_wait_s, 59.0);
        EXPECT_EQ(st->submit_room, 0);

        // Age the first submit out of the window (as a minute passing would): one more goes,
        // and the next waits for the second, which has not aged.
        auto conn = co_await pool.acquire();
        co_await conn->exec(
            "UPDATE accounts SET submit_log[1] = submit_log[1] - interval '61 seconds' "
            "WHERE name = 'slow'"
        );
        st = co_await status_of(store, "slow");
        CO_ASSERT_TRUE(st);
        EXPECT_EQ(st->submit_room, 1);
        EXPECT_EQ(st->submit_wait_s, 0.0);
        auto again = co_await store.claim_next("film", rank);
        EXPECT_TRUE(again.claimed) << "retry_in " << again.retry_in_s.value_or(-1);
        auto fifth = co_await store.claim_next("film", rank);
        EXPECT_FALSE(fifth.claimed);
        CO_ASSERT_TRUE(fifth.retry_in_s);
        EXPECT_GT(*fifth.retry_in_s, 59.0);
        // The log keeps the last three only.
        auto r =
            co_await conn->exec("SELECT cardinality(submit_log) FROM accounts WHERE name = 'slow'");
        EXPECT_EQ(r.get_int(0, 0), 3);
    });
}

TEST_F(SchedulerTest, TheRequestLimiterHandsOutSlotsSixtyOverRateApart) {
    run([this](pg::pool& /*pool*/, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::account_limits> accounts{
            limits("api", 4, 60, 120), limits("shared", 4, 60, 120)};
        co_await store.sync_accounts(accounts, std::nullopt);
        constexpr double spacing_ms = 60.0 * 1.01 / 120 * 1000;  // 505 ms
        std::vector<double> waits;
        for (int i = 0; i < 5; ++i) {
            auto w = co_await store.reserve_request("api");
            waits.push_back(static_cast<double>(w.count()));
        }
        for (int i = 0; i < 5; ++i) {
            EXPECT_LE(waits[static_cast<std::size_t>(i)], spacing_ms * i + 1) << i;
            EXPECT_GE(waits[static_cast<std::size_t>(i)], spacing_ms * i - 100) << i;
        }
        // A submit's POST also keeps to the submit window: two a minute here, so the first
        // two go on the request clock (60/600 s apart, a poll between them), the third a
        // minute × 1.01 after the first.
        std::vector<jobs::account_limits> sub{limits("sub", 4, 2, 600)};
        co_await store.sync_accounts(sub, std::nullopt);
        const auto post1 = co_await store.reserve_request("sub", true);
        const auto poll = co_await store.reserve_request("sub", false);
        const auto post2 = co_await store.reserve_request("sub", true);
        const auto post3 = co_await store.reserve_request("sub", true);
        EXPECT_LE(post1.count(), 1);
        EXPECT_NEAR(static_cast<double>(poll.count()), 101, 40);
        EXPECT_NEAR(static_cast<double>(post2.count()), 202, 60);
        EXPECT_NEAR(static_cast<double>(post3.count()), 60600, 100);
        // An account without a row has no limiter.
        EXPECT_EQ((co_await store.reserve_request("unknown")).count(), 0);

        // Two daemons on their own connections share one clock per account.
        pg::pool other_pool(co_await asio::this_coro::executor, conninfo_, 1);
        jobs::job_store other(other_pool, "host-b:2:b", 60s);
        std::vector<std::pair<steady::time_point, double>> slots;
        for (int i = 0; i < 6; ++i) {
            auto& s = i % 2 == 0 ? store : other;
            auto w = co_await s.reserve_request("shared");
            slots.emplace_back(steady::now(), static_cast<double>(w.count()));
        }
        for (std::size_t i = 1; i < slots.size(); ++i) {
            const double at_prev =
                std::chrono::duration<double, std::milli>(slots[i - 1].first - slots[0].first)
                    .count() +
                slots[i - 1].second;
            const double at =
                std::chrono::duration<double, std::milli>(slots[i].first - slots[0].first).count() +
                slots[i].second;
            EXPECT_GE(at - at_prev, spacing_ms - 60) << i;
            EXPECT_LE(at - at_prev, spacing_ms + 60) << i;
        }
    });
}

// ---- 4. concurrency and AIMD ------------------------------------------------------------------

TEST_F(SchedulerTest, ConcurrencyCapThenAimdHalvesOnA429AndGrowsBackByOneOverItself) {
    run([](pg::pool& /*pool*/, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::account_limits> accounts{limits("acc", 4)};
        co_await store.sync_accounts(accounts, std::nullopt);
        auto list = make_list("film", 10);
        co_await store.ingest(list);
        const auto rank = rank_of({"acc"}, 0.2);
        std::vector<jobs::claimed_submit> held;
        for (int i = 0; i < 4; ++i) {
            auto r = co_await store.claim_next("film", rank);
            CO_ASSERT_TRUE(r.claimed);
            held.push_back(*r.claimed);
        }
        auto full = co_await store.claim_next("film", rank);
        EXPECT_FALSE(full.claimed);
        EXPECT_FALSE(full.retry_in_s) << "a full account is not a rate limit";
        auto st = co_await status_of(store, "acc");
        CO_ASSERT_TRUE(st);
        EXPECT_EQ(st->inflight, 4);
        EXPECT_EQ(st->effective_concurrency, 4);

        // Three of them end (not due again for an hour): one in flight.
        const std::string msg = "m";
        for (int i = 1; i < 4; ++i) {
            const auto& c = held[static_cast<std::size_t>(i)];
            EXPECT_TRUE(co_await store.record_submit_failure(
                c.job,
                c.attempt_id,
                jobs::attempt_outcome::rejected,
                500,
                msg,
                job_state::retry_wait,
                3600s,
                "server"
            ));
        }

        // A 429: effective concurrency 4 -> 2, and a pause.
        co_await store.account_feedback("acc", jobs::account_event::rate_limited, 300ms, "429");
        st = co_await status_of(store, "acc");
        CO_ASSERT_TRUE(st);
        EXPECT_EQ(st->effective_concurrency, 2);
        EXPECT_GT(st->paused_s, 0.15);
        EXPECT_LE(st->paused_s, 0.3);
        auto paused = co_await store.claim_next("film", rank);
        EXPECT_FALSE(paused.claimed);
        CO_ASSERT_TRUE(paused.retry_in_s);
        EXPECT_GT(*paused.retry_in_s, 0.15);
        EXPECT_LE(*paused.retry_in_s, 0.3);
        co_await sleep_for(ceil_ms(*paused.retry_in_s));
        EXPECT_TRUE((co_await store.claim_next("film", rank)).claimed);  // 2 in flight
        auto capped = co_await store.claim_next("film", rank);
        EXPECT_FALSE(capped.claimed) << "2 in flight at effective concurrency 2";
        EXPECT_FALSE(capped.retry_in_s);

        // Additive increase: +1/eff per accepted submit; the floor is what counts.
        std::vector<double> want{2.5, 2.5 + 1 / 2.5};
        want.push_back(want.back() + 1 / want.back());
        for (std::size_t i = 0; i < want.size(); ++i) {
            co_await store.account_feedback("acc", jobs::account_event::accepted, 0ms, "");
            st = co_await status_of(store, "acc");
            CO_ASSERT_TRUE(st);
            EXPECT_NEAR(st->effective_concurrency, want[i], 1e-9) << i;
            auto r = co_await store.claim_next("film", rank);
            // 2.5 and 2.9 still allow 2 in flight; 3.24 allows a third.
            EXPECT_EQ(r.claimed.has_value(), i == 2) << "eff " << want[i];
        }
        for (int i = 0; i < 30; ++i) {
            co_await store.account_feedback("acc", jobs::account_event::accepted, 0ms, "");
        }
        st = co_await status_of(store, "acc");
        CO_ASSERT_TRUE(st);
        EXPECT_EQ(st->effective_concurrency, 4) << "never above max_concurrency";
        // Multiplicative decrease bottoms out at 1.
        for (int i = 0; i < 5; ++i) {
            co_await store.account_feedback("acc", jobs::account_event::rate_limited, 0ms, "429");
        }
        st = co_await status_of(store, "acc");
        CO_ASSERT_TRUE(st);
        EXPECT_EQ(st->effective_concurrency, 1);
    });
}

// ---- 5. circuit breaker -----------------------------------------------------------------------

TEST_F(SchedulerTest, TheBreakerOpensAfterFiveFailuresLetsOneProbeThroughAndClosesOnSuccess) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::account_limits> accounts{limits("acc", 20)};
        co_await store.sync_accounts(accounts, std::nullopt);
        auto list = make_list("film", 12);
        co_await store.ingest(list);
        const auto rank = rank_of({"acc"}, 0.2);
        const auto fail = jobs::account_event::failure;

        for (int i = 0; i < jobs::breaker_threshold - 1; ++i) {
            co_await store.account_feedback("acc", fail, 0ms, "503");
        }
        EXPECT_TRUE((co_await store.claim_next("film", rank)).claimed)
            << "4 failures: still closed";
        co_await store.account_feedback("acc", fail, 0ms, "503");
        auto st = co_await status_of(store, "acc");
        CO_ASSERT_TRUE(st);
        EXPECT_TRUE(st->breaker_tripped);
        EXPECT_GT(st->breaker_open_s, 9.5);
        auto open = co_await store.claim_next("film", rank);
        EXPECT_FALSE(open.claimed);
        CO_ASSERT_TRUE(open.retry_in_s);
        EXPECT_GT(*open.retry_in_s, 9.5);
        EXPECT_LE(*open.retry_in_s, 10.0);

        // Cool-down over: exactly one probe goes, the others wait for its verdict.
        co_await sql(pool, "UPDATE accounts SET breaker_open_until = now() - interval '1 second'");
        EXPECT_TRUE((co_await store.claim_next("film", rank)).claimed) << "the probe";
        auto after_probe = co_await store.claim_next("film", rank);
        EXPECT_FALSE(after_probe.claimed);
        CO_ASSERT_TRUE(after_probe.retry_in_s);
        EXPECT_GT(*after_probe.retry_in_s, 50);

        // The probe failed: open again, for twice as long.
        co_await store.account_feedback("acc", fail, 0ms, "503");
        auto again = co_await store.claim_next("film", rank);
        EXPECT_FALSE(again.claimed);
        CO_ASSERT_TRUE(again.retry_in_s);
        EXPECT_GT(*again.retry_in_s, 19.5);
        EXPECT_LE(*again.retry_in_s, 20.0);

        // The next probe is accepted: closed, claims flow.
        co_await sql(pool, "UPDATE accounts SET breaker_open_until = now() - interval '1 second'");
        EXPECT_TRUE((co_await store.claim_next("film", rank)).claimed) << "the second probe";
        EXPECT_FALSE((co_await store.claim_next("film", rank)).claimed);
        co_await store.account_feedback("acc", jobs::account_event::accepted, 0ms, "");
        st = co_await status_of(store, "acc");
        CO_ASSERT_TRUE(st);
        EXPECT_FALSE(st->breaker_tripped);
        EXPECT_EQ(st->breaker_open_s, 0);
        for (int i = 0; i < 3; ++i) {
            EXPECT_TRUE((co_await store.claim_next("film", rank)).claimed) << i;
        }
    });
}

// ---- 6. fairness and priority -----------------------------------------------------------------

class SchedulerFilesTest : public SchedulerTest {
protected:
    void SetUp() override {
        SchedulerTest::SetUp();
        dir_ = fs::temp_directory_path() /
               ("schedtest-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    fs::path dir_;
};

TEST_F(SchedulerFilesTest, EqualPriorityBatchesShareAndHigherPriorityGoesFirst) {
    run([this](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        auto a = make_list("a", 40);
        a.shots.push_back(make_shot("urgent", 9));
        co_await store.ingest(a);
        auto b = make_list("b", 4);
        co_await store.ingest(b);
        // Batch priority 3 from the file: a shot without its own takes it, one with its own
        // keeps it.
        auto c = load_list(
            dir_ / "c.yaml",
            "project: c\n"
            "priority: 3\n"
            "shots:\n"
            "  - id: batch-prio\n"
            "    prompt: gulls over the pier\n"
            "  - id: own-prio\n"
            "    prompt: the harbour at night\n"
            "    priority: -1\n"
        );
        co_await store.ingest(c);

        const auto rank = rank_of({"free"}, 0.1);  // no accounts row: no limits
        std::vector<std::string> order;
        for (int i = 0; i < 60; ++i) {
            auto r = co_await store.claim_next("", rank);
            if (!r.claimed) {
                break;
            }
            order.push_back(r.claimed->job.project + "/" + r.claimed->job.shot_id);
            if (order.size() == 2) {
                // A job raised while its batch has the most in flight still goes next.
                co_await sql(
                    pool, "UPDATE jobs SET priority = 7 WHERE project = 'a' AND shot_id = 's039'"
                );
            }
        }
        CO_ASSERT_TRUE(order.size() == 47u);
        EXPECT_EQ(order[0], "a/urgent");
        EXPECT_EQ(order[1], "c/batch-prio");
        EXPECT_EQ(order[2], "a/s039");
        EXPECT_EQ(order.back(), "c/own-prio");
        std::vector<std::size_t> b_at;
        for (std::size_t i = 0; i < order.size(); ++i) {
            if (order[i].rfind("b/", 0) == 0) {
                b_at.push_back(i);
            }
        }
        CO_ASSERT_TRUE(b_at.size() == 4u);
        EXPECT_LT(b_at.back(), 11u) << "b's 4 jobs wait behind a's 40";
        std::string all;
        for (const auto& o : order) {
            all += o + " ";
        }
        std::cout << "claim order: " << all << "\n";
    });
}

// docs/shotlist.md: "changing [priority] and running the list again re-prioritises ... the same
// jobs".
TEST_F(SchedulerFilesTest, IngestingAListAgainWithAHigherBatchPriorityReprioritisesItsJobs) {
    run([this](pg::pool& /*pool*/, jobs::job_store& store) -> asio::awaitable<void> {
        auto first = make_list("first", 3);
        co_await store.ingest(first);
        const std::string shots =
            "shots:\n"
            "  - id: r1\n"
            "    prompt: one\n"
            "  - id: r2\n"
            "    prompt: two\n";
        auto low = load_list(dir_ / "r.yaml", "project: r\npriority: 0\n" + shots);
        co_await store.ingest(low);
        auto high = load_list(dir_ / "r.yaml", "project: r\npriority: 5\n" + shots);
        auto res = co_await store.ingest(high);
        EXPECT_TRUE(res.conflicts.empty());
        EXPECT_EQ(res.jobs_added, 0);

        const auto rank = rank_of({"free"}, 0.1);
        std::vector<std::string> order;
        for (int i = 0; i < 2; ++i) {
            auto r = co_await store.claim_next("", rank);
            CO_ASSERT_TRUE(r.claimed);
            order.push_back(r.claimed->job.project);
        }
        const std::vector<std::string> want{"r", "r"};
        EXPECT_EQ(order, want);
    });
}

// ---- 7. disabled accounts ---------------------------------------------------------------------

TEST_F(SchedulerTest, ADisabledAccountGetsNoJobUntilSyncedAgain) {
    run([](pg::pool& /*pool*/, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::account_limits> accounts{limits("broke"), limits("fine")};
        co_await store.sync_accounts(accounts, std::nullopt);
        auto list = make_list("film", 6);
        co_await store.ingest(list);
        co_await store.account_feedback(
            "broke", jobs::account_event::account_problem, 0ms, "insufficient balance"
        );
        auto st = co_await status_of(store, "broke");
        CO_ASSERT_TRUE(st);
        EXPECT_EQ(st->disabled_reason, "insufficient balance");

        const auto both = rank_of({"broke", "fine"}, 0.2);
        for (int i = 0; i < 3; ++i) {
            auto r = co_await store.claim_next("film", both);
            CO_ASSERT_TRUE(r.claimed);
            EXPECT_EQ(r.claimed->job.account, "fine");
        }
        const auto only_broke = rank_of({"broke"}, 0.2);
        auto none = co_await store.claim_next("film", only_broke);
        EXPECT_FALSE(none.claimed);
        EXPECT_FALSE(none.retry_in_s) << "no time at which it would be usable";

        co_await store.sync_accounts(accounts, std::nullopt);
        st = co_await status_of(store, "broke");
        CO_ASSERT_TRUE(st);
        EXPECT_FALSE(st->disabled_reason);
        auto back = co_await store.claim_next("film", only_broke);
        CO_ASSERT_TRUE(back.claimed);
        EXPECT_EQ(back.claimed->job.account, "broke");
    });
}

// ---- 8. migration 0003 over existing attempts -------------------------------------------------

TEST(SchedulerMigration, Migration3CountsTheAttemptsAlreadyMade) {
    const auto conninfo = shotfarm::testing::fresh_database();
    const auto& all = jobs::schema_migrations();
    ASSERT_GE(all.size(), 3u);
    ASSERT_EQ(all[2].version, 3);
    const std::vector<pg::migration> first_two(all.begin(), all.begin() + 2);
    EXPECT_EQ(pg::migrate(conninfo, first_two), 2);

    run_coro([&]() -> asio::awaitable<void> {
        pg::pool pool(co_await asio::this_coro::executor, conninfo, 2);
        co_await sql(
            pool,
            "INSERT INTO shots (project, shot_id, spec, spec_hash, source_file) VALUES "
            "('p1', 's1', '{}', 'h1', '/l/p1.yaml'), ('p1', 's2', '{}', 'h2', '/l/p1.yaml'), "
            "('p2', 's1', '{}', 'h3', '/l/p2.yaml')"
        );
        co_await sql(
            pool,
            "INSERT INTO jobs (id, project, shot_id, take, model, mode, duration_s, prompt, state) "
            "VALUES (1, 'p1', 's1', 1, 'm', 't2v', 6, 'x', 'running'), "
            "(2, 'p1', 's2', 1, 'm', 't2v', 6, 'x', 'submitting'), "
            "(3, 'p2', 's1', 1, 'm', 't2v', 6, 'x', 'held')"
        );
        // Two UTC days for account a: 23:59:59 and 00:00:01.
        co_await sql(
            pool,
            "INSERT INTO attempts (job_id, lease_epoch, account, provider, provider_model, "
            "price_usd, outcome, started_at) VALUES "
            "(1, 1, 'a', 'atlas', 'm', 0.28, 'rejected', '2026-03-01 23:50:00+00'), "
            "(1, 2, 'a', 'atlas', 'm', 0.28, 'accepted', '2026-03-01 23:59:59+00'), "
            "(2, 1, 'b', 'atlas', 'm', 0.50, 'not_sent', '2026-03-02 00:00:00+00'), "
            "(2, 2, 'b', 'atlas', 'm', 0.27, 'pending',  '2026-03-02 00:00:01+00'), "
            "(3, 1, 'a', 'atlas', 'm', 0.10, 'ambiguous', '2026-03-02 00:00:01+00')"
        );
    }());

    // Migrated by a session in another time zone: days are still UTC days.
    EXPECT_EQ(
        pg::migrate(conninfo + " options='-c TimeZone=America/New_York'", all),
        static_cast<int>(all.size()) - 2
    );

    run_coro([&]() -> asio::awaitable<void> {
        pg::pool pool(co_await asio::this_coro::executor, conninfo, 2);
        jobs::job_store store(pool, "testhost-a:1:a", 60s);
        std::map<std::string, money> got;
        const auto rows = co_await store.budgets();
        for (const auto& b : rows) {
            got[b.scope] = money{b.spent_usd, b.reserved_usd};
            EXPECT_FALSE(b.cap_usd) << b.scope;
        }
        const std::map<std::string, money> want{
            {"account/a/2026-03-01", {0.28, 0}},
            {"account/a/2026-03-02", {0.10, 0}},
            {"account/b/2026-03-02", {0, 0.27}},
            {"batch/p1", {0.28, 0.27}},
            {"batch/p2", {0.10, 0}},
            {"global", {0.38, 0.27}}};
        EXPECT_EQ(got.size(), want.size());
        for (const auto& [scope, m] : want) {
            CO_ASSERT_TRUE(got.count(scope) == 1);
            EXPECT_NEAR(got[scope].spent, m.spent, 1e-9) << scope;
            EXPECT_NEAR(got[scope].reserved, m.reserved, 1e-9) << scope;
        }
        EXPECT_EQ(
            co_await count(pool, "SELECT count(*) FROM batches WHERE project IN ('p1', 'p2')"), 2
        );
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM attempts WHERE project IS NULL"), 0);
        EXPECT_EQ(
            co_await count(
                pool,
                "SELECT count(*) FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE a.project <> "
                "j.project"
            ),
            0
        );

        // The trigger carries on from the migrated counters: the pending one is accepted.
        co_await sql(pool, "UPDATE attempts SET outcome = 'accepted' WHERE outcome = 'pending'");
        auto b = co_await budget_of(store, "account/b/2026-03-02");
        CO_ASSERT_TRUE(b);
        EXPECT_NEAR(b->spent_usd, 0.27, 1e-9);
        EXPECT_NEAR(b->reserved_usd, 0, 1e-9);
        auto g = co_await budget_of(store, "global");
        CO_ASSERT_TRUE(g);
        EXPECT_NEAR(g->spent_usd, 0.65, 1e-9);
        EXPECT_NEAR(g->reserved_usd, 0, 1e-9);
    }());
    EXPECT_EQ(pg::migrate(conninfo, all), 0);
}

}  // namespace
