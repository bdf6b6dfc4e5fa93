// Issue 5 against a real PostgreSQL: the auditable state machine (the database refuses an
// illegal move; every event names its actor and epoch), submits marked sent before their POST
// (a crash before that moment costs nothing and is not ambiguous), fencing (renewals report
// lost jobs; a POST is never sent for a job that is no longer ours), the operator's cancel and
// retry, the re-fetch of a finished job's file, and status.
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include "jobs/engine/migrations.hpp"
#include "jobs/engine/store.hpp"
#include "jobs/job_state.hpp"
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
using namespace shotfarm::testing::store_tests;
using jobs::job_state;
using shotfarm::testing::run_coro;

constexpr const char* daemon_a = "host-a:1:a";
constexpr const char* daemon_b = "host-b:2:b";
constexpr const char* operator_name = "operator:tester@host-c";

class LifecycleTest : public ::testing::Test {
protected:
    void SetUp() override {
        conninfo_ = shotfarm::testing::fresh_database();
        pg::migrate(conninfo_, jobs::schema_migrations());
    }

    /// conninfo whose sessions name `actor` in job_events (as the shotfarm commands do).
    std::string as(const std::string& actor) const {
        return conninfo_ + " options='-c shotfarm.actor=" + actor + "'";
    }

    /// body(pool_a, a, b, op): two daemons and an operator, each on its own pool.
    template <class Body>
    void run(Body body) {
        run_coro([&]() -> asio::awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            pg::pool pa(ex, as(daemon_a), 3);
            pg::pool pb(ex, as(daemon_b), 3);
            pg::pool po(ex, as(operator_name), 2);
            jobs::job_store a(pa, daemon_a, 60s);
            jobs::job_store b(pb, daemon_b, 60s);
            jobs::job_store op(po, operator_name, 60s);
            co_await body(pa, a, b, op);
        }());
    }

    std::string conninfo_;
};

asio::awaitable<void> expire_leases(pg::pool& pool) {
    co_await sql(pool, "UPDATE jobs SET lease_expires_at = now() - interval '1 second'");
}

asio::awaitable<jobs::claimed_submit> claim(jobs::job_store& store, const std::string& proj) {
    auto c = co_await store.claim_for_submit(proj, always("acc-a"));
    if (!c) {
        throw std::runtime_error("nothing to claim");
    }
    co_return *c;
}

// ---- the state machine ------------------------------------------------------------------------

TEST_F(LifecycleTest, TheDatabaseAndTheCodeAgreeOnEveryMoveAndTheDatabaseRefusesIllegalOnes) {
    run([](pg::pool& pool, jobs::job_store&, jobs::job_store&, jobs::job_store&)
            -> asio::awaitable<void> {
        // The operator's moves on top of the pipeline's (job_state.cpp): retry of a finished
        // job, re-fetch of a finished job's file.
        auto operator_move = [](job_state f, job_state t) {
            return ((f == job_state::failed || f == job_state::canceled) && t == job_state::queued
                   ) ||
                   (f == job_state::succeeded && t == job_state::downloading);
        };
        int allowed = 0;
        for (job_state f : jobs::all_job_states) {
            for (job_state t : jobs::all_job_states) {
                auto p = params_of(std::string(to_string(f)), std::string(to_string(t)));
                auto r = co_await sql(
                    pool, "SELECT shotfarm_transition_allowed($1::job_state, $2::job_state)", p
                );
                const bool db = r.get(0, 0) == "t";
                const bool code = jobs::transition_allowed(f, t) || operator_move(f, t);
                EXPECT_EQ(db, code) << to_string(f) << " -> " << to_string(t);
                allowed += db ? 1 : 0;
            }
        }
        EXPECT_GT(allowed, 20);
        EXPECT_LT(allowed, 50);

        std::vector<jobs::shot> shots{make_shot("s1")};
        auto list = make_list(shots);
        co_await jobs::job_store(pool, daemon_a, 60s).ingest(list);
        std::string state;
        try {
            co_await sql(pool, "UPDATE jobs SET state = 'succeeded'");
        } catch (const pg::error& e) {
            state = e.sqlstate();
            EXPECT_NE(
                std::string(e.what()).find("illegal job transition queued -> succeeded"),
                std::string::npos
            ) << e.what();
        }
        EXPECT_EQ(state, "23514") << "a queued job cannot jump to succeeded";
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM jobs WHERE state = 'queued'"), 1);
    });
}

