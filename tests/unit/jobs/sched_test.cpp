// The sans-I/O decisions: the generation-time estimator, the poll planner and the ranking.
// Figures here are computed from distributions (or from seeded draws), never timed.
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "jobs/sched/estimator.hpp"
#include "jobs/sched/polling.hpp"
#include "jobs/sched/scheduling.hpp"
#include "jobs/sched/submit_window.hpp"

namespace shotfarm::sched {
namespace {

TEST(lognormal, quantile_inverts_cdf_and_the_median_is_the_half_point) {
    const auto d = lognormal::with_median(90, 0.35);
    EXPECT_NEAR(d.median(), 90, 1e-9);
    EXPECT_NEAR(d.cdf(90), 0.5, 1e-12);
    for (double p : {0.01, 0.1, 0.5, 0.9, 0.99}) {
        EXPECT_NEAR(d.cdf(d.quantile(p)), p, 1e-9) << p;
    }
    EXPECT_NEAR(d.survival(d.quantile(0.9)), 0.1, 1e-9);
    // Far in the tail the hazard stays finite and grows.
    EXPECT_GT(d.cumulative_hazard(90 * 20), d.cumulative_hazard(90 * 10));
    EXPECT_TRUE(std::isfinite(d.cumulative_hazard(90 * 1e6)));
}

// ---- the estimator -----------------------------------------------------------------------

TEST(estimator, exact_times_recover_the_distribution) {
    std::mt19937_64 rng(7);
    const auto truth = lognormal::with_median(90, 0.3);
    std::normal_distribution<double> z;
    generation_estimator est(30);  // the prior is 3x off
    for (int i = 0; i < 200; ++i) {
        const double t = std::exp(truth.mu + truth.sigma * z(rng));
        est.add({t, t, i * 0.5});
    }
    const auto& e = est.current(100);
    EXPECT_NEAR(e.fit.median(), 90, 9);
    EXPECT_NEAR(e.fit.sigma, 0.3, 0.06);
    EXPECT_LT(e.predictive.sigma - e.fit.sigma, 0.02);  // 200 samples: mu is well known
}

TEST(estimator, an_interval_is_not_its_upper_end) {
    // Every video was ready somewhere in (5, 15] s; the old learner took 15 s (the poll that
    // saw it) or the midpoint 10 s. The fit must put the median inside the interval.
    generation_estimator est(100);
    for (int i = 0; i < 40; ++i) {
        est.add({5, 15, static_cast<double>(i)});
    }
    const auto& e = est.current(40);
    EXPECT_GT(e.fit.median(), 5);
    EXPECT_LT(e.fit.median(), 15);
    EXPECT_NEAR(e.left_censored_share, 0.0, 1e-12);
}

TEST(estimator, first_polls_that_find_everything_done_pull_the_estimate_down) {
    // A 30 s prior against a 3 s provider: the first polls (at 8 s) find every video done.
    generation_estimator est(30);
    for (int i = 0; i < 8; ++i) {
        est.add({0, 8, 8});
    }
    const auto& e = est.current(8);
    EXPECT_LT(e.fit.median(), 8);
    EXPECT_GT(e.left_censored_share, 0.99);
}

TEST(estimator, old_observations_are_forgotten_by_time) {
    generation_estimator est(10);
    for (int i = 0; i < 50; ++i) {
        est.add({9.5, 10.5, 0});  // long ago: about 10 s
    }
    for (int i = 0; i < 5; ++i) {
        est.add({19.5, 20.5, 1000});  // now: about 20 s, fewer but recent
    }
    // Half-life = 4 medians, at most 3600 s: at t = 1000 the old weights are ~2^-25.
    EXPECT_GT(est.current(1000).fit.median(), 18);
    EXPECT_LT(est.current(1000).weight, 6);
}

TEST(estimator, a_run_of_disagreeing_completions_starts_a_new_regime) {
    generation_estimator est(3);
    double t = 0;
    for (int i = 0; i < 40; ++i, t += 0.4) {
        est.add({2.8, 3.2, t});
    }
    EXPECT_EQ(est.current(t).regime_changes, 0);
    for (int i = 0; i < 4; ++i, t += 0.4) {
        est.add({5.8, 6.2, t});  // far beyond the old 90th percentile
    }
    EXPECT_EQ(est.current(t).regime_changes, 0);  // four in eight may be chance
    for (int i = 0; i < 4; ++i, t += 0.4) {
        est.add({5.8, 6.2, t});
    }
    const auto& e = est.current(t);
    EXPECT_EQ(e.regime_changes, 1);
    EXPECT_NEAR(e.fit.median(), 6, 0.5);
}

// A farm in miniature: waves of `slots` jobs polled by the planner from the estimate at the
// wave's start; each job's generation time drawn from the truth; what the polls saw fed back.
struct farm_result {
    std::vector<double> median_after_wave;
    double mean_polls = 0;
    double mean_wait_over_mean_generation = 0;
};

farm_result play_waves(
    double prior_s,
    std::vector<lognormal> truth_per_wave,
    int slots,
    double polls_per_job,
    std::uint64_t seed
) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> z;
    generation_estimator est(prior_s);
    const poll_limits limits{0.05, 600};
    farm_result out;
    double now = 0;
    double polls = 0;
    double waited = 0;
    double generated = 0;
    int jobs = 0;
    for (const auto& truth : truth_per_wave) {
        const auto e = est.current(now);
        const double lambda = lambda_for(e.predictive, polls_per_job, limits);
        double wave_end = now;
        for (int j = 0; j < slots; ++j) {
            const double gen = std::exp(truth.mu + truth.sigma * z(rng));
            double pending = 0;
            double age = 0;
            int n = 0;
            for (;;) {
                age = next_poll_for(e, pending, lambda, limits);
                ++n;
                if (age >= gen) {
                    break;
                }
                pending = age;
            }
            est.add({pending, age, now + age});
            wave_end = std::max(wave_end, now + age);
            polls += n;
            waited += age - gen;
            generated += gen;
            ++jobs;
        }
        now = wave_end;
        out.median_after_wave.push_back(est.current(now).fit.median());
    }
    out.mean_polls = polls / jobs;
    out.mean_wait_over_mean_generation = waited / generated;
    return out;
}

struct convergence_case {
    const char* name;
    double prior_s;
    double true_median_s;
};

TEST(estimator, converges_within_two_waves_from_a_prior_10x_too_high_or_3x_too_low) {
    const convergence_case cases[] = {
        {"prior 10x too high", 30, 3},
        {"prior 3x too low", 30, 90},
        {"prior right", 90, 90},
        {"no prior (default 60 s) for 3 s videos", 60, 3},
    };
    for (const auto& c : cases) {
        for (std::uint64_t seed = 1; seed <= 5; ++seed) {
            const auto truth = lognormal::with_median(c.true_median_s, 0.3);
            const auto r = play_waves(c.prior_s, {truth, truth, truth, truth}, 8, 6, seed);
            EXPECT_NEAR(r.median_after_wave[1] / c.true_median_s, 1.0, 0.25)
                << c.name << " seed " << seed << ": after two waves " << r.median_after_wave[1];
            EXPECT_NEAR(r.median_after_wave[3] / c.true_median_s, 1.0, 0.2)
                << c.name << " seed " << seed;
        }
    }
}

TEST(estimator, follows_a_provider_that_halves_its_speed_mid_run_within_two_waves) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        const auto fast = lognormal::with_median(3, 0.3);
        const auto slow = lognormal::with_median(6, 0.3);
        const auto r = play_waves(3, {fast, fast, fast, fast, fast, slow, slow, slow}, 8, 6, seed);
        EXPECT_NEAR(r.median_after_wave[4], 3, 0.6) << seed;
        EXPECT_NEAR(r.median_after_wave[6] / 6, 1.0, 0.25)
            << "seed " << seed << ": " << r.median_after_wave[6];
        // And back: twice as fast again.
        const auto back = play_waves(6, {slow, slow, slow, slow, fast, fast, fast}, 8, 6, seed);
        EXPECT_NEAR(back.median_after_wave[5] / 3, 1.0, 0.25)
            << "seed " << seed << ": " << back.median_after_wave[5];
    }
}

