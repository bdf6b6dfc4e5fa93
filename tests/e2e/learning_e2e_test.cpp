// The farm learns the providers' real speed (issue 12, items 1 and 7): 96 shots on two WaveSpeed
// accounts of 4 slots, with the prior 10x too high, 3x too low, absent, and with the provider
// twice as slow from half-way; the makespan stays within 1.15x of the lower bound and the
// estimate converges within two waves of completions; a tight request budget is never broken.
// The real binary, simulator and PostgreSQL.
//
// WaveSpeed because its polls give no exact completion time (only `timings.inference`, which
// leaves out the queue: a lower bound), so the farm must learn from the intervals its polls see.
// The simulator runs at time_scale 1: it reports `timings.inference` in provider seconds, which
// at any other scale would not be a lower bound of the wall time the daemon measures.
//
// Lower bound (from the ledger): max(sum of (ready_at - at) / slots, longest generation) — no
// schedule on 8 slots can beat either. Makespan: the last job finished (the database's
// finished_at, the video written) minus the first accepted submit (the ledger's `at`).
#include <algorithm>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "jobs/config.hpp"
#include "jobs/sched/estimator.hpp"
#include "tests/e2e/farm_fixture.hpp"
#include "tests/support/http_call.hpp"

namespace shotfarm::testing {
namespace {

using namespace std::chrono_literals;

constexpr int shot_count = 96;
constexpr int accounts = 2;
constexpr int slots_per_account = 4;
constexpr int total_slots = accounts * slots_per_account;
constexpr double sigma = 0.3;
constexpr double ratio_target = 1.15;

/// The makespan is a figure of the optimised build: the sanitizer build runs the daemon several
/// times slower (each claim, write and request), which on 2 s generations is the ratio itself.
/// There every other check runs and the ratio is printed, not asserted — and it says so.
void expect_near_the_bound(double ratio, const std::string& detail) {
#if defined(__SANITIZE_ADDRESS__)
    std::cout << "sanitizer build: makespan/bound " << ratio << " printed, not checked against "
              << ratio_target << " (the optimised build checks it)\n";
    (void)detail;
#else
    EXPECT_LE(ratio, ratio_target) << detail;
#endif
}
/// "Within two waves of completions": the first 2 x 8 observations.
constexpr std::size_t two_waves = 2 * total_slots;
constexpr double converged_within = 0.25;

/// One night: the simulator's truth and the daemon's settings.
struct night_spec {
    double median_s = 2;  ///< the simulator's default_timing median (time_scale 1: wall seconds)
    int seed = 12;
    /// Each key's limits, in the simulator (per `rate_window_s`) and in the config (per minute).
    int sim_requests_per_window = 6000;
    int sim_submits_per_window = 1000;
    int rate_window_s = 60;
    int requests_per_minute = 6000;
    int submits_per_minute = 1000;
    /// The config's poll settings ("" = the defaults: 1 s .. 30 s, 6 polls per job).
    std::string poll_yaml;
    std::optional<double> prior_s;  ///< generation_prior_s of the shots' model; none = default
};

/// The closest two polls of a job may be 0.1 s apart, 5 % of the 2 s median: on a real night
/// the default 1 s is 0.3-2 % of a 1-5 minute generation and never binds, so the planner, not
/// the floor, decides. (A floor of a quarter of the median binds the planner: polls every
/// 0.5 s for 2 s generations leave a finished video waiting 0.25 s on average, 11 % of the
/// generation, whatever the plan — sched::evaluate_plan — which alone takes the ratio past
/// 1.15 with the tail. The new-user test keeps the default floor on purpose.)
const std::string fine_polls = "poll_interval_s: 0.1\nmax_poll_interval_s: 15\n";

const std::string model = "hailuo-02-standard";

farm_options wavespeed_night(const night_spec& n) {
    farm_options o;
    std::ostringstream sim;
    sim << "time_scale: 1\nseed: " << n.seed
        << "\nvisibility_lag_s: 0\nrate_window_s: " << n.rate_window_s
        << "\ndefault_timing: {median_s: " << n.median_s << ", sigma: " << sigma << "}\nkeys:\n";
    std::ostringstream acc;
    for (const char* name : {"wsa", "wsb"}) {
        sim << "  - {key: k-" << name
            << ", provider: wavespeed, max_concurrency: " << slots_per_account
            << ", requests_per_minute: " << n.sim_requests_per_window
            << ", submits_per_minute: " << n.sim_submits_per_window << "}\n";
        acc << "  - name: " << name << "\n    provider: wavespeed\n    base_url: @BASE@\n"
            << "    api_key_env: E2E_KEY_" << name << "\n    max_concurrency: " << slots_per_account
            << "\n    requests_per_minute: " << n.requests_per_minute
            << "\n    submits_per_minute: " << n.submits_per_minute << "\n";
        o.keys[name] = std::string("k-") + name;
    }
    o.sim_yaml = sim.str();
    o.accounts_yaml = acc.str();
    o.poll_yaml = n.poll_yaml;
    if (n.prior_s) {
        std::ostringstream p;
        p << "generation_prior_s: {" << model << ": " << *n.prior_s << "}\n";
        o.extra_config = p.str();
    }
    return o;
}

std::string shot_list() {
    std::string y = "project: learn\nshots:\n";
    for (int i = 1; i <= shot_count; ++i) {
        y += "  - {id: l" + std::to_string(100 + i) + ", prompt: learning shot " +
             std::to_string(i) + "}\n";
    }
    return y;
}

/// Milliseconds since the epoch of the ledger's RFC 3339 UTC times ("…T17:20:01.123Z").
double ledger_ms(const std::string& text) {
    std::tm tm{};
    std::istringstream in(text);
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
    char dot = 0;
    int ms = 0;
    in >> dot >> ms;
    if (in.fail() || dot != '.') {
        ADD_FAILURE() << "not an RFC 3339 time with milliseconds: " << text;
        return 0;
    }
    return static_cast<double>(timegm(&tm)) * 1000.0 + ms;
}

double quantile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const double at = p * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(at);
    const auto hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (at - static_cast<double>(lo));
}

/// What a night measured.
struct figures {
    double makespan_s = 0;
    double sum_generation_s = 0;
    double longest_s = 0;
    double bound_s = 0;
    double ratio = 0;
    double polls_per_job = 0;
    /// Ready (the ledger) to seen (the database's ready_at: the poll that saw it done).
    double seen_median_s = 0;
    double seen_p90_s = 0;
    double seen_mean_s = 0;
    std::vector<double> generations_s;  ///< ready_at - at, in acceptance order
    /// ready_at - at in the order the daemon saw the jobs done: the order of its observations.
    std::vector<double> generations_by_seen_s;
    std::vector<double> speed_factors;  ///< parallel to generations_s
    std::map<std::string, std::int64_t> peak_requests;
    std::int64_t rejected = 0;
};

std::ostream& operator<<(std::ostream& os, const figures& f) {
    os << std::fixed << std::setprecision(3) << "ratio " << f.ratio << " (makespan " << f.makespan_s
       << " s, bound " << f.bound_s << " s: sum " << f.sum_generation_s << " s / " << total_slots
       << " slots, longest " << f.longest_s << " s), polls/job " << f.polls_per_job
       << ", ready->seen median " << f.seen_median_s << " s, p90 " << f.seen_p90_s << " s, mean "
       << f.seen_mean_s << " s, peak requests/window";
    for (const auto& [key, n] : f.peak_requests) {
        os << " " << key << "=" << n;
    }
    return os << ", rejected " << f.rejected;
}

std::string to_text(const figures& f) {
    std::ostringstream out;
    out << f;
    return out.str();
}

/// Reads the ledger and the jobs once the run is over; every job must have succeeded.
figures measure(farm& f) {
    figures out;
    const auto ledger = f.sim().ledger();
    const auto& l = ledger.as_object();
    struct submission {
        double at_ms = 0;
        double ready_ms = 0;
    };
    std::map<std::string, submission> by_id;
    double first_at = 1e300;
    std::vector<std::pair<double, std::pair<double, double>>> in_order;  // at, (gen, factor)
    for (const auto& v : l.at("submissions").as_array()) {
        const auto& s = v.as_object();
        const std::string id(s.at("id").as_string());
        submission sub;
        sub.at_ms = ledger_ms(std::string(s.at("at").as_string()));
        if (!s.at("ready_at").is_string()) {
            ADD_FAILURE() << "submission " << id << " never became ready";
            continue;
        }
        sub.ready_ms = ledger_ms(std::string(s.at("ready_at").as_string()));
        by_id[id] = sub;
        first_at = std::min(first_at, sub.at_ms);
        const double g = (sub.ready_ms - sub.at_ms) / 1000.0;
        const auto* factor = s.if_contains("speed_factor");
        in_order.push_back({sub.at_ms, {g, factor != nullptr ? factor->to_number<double>() : 1.0}});
        out.sum_generation_s += g;
        out.longest_s = std::max(out.longest_s, g);
    }
    std::sort(in_order.begin(), in_order.end());
    for (const auto& [at, gf] : in_order) {
        out.generations_s.push_back(gf.first);
        out.speed_factors.push_back(gf.second);
    }
    EXPECT_EQ(by_id.size(), static_cast<std::size_t>(shot_count)) << "each shot billed once";
    out.bound_s = std::max(out.sum_generation_s / total_slots, out.longest_s);

    std::int64_t polls = 0;
    for (const auto& [key, r] : l.at("requests").as_object()) {
        polls += r.as_object().at("poll").as_int64();
    }
    out.polls_per_job = static_cast<double>(polls) / shot_count;
    for (const auto& [key, n] : l.at("peak_requests_per_window").as_object()) {
        out.peak_requests[std::string(key)] = n.as_int64();
    }
    for (const auto& [reason, n] : l.at("rejected_reasons").as_object()) {
        out.rejected += n.as_int64();
    }

    const auto rows = f.query(
        "SELECT provider_job_id, state, (extract(epoch FROM ready_at) * 1000)::float8, "
        "(extract(epoch FROM finished_at) * 1000)::float8 FROM jobs"
    );
    EXPECT_EQ(rows.size(), static_cast<std::size_t>(shot_count));
    double last_done = 0;
    std::vector<double> seen;
    std::vector<std::pair<double, double>> seen_order;  // seen at, generation
    for (const auto& r : rows) {
        EXPECT_EQ(r[1], "succeeded") << r[0];
        const auto it = by_id.find(r[0]);
        if (r[1] != "succeeded" || it == by_id.end()) {
            ADD_FAILURE() << "job " << r[0] << " is not a billed, finished submission";
            continue;
        }
        seen.push_back((std::stod(r[2]) - it->second.ready_ms) / 1000.0);
        last_done = std::max(last_done, std::stod(r[3]));
        seen_order.push_back({std::stod(r[2]), (it->second.ready_ms - it->second.at_ms) / 1000.0});
    }
    std::sort(seen_order.begin(), seen_order.end());
    for (const auto& [at, g] : seen_order) {
        out.generations_by_seen_s.push_back(g);
    }
    out.makespan_s = (last_done - first_at) / 1000.0;
    out.ratio = out.bound_s > 0 ? out.makespan_s / out.bound_s : 0;
    out.seen_median_s = quantile(seen, 0.5);
    out.seen_p90_s = quantile(seen, 0.9);
    double sum = 0;
    for (double s : seen) {
        sum += s;
    }
    out.seen_mean_s = seen.empty() ? 0 : sum / static_cast<double>(seen.size());
    return out;
}

/// What the daemon stored of each completion, in the order it stored them.
std::vector<sched::observation> observations(farm& f) {
    std::vector<sched::observation> out;
    for (const auto& r : f.query(
             "SELECT after_s, by_s, extract(epoch FROM observed_at)::float8 "
             "FROM generation_observations WHERE provider = 'wavespeed' AND model = '" +
             model + "@6s' ORDER BY id"
         )) {
        out.push_back({std::stod(r[0]), std::stod(r[1]), std::stod(r[2])});
    }
    return out;
}

double normal_cdf(double z) {
    return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

/// The median of the log-normal that makes the observed intervals most likely (no prior): the
/// test's own fit, not the daemon's. An observation (after, by] contributes
/// P(after < T <= by); an exact one (after == by) the density. Intervals that start at 0 and
/// end long after the truth (a first poll that comes late) say almost nothing, and the fit
/// then runs to the edge of its grid — far from any truth.
double interval_fit_median(const std::vector<sched::observation>& obs) {
    auto log_likelihood = [&](double mu, double s) {
        double ll = 0;
        for (const auto& o : obs) {
            const double zb = (std::log(o.by_s) - mu) / s;
            if (o.exact()) {
                ll += -std::log(o.by_s * s * std::sqrt(2 * M_PI)) - zb * zb / 2;
                continue;
            }
            const double fa = o.after_s > 0 ? normal_cdf((std::log(o.after_s) - mu) / s) : 0.0;
            ll += std::log(std::max(normal_cdf(zb) - fa, 1e-300));
        }
        return ll;
    };
    const double mu_lo = std::log(0.05);
    const double mu_hi = std::log(300.0);
    double best_mu = mu_lo;
    double best_s = sigma;
    double best = -1e300;
    auto search = [&](double m0, double m1, double dm, double s0, double s1, double ds) {
        for (double mu = m0; mu <= m1; mu += dm) {
            for (double s = s0; s <= s1; s += ds) {
                if (const double ll = log_likelihood(mu, s); ll > best) {
                    best = ll;
                    best_mu = mu;
                    best_s = s;
                }
            }
        }
    };
    search(mu_lo, mu_hi, 0.02, 0.05, 1.5, 0.025);
    search(
        std::max(mu_lo, best_mu - 0.04),
        std::min(mu_hi, best_mu + 0.04),
        0.002,
        std::max(0.05, best_s - 0.05),
        best_s + 0.05,
        0.0025
    );
    return std::exp(best_mu);
}

/// The daemon's own estimator (with the prior the daemon had) fed the same observations, as it
/// was fed them: what it believed once they were in.
double estimator_median(const std::vector<sched::observation>& obs, double prior_s) {
    sched::generation_estimator e(prior_s);
    for (const auto& o : obs) {
        e.add(o);
    }
    return e.current(obs.empty() ? 0 : obs.back().at_s).fit.median();
}

double median_of_by(const std::vector<sched::observation>& obs) {
    std::vector<double> by;
    for (const auto& o : obs) {
        by.push_back(o.by_s);
    }
    return quantile(by, 0.5);
}

/// The k-th wave's worth (8) of observations, as far as there are any.
std::vector<sched::observation> wave(const std::vector<sched::observation>& all, std::size_t k) {
    const auto from = static_cast<std::ptrdiff_t>(std::min(all.size(), k * total_slots));
    const auto to = static_cast<std::ptrdiff_t>(std::min(all.size(), (k + 1) * total_slots));
    return {all.begin() + from, all.begin() + to};
}

/// The estimate converged within two waves: from the first 2 x 8 stored observations, both
/// the test's interval fit and the daemon's estimator give a median within 25 % of what those
/// 16 jobs really took (the median of their ledger times: 16 draws scatter about 10 % around
/// the simulator's median, which no learner can beat; it is printed beside).
///
/// The old learner's estimate was the age of the poll that saw the video (by_s): with the prior
/// 10x too high its first polls came late, so its samples were late and could only confirm the
/// schedule (waves of 30 s, 15 s, 15 s, 11 s … for 3 s generations). Its figure — the median of
/// by_s over the same rows, printed — fails this check whenever the polls came late, and rows
/// that hold only by_s, (0, by], leave the interval fit nothing to stand on below: its
/// likelihood grows as the median falls and it runs to its grid's floor. The checks pass only
/// when the polls (or the provider's own timings) bounded each generation from both sides.
void expect_converged(
    const std::vector<sched::observation>& all,
    const figures& m,
    double prior_s,
    double sim_median_s,
    const char* what
) {
    ASSERT_GE(all.size(), two_waves) << "one observation per finished job";
    ASSERT_GE(m.generations_by_seen_s.size(), two_waves);
    const std::vector<sched::observation> first(all.begin(), all.begin() + two_waves);
    const double truth = quantile(
        {m.generations_by_seen_s.begin(), m.generations_by_seen_s.begin() + two_waves}, 0.5
    );
    const double fit = interval_fit_median(first);
    const double believed = estimator_median(first, prior_s);
    std::cout << what << ": after " << two_waves << " completions the interval fit says " << fit
              << " s, the daemon's estimator " << believed << " s (prior " << prior_s
              << " s); those jobs took " << truth << " s (median; the simulator's median "
              << sim_median_s << " s); the old learner's figure (median age of the poll that saw "
              << "the video) " << median_of_by(first) << " s; the polls that saw waves 1, 2, 3 "
              << "came at ages (median) " << median_of_by(wave(all, 0)) << ", "
              << median_of_by(wave(all, 1)) << ", " << median_of_by(wave(all, 2)) << " s\n";
    EXPECT_NEAR(fit / truth, 1.0, converged_within) << what << ": interval fit " << fit;
    EXPECT_NEAR(believed / truth, 1.0, converged_within) << what << ": estimator " << believed;
}

/// Limits that do not bind: the simulator refused nothing and no key came near half its
/// requests_per_minute in any window (8 slots of ~2 s turn over ~4 jobs/s; even at 13
/// requests a job that is ~1,600 a minute per key, against 6,000).
void expect_limits_idle(const figures& m, const night_spec& n) {
    EXPECT_EQ(m.rejected, 0) << "the simulator refused requests";
    for (const auto& [key, peak] : m.peak_requests) {
        EXPECT_LT(peak, n.sim_requests_per_window / 2) << key << ": the request limit was near";
    }
}

figures run_night(farm& f, const char* what) {
    f.write_shotlist(shot_list());
    EXPECT_EQ(f.run(120s), 0) << f.read("run", "out") << f.read("run", "err");
    const auto m = measure(f);
    std::cout << what << ": " << m << "\n";
    return m;
}

/// A night at one speed: the limits stayed idle, the makespan near the bound, the estimate
/// converged within two waves (`prior_s`: the prior the daemon started from).
void steady_night(const night_spec& n, double prior_s, const char* what) {
    farm f(wavespeed_night(n));
    const auto m = run_night(f, what);
    expect_limits_idle(m, n);
    expect_near_the_bound(m.ratio, to_text(m));
    expect_converged(observations(f), m, prior_s, n.median_s, what);
}

TEST(LearningE2E, APriorTenTimesTooHighIsUnlearnedWithinTwoWaves) {
    night_spec n;
    n.poll_yaml = fine_polls;
    n.prior_s = 10 * n.median_s;
    steady_night(n, *n.prior_s, "prior 10x high");
}

TEST(LearningE2E, APriorThreeTimesTooLowIsUnlearnedWithinTwoWaves) {
    night_spec n;
    n.poll_yaml = fine_polls;
    n.prior_s = n.median_s / 3;
    steady_night(n, *n.prior_s, "prior 3x low");
}

TEST(LearningE2E, ANewUserWithoutPriorGetsNearTheBound) {
    // The issue's case as a new user tried it: no generation_prior_s (the default for the
    // model, 60 s, stands), the default poll settings, generations of about 3 s. The farm
    // before the learner took 3.3x the bound here. (Limits set high so as not to bind; the
    // config's default requests_per_minute, 60, would make this a request-bound night.)
    night_spec n;
    n.median_s = 3;
    steady_night(n, generation_prior_s(jobs::app_config{}, model), "no prior");
}

TEST(LearningE2E, ASpeedHalvingMidRunIsFollowed) {
    night_spec n;
    n.poll_yaml = fine_polls;
    n.prior_s = n.median_s;
    farm f(wavespeed_night(n));
    f.write_shotlist(shot_list());
    auto run = f.start_run();
    // Once half the shots are accepted the provider gets twice as slow for every later one.
    ASSERT_TRUE(wait_until(
        [&] {
            return f.sim().ledger().as_object().at("submissions").as_array().size() >=
                       static_cast<std::size_t>(shot_count / 2) ||
                   !run->running();
        },
        60s
    ));
    const auto r =
        http_call(f.sim().port(), boost::beast::http::verb::post, "/_sim/speed", R"({"factor":2})");
    ASSERT_EQ(r.status, 200U) << r.body;
    ASSERT_EQ(run->wait(120s), 0) << f.read("run", "out") << f.read("run", "err");
    const auto m = measure(f);
    std::cout << "speed halves: " << m << "\n";
    expect_limits_idle(m, n);
    std::vector<double> before;
    std::vector<double> after;
    for (std::size_t i = 0; i < m.generations_s.size(); ++i) {
        (m.speed_factors[i] > 1.5 ? after : before).push_back(m.generations_s[i]);
    }
    std::cout << "speed halves: " << before.size() << " jobs at factor 1 (median "
              << quantile(before, 0.5) << " s), " << after.size() << " at factor 2 (median "
              << quantile(after, 0.5) << " s)\n";
    ASSERT_GE(after.size(), static_cast<std::size_t>(shot_count / 3)) << "the change came late";
    // The bound already holds the slower second half (the ledger's real generation times).
    expect_near_the_bound(m.ratio, to_text(m));
    // And the daemon followed: what it believes at the end is the slower speed.
    const auto obs = observations(f);
    const double believed = estimator_median(obs, *n.prior_s);
    std::cout << "speed halves: the daemon's estimator ends at " << believed << " s (the slower "
              << "jobs took " << quantile(after, 0.5) << " s)\n";
    EXPECT_NEAR(believed / quantile(after, 0.5), 1.0, converged_within);
}

TEST(LearningE2E, ThePlannerNeverBreaksARequestLimit) {
    // 360 requests a minute per key, both in the simulator and in the config: 4 slots of ~2 s
    // turn over ~114 jobs a minute, which leaves (0.9 x 360 - 114) / 114 = 1.8 polls a job
    // (sched::affordable_polls_per_job) instead of the 6 asked for. The simulator measures
    // over 30 s windows with half the limit — stricter than a minute, and what the daemon's
    // evenly spaced requests (60.6 / rpm s apart) promise for any window of 26 s or more —
    // since a ~30 s run never fills a 60 s window.
    night_spec n;
    n.poll_yaml = fine_polls;
    n.prior_s = n.median_s;
    n.requests_per_minute = 360;
    n.rate_window_s = 30;
    n.sim_requests_per_window = n.requests_per_minute / 2;
    farm f(wavespeed_night(n));
    const auto m = run_night(f, "tight requests");
    EXPECT_EQ(m.rejected, 0) << "the simulator refused requests";
    ASSERT_EQ(m.peak_requests.size(), static_cast<std::size_t>(accounts));
    for (const auto& [key, peak] : m.peak_requests) {
        EXPECT_LE(peak, n.sim_requests_per_window) << key << " went over its limit";
        // The budget was in play: otherwise a test of never breaking it proves little.
        EXPECT_GE(peak, n.sim_requests_per_window * 6 / 10) << key << " never came near it";
    }
}

}  // namespace
}  // namespace shotfarm::testing
