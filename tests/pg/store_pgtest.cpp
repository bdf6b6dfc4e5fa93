// jobs::job_store against a real PostgreSQL: ingest (idempotent, all-or-nothing conflicts),
// claiming (order, due time, choose callback, SKIP LOCKED under two concurrent claimers), the
// Phase B / download transitions with lease-epoch fencing, recovery of a dead owner's jobs,
// and the read side (spend, state counts, due time, jobs_of).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <type_traits>
#include <unistd.h>
#include <vector>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "jobs/engine/migrations.hpp"
#include "jobs/engine/store.hpp"
#include "jobs/shotlist.hpp"
#include "pg/migrate.hpp"
#include "pg/pool.hpp"
#include "tests/pg/store_testing.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/run_coro.hpp"

namespace {

namespace asio = boost::asio;
namespace pg = shotfarm::pg;
namespace jobs = shotfarm::jobs;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using namespace shotfarm::testing::store_tests;
using jobs::job_state;
using shotfarm::testing::run_coro;

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        conninfo_ = shotfarm::testing::fresh_database();
        pg::migrate(conninfo_, jobs::schema_migrations());
    }

    // Runs body(pool, store) on a fresh io_context; the store's owner is owner_.
    template <class Body>
    void run(Body body) {
        run_coro([&]() -> asio::awaitable<void> {
            pg::pool pool(co_await asio::this_coro::executor, conninfo_, 4);
            jobs::job_store store(pool, owner_, 60s);
            co_await body(pool, store);
        }());
    }

    std::string conninfo_;
    std::string owner_ = "testhost-a:1:a";
};

// ---- ingest -----------------------------------------------------------------------------------

TEST_F(StoreTest, IngestAddsShotsAndOneQueuedJobPerTake) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        auto still = make_shot("s1", 3, 2);
        auto moving = make_shot("s2");
        moving.image = "https://cdn.example/first.png";
        moving.resolution = "768p";
        moving.provider = "atlas";
        moving.account = "main";
        std::vector<jobs::shot> shots{still, moving};
        auto list = make_list(shots);

        auto res = co_await store.ingest(list);
        EXPECT_TRUE(res.conflicts.empty());
        EXPECT_EQ(res.shots_added, 2);
        EXPECT_EQ(res.shots_unchanged, 0);
        EXPECT_EQ(res.jobs_added, 4);

        auto all = co_await store.jobs_of(project);
        CO_ASSERT_TRUE(all.size() == 4u);
        const std::vector<std::string> ingested{"->queued"};
        for (int take = 1; take <= 3; ++take) {
            const auto& j = all[static_cast<std::size_t>(take - 1)];
            EXPECT_EQ(j.shot_id, "s1");
            EXPECT_EQ(j.take, take);
            EXPECT_EQ(j.state, job_state::queued);
            EXPECT_EQ(j.priority, 2);
            EXPECT_EQ(j.mode, "t2v");
            EXPECT_EQ(j.prompt, still.prompt);
            EXPECT_EQ(j.lease_epoch, 0);
            EXPECT_EQ(j.attempts, 0);
            EXPECT_FALSE(j.image);
            EXPECT_EQ(co_await events_of(pool, j.id), ingested);
        }
        const auto& m = all[3];
        EXPECT_EQ(m.shot_id, "s2");
        EXPECT_EQ(m.mode, "i2v");
        EXPECT_EQ(m.image, "https://cdn.example/first.png");
        EXPECT_EQ(m.resolution, "768p");
        EXPECT_EQ(m.pin_provider, "atlas");
        EXPECT_EQ(m.pin_account, "main");
        EXPECT_EQ(m.ref(), "film/s2/t01");

        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM shots"), 2);
        auto src = co_await sql(pool, "SELECT DISTINCT source_file FROM shots");
        CO_ASSERT_TRUE(src.rows() == 1);
        EXPECT_EQ(src.get(0, 0), "/srv/lists/film.yaml");
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM job_events"), 4);
    });
}

TEST_F(StoreTest, IngestingTheSameListAgainAddsNothing) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1", 2), make_shot("s2")};
        auto list = make_list(shots);
        auto first = co_await store.ingest(list);
        EXPECT_EQ(first.jobs_added, 3);

        // Priority is not part of the spec hash: re-prioritising a list is not a conflict.
        list.shots[0].priority = 9;
        auto again = co_await store.ingest(list);
        EXPECT_TRUE(again.conflicts.empty());
        EXPECT_EQ(again.shots_added, 0);
        EXPECT_EQ(again.shots_unchanged, 2);
        EXPECT_EQ(again.jobs_added, 0);
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM jobs"), 3);
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM shots"), 2);
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM job_events"), 3);
    });
}

TEST_F(StoreTest, IngestOfAChangedShotIsAConflictAndStoresNothingOfThatList) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> v1{make_shot("s1"), make_shot("s2")};
        auto original = make_list(v1);
        co_await store.ingest(original);

        auto changed = make_shot("s1", 1, 0, 7);
        changed.prompt = "a lighthouse at dawn";
        changed.spec_hash = "hash-s1-v2";
        std::vector<jobs::shot> v2{make_shot("s2"), changed, make_shot("s3", 2)};
        auto second = make_list(v2);
        second.file = "/srv/lists/film-v2.yaml";

        auto res = co_await store.ingest(second);
        CO_ASSERT_TRUE(res.conflicts.size() == 1u);
        const auto& d = res.conflicts[0];
        EXPECT_EQ(d.file, "/srv/lists/film-v2.yaml");
        EXPECT_EQ(d.line, 7);
        EXPECT_EQ(d.col, 3);
        EXPECT_NE(d.message.find("'s1'"), std::string::npos) << d.message;
        EXPECT_NE(d.message.find("/srv/lists/film.yaml"), std::string::npos) << d.message;
        EXPECT_EQ(res.jobs_added, 0);
        EXPECT_EQ(res.shots_added, 0);

        // Not even the new, unrelated s3 made it in.
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM shots"), 2);
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM jobs"), 2);
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM shots WHERE shot_id = 's3'"), 0);
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM job_events"), 2);
        auto spec =
            co_await sql(pool, "SELECT spec->>'prompt', spec_hash FROM shots WHERE shot_id = 's1'");
        EXPECT_EQ(spec.get(0, 0), original.shots[0].prompt);
        EXPECT_EQ(spec.get(0, 1), "hash-s1-v1-t1");
    });
}

TEST_F(StoreTest, IngestOfMoreTakesForAnIngestedShotIsAConflict) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> one{make_shot("s1", 1)};
        auto first = make_list(one);
        co_await store.ingest(first);
        std::vector<jobs::shot> three{make_shot("s1", 3, 0, 4)};  // its spec_hash covers takes
        auto more = make_list(three);
        auto res = co_await store.ingest(more);
        CO_ASSERT_TRUE(res.conflicts.size() == 1u);
        EXPECT_EQ(res.conflicts[0].line, 4);
        EXPECT_EQ(res.jobs_added, 0);
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM jobs WHERE shot_id = 's1'"), 1);
    });
}

// ---- claim_for_submit -------------------------------------------------------------------------

