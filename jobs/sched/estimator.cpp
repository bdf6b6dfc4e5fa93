#include "jobs/sched/estimator.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <vector>

namespace shotfarm::sched {

namespace {

constexpr double min_seconds = 0.01;  // ages are clamped here before taking logs
const double log_sqrt_2pi = 0.5 * std::log(2 * std::numbers::pi);

/// P(Z <= z) for a standard normal.
double phi_cdf(double z) {
    return 0.5 * std::erfc(-z / std::numbers::sqrt2);
}

/// ln P(Z <= z), accurate far into the lower tail (erfc underflows near z = -38).
double log_phi_cdf(double z) {
    if (z > -30) {
        return std::log(std::max(phi_cdf(z), std::numeric_limits<double>::min()));
    }
    // Mills ratio: P(Z <= z) ~ phi(z) / |z| for large |z|.
    return -0.5 * z * z - log_sqrt_2pi - std::log(-z);
}

/// ln P(za < Z <= zb), za < zb; computed on the side where it does not cancel.
double log_phi_between(double za, double zb) {
    if (za > 0) {  // both in the upper tail: P(-zb <= Z < -za)
        std::swap(za, zb);
        za = -za;
        zb = -zb;
    }
    const double hi = log_phi_cdf(zb);
    const double lo = log_phi_cdf(za);
    const double diff = -std::expm1(lo - hi);  // 1 - e^(lo - hi)
    if (diff <= 0) {
        // Equal within rounding: a very narrow interval; use the density times its width.
        const double mid = 0.5 * (za + zb);
        return -0.5 * mid * mid - log_sqrt_2pi + std::log(std::max(zb - za, 1e-300));
    }
    return hi + std::log(diff);
}

double log_of(double seconds) {
    return std::log(std::max(seconds, min_seconds));
}

struct problem {
    std::span<const observation> obs;
    std::span<const double> weights;
    double prior_mu;
    const estimator_options& opts;

