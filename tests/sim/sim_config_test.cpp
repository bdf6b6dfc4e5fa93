// SIM.yaml parsing: defaults, every knob, and errors that name the offending key.
#include <cmath>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "simulator/config.hpp"

namespace {

using shotfarm::simulator::documented_timing;
using shotfarm::simulator::parse_config;

std::string error_of(const std::string& yaml) {
    try {
        parse_config(yaml);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

TEST(sim_config, parses_every_knob) {
    const auto cfg = parse_config(R"(
time_scale: 0.01
seed: 42
rate_window_s: 5
visibility_lag_s: 3
succeeded_fraction: 0.5
created_fraction: 0.2
fail_fraction: 0.1
moderation_fraction: 0.05
default_timing: {median_s: 30, sigma: 0.1}
keys:
  - {key: a, provider: atlas, max_concurrency: 3, requests_per_minute: 10, balance_usd: 2.5,
     submits_per_minute: 4}
  - {key: b, provider: atlas}
models:
  minimax/hailuo-02/fast: {median_s: 40, sigma: 0.2}
)");
    EXPECT_DOUBLE_EQ(cfg.time_scale, 0.01);
    EXPECT_EQ(cfg.seed, 42U);
    EXPECT_DOUBLE_EQ(cfg.rate_window_s, 5);
    EXPECT_DOUBLE_EQ(cfg.visibility_lag_s, 3);
    EXPECT_DOUBLE_EQ(cfg.succeeded_fraction, 0.5);
    EXPECT_DOUBLE_EQ(cfg.created_fraction, 0.2);
    EXPECT_DOUBLE_EQ(cfg.fail_fraction, 0.1);
    EXPECT_DOUBLE_EQ(cfg.moderation_fraction, 0.05);
    ASSERT_TRUE(cfg.default_timing);
    EXPECT_DOUBLE_EQ(cfg.default_timing->median_s, 30);
    ASSERT_EQ(cfg.keys.size(), 2U);
    EXPECT_EQ(cfg.keys[0].key, "a");
    EXPECT_EQ(cfg.keys[0].max_concurrency, 3);
    EXPECT_EQ(cfg.keys[0].requests_per_minute, 10);
    EXPECT_EQ(cfg.keys[0].submits_per_minute, 4);
    EXPECT_EQ(cfg.keys[1].submits_per_minute, 0);
    ASSERT_TRUE(cfg.keys[0].balance_usd);
    EXPECT_DOUBLE_EQ(*cfg.keys[0].balance_usd, 2.5);
    EXPECT_EQ(cfg.keys[1].max_concurrency, 0);
    EXPECT_FALSE(cfg.keys[1].balance_usd);
    ASSERT_EQ(cfg.models.count("minimax/hailuo-02/fast"), 1U);
    EXPECT_DOUBLE_EQ(cfg.models.at("minimax/hailuo-02/fast").median_s, 40);
}

TEST(sim_config, empty_file_gives_defaults) {
    const auto cfg = parse_config("");
    EXPECT_DOUBLE_EQ(cfg.time_scale, 1.0);
    EXPECT_DOUBLE_EQ(cfg.rate_window_s, 60.0);
    EXPECT_TRUE(cfg.keys.empty());
    EXPECT_FALSE(cfg.default_timing);  // the documented per-provider timings apply
}

TEST(sim_config, documented_timings_follow_providers_md) {
    // The documented figures; their sources: docs/simulator.md, "Default generation times".
    // Atlas "1-5 minutes": every model, median the geometric mean, range = ±2 sigma.
    const auto atlas = documented_timing("atlas", "minimax/hailuo-02/fast", 6);
    ASSERT_TRUE(atlas);
    EXPECT_NEAR(atlas->median_s, 134.16, 0.01);
    EXPECT_NEAR(atlas->median_s * std::exp(2 * atlas->sigma), 300, 0.01);
    EXPECT_NEAR(atlas->median_s * std::exp(-2 * atlas->sigma), 60, 0.01);
    // WaveSpeed, per model family.
    const auto fast = documented_timing("wavespeed", "minimax/hailuo-2.3/fast", 6);
    ASSERT_TRUE(fast);
    EXPECT_NEAR(fast->median_s, std::sqrt(20.0 * 50.0), 1e-9);
    EXPECT_NEAR(
        documented_timing("wavespeed", "minimax/hailuo-2.3/i2v-pro", 6)->median_s,
        std::sqrt(40.0 * 70.0),
        1e-9
    );
    EXPECT_FALSE(documented_timing("wavespeed", "minimax/hailuo-02/pro", 6));
    // AI/ML API: hailuo-02 depends on the clip length.
    EXPECT_NEAR(
        documented_timing("aimlapi", "minimax/hailuo-02", 6)->median_s,
        std::sqrt(240.0 * 300.0),
        1e-9
    );
    EXPECT_NEAR(
        documented_timing("aimlapi", "minimax/hailuo-02", 10)->median_s,
        std::sqrt(480.0 * 540.0),
        1e-9
    );
    EXPECT_DOUBLE_EQ(documented_timing("aimlapi", "minimax/hailuo-2.3", 6)->median_s, 98);
    EXPECT_DOUBLE_EQ(documented_timing("aimlapi", "minimax/hailuo-2.3-fast", 6)->median_s, 69);
    // MiniMax: not documented.
    EXPECT_FALSE(documented_timing("minimax", "MiniMax-Hailuo-02", 6));
}

TEST(sim_config, unknown_keys_are_errors_naming_the_key) {
    EXPECT_NE(error_of("time_scael: 1\n").find("time_scael"), std::string::npos);
    EXPECT_NE(
        error_of("keys:\n  - {key: a, provider: atlas, max_concurency: 1}\n")
            .find("max_concurency"),
        std::string::npos
    );
    EXPECT_NE(error_of("models:\n  m: {median: 3}\n").find("median"), std::string::npos);
}

TEST(sim_config, bad_values_are_errors) {
    EXPECT_NE(error_of("time_scale: fast\n").find("time_scale"), std::string::npos);
    EXPECT_NE(error_of("succeeded_fraction: 2\n").find("succeeded_fraction"), std::string::npos);
    EXPECT_NE(error_of("keys:\n  - {key: a, provider: nope}\n").find("nope"), std::string::npos);
    EXPECT_NE(
        error_of("keys:\n  - {key: a, provider: atlas}\n  - {key: a, provider: atlas}\n")
            .find("duplicate"),
        std::string::npos
    );
    EXPECT_NE(error_of("keys:\n  - {provider: atlas}\n").find("key"), std::string::npos);
}

TEST(sim_config, providers_faults_and_minimax_knobs) {
    const auto cfg = parse_config(R"(
minimax_url_ttl_s: 60
minimax_fail_status: Failed
minimax_expire_first_urls: 3
keys:
  - {key: a, provider: atlascloud}
  - {key: w, provider: wavespeed, balance_usd: 1}
  - {key: i, provider: aimlapi}
  - {key: m, provider: minimax}
faults: {http_429: 0.1, http_5xx: 0.2, reset: 0.3, slow: 0.4, slow_s: 7, malformed_json: 0.5,
         generation_failed: 0.6, moderated: 0.7, stuck: 0.8, lost_response: 0.9}
)");
    ASSERT_EQ(cfg.keys.size(), 4U);
    EXPECT_EQ(cfg.keys[0].provider, "atlas");
    EXPECT_EQ(cfg.keys[1].provider, "wavespeed");
    EXPECT_EQ(cfg.keys[2].provider, "aimlapi");
    EXPECT_EQ(cfg.keys[3].provider, "minimax");
    EXPECT_DOUBLE_EQ(cfg.minimax_url_ttl_s, 60);
    EXPECT_EQ(cfg.minimax_fail_status, "Failed");
    EXPECT_EQ(cfg.minimax_expire_first_urls, 3);
    EXPECT_EQ(parse_config("").minimax_expire_first_urls, 0);
    const auto& f = cfg.faults;
    EXPECT_DOUBLE_EQ(f.http_429, 0.1);
    EXPECT_DOUBLE_EQ(f.http_5xx, 0.2);
    EXPECT_DOUBLE_EQ(f.reset, 0.3);
    EXPECT_DOUBLE_EQ(f.slow, 0.4);
    EXPECT_DOUBLE_EQ(f.slow_s, 7);
    EXPECT_DOUBLE_EQ(f.malformed_json, 0.5);
    EXPECT_DOUBLE_EQ(f.generation_failed, 0.6);
    EXPECT_DOUBLE_EQ(f.moderated, 0.7);
    EXPECT_DOUBLE_EQ(f.stuck, 0.8);
    EXPECT_DOUBLE_EQ(f.lost_response, 0.9);
    EXPECT_DOUBLE_EQ(parse_config("").faults.reset, 0);
}

TEST(sim_config, fault_errors_name_the_key) {
    EXPECT_NE(error_of("faults: {http_418: 0.1}").find("faults.http_418"), std::string::npos);
    EXPECT_NE(error_of("faults: {reset: 1.5}").find("faults.reset"), std::string::npos);
    EXPECT_NE(error_of("faults: [reset]").find("faults"), std::string::npos);
    EXPECT_NE(error_of("keys: [{key: k, provider: fal}]").find("provider"), std::string::npos);
    EXPECT_NE(
        error_of("minimax_fail_status: failed").find("minimax_fail_status"), std::string::npos
    );
    EXPECT_NE(
        error_of("keys: [{key: k, provider: atlas, submits_per_minute: -1}]").find("keys[0]"),
        std::string::npos
    );
    EXPECT_NE(
        error_of("minimax_expire_first_urls: -1").find("minimax_expire_first_urls"),
        std::string::npos
    );
}

TEST(sim_config, foreign_url_port_defaults_to_a_port_nothing_listens_on_and_is_checked) {
    EXPECT_EQ(parse_config("").foreign_url_port, 1);
    EXPECT_EQ(parse_config("foreign_url_port: 9464\n").foreign_url_port, 9464);
    EXPECT_NE(error_of("foreign_url_port: 0").find("foreign_url_port"), std::string::npos);
    EXPECT_NE(error_of("foreign_url_port: 70000").find("foreign_url_port"), std::string::npos);
    EXPECT_NE(error_of("foreign_url_port: high").find("foreign_url_port"), std::string::npos);
}

}  // namespace