TEST_F(StoreTest, ClaimOrderIsPriorityThenDueTimeThenId) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        // Ingested in this order, so ids are a < b < c < d.
        std::vector<jobs::shot> shots{
            make_shot("a"), make_shot("b", 1, 5), make_shot("c"), make_shot("d")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        // a is due later than c and d; c and d are due at the same instant (one statement).
        co_await sql(
            pool,
            "UPDATE jobs SET next_attempt_at = now() - interval '10 seconds' WHERE shot_id = 'a'"
        );
        co_await sql(
            pool,
            "UPDATE jobs SET next_attempt_at = now() - interval '20 seconds' "
            "WHERE shot_id IN ('d', 'c')"
        );
        const auto pick = always("acc-a");
        std::vector<std::string> order;
        for (int i = 0; i < 10; ++i) {
            auto claimed = co_await store.claim_for_submit(project, pick);
            if (!claimed) {
                break;
            }
            order.push_back(claimed->job.shot_id);
        }
        const std::vector<std::string> want{"b", "c", "d", "a"};
        EXPECT_EQ(order, want);
    });
}

TEST_F(StoreTest, ClaimSkipsJobsThatAreNotDueOrNotClaimable) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{
            make_shot("later", 1, 9), make_shot("busy", 1, 8), make_shot("now")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        std::vector<jobs::shot> elsewhere{make_shot("elsewhere", 1, 9)};
        auto other = make_list(elsewhere, "other-project");
        co_await store.ingest(other);
        co_await force(
            pool,
            "UPDATE jobs SET state = 'retry_wait', next_attempt_at = now() + interval '1 hour' "
            "WHERE shot_id = 'later'"
        );
        co_await force(pool, "UPDATE jobs SET state = 'running' WHERE shot_id = 'busy'");

        const auto pick = always("acc-a");
        auto claimed = co_await store.claim_for_submit(project, pick);
        CO_ASSERT_TRUE(claimed);
        EXPECT_EQ(claimed->job.shot_id, "now");
        EXPECT_FALSE(co_await store.claim_for_submit(project, pick));

        // Once due, the retry_wait job is claimable.
        co_await sql(pool, "UPDATE jobs SET next_attempt_at = now() WHERE shot_id = 'later'");
        auto later = co_await store.claim_for_submit(project, pick);
        CO_ASSERT_TRUE(later);
        EXPECT_EQ(later->job.shot_id, "later");
        auto events = co_await events_of(pool, later->job.id);
        EXPECT_EQ(events.back(), "retry_wait>submitting");
        EXPECT_FALSE(co_await store.claim_for_submit(project, pick));
        EXPECT_EQ(
            co_await count(
                pool,
                "SELECT count(*) FROM jobs WHERE project = 'other-project' AND state = 'queued'"
            ),
            1
        );
    });
}

TEST_F(StoreTest, ClaimSkipsJobsTheChooserDeclines) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("pinned", 1, 5), make_shot("free")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        std::vector<std::string> asked;
        const chooser pick = [&asked](const jobs::job_record& j
                             ) -> std::optional<jobs::account_choice> {
            asked.push_back(j.shot_id);
            if (j.shot_id == "pinned") {
                return std::nullopt;  // e.g. its pinned account is out of budget
            }
            return jobs::account_choice{"acc-b", "atlas", "minimax/hailuo-02/standard", 0.27};
        };
        auto claimed = co_await store.claim_for_submit(project, pick);
        CO_ASSERT_TRUE(claimed);
        EXPECT_EQ(claimed->job.shot_id, "free");
        const std::vector<std::string> want_asked{"pinned", "free"};
        EXPECT_EQ(asked, want_asked);

        auto all = co_await store.jobs_of(project);
        const auto pinned = id_of(all, "pinned");
        EXPECT_EQ(co_await job_field(pool, pinned, "state"), "queued");
        EXPECT_EQ(co_await job_field(pool, pinned, "lease_epoch"), "0");
        EXPECT_EQ(co_await job_field(pool, pinned, "attempts"), "0");
        EXPECT_EQ(co_await job_field(pool, pinned, "account"), std::nullopt);
        auto p = params_of(pinned);
        EXPECT_EQ(
            co_await count(pool, "SELECT count(*) FROM attempts WHERE job_id = $1::bigint", p), 0
        );
        auto pinned_events = co_await events_of(pool, pinned);
        EXPECT_EQ(pinned_events.size(), 1u);

        // Declining everything claims nothing.
        const chooser none = [](const jobs::job_record&) -> std::optional<jobs::account_choice> {
            return std::nullopt;
        };
        EXPECT_FALSE(co_await store.claim_for_submit(project, none));
    });
}

TEST_F(StoreTest, ClaimMovesToSubmittingBumpsTheEpochAndReservesAPendingAttempt) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        const auto pick = always("acc-a", 0.28);
        auto claimed = co_await store.claim_for_submit(project, pick);
        CO_ASSERT_TRUE(claimed);
        const auto& job = claimed->job;
        EXPECT_EQ(job.state, job_state::submitting);
        EXPECT_EQ(job.lease_epoch, 1);
        EXPECT_EQ(job.attempts, 1);
        EXPECT_EQ(job.account, "acc-a");
        EXPECT_EQ(job.provider, "atlas");
        EXPECT_EQ(job.provider_model, "minimax/hailuo-02/standard");
        EXPECT_DOUBLE_EQ(job.price_usd, 0.28);

        EXPECT_EQ(co_await job_field(pool, job.id, "state"), "submitting");
        EXPECT_EQ(co_await job_field(pool, job.id, "lease_epoch"), "1");
        EXPECT_EQ(co_await job_field(pool, job.id, "attempts"), "1");
        EXPECT_EQ(co_await job_field(pool, job.id, "lease_owner"), "testhost-a:1:a");
        EXPECT_EQ(co_await job_field(pool, job.id, "price_usd"), "0.2800");
        const double lease_left = co_await seconds_from_now(pool, job.id, "lease_expires_at");
        EXPECT_GT(lease_left, 50);
        EXPECT_LE(lease_left, 60.5);

        const auto a = claimed->attempt_id;
        EXPECT_EQ(co_await attempt_field(pool, a, "job_id"), std::to_string(job.id));
        EXPECT_EQ(co_await attempt_field(pool, a, "outcome"), "pending");
        EXPECT_EQ(co_await attempt_field(pool, a, "lease_epoch"), "1");
        EXPECT_EQ(co_await attempt_field(pool, a, "account"), "acc-a");
        EXPECT_EQ(co_await attempt_field(pool, a, "provider_model"), "minimax/hailuo-02/standard");
        EXPECT_EQ(co_await attempt_field(pool, a, "price_usd"), "0.2800");
        EXPECT_EQ(co_await attempt_field(pool, a, "provider_job_id"), std::nullopt);
        EXPECT_EQ(co_await attempt_field(pool, a, "finished_at"), std::nullopt);

        const std::vector<std::string> want{"->queued", "queued>submitting"};
        EXPECT_EQ(co_await events_of(pool, job.id), want);
        auto p = params_of(job.id);
        auto detail = co_await sql(
            pool,
            "SELECT detail FROM job_events WHERE job_id = $1::bigint ORDER BY id DESC LIMIT 1",
            p
        );
        EXPECT_EQ(detail.get(0, 0), "account acc-a");
        EXPECT_FALSE(co_await store.claim_for_submit(project, pick));
    });
}

// Claims until no queued job is left. A nullopt while the other claimer still holds row locks
// (SKIP LOCKED hides those rows) is not the end: re-check the queue and try again.
asio::awaitable<std::vector<std::int64_t>> claim_all(
    jobs::job_store& store, pg::pool& pool, std::string account
) {
    const auto pick = always(account);
    std::vector<std::int64_t> got;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
        auto claimed = co_await store.claim_for_submit(project, pick);
        if (claimed) {
            got.push_back(claimed->job.id);
            continue;
        }
        if (co_await count(pool, "SELECT count(*) FROM jobs WHERE state = 'queued'") == 0) {
            break;
        }
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    }
    co_return got;
}

