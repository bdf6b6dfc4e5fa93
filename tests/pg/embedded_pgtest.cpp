// pg::embedded_cluster: initdb once, restart keeps data, adopt a running server, Unix socket
// only, stale lock files, a kill -9'd postmaster, and the root/postgres user switch.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <signal.h>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "pg/embedded.hpp"
#include "tests/support/pg_cluster.hpp"

namespace {

namespace fs = std::filesystem;
namespace pg = shotfarm::pg;
using namespace std::chrono_literals;

std::string query_one(const std::string& conninfo, const std::string& sql) {
    std::unique_ptr<PGconn, void (*)(PGconn*)> c(PQconnectdb(conninfo.c_str()), PQfinish);
    if (PQstatus(c.get()) != CONNECTION_OK) {
        throw std::runtime_error(PQerrorMessage(c.get()));
    }
    std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(c.get(), sql.c_str()), PQclear);
    ExecStatusType st = PQresultStatus(r.get());
    if (st == PGRES_COMMAND_OK) {
        return {};
    }
    if (st != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
        throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
    }
    return PQgetvalue(r.get(), 0, 0);
}

pg::embedded_options fast() {
    pg::embedded_options o;
    o.durable = false;
    return o;
}

long postmaster_pid(const fs::path& dir) {
    std::ifstream in(dir / "postmaster.pid");
    long pid = 0;
    in >> pid;
    return pid;
}

