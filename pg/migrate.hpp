// pg::migrate — apply numbered SQL migrations once, in order, at startup (blocking libpq).
#pragma once

#include <string>
#include <vector>

namespace shotfarm::pg {

struct migration {
    int version;       // unique, > 0; applied in ascending order
    std::string name;  // recorded for humans
    std::string sql;   // one or more statements; must not contain BEGIN/COMMIT
};

// Blocking: call before the io loop runs (or on a blocking thread). Applies, in version order,
// every migration not yet recorded in table schema_migrations(version, name, applied_at), each
// in its own transaction together with its schema_migrations row, under
// pg_advisory_xact_lock so processes starting together do not race. Idempotent. Returns how
// many it applied. Throws pg::error naming the migration that failed (earlier ones stay
// applied), or if two migrations share a version.
int migrate(const std::string& conninfo, const std::vector<migration>& migrations);

}  // namespace shotfarm::pg