TEST_F(StoreTest, TwoConcurrentClaimersNeverClaimTheSameJob) {
    constexpr int n = 70;  // more than the 32 rows one claim locks
    run_coro([&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        pg::pool pool_a(ex, conninfo_, 2);
        pg::pool pool_b(ex, conninfo_, 2);
        jobs::job_store store_a(pool_a, "host-a:1:a", 60s);
        jobs::job_store store_b(pool_b, "host-b:2:b", 60s);
        std::vector<jobs::shot> shots;
        for (int i = 0; i < n; ++i) {
            shots.push_back(make_shot("s" + std::to_string(1000 + i), 1, i % 3));
        }
        auto list = make_list(std::move(shots));
        co_await store_a.ingest(list);

        auto [got_a, got_b] =
            co_await (claim_all(store_a, pool_a, "acc-a") && claim_all(store_b, pool_b, "acc-b"));
        std::set<std::int64_t> all(got_a.begin(), got_a.end());
        all.insert(got_b.begin(), got_b.end());
        EXPECT_EQ(got_a.size() + got_b.size(), static_cast<std::size_t>(n));
        EXPECT_EQ(all.size(), static_cast<std::size_t>(n)) << "a job was claimed twice";
        // A double claim would also show as a second epoch bump or a second attempt row.
        EXPECT_EQ(
            co_await count(
                pool_a,
                "SELECT count(*) FROM jobs WHERE state = 'submitting' AND lease_epoch = 1 "
                "AND attempts = 1"
            ),
            n
        );
        EXPECT_EQ(co_await count(pool_a, "SELECT count(DISTINCT job_id) FROM attempts"), n);
        EXPECT_EQ(co_await count(pool_a, "SELECT count(*) FROM attempts"), n);
        // Each claimer's rows carry its own owner and account.
        auto owners = co_await sql(
            pool_a,
            "SELECT count(*) FILTER (WHERE lease_owner = 'host-a:1:a' AND account = 'acc-a'), "
            "count(*) FILTER (WHERE lease_owner = 'host-b:2:b' AND account = 'acc-b') FROM jobs"
        );
        EXPECT_EQ(owners.get_int(0, 0), static_cast<std::int64_t>(got_a.size()));
        EXPECT_EQ(owners.get_int(0, 1), static_cast<std::int64_t>(got_b.size()));
        std::cout << "claimer a: " << got_a.size() << " jobs, claimer b: " << got_b.size() << "\n";
    }());
}

// ---- Phase B: record_accepted -----------------------------------------------------------------

TEST_F(StoreTest, RecordAcceptedMovesToRunningAndReplayingItIsANoOp) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        const auto pick = always("acc-a");
        auto claimed = co_await store.claim_for_submit(project, pick);
        CO_ASSERT_TRUE(claimed);
        const auto job = claimed->job;
        const auto attempt = claimed->attempt_id;
        const std::string pred = "pred-123";

        EXPECT_TRUE(co_await store.record_accepted(job, attempt, pred));
        EXPECT_EQ(co_await job_field(pool, job.id, "state"), "running");
        EXPECT_EQ(co_await job_field(pool, job.id, "provider_job_id"), "pred-123");
        EXPECT_NE(co_await job_field(pool, job.id, "accepted_at"), std::nullopt);
        EXPECT_EQ(co_await attempt_field(pool, attempt, "outcome"), "accepted");
        EXPECT_EQ(co_await attempt_field(pool, attempt, "provider_job_id"), "pred-123");
        EXPECT_NE(co_await attempt_field(pool, attempt, "finished_at"), std::nullopt);
        const std::vector<std::string> want{"->queued", "queued>submitting", "submitting>running"};
        EXPECT_EQ(co_await events_of(pool, job.id), want);

        auto all = co_await store.jobs_of(project);
        CO_ASSERT_TRUE(all.size() == 1u);
        EXPECT_EQ(all[0].state, job_state::running);
        EXPECT_EQ(all[0].provider_job_id, "pred-123");
        EXPECT_EQ(all[0].billed_attempts, 1);

        // Replaying Phase B (after a COMMIT whose outcome was unknown) changes nothing, and
        // says the write is done.
        EXPECT_TRUE(co_await store.record_accepted(job, attempt, pred));
        EXPECT_EQ(co_await events_of(pool, job.id), want);
        EXPECT_EQ(co_await job_field(pool, job.id, "state"), "running");
    });
}

TEST_F(StoreTest, RecordAcceptedAfterATakeoverIsFencedButTheAttemptKeepsTheId) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        const auto pick = always("acc-a");
        auto claimed = co_await store.claim_for_submit(project, pick);
        CO_ASSERT_TRUE(claimed);
        const auto job = claimed->job;
        // Another daemon took the job over while our POST was in flight.
        auto p = params_of(job.id);
        co_await sql(
            pool,
            "UPDATE jobs SET lease_epoch = lease_epoch + 1, lease_owner = 'host-b:2:b', "
            "lease_expires_at = now() + interval '1 hour' WHERE id = $1::bigint",
            p
        );
        const std::string pred = "pred-9";
        EXPECT_FALSE(co_await store.record_accepted(job, claimed->attempt_id, pred));

        EXPECT_EQ(co_await job_field(pool, job.id, "state"), "submitting");
        EXPECT_EQ(co_await job_field(pool, job.id, "provider_job_id"), std::nullopt);
        EXPECT_EQ(co_await job_field(pool, job.id, "accepted_at"), std::nullopt);
        EXPECT_EQ(co_await job_field(pool, job.id, "lease_epoch"), "2");
        EXPECT_EQ(co_await job_field(pool, job.id, "lease_owner"), "host-b:2:b");
        const std::vector<std::string> want{"->queued", "queued>submitting"};
        EXPECT_EQ(co_await events_of(pool, job.id), want);
        // The paid job is not orphaned: the attempt row has its id ...
        EXPECT_EQ(co_await attempt_field(pool, claimed->attempt_id, "outcome"), "accepted");
        EXPECT_EQ(co_await attempt_field(pool, claimed->attempt_id, "provider_job_id"), "pred-9");

        // ... so whoever recovers the job next adopts it instead of paying again.
        co_await sql(pool, "UPDATE jobs SET lease_expires_at = now() - interval '1 second'");
        jobs::job_store other(pool, "host-b:2:b2", 60s);
        std::string proj = project;
        auto rec = co_await other.recover(proj, false);
        EXPECT_EQ(rec.adopted, 1);
        EXPECT_EQ(rec.ambiguous, 0);
        CO_ASSERT_TRUE(rec.resume.size() == 1u);
        EXPECT_EQ(rec.resume[0].state, job_state::running);
        EXPECT_EQ(rec.resume[0].provider_job_id, "pred-9");
        EXPECT_EQ(rec.resume[0].lease_epoch, 3);
        EXPECT_EQ(co_await job_field(pool, job.id, "state"), "running");
        EXPECT_EQ(co_await job_field(pool, job.id, "provider_job_id"), "pred-9");
    });
}

// ---- record_submit_failure --------------------------------------------------------------------

struct submit_failure_case {
    jobs::attempt_outcome outcome;
    unsigned http_status;
    job_state to;
    std::chrono::milliseconds delay;
    const char* error_class;
    const char* outcome_name;
};