TEST_F(LifecycleTest, EveryEventNamesWhoMadeItAndTheEpochItWasMadeUnder) {
    run([](pg::pool& pool, jobs::job_store& a, jobs::job_store& b, jobs::job_store& op
        ) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1")};
        auto list = make_list(shots);
        co_await op.ingest(list);
        auto c = co_await claim(a, project);
        EXPECT_TRUE(co_await a.mark_sent(c.job, c.attempt_id));
        co_await expire_leases(pool);
        auto rec = co_await b.recover(project, true);  // b rules it ambiguous, holds it
        EXPECT_EQ(rec.ambiguous, 1);
        jobs::job_selector all;
        all.project = project;
        auto retried = co_await op.retry(all);
        EXPECT_EQ(retried.size(), 1u);

        auto events = co_await op.history(c.job.id);
        CO_ASSERT_TRUE(events.size() == 4u);
        EXPECT_EQ(events[0].actor, operator_name);  // ingested by the operator's submit
        EXPECT_EQ(events[0].to, job_state::queued);
        EXPECT_EQ(events[1].actor, daemon_a);
        EXPECT_EQ(events[1].to, job_state::submitting);
        EXPECT_EQ(events[1].lease_epoch, c.job.lease_epoch);
        EXPECT_EQ(events[2].actor, daemon_b);
        EXPECT_EQ(events[2].to, job_state::held);
        EXPECT_EQ(events[2].lease_epoch, c.job.lease_epoch + 1) << "b's takeover bumped it";
        EXPECT_EQ(events[3].actor, operator_name);
        EXPECT_EQ(events[3].from, job_state::held);
        EXPECT_EQ(events[3].to, job_state::queued);
        EXPECT_EQ(events[3].lease_epoch, c.job.lease_epoch + 2);
        // The chain is continuous: each move starts where the last one ended.
        for (std::size_t i = 1; i < events.size(); ++i) {
            EXPECT_EQ(events[i].from, events[i - 1].to) << i;
        }
        // a's late answer: the attempt records the id it paid for, and keeps the mark that it
        // was once ruled ambiguous (the audit of doubtful submits does not lose it).
        EXPECT_NE(co_await attempt_field(pool, c.attempt_id, "ruled_ambiguous_at"), std::nullopt);
        EXPECT_FALSE(co_await a.record_accepted(c.job, c.attempt_id, "pred-late"));
        EXPECT_EQ(co_await attempt_field(pool, c.attempt_id, "outcome"), "accepted");
        EXPECT_EQ(co_await attempt_field(pool, c.attempt_id, "provider_job_id"), "pred-late");
        EXPECT_NE(co_await attempt_field(pool, c.attempt_id, "ruled_ambiguous_at"), std::nullopt);
    });
}

// ---- the moment the POST leaves -----------------------------------------------------------

