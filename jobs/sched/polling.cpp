#include "jobs/sched/polling.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace shotfarm::sched {

double next_poll_age(
    const lognormal& d, double pending_s, double lambda_s, const poll_limits& limits
) {
    const double a = std::max(0.0, pending_s);
    const double h_min = std::max(limits.min_interval_s, 1e-3);
    const double h_max = std::max(limits.max_interval_s, h_min);
    const double ha = d.cumulative_hazard(a);
    // g(h) = h * (H(a + h) - H(a)) - 2 lambda grows with h: bisect on a log scale.
    auto g = [&](double h) { return h * (d.cumulative_hazard(a + h) - ha) - 2 * lambda_s; };
    if (g(h_min) >= 0) {
        return a + h_min;
    }
    if (g(h_max) <= 0) {
        return a + h_max;
    }
    double lo = h_min;
    double hi = h_max;
    for (int i = 0; i < 60 && hi / lo > 1.0001; ++i) {
        const double mid = std::sqrt(lo * hi);
        (g(mid) < 0 ? lo : hi) = mid;
    }
    return a + hi;
}

double next_poll_for(
    const estimate& e,
    double pending_s,
    double lambda_s,
    const poll_limits& limits,
    bool push_expected
) {
    const double planned = next_poll_age(e.predictive, pending_s, lambda_s, limits);
    if (push_expected) {
        // The provider will push the result: the safety net's first poll waits until three
        // generations in four are done (and pushed), so only a lost push meets a poll.
        return pending_s <= 0 ? std::max(planned, e.predictive.quantile(0.75)) : planned;
    }
    if (e.observations == 0) {
        // Nothing seen of this model on this provider: the prior may be off by ten either way.
        // Probe from a twentieth of it, 1.5x further each time (never later than the plan):
        // a generation ten times quicker than the prior is seen within half its time again.
        const double probe = pending_s <= 0 ? e.fit.median() / 20 : pending_s * 1.5;
        return std::min(planned, std::max(pending_s + limits.min_interval_s, probe));
    }
    if (pending_s <= 0 && e.weight >= 2 && e.left_censored_share > 0.5) {
        return std::max(limits.min_interval_s, 0.5 * planned);
    }
    return planned;
}

std::vector<double> poll_schedule(
    const lognormal& d, double lambda_s, const poll_limits& limits, int max_polls
) {
    std::vector<double> out;
    double a = 0;
    while (static_cast<int>(out.size()) < max_polls) {
        a = next_poll_age(d, a, lambda_s, limits);
        out.push_back(a);
        if (d.survival(a) < 1e-6) {
            break;
        }
    }
    return out;
}

plan_figures evaluate_plan(
    const lognormal& plan, const lognormal& truth, double lambda_s, const poll_limits& limits
) {
    // E[N] = sum over polls of P(T > previous poll); E[seen] = sum tk P(t(k-1) < T <= tk);
    // E[W] = E[seen] - E[T] over the covered mass (the rest is beyond the schedule and is
    // charged the last interval).
    plan_figures f;
    double prev = 0;
    double covered_mean = 0;  // E[T; T <= last poll] by the partial expectation of a log-normal
    double a = 0;
    double seen = 0;
    for (int k = 0; k < 5000; ++k) {
        const double t = next_poll_age(plan, a, lambda_s, limits);
        const double s_prev = truth.survival(prev);
        const double s_t = truth.survival(t);
        f.expected_polls += s_prev;
        seen += t * (s_prev - s_t);
        prev = t;
        a = t;
        if (s_t < 1e-7) {
            break;
        }
    }
    // Partial expectation: E[T; T <= x] = mean * Phi((ln x - mu - sigma^2) / sigma).
    const double z = (std::log(prev) - truth.mu - truth.sigma * truth.sigma) / truth.sigma;
    covered_mean = truth.mean() * 0.5 * std::erfc(-z / std::sqrt(2.0));
    f.expected_wait_s = std::max(0.0, seen - covered_mean);
    return f;
}

double lambda_for(const lognormal& d, double polls_per_job, const poll_limits& limits) {
    // E[N] falls as lambda grows: bisect on a log scale between a tiny and a huge price.
    double lo = 1e-6 * d.median();
    double hi = 10 * d.mean();
    if (evaluate_plan(d, d, lo, limits).expected_polls <= polls_per_job) {
        return lo;
    }
    if (evaluate_plan(d, d, hi, limits).expected_polls >= polls_per_job) {
        return hi;
    }
    for (int i = 0; i < 40 && hi / lo > 1.01; ++i) {
        const double mid = std::sqrt(lo * hi);
        (evaluate_plan(d, d, mid, limits).expected_polls > polls_per_job ? lo : hi) = mid;
    }
    return hi;
}

double affordable_polls_per_job(const request_budget& b, double mean_generation_s) {
    if (b.requests_per_minute <= 0) {
        return std::numeric_limits<double>::infinity();
    }
    // Each job turns a slot over once per generation (at most as often as the submit rate
    // lets jobs in) and costs one submit and N polls.
    double jobs_per_minute = std::max(1, b.slots) * 60.0 / std::max(mean_generation_s, 1e-3);
    if (b.submits_per_minute > 0) {
        jobs_per_minute = std::min(jobs_per_minute, b.submits_per_minute);
    }
    const double submits = b.submitting ? jobs_per_minute : 0.0;
    const double polls_per_minute = b.requests_per_minute * b.safety - submits;
    return std::max(1.0, polls_per_minute / jobs_per_minute);
}

double planned_polls_per_job(double target, const request_budget& b, double mean_generation_s) {
    return std::max(1.0, std::min(target, affordable_polls_per_job(b, mean_generation_s)));
}

}  // namespace shotfarm::sched
