// The states of a job (one take of one shot) and which moves between them are legal.
// Sans-I/O: the store refuses any write that this table does not allow.
#pragma once

#include <optional>
#include <string_view>

namespace shotfarm::jobs {

enum class job_state {
    queued,       ///< waiting for an account
    submitting,   ///< an attempt is reserved; the paid POST may be in flight
    running,      ///< the provider has the job (we hold its id); only ever polled
    downloading,  ///< the video is ready; fetching and verifying it
    retry_wait,   ///< a transient failure; back to the queue at next_attempt_at
    succeeded,    ///< terminal: the verified file is in place
    failed,       ///< terminal: reason kept in `error`
    canceled,     ///< terminal: by an operator
    held,         ///< needs an operator (e.g. an ambiguous submit under policy `hold`)
};

std::string_view to_string(job_state s) noexcept;
std::optional<job_state> parse_job_state(std::string_view s) noexcept;

bool is_terminal(job_state s) noexcept;
/// States in which a provider generation may be in flight for this job.
bool occupies_provider(job_state s) noexcept;
/// Whether the pipeline may move a job from `from` to `to`.
bool transition_allowed(job_state from, job_state to) noexcept;

inline constexpr job_state all_job_states[] = {
    job_state::queued,
    job_state::submitting,
    job_state::running,
    job_state::downloading,
    job_state::retry_wait,
    job_state::succeeded,
    job_state::failed,
    job_state::canceled,
    job_state::held,
};

}  // namespace shotfarm::jobs