TEST_F(StoreTest, RecordSubmitFailureSettlesTheAttemptAndMovesTheJob) {
    const std::vector<submit_failure_case> cases{
        {jobs::attempt_outcome::rejected,
         429,
         job_state::retry_wait,
         30s,
         "rate_limited",
         "rejected"},
        {jobs::attempt_outcome::not_sent, 0, job_state::retry_wait, 2500ms, "connect", "not_sent"},
        {jobs::attempt_outcome::ambiguous,
         502,
         job_state::retry_wait,
         0ms,
         "ambiguous",
         "ambiguous"},
        {jobs::attempt_outcome::ambiguous, 0, job_state::held, 0ms, "ambiguous", "ambiguous"},
        {jobs::attempt_outcome::rejected,
         400,
         job_state::failed,
         0ms,
         "rejected_input",
         "rejected"},
        {jobs::attempt_outcome::not_sent, 0, job_state::queued, 0ms, "account", "not_sent"},
    };
    run([&cases](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const auto& c = cases[i];
            const std::string proj = "p" + std::to_string(i);
            SCOPED_TRACE(proj + " -> " + std::string(jobs::to_string(c.to)));
            std::vector<jobs::shot> shots{make_shot("s1")};
            auto list = make_list(shots, proj);
            co_await store.ingest(list);
            const auto pick = always("acc-a");
            auto claimed = co_await store.claim_for_submit(proj, pick);
            CO_ASSERT_TRUE(claimed);
            const auto job = claimed->job;
            const auto a = claimed->attempt_id;
            const std::string message = "provider said no (" + std::to_string(i) + ")";

            EXPECT_TRUE(co_await store.record_submit_failure(
                job, a, c.outcome, c.http_status, message, c.to, c.delay, c.error_class
            ));

            EXPECT_EQ(co_await attempt_field(pool, a, "outcome"), c.outcome_name);
            const std::optional<std::string> status =
                c.http_status ? std::optional<std::string>(std::to_string(c.http_status))
                              : std::nullopt;
            EXPECT_EQ(co_await attempt_field(pool, a, "http_status"), status);
            EXPECT_EQ(co_await attempt_field(pool, a, "message"), message);
            EXPECT_NE(co_await attempt_field(pool, a, "finished_at"), std::nullopt);

            EXPECT_EQ(
                co_await job_field(pool, job.id, "state"), std::string(jobs::to_string(c.to))
            );
            EXPECT_EQ(co_await job_field(pool, job.id, "error"), message);
            EXPECT_EQ(co_await job_field(pool, job.id, "error_class"), c.error_class);
            EXPECT_EQ(co_await job_field(pool, job.id, "retries"), "1");
            const bool failed = c.to == job_state::failed;
            EXPECT_EQ(co_await job_field(pool, job.id, "finished_at") != std::nullopt, failed);
            const double due_in = co_await seconds_from_now(pool, job.id, "next_attempt_at");
            const double delay_s = static_cast<double>(c.delay.count()) / 1000.0;
            EXPECT_LE(due_in, delay_s + 0.001);
            EXPECT_GT(due_in, delay_s - 5);

            auto events = co_await events_of(pool, job.id);
            EXPECT_EQ(events.back(), "submitting>" + std::string(jobs::to_string(c.to)));
            auto p = params_of(job.id);
            auto detail = co_await sql(
                pool,
                "SELECT detail FROM job_events WHERE job_id = $1::bigint ORDER BY id DESC LIMIT 1",
                p
            );
            EXPECT_EQ(detail.get(0, 0), std::string(c.error_class) + ": " + message);

            // Claimable again only when due and not parked.
            auto again = co_await store.claim_for_submit(proj, pick);
            const bool claimable_now =
                (c.to == job_state::retry_wait && c.delay == 0ms) || c.to == job_state::queued;
            EXPECT_EQ(again.has_value(), claimable_now);
            if (again) {
                EXPECT_EQ(again->job.lease_epoch, 2);
                EXPECT_EQ(again->job.attempts, 2);
                EXPECT_NE(again->attempt_id, a);
            }
            if (c.to == job_state::retry_wait && c.delay > 0ms) {
                auto due = co_await store.seconds_until_due(proj);
                CO_ASSERT_TRUE(due);
                EXPECT_GT(*due, delay_s - 5);
                EXPECT_LE(*due, delay_s + 0.001);
            }
        }
    });
}

TEST_F(StoreTest, RecordSubmitFailureWithAStaleEpochChangesNothing) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        const auto pick = always("acc-a");
        auto claimed = co_await store.claim_for_submit(project, pick);
        CO_ASSERT_TRUE(claimed);
        const auto job = claimed->job;
        auto p = params_of(job.id);
        co_await sql(
            pool, "UPDATE jobs SET lease_epoch = lease_epoch + 1 WHERE id = $1::bigint", p
        );

        const std::string message = "429";
        EXPECT_FALSE(co_await store.record_submit_failure(
            job,
            claimed->attempt_id,
            jobs::attempt_outcome::rejected,
            429,
            message,
            job_state::retry_wait,
            10s,
            "rate_limited"
        ));
        EXPECT_EQ(co_await job_field(pool, job.id, "state"), "submitting");
        EXPECT_EQ(co_await job_field(pool, job.id, "retries"), "0");
        EXPECT_EQ(co_await job_field(pool, job.id, "error"), std::nullopt);
        EXPECT_EQ(co_await job_field(pool, job.id, "lease_epoch"), "2");
        const std::vector<std::string> want{"->queued", "queued>submitting"};
        EXPECT_EQ(co_await events_of(pool, job.id), want);
    });
}

// The realistic takeover: a new owner recovered the job (the attempt became ambiguous) and
// submitted again. The old owner's late failure report must not touch either attempt or the job.
TEST_F(StoreTest, AFencedOutOwnerCannotSettleAttemptsOrMoveTheJobAfterRecovery) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        const auto pick = always("acc-a");
        auto old_claim = co_await store.claim_for_submit(project, pick);
        CO_ASSERT_TRUE(old_claim);
        // Its POST left (then the owner stalled past its lease).
        EXPECT_TRUE(co_await store.mark_sent(old_claim->job, old_claim->attempt_id));
        co_await sql(pool, "UPDATE jobs SET lease_expires_at = now() - interval '1 second'");

        jobs::job_store other(pool, "host-b:2:b", 60s);
        std::string proj = project;
        auto rec = co_await other.recover(proj, false);
        EXPECT_EQ(rec.ambiguous, 1);
        auto new_claim = co_await other.claim_for_submit(proj, pick);
        CO_ASSERT_TRUE(new_claim);
        EXPECT_EQ(new_claim->job.lease_epoch, 3);
        const auto events_before = co_await events_of(pool, old_claim->job.id);

        const std::string message = "connection reset";
        EXPECT_FALSE(co_await store.record_submit_failure(
            old_claim->job,
            old_claim->attempt_id,
            jobs::attempt_outcome::not_sent,
            0,
            message,
            job_state::failed,
            0ms,
            "connect"
        ));
        EXPECT_EQ(co_await attempt_field(pool, old_claim->attempt_id, "outcome"), "ambiguous");
        EXPECT_EQ(co_await attempt_field(pool, new_claim->attempt_id, "outcome"), "pending");
        EXPECT_EQ(co_await job_field(pool, old_claim->job.id, "state"), "submitting");
        EXPECT_EQ(co_await job_field(pool, old_claim->job.id, "lease_owner"), "host-b:2:b");
        EXPECT_EQ(co_await job_field(pool, old_claim->job.id, "finished_at"), std::nullopt);
        EXPECT_EQ(co_await events_of(pool, old_claim->job.id), events_before);
    });
}

