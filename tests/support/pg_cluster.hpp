// A throw-away PostgreSQL cluster shared by every test of one test binary: started on first use
// in a fresh directory under /tmp, stopped and deleted when the process exits. Leftovers of
// killed test processes are swept on the next start.
#pragma once

#include <filesystem>
#include <string>

#include "pg/embedded.hpp"

namespace shotfarm::testing {

// The process's cluster (started on first call; blocking — call outside the io loop).
pg::embedded_cluster& test_cluster();

// Creates a new, empty database on test_cluster() and returns its libpq conninfo.
std::string fresh_database();

// A new empty directory under /tmp that the PostgreSQL server user can reach, removed at exit.
// For tests that run their own embedded_cluster.
std::filesystem::path pg_scratch_dir();

}  // namespace shotfarm::testing
