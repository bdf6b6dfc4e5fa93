// How long a provider's generations take, learned from what polls can see. Sans-I/O: plain
// values in, an estimate out; the pipeline feeds it and the poll planner reads it.
//
// A poll never sees the moment a video became ready, only that it was not ready at the last
// poll that saw it pending and was ready at the poll that saw it done: each observation is an
// interval (after_s, by_s], or an exact time when the provider reports one. The model is a
// log-normal per provider, model and clip length, fitted by maximum a posteriori over those
// intervals (a weak prior from the config keeps the first wave sane), with old observations
// forgotten by time (a half-life of a few generations) and a change test that starts afresh when
// the latest completions all disagree with what came before (a provider slowing down at 3 a.m.).
#pragma once

#include <deque>
#include <optional>
#include <span>

namespace shotfarm::sched {

/// A log-normal distribution of seconds: median exp(mu), shape sigma.
struct lognormal {
    double mu = 0;
    double sigma = 0.35;

    static lognormal with_median(double median_s, double sigma);
    double median() const;
    double mean() const;
    double quantile(double p) const;
    /// P(T <= t).
    double cdf(double t) const;
    /// P(T > t).
    double survival(double t) const;
    /// -ln P(T > t), finite even far in the tail.
    double cumulative_hazard(double t) const;
};

/// One finished generation, ages in seconds since the provider accepted the job.
struct observation {
    double after_s = 0;  ///< last age a poll saw it pending (0: never seen pending)
    double by_s = 0;     ///< age at the poll that saw it done; == after_s for an exact time
    double at_s = 0;     ///< when it was observed, on the caller's clock (for forgetting)
    bool exact() const { return by_s - after_s <= 1e-9 * by_s; }
};

struct estimator_options {
    /// Spread of the prior on the median, in natural-log units: 1.0 lets the data move a prior
    /// that is 10x off within a wave (ln 10 = 2.3: a few observations outweigh that), without
    /// planning a fresh model's polls over three orders of magnitude.
    double prior_log_median_sd = 1.0;
    double prior_sigma = 0.35;  ///< typical of documented ranges (e.g. 30-90 s is about 0.3)
    double prior_log_sigma_sd = 0.5;
    /// Observations lose half their weight after this many current medians of wall time...
    double half_life_medians = 4.0;
    double min_half_life_s = 5.0;  ///< ...but never faster than this
    double max_half_life_s = 3600.0;
    std::size_t max_observations = 256;  ///< the oldest beyond this are dropped
    /// The change test: where each of the latest `change_run` completions falls in the estimate
    /// they were planned by (its percentile, the midpoint for an interval), averaged; under
    /// `change_pit` the provider got faster, over 1 - `change_pit` slower, and a new regime
    /// starts with them (for a steady provider a run of 8 averages 0.5 with a spread of 0.1:
    /// 0.15 is 3.4 spreads away, a false alarm about once in 3,000 completions).
    int change_run = 8;
    double change_pit = 0.15;
    int change_min_history = 16;  ///< observations behind that estimate before the test applies
};

struct estimate {
    lognormal fit;         ///< most probable parameters
    lognormal predictive;  ///< sigma widened by the uncertainty of mu (what planning uses)
    double weight = 0;     ///< effective number of observations, after forgetting
    /// Share of that weight whose first poll already found the video done: a high share means
    /// the polls start too late to tell how early videos are ready.
    double left_censored_share = 0;
    int observations = 0;  ///< in the current regime
    int regime_changes = 0;
};

/// The learned generation time of one provider/model/duration.
class generation_estimator {
public:
    explicit generation_estimator(double prior_median_s, estimator_options opts = {});

    /// Adds a completion; the estimate is refitted at the next `current`.
    void add(observation o);
    /// The estimate at time `now_s` (refits if anything was added or time moved on).
    const estimate& current(double now_s);
    /// The prior can change (config reload; what the provider's other models show); takes
    /// effect at the next fit. `log_sd` (natural-log units) replaces prior_log_median_sd.
    void set_prior(double prior_median_s, double log_sd);
    /// The current regime's observations (0: the prior alone speaks).
    int observations() const;

private:
    estimate fit_now(double now_s);
    std::size_t first_in_regime() const;  ///< index into obs_

    estimator_options opts_;
    double prior_median_s_;
    std::deque<observation> obs_;   ///< in the order added
    std::size_t dropped_ = 0;       ///< observations dropped from the front of obs_ so far
    std::size_t regime_start_ = 0;  ///< sequence number of the first one of the current regime
    std::size_t checked_ = 0;  ///< sequence number of the first one the change test has not seen
    int regime_changes_ = 0;
    estimate est_;
    bool dirty_ = true;
    double fitted_at_s_ = -1e300;
};

/// The maximum a posteriori log-normal for weighted interval observations (sans state; the
/// estimator's core, exposed for tests). `weights` parallel to `obs`.
estimate fit_lognormal(
    std::span<const observation> obs,
    std::span<const double> weights,
    double prior_median_s,
    const estimator_options& opts,
    std::optional<lognormal> start = std::nullopt
);

}  // namespace shotfarm::sched