// The old owner's POST was accepted after the new owner had ruled it ambiguous (lease expired
// mid-request) but before the new owner resubmitted: the late id is adopted, not paid again.
TEST_F(StoreTest, ALateAcceptedIdAfterAnAmbiguousRulingIsAdoptedNotPaidAgain) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        const auto pick = always("acc-a");
        auto old_claim = co_await store.claim_for_submit(project, pick);
        CO_ASSERT_TRUE(old_claim);
        // Its POST left (then the owner stalled past its lease).
        EXPECT_TRUE(co_await store.mark_sent(old_claim->job, old_claim->attempt_id));
        co_await sql(pool, "UPDATE jobs SET lease_expires_at = now() - interval '1 second'");
        jobs::job_store other(pool, "host-b:2:b", 60s);
        std::string proj = project;
        auto rec = co_await other.recover(proj, false);
        EXPECT_EQ(rec.ambiguous, 1);
        EXPECT_EQ(co_await job_field(pool, old_claim->job.id, "state"), "retry_wait");

        const std::string pred = "pred-late";
        EXPECT_FALSE(co_await store.record_accepted(old_claim->job, old_claim->attempt_id, pred))
            << "still fenced: the job is not the old owner's any more";
        EXPECT_EQ(co_await job_field(pool, old_claim->job.id, "state"), "running");
        EXPECT_EQ(co_await job_field(pool, old_claim->job.id, "provider_job_id"), "pred-late");
        EXPECT_EQ(co_await attempt_field(pool, old_claim->attempt_id, "outcome"), "accepted");

        // Nothing is left to submit; the next recovery polls the adopted generation.
        auto again = co_await other.claim_for_submit(proj, pick);
        EXPECT_FALSE(again.has_value());
        jobs::job_store third(pool, "host-c:3:c", 60s);
        auto rec2 = co_await third.recover(proj, false);
        CO_ASSERT_TRUE(rec2.resume.size() == 1u);
        EXPECT_EQ(rec2.resume[0].state, job_state::running);
        EXPECT_EQ(rec2.resume[0].provider_job_id, "pred-late");
    });
}

// While running, a daemon also recovers its *own* in-flight jobs that no task works on any more
// (a step died on an exception), but never one a task of it is busy with.
TEST_F(StoreTest, RecoverOrphansTakesOurOwnIdleJobsButNotBusyOnes) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1"), make_shot("s2"), make_shot("s3")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        std::string proj = project;
        auto a = co_await to_running(store, proj, "pred-a");
        auto b = co_await to_running(store, proj, "pred-b");
        const auto pick = always("acc-a");
        auto c = co_await store.claim_for_submit(proj, pick);  // submitting, no id yet
        CO_ASSERT_TRUE(c);
        EXPECT_TRUE(co_await store.mark_sent(c->job, c->attempt_id));  // its POST left

        auto plain = co_await store.recover(proj, false);
        EXPECT_TRUE(plain.resume.empty()) << "recover() never takes our own live leases";
        EXPECT_EQ(plain.ambiguous, 0);

        std::vector<std::int64_t> busy{a.id};
        auto rec = co_await store.recover_orphans(proj, false, busy);
        CO_ASSERT_TRUE(rec.resume.size() == 1u);
        EXPECT_EQ(rec.resume[0].id, b.id);
        EXPECT_EQ(rec.resume[0].lease_epoch, b.lease_epoch + 1) << "re-claimed: a new epoch";
        EXPECT_EQ(rec.ambiguous, 1) << "the orphaned submit";
        CO_ASSERT_TRUE(rec.ambiguous_at.size() == 1u);
        EXPECT_EQ(rec.ambiguous_at[0].second, "acc-a");
        EXPECT_EQ(co_await job_field(pool, c->job.id, "state"), "retry_wait");
        EXPECT_EQ(co_await job_field(pool, a.id, "lease_epoch"), std::to_string(a.lease_epoch))
            << "the busy job was left alone";
    });
}

// ---- running / downloading transitions --------------------------------------------------------

TEST_F(StoreTest, HappyPathRunningToDownloadingToSucceeded) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        auto job = co_await to_running(store, project, "pred-1");

        const std::string url = "https://cdn.example/v.mp4";
        EXPECT_TRUE(co_await store.record_ready(job, url));
        EXPECT_EQ(co_await job_field(pool, job.id, "state"), "downloading");
        EXPECT_EQ(co_await job_field(pool, job.id, "video_url"), url);
        EXPECT_NE(co_await job_field(pool, job.id, "ready_at"), std::nullopt);
        job.state = job_state::downloading;

        const std::string path = "/srv/out/film/s1/t01.mp4";
        const std::string sha(64, 'a');
        EXPECT_TRUE(co_await store.record_downloaded(job, path, sha, 123456));
        EXPECT_EQ(co_await job_field(pool, job.id, "state"), "succeeded");
        EXPECT_EQ(co_await job_field(pool, job.id, "output_path"), path);
        EXPECT_EQ(co_await job_field(pool, job.id, "sha256"), sha);
        EXPECT_EQ(co_await job_field(pool, job.id, "bytes"), "123456");
        EXPECT_NE(co_await job_field(pool, job.id, "finished_at"), std::nullopt);
        const std::vector<std::string> want{
            "->queued",
            "queued>submitting",
            "submitting>running",
            "running>downloading",
            "downloading>succeeded"};
        EXPECT_EQ(co_await events_of(pool, job.id), want);

        // A replay of the last step finds it done (same epoch, already succeeded): success,
        // and nothing is written twice.
        EXPECT_TRUE(co_await store.record_downloaded(job, path, sha, 123456));
        EXPECT_EQ(co_await events_of(pool, job.id), want);
    });
}

TEST_F(StoreTest, TransitionsAreRefusedFromTheWrongStateOrWithAStaleEpoch) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("sub"), make_shot("run"), make_shot("dl")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        const auto pick = always("acc-a");
        auto submitting = co_await store.claim_for_submit(project, pick);
        CO_ASSERT_TRUE(submitting);
        auto running = co_await to_running(store, project, "pred-run");
        auto downloading = co_await to_downloading(store, project, "pred-dl");
        const auto sub = submitting->job;
        const std::string url = "https://cdn.example/x.mp4";
        const std::string msg = "nope";
        const std::string sha(64, 'b');
        const std::string path = "/srv/out/x.mp4";
        const auto events_before = co_await sql(pool, "SELECT count(*) FROM job_events");

        // Each operation only applies to the state it is documented for, even when the
        // caller's record matches the row.
        EXPECT_FALSE(co_await store.record_ready(sub, url));
        EXPECT_FALSE(co_await store.record_remote_failure(sub, job_state::failed, 0ms, msg, "x"));
        EXPECT_FALSE(co_await store.record_downloaded(sub, path, sha, 1));
        EXPECT_FALSE(co_await store.record_download_failure(sub, job_state::failed, msg));
        EXPECT_FALSE(co_await store.record_downloaded(running, path, sha, 1));
        EXPECT_FALSE(co_await store.record_download_failure(running, job_state::failed, msg));
        EXPECT_FALSE(co_await store.record_ready(downloading, url));
        EXPECT_FALSE(
            co_await store.record_remote_failure(downloading, job_state::failed, 0ms, msg, "x")
        );
        // ... and only to the targets it is documented for.
        EXPECT_FALSE(
            co_await store.record_remote_failure(running, job_state::succeeded, 0ms, msg, "x")
        );
        EXPECT_FALSE(co_await store.record_download_failure(downloading, job_state::succeeded, msg)
        );
        EXPECT_FALSE(co_await store.record_download_failure(downloading, job_state::queued, msg));
        const std::string sub_msg = "x";
        EXPECT_FALSE(co_await store.record_submit_failure(
            sub,
            submitting->attempt_id,
            jobs::attempt_outcome::rejected,
            400,
            sub_msg,
            job_state::succeeded,
            0ms,
            "x"
        ));
        EXPECT_EQ(co_await attempt_field(pool, submitting->attempt_id, "outcome"), "pending");

        // The caller's record says running but the row already moved on — to where this very
        // write would put it, under the caller's epoch: that is a replay, and it is success.
        auto stale_state = downloading;
        stale_state.state = job_state::running;
        EXPECT_TRUE(co_await store.record_ready(stale_state, url));
        EXPECT_FALSE(
            co_await store.record_remote_failure(stale_state, job_state::retry_wait, 1s, msg, "x")
        );

        // A takeover bumped the epochs: the old owner's writes are fenced out.
        co_await sql(
            pool, "UPDATE jobs SET lease_epoch = lease_epoch + 1 WHERE shot_id IN ('run', 'dl')"
        );
        EXPECT_FALSE(co_await store.record_ready(running, url));
        EXPECT_FALSE(
            co_await store.record_remote_failure(running, job_state::retry_wait, 1s, msg, "x")
        );
        EXPECT_FALSE(co_await store.record_downloaded(downloading, path, sha, 1));
        EXPECT_FALSE(co_await store.record_download_failure(downloading, job_state::running, msg));

        EXPECT_EQ(co_await job_field(pool, sub.id, "state"), "submitting");
        EXPECT_EQ(co_await job_field(pool, running.id, "state"), "running");
        EXPECT_EQ(co_await job_field(pool, downloading.id, "state"), "downloading");
        EXPECT_EQ(co_await job_field(pool, downloading.id, "retries"), "0");
        EXPECT_EQ(co_await job_field(pool, running.id, "error"), std::nullopt);
        auto events_after = co_await sql(pool, "SELECT count(*) FROM job_events");
        EXPECT_EQ(events_after.get_int(0, 0), events_before.get_int(0, 0)) << "no event rows";
    });
}