// ---- the poll planner --------------------------------------------------------------------

TEST(planner, the_price_of_a_poll_sets_polls_per_job_and_the_wait_that_costs) {
    const poll_limits limits{0.01, 1e6};
    struct row {
        double sigma;
        double polls;
        double max_wait_share;  // of the mean generation time
    };
    // Computed from the model: a 6-poll plan leaves a log-normal(sigma 0.35) slot idle for
    // about 5 % of a generation; 3 polls for about 9 %; 12 polls for about 2.5 %.
    const row rows[] = {
        {0.2, 6, 0.045},
        {0.35, 3, 0.12},
        {0.35, 6, 0.06},
        {0.35, 12, 0.03},
        {0.5, 8, 0.06},
    };
    for (const auto& r : rows) {
        const auto d = lognormal::with_median(90, r.sigma);
        const double lambda = lambda_for(d, r.polls, limits);
        const auto f = evaluate_plan(d, d, lambda, limits);
        EXPECT_NEAR(f.expected_polls, r.polls, 0.15) << r.sigma << "/" << r.polls;
        EXPECT_LT(f.expected_wait_s / d.mean(), r.max_wait_share) << r.sigma << "/" << r.polls;
    }
    // More polls buy less wait, always.
    const auto d = lognormal::with_median(90, 0.35);
    double last_wait = 1e9;
    for (double n : {2.0, 4.0, 8.0, 16.0}) {
        const auto f = evaluate_plan(d, d, lambda_for(d, n, limits), limits);
        EXPECT_LT(f.expected_wait_s, last_wait);
        last_wait = f.expected_wait_s;
    }
}

