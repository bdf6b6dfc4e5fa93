// The simulator's configuration (SIM.yaml): time scale, seed, API keys with their limits, and
// per-model generation-time distributions. See docs/simulator.md for every knob.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace shotfarm::simulator {

struct key_config {
    std::string key;
    std::string provider;               // "atlas"
    int max_concurrency = 0;            // generations in flight; 0 = unlimited
    int requests_per_minute = 0;        // submits per rate window; 0 = unlimited
    std::optional<double> balance_usd;  // absent = unlimited; a submit over it answers 402
};

// Log-normal generation time: median_s * exp(sigma * N(0,1)), in provider seconds (before
// time_scale).
struct model_timing {
    double median_s = 90.0;
    double sigma = 0.3;
};

struct sim_config {
    double time_scale = 1.0;
    std::uint64_t seed = 1;
    std::vector<key_config> keys;
    std::map<std::string, model_timing> models;
    model_timing default_timing;
    double rate_window_s = 60.0;       // wall-clock seconds, not scaled
    double visibility_lag_s = 2.0;     // provider seconds, scaled by time_scale
    double succeeded_fraction = 0.2;   // share of successes reported as `succeeded`
    double created_fraction = 0.1;     // share of a generation spent in `created`
    double fail_fraction = 0.0;        // share of jobs failing with a generic error
    double moderation_fraction = 0.0;  // share of jobs failing moderation (1039)
};

// Parses SIM.yaml text. Throws std::runtime_error naming the offending key (unknown key, wrong
// type, out-of-range value).
sim_config parse_config(const std::string& yaml_text);
sim_config load_config(const std::filesystem::path& path);

}  // namespace shotfarm::simulator