    /// Log posterior (up to a constant) at (mu, ln sigma).
    double operator()(double mu, double log_sigma) const {
        const double sigma = std::exp(log_sigma);
        double sum = 0;
        for (std::size_t i = 0; i < obs.size(); ++i) {
            const auto& o = obs[i];
            const double w = weights[i];
            if (w <= 0) {
                continue;
            }
            const double zb = (log_of(o.by_s) - mu) / sigma;
            if (o.exact()) {
                sum += w * (-0.5 * zb * zb - log_sigma - log_of(o.by_s) - log_sqrt_2pi);
            } else if (o.after_s <= 0) {
                sum += w * log_phi_cdf(zb);
            } else {
                sum += w * log_phi_between((log_of(o.after_s) - mu) / sigma, zb);
            }
        }
        const double dm = (mu - prior_mu) / opts.prior_log_median_sd;
        const double ds = (log_sigma - std::log(opts.prior_sigma)) / opts.prior_log_sigma_sd;
        return sum - 0.5 * dm * dm - 0.5 * ds * ds;
    }
};

/// Maximum of a unimodal f on [lo, hi] by golden-section search.
double golden_max(const std::function<double(double)>& f, double lo, double hi, double tol) {
    const double r = (std::sqrt(5.0) - 1) / 2;
    double a = lo;
    double b = hi;
    double c = b - r * (b - a);
    double d = a + r * (b - a);
    double fc = f(c);
    double fd = f(d);
    while (b - a > tol) {
        if (fc < fd) {
            a = c;
            c = d;
            fc = fd;
            d = a + r * (b - a);
            fd = f(d);
        } else {
            b = d;
            d = c;
            fd = fc;
            c = b - r * (b - a);
            fc = f(c);
        }
    }
    return 0.5 * (a + b);
}

}  // namespace

lognormal lognormal::with_median(double median_s, double sigma) {
    return lognormal{log_of(median_s), sigma};
}

double lognormal::median() const {
    return std::exp(mu);
}

double lognormal::mean() const {
    return std::exp(mu + 0.5 * sigma * sigma);
}

double lognormal::quantile(double p) const {
    p = std::clamp(p, 1e-12, 1 - 1e-12);
    // Inverse of phi_cdf by bisection on z (plenty fast for a planner, exact to 1e-10).
    double lo = -10;
    double hi = 10;
    for (int i = 0; i < 80; ++i) {
        const double mid = 0.5 * (lo + hi);
        (phi_cdf(mid) < p ? lo : hi) = mid;
    }
    return std::exp(mu + sigma * 0.5 * (lo + hi));
}

double lognormal::cdf(double t) const {
    return t <= 0 ? 0.0 : phi_cdf((std::log(t) - mu) / sigma);
}

double lognormal::survival(double t) const {
    return t <= 0 ? 1.0 : phi_cdf(-(std::log(t) - mu) / sigma);
}

double lognormal::cumulative_hazard(double t) const {
    return t <= 0 ? 0.0 : -log_phi_cdf(-(std::log(t) - mu) / sigma);
}

estimate fit_lognormal(
    std::span<const observation> obs,
    std::span<const double> weights,
    double prior_median_s,
    const estimator_options& opts,
    std::optional<lognormal> start
) {
    const problem post{obs, weights, log_of(prior_median_s), opts};
    double mu = start ? start->mu : log_of(prior_median_s);
    double ls = std::log(start ? start->sigma : opts.prior_sigma);
    // Coordinate ascent: each coordinate's section is unimodal (log-concave likelihood in the
    // location; the shape is well behaved around the prior).
    const double mu_lo = log_of(min_seconds);
    const double mu_hi = std::log(7 * 86400.0);
    const double ls_lo = std::log(0.03);
    const double ls_hi = std::log(3.0);
    for (int round = 0; round < 8; ++round) {
        const double old_mu = mu;
        const double old_ls = ls;
        mu = golden_max([&](double m) { return post(m, ls); }, mu_lo, mu_hi, 1e-5);
        ls = golden_max([&](double s) { return post(mu, s); }, ls_lo, ls_hi, 1e-5);
        if (std::abs(mu - old_mu) < 1e-4 && std::abs(ls - old_ls) < 1e-4) {
            break;
        }
    }
    estimate e;
    e.fit = lognormal{mu, std::exp(ls)};
    // The uncertainty of mu from the curvature of the posterior (Laplace): the planner widens
    // the distribution by it, so an estimate from three intervals plans earlier, wider polls
    // than one from three hundred.
    const double h = 1e-3;
    const double d2 = (post(mu + h, ls) - 2 * post(mu, ls) + post(mu - h, ls)) / (h * h);
    const double var_mu = d2 < 0 ? -1 / d2 : opts.prior_log_median_sd * opts.prior_log_median_sd;
    e.predictive = lognormal{mu, std::sqrt(e.fit.sigma * e.fit.sigma + var_mu)};
    double left = 0;
    for (std::size_t i = 0; i < obs.size(); ++i) {
        e.weight += weights[i];
        if (!obs[i].exact() && obs[i].after_s <= 0) {
            left += weights[i];
        }
    }
    e.left_censored_share = e.weight > 0 ? left / e.weight : 0;
    e.observations = static_cast<int>(obs.size());
    return e;
}

generation_estimator::generation_estimator(double prior_median_s, estimator_options opts)
    : opts_(opts), prior_median_s_(prior_median_s) {}

void generation_estimator::add(observation o) {
    o.after_s = std::max(0.0, o.after_s);
    o.by_s = std::max(o.by_s, o.after_s);
    obs_.push_back(o);
    while (obs_.size() > opts_.max_observations) {
        obs_.pop_front();
        ++dropped_;
    }
    dirty_ = true;
}

void generation_estimator::set_prior(double prior_median_s, double log_sd) {
    if (std::abs(prior_median_s - prior_median_s_) > 1e-3 * prior_median_s_ ||
        log_sd != opts_.prior_log_median_sd) {
        prior_median_s_ = prior_median_s;
        opts_.prior_log_median_sd = log_sd;
        dirty_ = true;
    }
}

int generation_estimator::observations() const {
    return static_cast<int>(obs_.size() - first_in_regime());
}

const estimate& generation_estimator::current(double now_s) {
    // Forgetting moves on with time: refit when something was added, or when a tenth of a
    // half-life has passed.
    const double half_life = std::clamp(
        opts_.half_life_medians * (est_.observations > 0 ? est_.fit.median() : prior_median_s_),
        opts_.min_half_life_s,
        opts_.max_half_life_s
    );
    if (dirty_ || now_s - fitted_at_s_ > 0.1 * half_life) {
        est_ = fit_now(now_s);
        fitted_at_s_ = now_s;
        dirty_ = false;
    }
    return est_;
}

std::size_t generation_estimator::first_in_regime() const {
    return regime_start_ > dropped_ ? regime_start_ - dropped_ : 0;
}

estimate generation_estimator::fit_now(double now_s) {
    const double half_life = std::clamp(
        opts_.half_life_medians * (est_.observations > 0 ? est_.fit.median() : prior_median_s_),
        opts_.min_half_life_s,
        opts_.max_half_life_s
    );
    auto fit_range = [&](std::size_t from, std::size_t to) {  // indices into obs_
        std::vector<observation> o;
        std::vector<double> w;
        for (std::size_t i = std::max(from, first_in_regime()); i < to; ++i) {
            o.push_back(obs_[i]);
            w.push_back(std::exp2(-std::max(0.0, now_s - obs_[i].at_s) / half_life));
        }
        std::optional<lognormal> start;
        if (est_.observations > 0) {
            start = est_.fit;
        }
        return fit_lognormal(o, w, prior_median_s_, opts_, start);
    };
    // The change test: does each new run of completions agree with the estimate they were
    // planned by (the last fit, made before they arrived)? Each interval's place in that
    // distribution is the midpoint of (F(after), F(by)]; under the estimate these average about
    // one half, so a run averaging under `change_pit` (or over 1 - it) says the provider got
    // faster (or slower).
    const std::size_t run = static_cast<std::size_t>(std::max(1, opts_.change_run));
    if (est_.observations >= opts_.change_min_history) {
        const auto& before = est_.predictive;
        const std::size_t from = std::max(
            checked_ > dropped_ ? checked_ - dropped_ : std::size_t{0}, first_in_regime() + run - 1
        );
        for (std::size_t end = from; end < obs_.size(); ++end) {
            double sum = 0;
            for (std::size_t i = end + 1 - run; i <= end; ++i) {
                sum += 0.5 * (before.cdf(obs_[i].after_s) + before.cdf(obs_[i].by_s));
            }
            const double mean = sum / static_cast<double>(run);
            if (mean < opts_.change_pit || mean > 1 - opts_.change_pit) {
                regime_start_ = dropped_ + end + 1 - run;
                ++regime_changes_;
                break;
            }
        }
    }
    checked_ = dropped_ + obs_.size();
    auto e = fit_range(0, obs_.size());
    e.regime_changes = regime_changes_;
    return e;
}

}  // namespace shotfarm::sched