TEST_F(StoreTest, RemoteFailureMovesARunningJobOn) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("r1"), make_shot("r2"), make_shot("r3")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        auto retry = co_await to_running(store, project, "pred-1");
        auto fail = co_await to_running(store, project, "pred-2");
        auto hold = co_await to_running(store, project, "pred-3");
        const std::string msg = "generation failed: NSFW";

        EXPECT_TRUE(
            co_await store.record_remote_failure(retry, job_state::retry_wait, 45s, msg, "remote")
        );
        EXPECT_EQ(co_await job_field(pool, retry.id, "state"), "retry_wait");
        EXPECT_EQ(co_await job_field(pool, retry.id, "retries"), "1");
        EXPECT_EQ(co_await job_field(pool, retry.id, "error"), msg);
        EXPECT_EQ(co_await job_field(pool, retry.id, "error_class"), "remote");
        EXPECT_EQ(co_await job_field(pool, retry.id, "finished_at"), std::nullopt);
        const double due_in = co_await seconds_from_now(pool, retry.id, "next_attempt_at");
        EXPECT_GT(due_in, 40);
        EXPECT_LE(due_in, 45.001);
        auto events = co_await events_of(pool, retry.id);
        EXPECT_EQ(events.back(), "running>retry_wait");

        EXPECT_TRUE(co_await store.record_remote_failure(
            fail, job_state::failed, 0ms, msg, "rejected_input"
        ));
        EXPECT_EQ(co_await job_field(pool, fail.id, "state"), "failed");
        EXPECT_NE(co_await job_field(pool, fail.id, "finished_at"), std::nullopt);

        EXPECT_TRUE(co_await store.record_remote_failure(hold, job_state::held, 0ms, msg, "stuck"));
        EXPECT_EQ(co_await job_field(pool, hold.id, "state"), "held");
        EXPECT_EQ(co_await job_field(pool, hold.id, "finished_at"), std::nullopt);
    });
}

TEST_F(StoreTest, DownloadFailureRefreshesRetriesOrFails) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("d1"), make_shot("d2"), make_shot("d3")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        auto refresh = co_await to_downloading(store, project, "pred-1");
        auto retry = co_await to_downloading(store, project, "pred-2");
        auto fail = co_await to_downloading(store, project, "pred-3");
        const std::string msg = "HTTP 403 from CDN";

        EXPECT_TRUE(co_await store.record_download_failure(refresh, job_state::running, msg));
        EXPECT_EQ(co_await job_field(pool, refresh.id, "state"), "running");
        EXPECT_EQ(co_await job_field(pool, refresh.id, "error"), msg);
        EXPECT_EQ(co_await job_field(pool, refresh.id, "retries"), "1");
        // Back in running, the refreshed URL goes through record_ready again.
        refresh.state = job_state::running;
        const std::string url = "https://cdn.example/fresh.mp4";
        EXPECT_TRUE(co_await store.record_ready(refresh, url));
        EXPECT_EQ(co_await job_field(pool, refresh.id, "video_url"), url);

        EXPECT_TRUE(co_await store.record_download_failure(retry, job_state::downloading, msg));
        EXPECT_TRUE(co_await store.record_download_failure(retry, job_state::downloading, msg));
        EXPECT_EQ(co_await job_field(pool, retry.id, "state"), "downloading");
        EXPECT_EQ(co_await job_field(pool, retry.id, "retries"), "2");
        auto events = co_await events_of(pool, retry.id);
        EXPECT_EQ(events.back(), "downloading>downloading");

        EXPECT_TRUE(co_await store.record_download_failure(fail, job_state::failed, msg));
        EXPECT_EQ(co_await job_field(pool, fail.id, "state"), "failed");
        EXPECT_NE(co_await job_field(pool, fail.id, "finished_at"), std::nullopt);
    });
}

// ---- recover ----------------------------------------------------------------------------------

TEST_F(StoreTest, RecoverTurnsASubmitWithoutAnIdIntoAmbiguousPerPolicy) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1")};
        auto resubmit = make_list(shots, "resubmit");
        auto hold = make_list(shots, "hold");
        co_await store.ingest(resubmit);
        co_await store.ingest(hold);
        const auto pick = always("acc-a", 0.5);
        std::string p_resubmit = "resubmit";
        std::string p_hold = "hold";
        auto a = co_await store.claim_for_submit(p_resubmit, pick);
        auto b = co_await store.claim_for_submit(p_hold, pick);
        CO_ASSERT_TRUE(a && b);
        EXPECT_TRUE(co_await store.mark_sent(a->job, a->attempt_id));
        EXPECT_TRUE(co_await store.mark_sent(b->job, b->attempt_id));
        // The owner died after the POSTs left, before Phase B; its lease ran out.
        co_await sql(pool, "UPDATE jobs SET lease_expires_at = now() - interval '1 second'");

        jobs::job_store next(pool, "host-b:2:b", 60s);
        auto r1 = co_await next.recover(p_resubmit, false);
        EXPECT_EQ(r1.ambiguous, 1);
        EXPECT_EQ(r1.adopted, 0);
        EXPECT_TRUE(r1.resume.empty());
        EXPECT_EQ(co_await attempt_field(pool, a->attempt_id, "outcome"), "ambiguous");
        EXPECT_NE(co_await attempt_field(pool, a->attempt_id, "finished_at"), std::nullopt);
        EXPECT_EQ(co_await job_field(pool, a->job.id, "state"), "retry_wait");
        EXPECT_EQ(co_await job_field(pool, a->job.id, "error_class"), "ambiguous");
        EXPECT_EQ(co_await job_field(pool, a->job.id, "lease_epoch"), "2");
        EXPECT_EQ(co_await job_field(pool, a->job.id, "lease_owner"), "host-b:2:b");
        auto ev = co_await events_of(pool, a->job.id);
        EXPECT_EQ(ev.back(), "submitting>retry_wait");
        // The hold project was not touched by recovering the other project.
        EXPECT_EQ(co_await job_field(pool, b->job.id, "state"), "submitting");
        EXPECT_EQ(co_await attempt_field(pool, b->attempt_id, "outcome"), "pending");

        // Policy resubmit: due right away, claimed with a new epoch and a second attempt.
        auto again = co_await next.claim_for_submit(p_resubmit, pick);
        CO_ASSERT_TRUE(again);
        EXPECT_EQ(again->job.lease_epoch, 3);
        EXPECT_EQ(again->job.attempts, 2);
        EXPECT_EQ(again->job.billed_attempts, 1);  // the ambiguous one counts as spent

        auto r2 = co_await next.recover(p_hold, true);
        EXPECT_EQ(r2.ambiguous, 1);
        EXPECT_EQ(co_await job_field(pool, b->job.id, "state"), "held");
        EXPECT_EQ(co_await attempt_field(pool, b->attempt_id, "outcome"), "ambiguous");
        EXPECT_FALSE(co_await next.claim_for_submit(p_hold, pick));

        // Nothing left to recover: a second pass is a no-op.
        auto r3 = co_await next.recover(p_resubmit, false);
        EXPECT_EQ(r3.ambiguous + r3.adopted, 0);
        EXPECT_TRUE(r3.resume.empty());
    });
}

