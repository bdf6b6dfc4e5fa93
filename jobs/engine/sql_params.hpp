// Parameter lists for the job store's SQL (store.cpp, account_store.cpp): internal to jobs/engine.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "pg/pool.hpp"

namespace shotfarm::jobs::sql {

// Builds a parameter list outside the co_await expression: GCC 12 cannot keep a braced
// list's backing array alive across a coroutine suspension ("array used as initializer").
template <class... Args>
pg::params params_of(Args&&... args) {
    return pg::params{pg::param(std::forward<Args>(args))...};
}

inline pg::param opt(const std::optional<std::string>& v) {
    return v ? pg::param(*v) : std::nullopt;
}

inline pg::param opt_number(const std::optional<double>& v) {
    return v ? pg::param(std::to_string(*v)) : std::nullopt;
}

}  // namespace shotfarm::jobs::sql

namespace shotfarm::jobs {
struct job_record;
/// "SELECT <every job column> FROM jobs j " + where_and_tail, and the reader of its rows.
std::string select_jobs_sql(const std::string& where_and_tail);
job_record read_job_row(const pg::result& r, int row);
}  // namespace shotfarm::jobs
