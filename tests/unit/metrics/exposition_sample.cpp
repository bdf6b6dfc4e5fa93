// Prints a registry exercising every metric type, escape and special value, for
// `promtool check metrics`. With --broken, un-escapes one label-value quote, which a correct
// checker must reject (proves the check bites).
#include <iostream>
#include <limits>
#include <string>

#include "metrics/registry.hpp"

int main(int argc, char** argv) {
    namespace m = shotfarm::metrics;
    m::registry reg;
    const std::vector<std::string> provider_reason{"provider", "reason"};
    auto& submits = reg.add_counter(
        "shotfarm_submits_total",
        "Submits sent, by outcome.\nSecond line with a backslash \\ and \"quotes\".",
        provider_reason
    );
    submits.with({"atlas", "ok"}).inc(41);
    submits.with({"atlas", "quote\"back\\slash\nnewline"}).inc(0.5);
    submits.with({"wavespeed", "caf\xc3\xa9"}).inc();

    auto& temps = reg.add_gauge("shotfarm_sample_values", "Special values.", {"kind"});
    temps.with({"pos_inf"}).set(std::numeric_limits<double>::infinity());
    temps.with({"neg_inf"}).set(-std::numeric_limits<double>::infinity());
    temps.with({"nan"}).set(std::numeric_limits<double>::quiet_NaN());
    temps.with({"tiny"}).set(4.9e-324);
    temps.with({"huge"}).set(1.7976931348623157e308);
    temps.with({"third"}).set(1.0 / 3.0);
    reg.add_gauge("shotfarm_jobs_running", "Jobs running now.").with({}).set(3);

    const std::vector<std::string> provider{"provider"};
    auto& latency = reg.add_histogram(
        "shotfarm_submit_duration_seconds",
        "Submit latency.",
        provider,
        m::exponential_buckets(0.05, 2, 8)
    );
    for (const double v : {0.01, 0.2, 0.2, 3.0, 100.0}) {
        latency.with({"atlas"}).observe(v);
    }
    latency.with({"wavespeed"});
    reg.add_histogram(
           "shotfarm_poll_duration_seconds", "Poll latency.", {}, m::linear_buckets(1, 1, 3)
    )
        .with({})
        .observe(2);

    std::string out = reg.text();
    if (argc > 1 && std::string(argv[1]) == "--broken") {
        const auto pos = out.find("quote\\\"");
        if (pos == std::string::npos) {
            return 2;
        }
        out.erase(pos + 5, 1);  // leaves a bare `"` inside a label value
    }
    std::cout << out;
    return 0;
}
