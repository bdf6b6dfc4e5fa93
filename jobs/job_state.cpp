#include "jobs/job_state.hpp"

namespace shotfarm::jobs {

std::string_view to_string(job_state s) noexcept {
    switch (s) {
        case job_state::queued:
            return "queued";
        case job_state::submitting:
            return "submitting";
        case job_state::running:
            return "running";
        case job_state::downloading:
            return "downloading";
        case job_state::retry_wait:
            return "retry_wait";
        case job_state::succeeded:
            return "succeeded";
        case job_state::failed:
            return "failed";
        case job_state::canceled:
            return "canceled";
        case job_state::held:
            return "held";
    }
    return "unknown";
}

std::optional<job_state> parse_job_state(std::string_view s) noexcept {
    for (job_state st : all_job_states) {
        if (to_string(st) == s) {
            return st;
        }
    }
    return std::nullopt;
}

bool is_terminal(job_state s) noexcept {
    return s == job_state::succeeded || s == job_state::failed || s == job_state::canceled;
}

bool occupies_provider(job_state s) noexcept {
    return s == job_state::submitting || s == job_state::running;
}

bool transition_allowed(job_state from, job_state to) noexcept {
    using js = job_state;
    if (is_terminal(from)) {
        return false;  // terminal means terminal; an operator re-queue is a new decision
    }
    if (to == js::canceled) {
        return true;
    }
    switch (from) {
        case js::queued:
            return to == js::submitting || to == js::queued;
        case js::retry_wait:
            // running: a submit ruled ambiguous turned out accepted (its late id is adopted).
            return to == js::submitting || to == js::queued || to == js::running;
        case js::submitting:
            // accepted | transient/ambiguous (resubmit) | rejected input | ambiguous (hold) |
            // account problem before anything was billed
            return to == js::running || to == js::retry_wait || to == js::failed ||
                   to == js::held || to == js::queued;
        case js::running:
            // video ready | remote failure to retry | terminal failure | stuck
            return to == js::downloading || to == js::retry_wait || to == js::failed ||
                   to == js::held || to == js::running;
        case js::downloading:
            // done | URL expired: poll again for a fresh one | gave up
            return to == js::succeeded || to == js::running || to == js::failed ||
                   to == js::downloading || to == js::held;
        case js::held:
            return to == js::queued || to == js::running || to == js::failed;
        default:
            return false;
    }
}

}  // namespace shotfarm::jobs
