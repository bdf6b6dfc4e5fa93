// pg::connection against a real server: parameters, NULL, awkward text, SQLSTATE errors, a query
// that must not block the io loop, and connections that must be reported broken.
#include <chrono>
#include <cstdint>
#include <string>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "pg/connection.hpp"
#include "pg/error.hpp"
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

TEST(PgConnection, ExecWithParamsNullAndAwkwardText) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::connection conn(co_await asio::this_coro::executor);
        co_await conn.connect(info);
        EXPECT_FALSE(conn.broken());

        // Quotes, backslashes, newline, SQL-looking text, multi-byte UTF-8: all passed as data.
        const std::string awkward = "it's \"q\" \\ back\\slash\nline2; DROP TABLE t; -- ünïcødé 雪";
        pg::params p{"2", "40", std::nullopt, awkward};
        pg::result r = co_await conn.exec(
            "SELECT $1::int8 + $2::int8 AS sum, $3::text IS NULL AS is_null, $3::text AS n, "
            "$4::text AS awkward, length($4::text) AS len, 2.5::float8 AS half, true AS yes",
            p
        );
        EXPECT_EQ(r.rows(), 1);
        EXPECT_EQ(r.columns(), 7);
        EXPECT_EQ(r.get_int(0, r.column("sum")), 42);
        EXPECT_TRUE(r.get_bool(0, r.column("is_null")));
        EXPECT_TRUE(r.is_null(0, r.column("n")));
        EXPECT_EQ(r.get(0, r.column("n")), "");
        EXPECT_EQ(r.get_opt(0, r.column("n")), std::nullopt);
        EXPECT_EQ(r.get(0, r.column("awkward")), awkward);
        EXPECT_EQ(r.get_opt(0, r.column("awkward")), awkward);
        std::int64_t chars = 0;  // UTF-8 code points: bytes that are not continuation bytes
        for (unsigned char ch : awkward) {
            chars += (ch & 0xC0) != 0x80 ? 1 : 0;
        }
        EXPECT_LT(chars, static_cast<std::int64_t>(awkward.size()));
        EXPECT_EQ(r.get_int(0, r.column("len")), chars);  // the server saw UTF-8 characters
        EXPECT_DOUBLE_EQ(r.get_double(0, r.column("half")), 2.5);
        EXPECT_TRUE(r.get_bool(0, r.column("yes")));
        EXPECT_THROW(r.column("Sum"), pg::error);              // exact names only
        EXPECT_THROW(r.get_int(0, r.column("n")), pg::error);  // NULL
        EXPECT_THROW(r.get_int(0, r.column("awkward")), pg::error);
        EXPECT_THROW(r.get_bool(0, r.column("sum")), pg::error);
        EXPECT_THROW((void)r.get(1, 0), std::out_of_range);

        co_await conn.exec("CREATE TABLE t (id int PRIMARY KEY, body text)");
        pg::params row1{"1", awkward};
        pg::result ins = co_await conn.exec("INSERT INTO t VALUES ($1, $2)", row1);
        EXPECT_EQ(ins.affected_rows(), 1);
        EXPECT_EQ(ins.command_tag(), "INSERT 0 1");
        pg::params row2{"2", std::nullopt};
        co_await conn.exec("INSERT INTO t VALUES ($1, $2)", row2);
        pg::result upd = co_await conn.exec("UPDATE t SET id = id + 10");
        EXPECT_EQ(upd.affected_rows(), 2);
        pg::result sel = co_await conn.exec("SELECT body FROM t ORDER BY id");
        EXPECT_EQ(sel.rows(), 2);
        if (sel.rows() != 2) {
            co_return;
        }
        EXPECT_EQ(sel.get(0, 0), awkward);
        EXPECT_TRUE(sel.is_null(1, 0));
    }());
}

TEST(PgConnection, NulByteInParameterIsRejectedAndConnectionSurvives) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::connection conn(co_await asio::this_coro::executor);
        co_await conn.connect(info);
        pg::params p{std::string("a\0b", 3)};
        EXPECT_THROW(co_await conn.exec("SELECT $1::text", p), pg::error);
        EXPECT_FALSE(conn.broken());
        pg::result r = co_await conn.exec("SELECT 7");
        EXPECT_EQ(r.get_int(0, 0), 7);
    }());
}

