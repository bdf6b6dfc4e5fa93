#include "pg/migrate.hpp"

#include <algorithm>
#include <memory>
#include <string_view>

#include <libpq-fe.h>

#include "pg/error.hpp"

namespace shotfarm::pg {

namespace {

// Key of the advisory lock that serialises migrators ("schema_migrations" has no other lock
// users; the number is arbitrary but fixed).
constexpr const char* lock_key = "7262319408155121409";

struct conn_deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

std::string trimmed(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.remove_suffix(1);
    }
    return std::string(s);
}

void ignore_notice(void* /*arg*/, const char* /*message*/) {}

// Throws pg::error with the server's message and SQLSTATE unless `r` succeeded.
result_ptr check(PGconn* c, PGresult* raw, std::string_view context) {
    result_ptr r(raw);
    ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
        return r;
    }
    const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    std::string message = r ? trimmed(PQresultErrorMessage(r.get())) : "";
    if (message.empty()) {
        message = trimmed(PQerrorMessage(c));
    }
    throw error(
        "pg::migrate: " + std::string(context) + ": " + message,
        state ? state : "",
        PQstatus(c) != CONNECTION_OK
    );
}

result_ptr exec(PGconn* c, const char* sql, std::string_view context) {
    return check(c, PQexec(c, sql), context);
}

result_ptr exec_params(
    PGconn* c, const char* sql, const std::vector<const char*>& values, std::string_view context
) {
    return check(
        c,
        PQexecParams(
            c, sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0
        ),
        context
    );
}

void lock(PGconn* c) {
    std::vector<const char*> key{lock_key};
    exec_params(c, "SELECT pg_advisory_xact_lock($1::bigint)", key, "advisory lock");
}

}  // namespace

int migrate(const std::string& conninfo, const std::vector<migration>& migrations) {
    std::vector<const migration*> ordered;
    ordered.reserve(migrations.size());
    for (const migration& m : migrations) {
        ordered.push_back(&m);
    }
    std::sort(ordered.begin(), ordered.end(), [](const migration* a, const migration* b) {
        return a->version < b->version;
    });
    for (std::size_t i = 1; i < ordered.size(); ++i) {
        if (ordered[i]->version == ordered[i - 1]->version) {
            throw error(
                "pg::migrate: two migrations have version " + std::to_string(ordered[i]->version)
            );
        }
    }

    conn_ptr conn(PQconnectdb(conninfo.c_str()));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        throw error(
            "pg::migrate: cannot connect: " +
                (conn ? trimmed(PQerrorMessage(conn.get())) : std::string("out of memory")),
            {},
            true
        );
    }
    PGconn* c = conn.get();
    PQsetNoticeProcessor(c, ignore_notice, nullptr);

    // Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalogs: take the lock.
    exec(c, "BEGIN", "begin");
    lock(c);
    exec(
        c,
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())",
        "create schema_migrations"
    );
    exec(c, "COMMIT", "commit");

    int applied = 0;
    for (const migration* m : ordered) {
        std::string version = std::to_string(m->version);
        std::string context = "migration " + version + " (" + m->name + ")";
        try {
            exec(c, "BEGIN", context);
            lock(c);
            std::vector<const char*> key{version.c_str()};
            result_ptr seen = exec_params(
                c, "SELECT 1 FROM schema_migrations WHERE version = $1::integer", key, context
            );
            if (PQntuples(seen.get()) > 0) {
                exec(c, "COMMIT", context);
                continue;
            }
            exec(c, m->sql.c_str(), context);
            std::vector<const char*> row{version.c_str(), m->name.c_str()};
            exec_params(
                c,
                "INSERT INTO schema_migrations (version, name) VALUES ($1::integer, $2)",
                row,
                context
            );
            result_ptr commit = exec(c, "COMMIT", context);
            if (std::string_view(PQcmdStatus(commit.get())) != "COMMIT") {
                throw error("pg::migrate: " + context + ": COMMIT rolled back");
            }
            ++applied;
        } catch (...) {
            if (PQstatus(c) == CONNECTION_OK) {
                PQclear(PQexec(c, "ROLLBACK"));
            }
            throw;
        }
    }
    return applied;
}

}  // namespace shotfarm::pg