TEST_F(StoreTest, RecoverAdoptsASubmitWhoseProviderIdWasRecorded) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        const auto pick = always("acc-a");
        auto claimed = co_await store.claim_for_submit(project, pick);
        CO_ASSERT_TRUE(claimed);
        auto p = params_of(claimed->attempt_id);
        co_await sql(
            pool,
            "UPDATE attempts SET outcome = 'accepted', provider_job_id = 'pred-77' "
            "WHERE id = $1::bigint",
            p
        );
        co_await sql(pool, "UPDATE jobs SET lease_expires_at = now() - interval '1 second'");

        jobs::job_store next(pool, "host-b:2:b", 60s);
        std::string proj = project;
        auto rec = co_await next.recover(proj, true);
        EXPECT_EQ(rec.adopted, 1);
        EXPECT_EQ(rec.ambiguous, 0);
        CO_ASSERT_TRUE(rec.resume.size() == 1u);
        const auto& job = rec.resume[0];
        EXPECT_EQ(job.state, job_state::running);
        EXPECT_EQ(job.provider_job_id, "pred-77");
        EXPECT_EQ(job.lease_epoch, 2);
        EXPECT_EQ(co_await job_field(pool, job.id, "state"), "running");
        EXPECT_EQ(co_await job_field(pool, job.id, "provider_job_id"), "pred-77");
        EXPECT_NE(co_await job_field(pool, job.id, "accepted_at"), std::nullopt);
        EXPECT_EQ(co_await attempt_field(pool, claimed->attempt_id, "outcome"), "accepted");
        auto ev = co_await events_of(pool, job.id);
        EXPECT_EQ(ev.back(), "submitting>running");
        // The adopted record is usable by its new owner.
        const std::string url = "https://cdn.example/77.mp4";
        EXPECT_TRUE(co_await next.record_ready(job, url));
    });
}

TEST_F(StoreTest, RecoverResumesRunningAndDownloadingJobsWhoseLeaseExpired) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{
            make_shot("run"), make_shot("dl"), make_shot("live"), make_shot("idle")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        auto running = co_await to_running(store, project, "pred-run");
        auto downloading = co_await to_downloading(store, project, "pred-dl");
        auto live = co_await to_running(store, project, "pred-live");
        co_await sql(
            pool,
            "UPDATE jobs SET lease_expires_at = now() - interval '1 second' "
            "WHERE shot_id IN ('run', 'dl')"
        );

        jobs::job_store next(pool, "host-b:2:b", 60s);
        std::string proj = project;
        auto rec = co_await next.recover(proj, false);
        EXPECT_EQ(rec.adopted, 0);
        EXPECT_EQ(rec.ambiguous, 0);
        CO_ASSERT_TRUE(rec.resume.size() == 2u);
        std::map<std::string, jobs::job_record> by_shot;
        for (const auto& j : rec.resume) {
            by_shot[j.shot_id] = j;
        }
        CO_ASSERT_TRUE(by_shot.count("run") == 1 && by_shot.count("dl") == 1);
        EXPECT_EQ(by_shot["run"].state, job_state::running);
        EXPECT_EQ(by_shot["run"].lease_epoch, running.lease_epoch + 1);
        EXPECT_EQ(by_shot["run"].provider_job_id, "pred-run");
        EXPECT_EQ(by_shot["dl"].state, job_state::downloading);
        EXPECT_EQ(by_shot["dl"].video_url, downloading.video_url);
        EXPECT_EQ(co_await job_field(pool, running.id, "lease_owner"), "host-b:2:b");
        EXPECT_GT(co_await seconds_from_now(pool, running.id, "lease_expires_at"), 50);
        // The live lease and the queued job are left alone.
        EXPECT_EQ(co_await job_field(pool, live.id, "lease_owner"), "testhost-a:1:a");
        EXPECT_EQ(
            co_await job_field(pool, live.id, "lease_epoch"), std::to_string(live.lease_epoch)
        );
        EXPECT_EQ(
            co_await count(
                pool,
                "SELECT count(*) FROM jobs WHERE shot_id = 'idle' AND state = 'queued' AND "
                "lease_epoch = 0"
            ),
            1
        );

        // The old owner is fenced out; the new one carries on.
        const std::string url = "https://cdn.example/run.mp4";
        EXPECT_FALSE(co_await store.record_ready(running, url));
        EXPECT_TRUE(co_await next.record_ready(by_shot["run"], url));
        const std::string sha(64, 'c');
        const std::string path = "/srv/out/dl.mp4";
        EXPECT_FALSE(co_await store.record_downloaded(downloading, path, sha, 10));
        EXPECT_TRUE(co_await next.record_downloaded(by_shot["dl"], path, sha, 10));
        EXPECT_TRUE(co_await store.record_ready(live, url));
    });
}

TEST_F(StoreTest, RecoverTakesADeadLocalProcessesJobsButNotLiveOwners) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{
            make_shot("dead"), make_shot("alive"), make_shot("remote"), make_shot("mine")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        for (int i = 0; i < 4; ++i) {
            co_await to_running(store, project, "pred-" + std::to_string(i));
        }
        const std::string host = this_host();
        const std::string self = host + ":" + std::to_string(::getpid()) + ":self";
        const auto dead = host + ":" + std::to_string(dead_pid()) + ":x";
        const auto alive = host + ":" + std::to_string(::getpid()) + ":y";  // a live local process
        const std::string remote = "elsewhere.example:" + std::to_string(dead_pid()) + ":z";
        // Every lease is still valid for an hour: only a dead local owner may be taken early.
        auto p = params_of(dead, alive, remote, self);
        co_await sql(
            pool,
            "UPDATE jobs SET lease_expires_at = now() + interval '1 hour', lease_owner = "
            "CASE shot_id WHEN 'dead' THEN $1 WHEN 'alive' THEN $2 WHEN 'remote' THEN $3 "
            "ELSE $4 END",
            p
        );

        jobs::job_store me(pool, self, 60s);
        std::string proj = project;
        auto rec = co_await me.recover(proj, false);
        CO_ASSERT_TRUE(rec.resume.size() == 1u);
        EXPECT_EQ(rec.resume[0].shot_id, "dead");
        EXPECT_EQ(rec.resume[0].lease_epoch, 2);
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM jobs WHERE lease_epoch = 1"), 3);
        auto owners = co_await sql(pool, "SELECT shot_id, lease_owner FROM jobs ORDER BY shot_id");
        std::map<std::string, std::string> owner_of;
        for (int i = 0; i < owners.rows(); ++i) {
            owner_of[std::string(owners.get(i, 0))] = owners.get(i, 1);
        }
        EXPECT_EQ(owner_of["dead"], self);
        EXPECT_EQ(owner_of["alive"], alive);
        EXPECT_EQ(owner_of["remote"], remote);
        EXPECT_EQ(owner_of["mine"], self);
    });
}