TEST(planner, polls_are_dense_where_completions_are_likely_and_sparse_in_the_tails) {
    const poll_limits limits{0.01, 1e6};
    // The gap h from a poll at a satisfies h * (H(a + h) - H(a)) = 2 lambda: one poll per
    // equal share of "completion chance times wait". Nothing is polled in the early tail, the
    // gaps shrink towards the median, and where the hazard falls again (a heavy tail, sigma 1)
    // they widen.
    for (double sigma : {0.35, 1.0}) {
        const auto d = lognormal::with_median(90, sigma);
        const double lambda = lambda_for(d, 6, limits);
        const auto plan = poll_schedule(d, lambda, limits);
        ASSERT_GE(plan.size(), 4u);
        EXPECT_GT(plan[0], d.quantile(0.02)) << sigma;
        std::size_t at_median = 1;
        while (at_median + 1 < plan.size() && plan[at_median] < d.median()) {
            ++at_median;
        }
        const double median_gap = plan[at_median] - plan[at_median - 1];
        EXPECT_LT(median_gap, plan[0]) << sigma;
        double a = 0;
        for (double t : plan) {
            const double h = t - a;
            EXPECT_NEAR(
                h * (d.cumulative_hazard(t) - d.cumulative_hazard(a)), 2 * lambda, 2 * lambda * 0.01
            ) << sigma
              << " at " << t;
            a = t;
        }
        if (sigma == 1.0) {
            EXPECT_GT(plan.back() - plan[plan.size() - 2], median_gap);
        }
    }
}

TEST(planner, limits_clamp_every_interval) {
    const auto d = lognormal::with_median(90, 0.35);
    const poll_limits limits{5, 20};
    double pending = 0;
    for (int i = 0; i < 50; ++i) {
        const double next = next_poll_age(d, pending, lambda_for(d, 30, limits), limits);
        EXPECT_GE(next - pending, 5 - 1e-9);
        EXPECT_LE(next - pending, 20 + 1e-9);
        pending = next;
    }
}

TEST(planner, a_first_poll_that_keeps_finding_videos_done_moves_earlier) {
    estimate e;
    e.fit = e.predictive = lognormal::with_median(30, 0.5);
    const poll_limits limits{0.05, 600};
    const double lambda = lambda_for(e.predictive, 6, limits);
    e.observations = 8;
    const double normal = next_poll_for(e, 0, lambda, limits);
    e.weight = 8;
    e.left_censored_share = 0.9;
    const double probing = next_poll_for(e, 0, lambda, limits);
    EXPECT_NEAR(probing, 0.5 * normal, 1e-9);
    // Later polls are not affected.
    EXPECT_EQ(
        next_poll_for(e, 20, lambda, limits), next_poll_age(e.predictive, 20, lambda, limits)
    );
}

