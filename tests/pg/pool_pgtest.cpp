// pg::pool and pg::in_transaction against a real server: the size cap, waiting without
// polling, broken connections dropped, commit/rollback, retry on real serialization failures
// and deadlocks, and a COMMIT whose outcome is unknown.
#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "pg/pool.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/run_coro.hpp"

namespace {

namespace asio = boost::asio;
namespace pg = shotfarm::pg;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using shotfarm::testing::run_coro;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// Lets every ready coroutine run once (no time passes).
asio::awaitable<void> yield() {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

struct usage {
    int active = 0;
    int peak = 0;
    std::set<int> backends;
};

asio::awaitable<void> busy_worker(pg::pool& p, usage& u) {
    pg::pool::lease conn = co_await p.acquire();
    u.peak = std::max(u.peak, ++u.active);
    u.backends.insert(conn->backend_pid());
    co_await conn->exec("SELECT pg_sleep(0.1)");
    --u.active;
}

TEST(PgPool, NeverExceedsMaxSizeAndQueuesTheRest) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::pool p(co_await asio::this_coro::executor, info, 2);
        usage u;
        co_await (
            busy_worker(p, u) && busy_worker(p, u) && busy_worker(p, u) && busy_worker(p, u) &&
            busy_worker(p, u)
        );
        EXPECT_EQ(u.peak, 2);
        EXPECT_EQ(u.active, 0);
        EXPECT_EQ(u.backends.size(), 2u);  // connections are reused, not reopened
        EXPECT_EQ(p.size(), 2u);
        EXPECT_EQ(p.idle(), 2u);
        EXPECT_EQ(p.waiting(), 0u);
    }());
}

TEST(PgPool, AcquireWaitsUntilALeaseIsReturned) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::pool p(co_await asio::this_coro::executor, info, 1);
        pg::pool::lease held = co_await p.acquire();
        int held_pid = held->backend_pid();

        // All in use: acquire() parks (the timer wins) and gives up cleanly when cancelled.
        auto timed = co_await (p.acquire() || sleep_for(100ms));
        EXPECT_EQ(timed.index(), 1u);
        EXPECT_EQ(p.waiting(), 0u);
        EXPECT_EQ(p.size(), 1u);

        int waiter_pid = 0;
        auto waiter = [&]() -> asio::awaitable<void> {
            pg::pool::lease conn = co_await p.acquire();
            waiter_pid = conn->backend_pid();
            pg::result r = co_await conn->exec("SELECT 1");
            EXPECT_EQ(r.get_int(0, 0), 1);
        };
        auto releaser = [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 100 && p.waiting() == 0; ++i) {
                co_await yield();
            }
            EXPECT_EQ(p.waiting(), 1u);
            held.release();  // hands the connection straight to the waiter
        };
        co_await (waiter() && releaser());
        EXPECT_EQ(waiter_pid, held_pid);
        EXPECT_EQ(p.size(), 1u);
    }());
}

TEST(PgPool, TimedOutQueryIsDroppedAndThePoolStillServes) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::pool p(co_await asio::this_coro::executor, info, 1);
        int first_pid = 0;
        {
            pg::pool::lease conn = co_await p.acquire();
            first_pid = conn->backend_pid();
            auto outcome = co_await (conn->exec("SELECT pg_sleep(10)") || sleep_for(200ms));
            EXPECT_EQ(outcome.index(), 1u);
            EXPECT_TRUE(conn->broken());
        }
        EXPECT_EQ(p.size(), 0u);  // the broken connection was closed, not returned
        pg::pool::lease conn = co_await p.acquire();
        EXPECT_NE(conn->backend_pid(), first_pid);
        pg::result r = co_await conn->exec("SELECT 41 + 1");
        EXPECT_EQ(r.get_int(0, 0), 42);
    }());
}

TEST(PgPool, IdleConnectionKilledByServerIsReplaced) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::pool p(co_await asio::this_coro::executor, info, 2);
        int victim_pid = 0;
        {
            pg::pool::lease conn = co_await p.acquire();
            victim_pid = conn->backend_pid();
        }
        EXPECT_EQ(p.idle(), 1u);
        {
            pg::connection killer(co_await asio::this_coro::executor);
            co_await killer.connect(info);
            pg::params pid{std::to_string(victim_pid)};
            co_await killer.exec("SELECT pg_terminate_backend($1::int, 5000)", pid);
        }
        pg::pool::lease conn = co_await p.acquire();
        EXPECT_NE(conn->backend_pid(), victim_pid);
        pg::result r = co_await conn->exec("SELECT 1");
        EXPECT_EQ(r.get_int(0, 0), 1);
        EXPECT_EQ(p.size(), 1u);
    }());
}

