// pg::migrate against a real server: order, idempotence, failure, and two migrators at once.
#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "pg/error.hpp"
#include "pg/migrate.hpp"
#include "tests/support/pg_cluster.hpp"

namespace {

namespace pg = shotfarm::pg;

// Blocking one-value query for checks (the code under test is blocking too).
std::string query_one(const std::string& conninfo, const std::string& sql) {
    std::unique_ptr<PGconn, void (*)(PGconn*)> c(PQconnectdb(conninfo.c_str()), PQfinish);
    if (PQstatus(c.get()) != CONNECTION_OK) {
        throw std::runtime_error(PQerrorMessage(c.get()));
    }
    std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(c.get(), sql.c_str()), PQclear);
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
        throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
    }
    return PQgetvalue(r.get(), 0, 0);
}

std::vector<pg::migration> sample() {
    // Deliberately out of order: 2 needs the table that 1 creates.
    return {
        {3, "seed", "INSERT INTO widgets (name, size) VALUES ('a', 1), ('b', 2)"},
        {2, "add size", "ALTER TABLE widgets ADD COLUMN size int NOT NULL DEFAULT 0"},
        {1,
         "widgets",
         "CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL);"
         "CREATE INDEX widgets_name ON widgets (name)"},
    };
}

TEST(PgMigrate, AppliesInVersionOrderOnceOnly) {
    std::string info = shotfarm::testing::fresh_database();
    EXPECT_EQ(pg::migrate(info, sample()), 3);
    EXPECT_EQ(pg::migrate(info, sample()), 0);
    EXPECT_EQ(query_one(info, "SELECT count(*) FROM widgets"), "2");
    EXPECT_EQ(
        query_one(
            info,
            "SELECT string_agg(version::text || ':' || name, ',' ORDER BY "
            "version) FROM schema_migrations"
        ),
        "1:widgets,2:add size,3:seed"
    );

    // A new migration later is applied alone.
    auto more = sample();
    more.push_back({4, "more", "INSERT INTO widgets (name) VALUES ('c')"});
    EXPECT_EQ(pg::migrate(info, more), 1);
    EXPECT_EQ(query_one(info, "SELECT count(*) FROM widgets"), "3");
}

TEST(PgMigrate, FailureNamesTheMigrationAndKeepsEarlierOnes) {
    std::string info = shotfarm::testing::fresh_database();
    std::vector<pg::migration> list{
        {1, "ok", "CREATE TABLE a (x int)"},
        {2, "broken", "CREATE TABLE b (x int); INSERT INTO nowhere VALUES (1)"},
        {3, "later", "CREATE TABLE c (x int)"},
    };
    std::string what;
    std::string state;
    try {
        pg::migrate(info, list);
    } catch (const pg::error& e) {
        what = e.what();
        state = e.sqlstate();
    }
    EXPECT_NE(what.find("migration 2 (broken)"), std::string::npos) << what;
    EXPECT_EQ(state, "42P01");  // undefined_table
    EXPECT_EQ(query_one(info, "SELECT string_agg(version::text, ',') FROM schema_migrations"), "1");
    // Migration 2 ran in one transaction with its bookkeeping: table b is not half-created.
    EXPECT_EQ(query_one(info, "SELECT count(*) FROM pg_tables WHERE tablename IN ('b', 'c')"), "0");

    list[1].sql = "CREATE TABLE b (x int)";
    EXPECT_EQ(pg::migrate(info, list), 2);
}

TEST(PgMigrate, RejectsDuplicateVersions) {
    std::string info = shotfarm::testing::fresh_database();
    std::vector<pg::migration> list{{1, "a", "SELECT 1"}, {1, "b", "SELECT 2"}};
    EXPECT_THROW(pg::migrate(info, list), pg::error);
}

TEST(PgMigrate, TwoConcurrentMigratorsApplyEachMigrationOnce) {
    std::string info = shotfarm::testing::fresh_database();
    std::vector<pg::migration> list{
        // The sleeps keep each transaction open long enough for the two threads to collide.
        {1, "t", "CREATE TABLE t (x int); SELECT pg_sleep(0.2)"},
        {2, "u", "CREATE TABLE u (x int); SELECT pg_sleep(0.2)"},
        {3, "row", "INSERT INTO t VALUES (1)"},
    };
    std::atomic<int> applied{0};
    std::atomic<int> failures{0};
    auto run = [&] {
        try {
            applied += pg::migrate(info, list);
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
            ++failures;
        }
    };
    std::thread a(run);
    std::thread b(run);
    a.join();
    b.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(applied.load(), 3);
    EXPECT_EQ(query_one(info, "SELECT count(*) FROM schema_migrations"), "3");
    EXPECT_EQ(query_one(info, "SELECT count(*) FROM t"), "1");
}

}  // namespace
