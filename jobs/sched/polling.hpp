// When to poll a generation: the poll planner. Sans-I/O — a distribution and ages in, ages out.
//
// The model (docs/scheduler.md "Poll planner"): a job's generation time T has a known
// distribution F (the estimator's predictive log-normal). Polls at ages t1 < t2 < … see the
// video at the first tk >= T. A slot is wasted for W = tk - T, and the job costs N = k polls.
// The planner minimises E[W] + lambda * E[N], lambda being what one poll is worth in seconds of
// waiting. Locally, polls h apart waste about h/2 each time a completion falls between them and
// cost one poll per h of surviving time, so the best spacing satisfies
//     h * (H(a + h) - H(a)) = 2 * lambda,
// H = -ln(1 - F) the cumulative hazard: polls are dense where completions are likely (the hazard
// is high) and sparse in the early and late tails. lambda is chosen so that the expected number
// of polls per job meets a target, and the target is what the account's request budget affords.
#pragma once

#include <vector>

#include "jobs/sched/estimator.hpp"

namespace shotfarm::sched {

/// With provider push (webhooks) the polls are a safety net for a lost push: planned for this
/// many per job (they come late, after most pushes, and the push ends the job's polling).
inline constexpr double safety_polls_per_job = 2.0;

struct poll_limits {
    double min_interval_s = 1.0;   ///< never two polls of a job closer than this
    double max_interval_s = 30.0;  ///< nor further apart than this
};

/// The age at which to poll next, for a job last seen pending at `pending_s` (0: not polled
/// yet), with poll price `lambda_s`.
double next_poll_age(
    const lognormal& d, double pending_s, double lambda_s, const poll_limits& limits
);

/// The next poll for a job under the estimate: `next_poll_age` on its predictive distribution,
/// except that a first poll comes at half the planned age while most first polls find the
/// video already done (the estimate may be too high, and only earlier polls can
/// tell by how much).
double next_poll_for(
    const estimate& e,
    double pending_s,
    double lambda_s,
    const poll_limits& limits,
    bool push_expected = false
);

/// The whole schedule from age 0 until the distribution has (nearly) no mass left.
std::vector<double> poll_schedule(
    const lognormal& d, double lambda_s, const poll_limits& limits, int max_polls = 200
);

struct plan_figures {
    double expected_wait_s = 0;  ///< E[W]: a ready video waits this long to be seen
    double expected_polls = 0;   ///< E[N]
};

/// Expected wait and polls when polling by `plan` while the truth is `truth` (computed from the
/// distributions, not simulated).
plan_figures evaluate_plan(
    const lognormal& plan, const lognormal& truth, double lambda_s, const poll_limits& limits
);

/// The poll price that makes the expected polls per job (under `d`) about `polls_per_job`.
double lambda_for(const lognormal& d, double polls_per_job, const poll_limits& limits);

/// What an account's request budget affords per job: requests per minute, less what submits
/// take, shared by the jobs it turns over — each slot once per mean generation, but never more
/// jobs than its submit rate starts (a night bound by submits leaves slots free, and the polls
/// of the few jobs in flight may use the requests the slots do not). At least 1.
struct request_budget {
    double requests_per_minute = 0;  ///< 0: no limit
    double submits_per_minute = 0;   ///< submits also count as requests (0: not limited)
    int slots = 1;
    double safety = 0.9;  ///< keep this share of the limit for polls, to spare the rest
    /// Jobs are still being submitted. Once the queue is empty the last jobs' polls have the
    /// whole budget: nothing else will ask for a request.
    bool submitting = true;
};
double affordable_polls_per_job(const request_budget& b, double mean_generation_s);

/// The polls per job to plan for: the configured target, less when the budget is tight.
double planned_polls_per_job(double target, const request_budget& b, double mean_generation_s);

}  // namespace shotfarm::sched