TEST(PgPool, CloseFailsWaitersAndLaterAcquires) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::pool p(co_await asio::this_coro::executor, info, 1);
        pg::pool::lease held = co_await p.acquire();
        bool waiter_failed = false;
        auto waiter = [&]() -> asio::awaitable<void> {
            try {
                co_await p.acquire();
            } catch (const pg::error&) {
                waiter_failed = true;
            }
        };
        auto closer = [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 100 && p.waiting() == 0; ++i) {
                co_await yield();
            }
            p.close();
        };
        co_await (waiter() && closer());
        EXPECT_TRUE(waiter_failed);
        EXPECT_THROW(co_await p.acquire(), pg::error);
        held.release();
        EXPECT_EQ(p.size(), 0u);
    }());
}

asio::awaitable<void> create_table(pg::pool& p) {
    pg::pool::lease conn = co_await p.acquire();
    co_await conn->exec("CREATE TABLE items (id int PRIMARY KEY, note text)");
}

asio::awaitable<std::int64_t> count_items(pg::pool& p) {
    pg::pool::lease conn = co_await p.acquire();
    pg::result r = co_await conn->exec("SELECT count(*) FROM items");
    co_return r.get_int(0, 0);
}

TEST(PgTransaction, CommitsAndReturnsTheValue) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::pool p(co_await asio::this_coro::executor, info, 2);
        co_await create_table(p);
        std::int64_t id =
            co_await pg::in_transaction(p, [](pg::connection& c) -> asio::awaitable<std::int64_t> {
                co_await c.exec("INSERT INTO items VALUES (1, 'a')");
                pg::result in_tx = co_await c.exec("SELECT txid_current_if_assigned() IS NOT NULL");
                EXPECT_TRUE(in_tx.get_bool(0, 0));  // really inside BEGIN
                co_return 1;
            });
        EXPECT_EQ(id, 1);
        EXPECT_EQ(co_await count_items(p), 1);
    }());
}

TEST(PgTransaction, RollsBackAndRethrows) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::pool p(co_await asio::this_coro::executor, info, 1);
        co_await create_table(p);
        bool caught = false;
        try {
            co_await pg::in_transaction(p, [](pg::connection& c) -> asio::awaitable<void> {
                co_await c.exec("INSERT INTO items VALUES (1, 'a')");
                throw std::runtime_error("boom");
            });
        } catch (const std::runtime_error& e) {
            caught = std::string(e.what()) == "boom";
        }
        EXPECT_TRUE(caught);
        EXPECT_EQ(co_await count_items(p), 0);
        EXPECT_EQ(p.size(), 1u);  // the connection went back healthy (ROLLBACK ran)

        // A SQL error inside is rethrown with its SQLSTATE.
        std::string state;
        try {
            co_await pg::in_transaction(p, [](pg::connection& c) -> asio::awaitable<void> {
                co_await c.exec("INSERT INTO items VALUES (2, 'b')");
                co_await c.exec("INSERT INTO items VALUES (2, 'b')");
            });
        } catch (const pg::error& e) {
            state = e.sqlstate();
        }
        EXPECT_EQ(state, pg::sqlstate::unique_violation);
        EXPECT_EQ(co_await count_items(p), 0);
    }());
}

TEST(PgTransaction, SwallowedErrorMakesCommitFail) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::pool p(co_await asio::this_coro::executor, info, 1);
        co_await create_table(p);
        std::string state;
        try {
            co_await pg::in_transaction(p, [](pg::connection& c) -> asio::awaitable<void> {
                co_await c.exec("INSERT INTO items VALUES (1, 'a')");
                try {
                    co_await c.exec("INSERT INTO items VALUES (1, 'a')");
                } catch (const pg::error&) {
                    // swallowed: the transaction is nevertheless aborted
                }
            });
        } catch (const pg::error& e) {
            state = e.sqlstate();
        }
        EXPECT_EQ(state, "25P02");
        EXPECT_EQ(co_await count_items(p), 0);
    }());
}