TEST_F(LifecycleTest, ASubmitWhosePostNeverLeftIsRequeuedUnbilledNotAmbiguous) {
    run([](pg::pool& pool, jobs::job_store& a, jobs::job_store& b, jobs::job_store&)
            -> asio::awaitable<void> {
        for (const char* proj : {"resubmit", "hold"}) {
            std::vector<jobs::shot> shots{make_shot("s1")};
            auto list = make_list(shots, proj);
            co_await a.ingest(list);
            auto c = co_await claim(a, proj);  // reserved, waiting for its rate-limit slot
            co_await expire_leases(pool);      // ... when daemon a died
            auto rec = co_await b.recover(proj, std::string(proj) == "hold");
            EXPECT_EQ(rec.unsent, 1) << proj;
            EXPECT_EQ(rec.ambiguous, 0) << proj;
            EXPECT_EQ(co_await job_field(pool, c.job.id, "state"), "queued") << proj;
            EXPECT_EQ(co_await attempt_field(pool, c.attempt_id, "outcome"), "not_sent") << proj;
            // Its money is released: nothing reserved, nothing spent.
            auto scope = params_of("batch/" + std::string(proj));
            auto money = co_await sql(
                pool,
                "SELECT spent_usd::float8, reserved_usd::float8 FROM budgets WHERE scope = $1",
                scope
            );
            CO_ASSERT_TRUE(money.rows() == 1);
            EXPECT_EQ(money.get_double(0, 0), 0) << proj;
            EXPECT_EQ(money.get_double(0, 1), 0) << proj;
            // And daemon a, waking up, may not send it: the job is no longer its own.
            EXPECT_FALSE(co_await a.mark_sent(c.job, c.attempt_id)) << proj;
            // The next claim sends it, as a fresh attempt.
            auto again = co_await claim(b, proj);
            EXPECT_EQ(again.job.id, c.job.id);
            EXPECT_EQ(again.job.billed_attempts, 0);
            EXPECT_TRUE(co_await b.mark_sent(again.job, again.attempt_id));
        }
    });
}

// ---- fencing ----------------------------------------------------------------------------------

TEST_F(LifecycleTest, RenewalsReportOnlyTheJobsStillOursAfterATakeoverOrACancel) {
    run([](pg::pool& pool, jobs::job_store& a, jobs::job_store& b, jobs::job_store& op
        ) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1"), make_shot("s2"), make_shot("s3")};
        auto list = make_list(shots);
        co_await a.ingest(list);
        std::string proj = project;
        auto j1 = co_await to_running(a, proj, "pred-1");
        auto j2 = co_await to_running(a, proj, "pred-2");
        auto j3 = co_await to_running(a, proj, "pred-3");
        auto ours = co_await a.renew_leases();
        EXPECT_EQ(ours, (std::set<std::int64_t>{j1.id, j2.id, j3.id}));

        // a stalls; j2's lease runs out and b takes it over; an operator cancels j3.
        auto p2 = params_of(j2.id);
        co_await sql(
            pool,
            "UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1::bigint",
            p2
        );
        auto rec = co_await b.recover(proj, false);
        CO_ASSERT_TRUE(rec.resume.size() == 1u);
        EXPECT_EQ(rec.resume[0].id, j2.id);
        jobs::job_selector third;
        third.job_id = j3.id;
        auto canceled = co_await op.cancel(third, "not needed");
        CO_ASSERT_TRUE(canceled.size() == 1u);

        ours = co_await a.renew_leases();
        EXPECT_EQ(ours, (std::set<std::int64_t>{j1.id})) << "j2 and j3 are no longer a's";
        // a's late writes about them are refused; b's go through.
        EXPECT_FALSE(co_await a.record_ready(j2, "https://cdn.example/2.mp4"));
        EXPECT_FALSE(co_await a.record_ready(j3, "https://cdn.example/3.mp4"));
        EXPECT_TRUE(co_await b.record_ready(rec.resume[0], "https://cdn.example/2.mp4"));
        EXPECT_EQ(co_await job_field(pool, j3.id, "state"), "canceled");
    });
}

// ---- the operator -------------------------------------------------------------------------

