// SIM.yaml parsing: defaults, every knob, and errors that name the offending key.
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "simulator/config.hpp"

namespace {

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
  - {key: a, provider: atlas, max_concurrency: 3, requests_per_minute: 10, balance_usd: 2.5}
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
    EXPECT_DOUBLE_EQ(cfg.default_timing.median_s, 30);
    ASSERT_EQ(cfg.keys.size(), 2U);
    EXPECT_EQ(cfg.keys[0].key, "a");
    EXPECT_EQ(cfg.keys[0].max_concurrency, 3);
    EXPECT_EQ(cfg.keys[0].requests_per_minute, 10);
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

}  // namespace