TEST(PgConnection, UniqueViolationCarriesSqlstateAndConnectionStaysUsable) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::connection conn(co_await asio::this_coro::executor);
        co_await conn.connect(info);
        co_await conn.exec("CREATE TABLE u (id int PRIMARY KEY)");
        co_await conn.exec("INSERT INTO u VALUES (1)");
        std::string state;
        bool broken = true;
        std::string message;
        try {
            co_await conn.exec("INSERT INTO u VALUES (1)");
        } catch (const pg::error& e) {
            state = e.sqlstate();
            broken = e.connection_broken();
            message = e.what();
        }
        EXPECT_EQ(state, pg::sqlstate::unique_violation);
        EXPECT_FALSE(broken);
        EXPECT_NE(message.find("duplicate key"), std::string::npos) << message;
        EXPECT_FALSE(conn.broken());
        pg::result r = co_await conn.exec("SELECT count(*) FROM u");
        EXPECT_EQ(r.get_int(0, 0), 1);

        try {
            co_await conn.exec("SELEC 1");
            ADD_FAILURE() << "syntax error expected";
        } catch (const pg::error& e) {
            EXPECT_EQ(e.sqlstate(), "42601");
        }
    }());
}

TEST(PgConnection, ConnectFailureIsAConnectionError) {
    run_coro([&]() -> asio::awaitable<void> {
        pg::connection conn(co_await asio::this_coro::executor);
        bool broken = false;
        try {
            co_await conn.connect("host=/nonexistent/shotfarm port=5432 dbname=x user=x");
            ADD_FAILURE() << "connect should fail";
        } catch (const pg::error& e) {
            broken = e.connection_broken();
            EXPECT_NE(std::string(e.what()).find("/nonexistent/shotfarm"), std::string::npos)
                << e.what();
        }
        EXPECT_TRUE(broken);
        EXPECT_TRUE(conn.broken());
        EXPECT_THROW(co_await conn.exec("SELECT 1"), pg::error);
    }());
}

// The whole point of the async driver: a slow query does not stall other coroutines.
TEST(PgConnection, ExecDoesNotBlockTheIoLoop) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::connection conn(co_await asio::this_coro::executor);
        co_await conn.connect(info);
        int ticks = 0;
        auto ticker = [&]() -> asio::awaitable<void> {
            for (;;) {
                co_await sleep_for(20ms);
                ++ticks;
            }
        };
        auto start = std::chrono::steady_clock::now();
        auto outcome = co_await (conn.exec("SELECT pg_sleep(0.3)") || ticker());
        auto elapsed = std::chrono::steady_clock::now() - start;
        EXPECT_EQ(outcome.index(), 0u);  // the query finished, the ticker was cancelled
        EXPECT_GE(elapsed, 300ms);
        // 300 ms / 20 ms = 15 ticks if nothing blocks; a blocking exec would allow 0.
        EXPECT_GE(ticks, 5) << "io loop stalled during the query";
        EXPECT_FALSE(conn.broken());
    }());
}

TEST(PgConnection, AbandonedQueryLeavesConnectionBroken) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        pg::connection conn(co_await asio::this_coro::executor);
        co_await conn.connect(info);
        auto start = std::chrono::steady_clock::now();
        auto outcome = co_await (conn.exec("SELECT pg_sleep(5)") || sleep_for(200ms));
        EXPECT_EQ(outcome.index(), 1u);  // the timer won
        EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
        EXPECT_TRUE(conn.broken());
        bool broken = false;
        try {
            co_await conn.exec("SELECT 1");
        } catch (const pg::error& e) {
            broken = e.connection_broken();
        }
        EXPECT_TRUE(broken);
    }());
}

TEST(PgConnection, TerminatedBackendIsReportedBroken) {
    std::string info = shotfarm::testing::fresh_database();
    run_coro([&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        pg::connection victim(ex);
        pg::connection killer(ex);
        co_await victim.connect(info);
        co_await killer.connect(info);
        EXPECT_GT(victim.backend_pid(), 0);
        pg::params p{std::to_string(victim.backend_pid())};
        pg::result r = co_await killer.exec("SELECT pg_terminate_backend($1::int, 5000)", p);
        EXPECT_TRUE(r.get_bool(0, 0));
        // The idle check notices the FATAL/EOF without sending anything.
        EXPECT_TRUE(victim.check_idle());
        bool broken = false;
        try {
            co_await victim.exec("SELECT 1");
        } catch (const pg::error& e) {
            broken = e.connection_broken();
        }
        EXPECT_TRUE(broken);
        EXPECT_FALSE(killer.broken());
    }());
}

}  // namespace