TEST_F(StoreTest, ReleasedLeasesAreRecoverableAtOnceAndRenewedLeasesAreNot) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1"), make_shot("s2")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        auto one = co_await to_running(store, project, "pred-1");
        co_await sql(pool, "UPDATE jobs SET lease_expires_at = now() + interval '1 second'");
        co_await store.renew_leases();
        EXPECT_GT(co_await seconds_from_now(pool, one.id, "lease_expires_at"), 50);

        jobs::job_store next(pool, "host-b:2:b", 60s);
        std::string proj = project;
        auto none = co_await next.recover(proj, false);
        EXPECT_TRUE(none.resume.empty());

        co_await store.release_leases();
        EXPECT_LE(co_await seconds_from_now(pool, one.id, "lease_expires_at"), 0);
        // release_leases stamps now(); recover compares with a later now().
        auto rec = co_await next.recover(proj, false);
        CO_ASSERT_TRUE(rec.resume.size() == 1u);
        EXPECT_EQ(rec.resume[0].id, one.id);
    });
}

// ---- read side --------------------------------------------------------------------------------

TEST_F(StoreTest, SpendCountsPendingAcceptedAndAmbiguousButNotReleasedAttempts) {
    run([](pg::pool& /*pool*/, jobs::job_store& store) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots;
        for (int i = 0; i < 6; ++i) {
            shots.push_back(make_shot("s" + std::to_string(i)));
        }
        auto list = make_list(shots);
        co_await store.ingest(list);
        auto empty = co_await store.spend();
        EXPECT_TRUE(empty.empty());

        const auto a_28 = always("acc-a", 0.28);
        const auto a_10 = always("acc-a", 0.10);
        const auto b_27 = always("acc-b", 0.27);
        const auto b_50 = always("acc-b", 0.50);
        const std::string msg = "m";
        auto accepted = co_await store.claim_for_submit(project, a_28);
        auto ambiguous = co_await store.claim_for_submit(project, a_10);
        auto rejected = co_await store.claim_for_submit(project, a_28);
        auto pending = co_await store.claim_for_submit(project, b_27);
        auto not_sent = co_await store.claim_for_submit(project, b_50);
        CO_ASSERT_TRUE(accepted && ambiguous && rejected && pending && not_sent);
        const std::string pred = "pred-1";
        EXPECT_TRUE(co_await store.record_accepted(accepted->job, accepted->attempt_id, pred));
        EXPECT_TRUE(co_await store.record_submit_failure(
            ambiguous->job,
            ambiguous->attempt_id,
            jobs::attempt_outcome::ambiguous,
            0,
            msg,
            job_state::held,
            0ms,
            "ambiguous"
        ));
        EXPECT_TRUE(co_await store.record_submit_failure(
            rejected->job,
            rejected->attempt_id,
            jobs::attempt_outcome::rejected,
            429,
            msg,
            job_state::retry_wait,
            60s,
            "rate_limited"
        ));
        EXPECT_TRUE(co_await store.record_submit_failure(
            not_sent->job,
            not_sent->attempt_id,
            jobs::attempt_outcome::not_sent,
            0,
            msg,
            job_state::retry_wait,
            60s,
            "connect"
        ));

        auto rows = co_await store.spend();
        CO_ASSERT_TRUE(rows.size() == 2u);
        EXPECT_EQ(rows[0].account, "acc-a");
        EXPECT_EQ(rows[0].provider, "atlas");
        EXPECT_EQ(rows[0].model, "hailuo-02-standard");
        EXPECT_NEAR(rows[0].usd, 0.38, 1e-9);  // accepted 0.28 + ambiguous 0.10
        EXPECT_EQ(rows[1].account, "acc-b");
        EXPECT_NEAR(rows[1].usd, 0.27, 1e-9);  // the pending reservation, not the not_sent 0.50
    });
}

TEST_F(StoreTest, StateCountsDueTimeAndJobsOf) {
    run([](pg::pool& pool, jobs::job_store& store) -> asio::awaitable<void> {
        std::string proj = project;
        EXPECT_EQ(co_await store.seconds_until_due(proj), std::nullopt);
        auto zero = co_await store.state_counts(proj);
        EXPECT_EQ(zero.size(), std::size(jobs::all_job_states));
        for (const auto& [state, n] : zero) {
            EXPECT_EQ(n, 0) << jobs::to_string(state);
        }

        std::vector<jobs::shot> shots{make_shot("b", 2), make_shot("a", 1, 1), make_shot("c")};
        auto list = make_list(shots);
        co_await store.ingest(list);
        std::vector<jobs::shot> others{make_shot("x", 3)};
        auto other = make_list(others, "other");
        co_await store.ingest(other);

        auto due = co_await store.seconds_until_due(proj);
        CO_ASSERT_TRUE(due);
        EXPECT_EQ(*due, 0);

        auto all = co_await store.jobs_of(proj);
        std::vector<std::string> refs;
        for (const auto& j : all) {
            refs.push_back(j.ref());
        }
        const std::vector<std::string> want_refs{
            "film/a/t01", "film/b/t01", "film/b/t02", "film/c/t01"};
        EXPECT_EQ(refs, want_refs);

        // a: running; b/t01: retry_wait in 90 s; b/t02: failed; c: queued.
        co_await to_running(store, proj, "pred-a");  // a has the highest priority
        auto p = params_of(id_of(all, "b", 1), id_of(all, "b", 2));
        co_await force(
            pool,
            "UPDATE jobs SET state = CASE id WHEN $1::bigint THEN 'retry_wait'::job_state "
            "ELSE 'failed'::job_state END, next_attempt_at = now() + interval '90 seconds' "
            "WHERE id IN ($1::bigint, $2::bigint)",
            p
        );
        auto counts = co_await store.state_counts(proj);
        EXPECT_EQ(counts[job_state::running], 1);
        EXPECT_EQ(counts[job_state::retry_wait], 1);
        EXPECT_EQ(counts[job_state::failed], 1);
        EXPECT_EQ(counts[job_state::queued], 1);
        EXPECT_EQ(counts[job_state::succeeded], 0);
        auto everywhere = co_await store.state_counts_all();
        EXPECT_EQ(everywhere[job_state::queued], 4);  // c + other's three takes

        // c (queued) is due now; once it is taken, the retry_wait job decides.
        auto due_now = co_await store.seconds_until_due(proj);
        CO_ASSERT_TRUE(due_now);
        EXPECT_EQ(*due_now, 0);
        co_await to_running(store, proj, "pred-c");
        auto due_later = co_await store.seconds_until_due(proj);
        CO_ASSERT_TRUE(due_later);
        EXPECT_GT(*due_later, 85);
        EXPECT_LE(*due_later, 90.001);
        co_await force(pool, "UPDATE jobs SET state = 'held' WHERE state = 'retry_wait'");
        EXPECT_EQ(co_await store.seconds_until_due(proj), std::nullopt);
    });
}

}  // namespace