TEST(planner, a_model_never_seen_is_probed_from_a_twentieth_of_its_prior) {
    estimate e;  // no observations: the fit is the prior
    e.fit = lognormal::with_median(60, 0.35);
    e.predictive = lognormal::with_median(60, 1.06);
    const poll_limits limits{0.25, 600};
    const double lambda = lambda_for(e.predictive, 10, limits);
    double pending = 0;
    std::vector<double> ages;
    for (int i = 0; i < 6; ++i) {
        pending = next_poll_for(e, pending, lambda, limits);
        ages.push_back(pending);
    }
    EXPECT_NEAR(ages[0], 3.0, 1e-9);  // 60 s / 20
    for (std::size_t i = 1; i < ages.size(); ++i) {
        EXPECT_LE(ages[i], ages[i - 1] * 1.5 + 1e-9);
        EXPECT_LE(ages[i], next_poll_age(e.predictive, ages[i - 1], lambda, limits) + 1e-9);
    }
    // A generation of 3 s (the prior 20x too high) is seen by 4.5 s.
    EXPECT_LE(ages[1], 4.5 + 1e-9);
    e.observations = 1;  // from the first observation on, the plan
    EXPECT_EQ(next_poll_for(e, 0, lambda, limits), next_poll_age(e.predictive, 0, lambda, limits));
}

TEST(planner, with_a_push_expected_the_first_poll_waits_for_most_pushes) {
    estimate e;
    e.fit = e.predictive = lognormal::with_median(30, 0.35);
    e.weight = 50;
    const poll_limits limits{0.05, 600};
    const double lambda = lambda_for(e.predictive, safety_polls_per_job, limits);
    const double first = next_poll_for(e, 0, lambda, limits, true);
    EXPECT_GE(first, e.predictive.quantile(0.75) - 1e-9);
    // Three jobs in four have their push (and no poll) by then.
    EXPECT_LE(e.predictive.survival(first), 0.25 + 1e-9);
    // After a pending poll (a lost or late push) the plan goes on as usual.
    EXPECT_EQ(
        next_poll_for(e, first, lambda, limits, true),
        next_poll_age(e.predictive, first, lambda, limits)
    );
}

TEST(planner, the_request_budget_caps_polls_per_job) {
    struct row {
        request_budget b;
        double mean_s;
        double target;
        double expected;
    };
    const row rows[] = {
        // No limit: the target.
        {{0, 0, 10}, 90, 6, 6},
        // 600 rpm, 10 slots of 90 s: 6.7 jobs/min; 540 - 6.7 requests for polls -> 80 per job.
        {{600, 120, 10}, 90, 6, 6},
        // 60 rpm, 10 slots of 30 s: 20 jobs/min, 54 - 20 = 34 polls/min -> 1.7 per job.
        {{60, 120, 10}, 30, 6, 1.7},
        // Submits capped at 5/min (MiniMax): 5 slots of 90 s would turn 3.3/min; 20 rpm
        // -> (18 - 3.33) / 3.33 = 4.4 polls per job.
        {{20, 5, 5}, 90, 6, 4.4},
        // Hopeless budget: still one poll per job (the limiter spaces them).
        {{2, 120, 10}, 10, 6, 1},
        // Bound by submits: 10 slots of 3 s could turn 200 jobs a minute, but 120 are started;
        // (540 - 120) / 120 = 3.5 polls each (counting 200 would have left 1).
        {{600, 120, 10}, 3, 6, 3.5},
        // The queue is empty: no submits to spare requests for; 540 / 120 = 4.5.
        {{600, 120, 10, 0.9, false}, 3, 6, 4.5},
        // ... and 60 rpm, 10 slots of 30 s: 54 / 20 = 2.7 (against 1.7 while submitting).
        {{60, 120, 10, 0.9, false}, 30, 6, 2.7},
    };
    for (const auto& r : rows) {
        EXPECT_NEAR(planned_polls_per_job(r.target, r.b, r.mean_s), r.expected, 0.05)
            << r.b.requests_per_minute << " rpm";
    }
}

TEST(planner, the_planned_polls_fit_the_request_limit) {
    // Ten slots, 600 rpm, 3 s generations: the configured 6 polls per job would be 1,200 polls
    // a minute; the plan must come in under the limit.
    const request_budget b{600, 600, 10};
    const auto d = lognormal::with_median(3, 0.3);
    const double n = planned_polls_per_job(6, b, d.mean());
    const poll_limits limits{0.05, 600};
    const auto f = evaluate_plan(d, d, lambda_for(d, n, limits), limits);
    const double jobs_per_minute = 10 * 60 / (d.mean() + f.expected_wait_s);
    const double requests_per_minute = jobs_per_minute * (1 + f.expected_polls);
    EXPECT_LE(requests_per_minute, 600);
    EXPECT_GE(f.expected_polls, 1.0);
}

// ---- ranking and claim order ---------------------------------------------------------------