TEST_F(LifecycleTest, CancelStopsEveryKindOfJobAndSaysWhichMayStillBeBilled) {
    run([](pg::pool& pool, jobs::job_store& a, jobs::job_store&, jobs::job_store& op
        ) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{
            make_shot("run"), make_shot("sent"), make_shot("unsent"), make_shot("wait")};
        auto list = make_list(shots);
        co_await a.ingest(list);
        std::string proj = project;
        auto running = co_await to_running(a, proj, "pred-run");
        auto sent = co_await claim(a, proj);
        EXPECT_TRUE(co_await a.mark_sent(sent.job, sent.attempt_id));
        auto unsent = co_await claim(a, proj);
        jobs::job_selector batch;
        batch.project = project;
        auto changes = co_await op.cancel(batch, "client changed the brief");
        CO_ASSERT_TRUE(changes.size() == 4u);
        std::map<std::int64_t, jobs::operator_change> by_id;
        for (const auto& c : changes) {
            EXPECT_EQ(c.to, job_state::canceled);
            by_id[c.job_id] = c;
        }
        EXPECT_TRUE(by_id[running.id].may_bill);
        EXPECT_EQ(by_id[running.id].provider_job_id, "pred-run");
        EXPECT_TRUE(by_id[sent.job.id].may_bill) << "its POST had left";
        EXPECT_FALSE(by_id[unsent.job.id].may_bill);
        EXPECT_EQ(co_await attempt_field(pool, sent.attempt_id, "outcome"), "ambiguous");
        EXPECT_EQ(co_await attempt_field(pool, unsent.attempt_id, "outcome"), "not_sent");
        // The owner is fenced out of all of them.
        EXPECT_FALSE(co_await a.mark_sent(unsent.job, unsent.attempt_id));
        EXPECT_FALSE(co_await a.record_ready(running, "https://cdn.example/x.mp4"));
        auto events = co_await op.history(running.id);
        CO_ASSERT_TRUE(!events.empty());
        EXPECT_NE(events.back().detail.find("client changed the brief"), std::string::npos);
        EXPECT_NE(
            events.back().detail.find("may still bill for generation pred-run"), std::string::npos
        ) << events.back().detail;
        // Nothing left to cancel: a second cancel changes nothing.
        EXPECT_TRUE((co_await op.cancel(batch, "")).empty());
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM jobs WHERE state <> 'canceled'"), 0);
    });
}

TEST_F(LifecycleTest, RetryPollsAPaidGenerationAgainButQueuesAnAmbiguousOneAnew) {
    run([](pg::pool& pool, jobs::job_store& a, jobs::job_store& b, jobs::job_store& op
        ) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("polls"), make_shot("amb"), make_shot("gone")};
        auto list = make_list(shots);
        co_await a.ingest(list);
        std::string proj = project;
        // polls: paid (id kept), then held after its polls kept failing.
        auto polls = co_await to_running(a, proj, "pred-polls");
        const std::string why = "40 polls failed";
        EXPECT_TRUE(
            co_await a.record_remote_failure(polls, job_state::held, 0ms, why, "poll_failed")
        );
        // amb: its POST left, then a died: held as ambiguous under policy hold.
        auto amb = co_await claim(a, proj);
        EXPECT_TRUE(co_await a.mark_sent(amb.job, amb.attempt_id));
        // gone: failed at the provider.
        auto gone = co_await to_running(a, proj, "pred-gone");
        EXPECT_TRUE(
            co_await a.record_remote_failure(gone, job_state::failed, 0ms, why, "remote_failed")
        );
        auto pa = params_of(amb.job.id);
        co_await sql(
            pool,
            "UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1::bigint",
            pa
        );
        EXPECT_EQ((co_await b.recover(proj, true)).ambiguous, 1);

        jobs::job_selector batch;
        batch.project = project;
        auto changes = co_await op.retry(batch);
        CO_ASSERT_TRUE(changes.size() == 3u);
        for (const auto& c : changes) {
            if (c.job_id == polls.id) {
                EXPECT_EQ(c.to, job_state::running) << "polled again, not paid again";
            } else {
                EXPECT_EQ(c.to, job_state::queued) << c.ref;
            }
        }
        EXPECT_EQ(co_await job_field(pool, polls.id, "provider_job_id"), "pred-polls");
        EXPECT_EQ(
            co_await count(pool, "SELECT count(*) FROM attempts WHERE outcome = 'pending'"), 0
        ) << "a retry pays for nothing by itself";
        // A live daemon picks the released job up for polling at once (no lease on it).
        auto rec = co_await b.recover(proj, false);
        CO_ASSERT_TRUE(rec.resume.size() == 1u);
        EXPECT_EQ(rec.resume[0].id, polls.id);
        EXPECT_EQ(rec.resume[0].state, job_state::running);
        // max_attempts counts from the retry: the re-queued jobs have no billed attempt yet.
        for (const auto& j : co_await op.jobs_of(proj)) {
            if (j.id == amb.job.id || j.id == gone.id) {
                EXPECT_EQ(j.billed_attempts, 0) << j.ref();
                EXPECT_EQ(j.retries, 0) << j.ref();
            }
        }
        // A succeeded job is not retried.
        jobs::job_selector one;
        one.job_id = polls.id;
        EXPECT_TRUE((co_await op.retry(one)).empty());
    });
}