TEST(PgTransaction, RetriesOnSerializationFailure) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::pool p(co_await asio::this_coro::executor, info, 1);
        co_await create_table(p);
        int attempts = 0;
        std::string got =
            co_await pg::in_transaction(p, [&](pg::connection& c) -> asio::awaitable<std::string> {
                ++attempts;
                pg::params row{std::to_string(attempts)};
                co_await c.exec("INSERT INTO items VALUES ($1::int, 'x')", row);
                if (attempts == 1) {
                    // A real server-side 40001, as a SERIALIZABLE conflict would raise.
                    co_await c.exec(
                        "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = "
                        "'serialization_failure'; END $$"
                    );
                }
                co_return "done";
            });
        EXPECT_EQ(got, "done");
        EXPECT_EQ(attempts, 2);
        EXPECT_EQ(co_await count_items(p), 1);  // the first attempt's insert was rolled back
    }());
}

// Two transactions lock two rows in opposite orders; the server kills one with 40P01 and
// in_transaction runs it again, so both finally succeed.
asio::awaitable<void> cross_update(
    pg::pool& p, int first, int second, int& mine, const int& theirs, int& attempts
) {
    co_await pg::in_transaction(p, [&](pg::connection& c) -> asio::awaitable<void> {
        ++attempts;
        pg::params a{std::to_string(first)};
        co_await c.exec("UPDATE items SET note = note || '+' WHERE id = $1::int", a);
        mine = 1;
        // Wait (bounded, generously: a loaded CI machine can take seconds to connect) until the
        // other holds its first row, so that the two really deadlock.
        for (int i = 0; i < 6000 && theirs == 0; ++i) {
            co_await sleep_for(5ms);
        }
        pg::params b{std::to_string(second)};
        co_await c.exec("UPDATE items SET note = note || '+' WHERE id = $1::int", b);
    });
}

TEST(PgTransaction, RetriesOnDeadlock) {
    // Detect the deadlock after 100 ms instead of the default 1 s.
    std::string info = shotfarm::testing::fresh_database() + " options='-c deadlock_timeout=100'";
    run_coro([&]() -> asio::awaitable<void> {
        pg::pool p(co_await asio::this_coro::executor, info, 2);
        co_await create_table(p);
        {
            pg::pool::lease conn = co_await p.acquire();
            co_await conn->exec("INSERT INTO items VALUES (1, ''), (2, '')");
        }
        int a_has_first = 0;
        int b_has_first = 0;
        int a_attempts = 0;
        int b_attempts = 0;
        co_await (
            cross_update(p, 1, 2, a_has_first, b_has_first, a_attempts) &&
            cross_update(p, 2, 1, b_has_first, a_has_first, b_attempts)
        );
        EXPECT_EQ(a_attempts + b_attempts, 3);  // exactly one victim, run once more
        pg::pool::lease conn = co_await p.acquire();
        pg::result r = co_await conn->exec("SELECT note FROM items ORDER BY id");
        EXPECT_EQ(r.get(0, 0), "++");  // both transactions' updates landed once each
        EXPECT_EQ(r.get(1, 0), "++");
    }());
}

// A deferred constraint trigger that terminates its own backend makes COMMIT itself fail with
// the connection lost: the caller cannot know whether it committed.
TEST(PgTransaction, CommitWithLostConnectionIsReportedAsUnknown) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::pool p(co_await asio::this_coro::executor, info, 1);
        co_await create_table(p);
        {
            pg::pool::lease conn = co_await p.acquire();
            co_await conn->exec(
                "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(1); "
                "RETURN NULL; END $$"
            );
            co_await conn->exec(
                "CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON items "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die()"
            );
        }
        int calls = 0;
        bool broken = false;
        std::string what;
        try {
            co_await pg::in_transaction(p, [&](pg::connection& c) -> asio::awaitable<void> {
                ++calls;
                co_await c.exec("INSERT INTO items VALUES (1, 'a')");
            });
        } catch (const pg::error& e) {
            broken = e.connection_broken();
            what = e.what();
        }
        EXPECT_TRUE(broken);
        EXPECT_NE(what.find("COMMIT outcome unknown"), std::string::npos) << what;
        EXPECT_EQ(calls, 1);  // not retried: the outcome is unknown, not a conflict
        EXPECT_EQ(p.size(), 0u);
        EXPECT_EQ(co_await count_items(p), 0);  // here the server did roll it back
    }());
}

}  // namespace