TEST(scheduling, fastest_ranks_by_expected_finish_and_drops_slow_accounts_at_the_end) {
    std::vector<account_view> a = {
        {"slow", "aimlapi", "m", 0.30, true, false, 0, 270, 0},
        {"fast", "wavespeed", "m", 0.40, true, false, 0, 52, 0.5},
        {"paused", "atlas", "m", 0.20, false, false, 0, 30, 1},
        {"mid", "atlas", "m", 0.20, true, false, 10, 130, 0.2},
    };
    const auto long_queue = rank_accounts(a, {false, 600, {}});
    ASSERT_EQ(long_queue.size(), 3u);
    EXPECT_EQ(long_queue[0].account, "fast");
    EXPECT_EQ(long_queue[1].account, "mid");
    EXPECT_EQ(long_queue[2].account, "slow");
    const auto last_jobs = rank_accounts(a, {false, 100, {}});
    ASSERT_EQ(last_jobs.size(), 2u);  // slow: 270 > 52 + 100
    const auto cheapest = rank_accounts(a, {true, 0, {}});
    ASSERT_EQ(cheapest.size(), 3u);
    EXPECT_EQ(cheapest[0].account, "mid");  // cheapest usable; never dropped for speed
    EXPECT_NEAR(drain_time_s(30, 120), 15, 1e-9);
    EXPECT_EQ(drain_time_s(30, 0), 0);
}

TEST(scheduling, a_slow_free_account_loses_the_last_jobs_to_a_full_quick_one) {
    // The quick account is full; a slot frees in about 5.5 s / 10. The slow one (35 s) is free.
    account_view quick{"quick", "wavespeed", "m", 0.4, true, true, 0.55, 5.5, 1.0, 10, 1200};
    account_view slow{"slow", "aimlapi", "m", 0.3, true, false, 0, 35, 0.9, 10, 600};
    const std::vector<account_view> both{quick, slow};
    // Fluid drain: quick turns over 10 / 5.5 = 1.8 jobs/s, slow 10 / 35 = 0.29.
    EXPECT_NEAR(fluid_drain_time_s(209, both), 209 / (10 / 5.5 + 10 / 35.0), 1e-9);
    // A long queue: the slow account takes the job (it would otherwise wait its turn).
    const auto long_queue = rank_accounts(both, {false, fluid_drain_time_s(1000, both), {}});
    ASSERT_EQ(long_queue.size(), 1u);
    EXPECT_EQ(long_queue[0].account, "slow");
    // The last jobs: 35 s there against 6 s on the quick one once a slot frees — it waits.
    EXPECT_TRUE(rank_accounts(both, {false, fluid_drain_time_s(10, both), {}}).empty());
    // A full account is never offered the job itself.
    EXPECT_TRUE(rank_accounts({quick}, {false, 1e9, {}}).empty());
}

TEST(scheduling, near_the_end_a_slot_bound_account_is_judged_by_its_late_finish) {
    // Atlas-like: 10 slots, 15 s expected but a 90th percentile of 25 s; WaveSpeed-like: full,
    // a slot frees in 0.5 s, 5 s expected, 7 s late. Both turn over far fewer jobs than their
    // submit rate allows (slot-bound).
    account_view spread{"spread", "atlas", "m", 0.2, true, false, 0, 15, 0.9, 10, 1200, 25};
    account_view quick{"quick", "wavespeed", "m", 0.2, true, true, 0.5, 5, 1.0, 10, 1200, 7};
    EXPECT_TRUE(slot_bound(spread));
    // 12 s of queue left: by the expected finish (15 against 5.5 + 12) the job would go to
    // `spread`; by the late one (25 against 7.5 + 12) it waits for the quick account.
    EXPECT_TRUE(rank_accounts({spread, quick}, {false, 12, {}}).empty());
    // More queue left: it goes.
    ASSERT_EQ(rank_accounts({spread, quick}, {false, 20, {}}).size(), 1u);
    // Submit-bound accounts (a night limited by submits): the expected finish decides, as a
    // submit held back is not made up later.
    spread.submits_per_minute = 20;
    quick.submits_per_minute = 20;
    EXPECT_FALSE(slot_bound(spread));
    ASSERT_EQ(rank_accounts({spread, quick}, {false, 12, {}}).size(), 1u);
    // No late time known: the expected one.
    spread.submits_per_minute = 1200;
    spread.late_generation_s = 0;
    ASSERT_EQ(rank_accounts({spread, quick}, {false, 12, {}}).size(), 1u);
}