TEST_F(LifecycleTest, AFinishedJobWhoseFileIsBadGoesBackToDownloadingOnce) {
    run([](pg::pool& pool, jobs::job_store& a, jobs::job_store& b, jobs::job_store&)
            -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1")};
        auto list = make_list(shots);
        co_await a.ingest(list);
        std::string proj = project;
        auto job = co_await to_downloading(a, proj, "pred-1");
        EXPECT_TRUE(co_await a.record_downloaded(job, "/out/s1_t01.mp4", "abc123", 42));
        auto outputs = co_await b.finished_outputs(proj);
        CO_ASSERT_TRUE(outputs.size() == 1u);
        EXPECT_EQ(outputs[0].sha256, "abc123");
        EXPECT_EQ(outputs[0].bytes, 42);

        // Two daemons find the file missing at their start: only one re-fetches it.
        auto first = co_await b.refetch_output(outputs[0], "file missing");
        auto second = co_await a.refetch_output(outputs[0], "file missing");
        CO_ASSERT_TRUE(first.has_value());
        EXPECT_FALSE(second.has_value());
        EXPECT_EQ(first->state, job_state::downloading);
        EXPECT_EQ(first->video_url, "https://cdn.example/pred-1.mp4");
        EXPECT_EQ(co_await job_field(pool, job.id, "lease_owner"), daemon_b);
        EXPECT_EQ(co_await count(pool, "SELECT count(*) FROM attempts"), 1) << "not paid again";
        EXPECT_TRUE(co_await b.record_downloaded(*first, "/out/s1_t01.mp4", "def456", 42));
        EXPECT_EQ(co_await job_field(pool, job.id, "sha256"), "def456");
    });
}

TEST_F(LifecycleTest, StatusShowsBatchesSpendBudgetsAndTheDaemonsAtWork) {
    run([](pg::pool&, jobs::job_store& a, jobs::job_store& b, jobs::job_store& op
        ) -> asio::awaitable<void> {
        std::vector<jobs::shot> shots{make_shot("s1", 2), make_shot("s2")};
        auto list = make_list(shots);
        co_await op.ingest(list);
        std::string proj = project;
        co_await to_running(a, proj, "pred-1");
        co_await a.register_daemon("/etc/shotfarm.yaml");
        co_await b.register_daemon("/etc/shotfarm.yaml");
        co_await b.unregister_daemon();

        auto st = co_await op.status();
        EXPECT_EQ(st.jobs[job_state::queued], 2);
        EXPECT_EQ(st.jobs[job_state::running], 1);
        CO_ASSERT_TRUE(st.batches.size() == 1u);
        EXPECT_EQ(st.batches[0].project, project);
        EXPECT_EQ(st.batches[0].jobs[job_state::running], 1);
        EXPECT_NEAR(st.batches[0].spent_usd, 0.28, 1e-9);
        EXPECT_NEAR(st.spent_usd, 0.28, 1e-9);
        CO_ASSERT_TRUE(st.daemons.size() == 2u);
        for (const auto& d : st.daemons) {
            if (d.owner == daemon_a) {
                EXPECT_TRUE(d.alive);
                EXPECT_EQ(d.leased_jobs, 1);
            } else {
                EXPECT_EQ(d.owner, daemon_b);
                EXPECT_TRUE(d.stopped);
                EXPECT_FALSE(d.alive);
            }
        }
        bool global = false;
        for (const auto& bud : st.budgets) {
            if (bud.scope == "global") {
                global = true;
                EXPECT_NEAR(bud.spent_usd, 0.28, 1e-9);
            }
        }
        EXPECT_TRUE(global);
    });
}

}  // namespace