// Alive and not a zombie (an orphan's zombie lingers until its new parent reaps it).
bool running(long pid) {
    if (::kill(static_cast<pid_t>(pid), 0) != 0) {
        return false;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto paren = line.rfind(')');
    return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

TEST(PgEmbedded, FindsServerBinaries) {
    fs::path bin = pg::find_server_bindir();
    EXPECT_TRUE(fs::exists(bin / "initdb")) << bin;
    EXPECT_TRUE(fs::exists(bin / "pg_ctl")) << bin;
    EXPECT_TRUE(fs::exists(bin / "postgres")) << bin;
}

TEST(PgEmbedded, UnixSocketOnlyNoTcp) {
    fs::path dir = shotfarm::testing::pg_scratch_dir() / "pg";
    auto c = pg::embedded_cluster::start(dir, "app", fast());
    EXPECT_TRUE(fs::exists(dir / ".s.PGSQL.5432"));
    EXPECT_TRUE(fs::exists(dir / "server.log"));
    EXPECT_EQ(query_one(c.conninfo(), "SHOW listen_addresses"), "");
    EXPECT_EQ(query_one(c.conninfo(), "SHOW unix_socket_directories"), "\"" + dir.string() + "\"");
    EXPECT_EQ(query_one(c.conninfo(), "SELECT current_database()"), "app");
    EXPECT_NE(c.conninfo().find("user="), std::string::npos) << c.conninfo();
    EXPECT_EQ(query_one(c.conninfo(), "SELECT current_user"), c.user());
    EXPECT_EQ(
        query_one(c.conninfo(), "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"), "t"
    );
    if (::geteuid() == 0) {
        EXPECT_EQ(c.user(), "postgres");
        struct stat st {};
        ASSERT_EQ(::stat(dir.c_str(), &st), 0);
        EXPECT_NE(st.st_uid, 0u);  // the data directory belongs to the server user
    }
}

TEST(PgEmbedded, StopThenStartKeepsTheData) {
    fs::path dir = shotfarm::testing::pg_scratch_dir() / "pg";
    {
        auto c = pg::embedded_cluster::start(dir, "app", fast());
        EXPECT_FALSE(c.adopted());
        query_one(c.conninfo(), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')");
        c.stop();
        EXPECT_FALSE(c.running());
        EXPECT_FALSE(fs::exists(dir / "postmaster.pid"));
        EXPECT_NO_THROW(c.stop());  // idempotent
        EXPECT_EQ(PQping(c.conninfo().c_str()), PQPING_NO_RESPONSE);
    }
    std::string version = [&] {
        std::ifstream in(dir / "PG_VERSION");
        std::string v;
        in >> v;
        return v;
    }();
    auto c = pg::embedded_cluster::start(dir, "app", fast());
    EXPECT_FALSE(c.adopted());
    EXPECT_EQ(query_one(c.conninfo(), "SELECT v FROM kept"), "hello");
    EXPECT_EQ(
        query_one(c.conninfo(), "SHOW server_version_num").substr(0, version.size()), version
    );
}

TEST(PgEmbedded, StartWhileRunningReusesTheServer) {
    fs::path dir = shotfarm::testing::pg_scratch_dir() / "pg";
    auto first = pg::embedded_cluster::start(dir, "app", fast());
    std::string started = query_one(first.conninfo(), "SELECT pg_postmaster_start_time()");
    long pid = postmaster_pid(dir);

    auto second = pg::embedded_cluster::start(dir, "other", fast());
    EXPECT_TRUE(second.adopted());
    EXPECT_EQ(postmaster_pid(dir), pid);
    EXPECT_EQ(query_one(second.conninfo(), "SELECT pg_postmaster_start_time()"), started);
    EXPECT_EQ(query_one(second.conninfo(), "SELECT current_database()"), "other");

    second.stop();  // the adopter owns it now
    EXPECT_EQ(PQping(first.conninfo().c_str()), PQPING_NO_RESPONSE);
    EXPECT_NO_THROW(first.stop());
}

TEST(PgEmbedded, StalePidFileOfAnotherProcessDoesNotBlockStart) {
    fs::path dir = shotfarm::testing::pg_scratch_dir() / "pg";
    pg::embedded_cluster::start(dir, "app", fast()).stop();
    {
        // Our own PID: alive, but not a postmaster of this directory (a reused PID). PostgreSQL
        // alone would refuse: "lock file "postmaster.pid" already exists".
        std::ofstream out(dir / "postmaster.pid");
        out << ::getpid() << '\n' << dir.string() << "\n1700000000\n5432\n";
    }
    auto c = pg::embedded_cluster::start(dir, "app", fast());
    EXPECT_FALSE(c.adopted());
    EXPECT_EQ(query_one(c.conninfo(), "SELECT 1"), "1");
    EXPECT_NE(postmaster_pid(dir), ::getpid());
}

TEST(PgEmbedded, RestartsAfterThePostmasterWasKilled) {
    fs::path dir = shotfarm::testing::pg_scratch_dir() / "pg";
    // Even the fast mode keeps commits across a process crash (only fsync is off).
    auto c = pg::embedded_cluster::start(dir, "app", fast());
    query_one(c.conninfo(), "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)");
    long pid = postmaster_pid(dir);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (running(pid) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);  // waiting for an external process to disappear
    }
    EXPECT_TRUE(fs::exists(dir / "postmaster.pid"));  // left behind by the crash
    EXPECT_NO_THROW(c.stop());                        // its server is already gone

    auto again = pg::embedded_cluster::start(dir, "app", fast());
    EXPECT_FALSE(again.adopted());
    EXPECT_NE(postmaster_pid(dir), pid);
    EXPECT_EQ(query_one(again.conninfo(), "SELECT v FROM kept"), "7");
}

TEST(PgEmbedded, TooLongSocketPathFailsClearly) {
    fs::path dir = shotfarm::testing::pg_scratch_dir() / std::string(100, 'x') / "pg";
    try {
        pg::embedded_cluster::start(dir, "app", fast());
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("socket path"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir));
}

TEST(PgEmbedded, AsRootMakesAPrivateAncestorReachable) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "only meaningful as root (the server then runs as postgres)";
    }
    fs::path parent = shotfarm::testing::pg_scratch_dir() / "private";
    fs::create_directory(parent);
    ::chmod(parent.c_str(), 0700);
    auto c = pg::embedded_cluster::start(parent / "pg", "app", fast());
    struct stat st {};
    ASSERT_EQ(::stat(parent.c_str(), &st), 0);
    EXPECT_NE(st.st_mode & S_IXOTH, 0u);
    EXPECT_EQ(query_one(c.conninfo(), "SELECT 1"), "1");
}

}  // namespace