TEST(scheduling, an_account_is_held_back_against_the_drain_the_quicker_ones_face_without_it) {
    // quick: full, 10 slots of 5 s (2 jobs/s); mid: 15 s, 25 late (0.67/s); slow: 30 s, 50 late.
    account_view quick{"quick", "wavespeed", "m", 0.2, true, true, 0.5, 5, 1.0, 10, 1200, 7};
    account_view mid{"mid", "atlas", "m", 0.2, true, false, 0, 15, 0.5, 10, 1200, 25};
    account_view slow{"slow", "aimlapi", "m", 0.2, true, false, 0, 30, 0.5, 10, 1200, 50};
    const std::vector<account_view> all{quick, mid, slow};
    // 40 jobs left. Without mid the queue drains on quick in 20 s: mid's late finish (25) is
    // within 7.5 + 20 of the best, so it takes the job; slow's (50) is not within 7.5 + 15
    // (quick and mid together).
    rank_inputs in{false, 0, 40};
    const auto r = rank_accounts(all, in);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].account, "mid");
    // The fluid drain over all three (40 / 3 = 13.3 s) would have held mid back as well.
    EXPECT_TRUE(rank_accounts(all, {false, fluid_drain_time_s(40, all), {}}).empty());
    // 20 jobs left: 10 s on quick alone; mid waits too.
    in.queue_left = 20;
    EXPECT_TRUE(rank_accounts(all, in).empty());
    // A long queue: both.
    in.queue_left = 1000;
    EXPECT_EQ(rank_accounts(all, in).size(), 2u);
}

TEST(scheduling, the_last_waves_go_longest_first_within_a_priority) {
    const claim_candidate jobs[] = {{0, 50}, {0, 250}, {1, 10}, {0, 130}};
    EXPECT_FALSE(longest_first(100, 20));
    EXPECT_TRUE(longest_first(40, 20));
    const auto fifo = claim_order(jobs, false);
    EXPECT_EQ(fifo, (std::vector<std::size_t>{2, 0, 1, 3}));
    const auto lpt = claim_order(jobs, true);
    EXPECT_EQ(lpt, (std::vector<std::size_t>{2, 1, 3, 0}));
}

// ---- the submit window ---------------------------------------------------------------------

TEST(submit_window, is_the_exact_minute_up_to_the_longest_log_then_spans_of_it) {
    struct row {
        int per_minute;
        int length;
        double span_s;
    };
    const row table[] = {
        {1, 1, 60.6},     // one a minute: the log is the last submit
        {5, 5, 60.6},     // MiniMax: any five, then the sixth a minute after the first
        {50, 50, 60.6},   // MiniMax ×10 in the compressed bench
        {64, 64, 60.6},   // the longest log
        {67, 33, 30.3},   // prime: 2 × 33 = 66 a minute (64 alone would allow only 64)
        {120, 60, 30.3},  // Atlas, WaveSpeed: two spans of 60
        {1200, 63, 60.6 / 19},
    };
    for (const auto& r : table) {
        const auto w = submit_window_for(r.per_minute);
        EXPECT_EQ(w.length, r.length) << r.per_minute;
        EXPECT_NEAR(w.span_s, r.span_s, 1e-9) << r.per_minute;
    }
}

TEST(submit_window, never_lets_more_than_the_rate_into_a_minute_and_keeps_most_of_it) {
    for (int n = 1; n <= 5000; ++n) {
        const auto w = submit_window_for(n);
        ASSERT_GE(w.length, 1);
        ASSERT_LE(w.length, submit_window_max_length);
        // What a provider counts: any 60 s (ends included) holds at most N ...
        ASSERT_LE(most_submits_within(w, 60.0), n) << n;
        // ... and the window is not stricter than it has to be: a minute and the margin later
        // the whole rate (within the share given up for the bursts) has gone out.
        const int per_minute =
            static_cast<int>(std::lround(60.0 * submit_window_margin / w.span_s)) * w.length;
        ASSERT_GE(per_minute, submit_window_min_share * n) << n;
        ASSERT_LE(per_minute, n) << n;
        // A long enough log to refill a burst of freed slots at once.
        ASSERT_GE(w.length, std::min(n, submit_window_max_length / 2)) << n;
    }
}

}  // namespace
}  // namespace shotfarm::sched
