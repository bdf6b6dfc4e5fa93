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

// The submit windows (schemas/sql/0006_submit_windows.sql, jobs/sched/submit_window.hpp):
// `log` names a timestamptz[] column of `accounts`, qualified as the query needs ("a.submit_log").

/// When the window lets the next submit go: its `submit_window`-th most recent entry plus
/// `submit_window_s`; NULL (no wait: greatest() skips it) while it holds fewer entries.
inline std::string window_free_at(const std::string& log, const std::string& row = "") {
    return "(" + log + "[cardinality(" + log + ") - " + row + "submit_window + 1] + " +
           "make_interval(secs => " + row + "submit_window_s))";
}

/// `log` with `t` appended, keeping its last `submit_window` entries (an UPDATE's SET value).
inline std::string window_append(const std::string& log, const std::string& t) {
    return "(" + log + " || " + t + ")[greatest(1, cardinality(" + log + ") + 2 - submit_window):]";
}

}  // namespace shotfarm::jobs::sql

namespace shotfarm::jobs {
struct job_record;
/// "SELECT <every job column> FROM jobs j " + where_and_tail, and the reader of its rows.
std::string select_jobs_sql(const std::string& where_and_tail);
job_record read_job_row(const pg::result& r, int row);
}  // namespace shotfarm::jobs
