// load_config: key-path diagnostics, api keys from env or 0600 files (never echoed), paths.
#include "jobs/config.hpp"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/unit/config/test_files.hpp"

namespace shotfarm::jobs {
namespace {

namespace fs = std::filesystem;
using config_test::dump;
using config_test::has;

class config : public ::testing::Test {
protected:
    void SetUp() override { ::setenv("SHOTFARM_TEST_KEY_A", "key-a-value", 1); }
    void TearDown() override { ::unsetenv("SHOTFARM_TEST_KEY_A"); }

    config_result load(std::string_view yaml) {
        file_ = dir_.write("config.yaml", yaml);
        return load_config(file_);
    }

    void expect_error(std::string_view yaml, int line, int col, std::string_view needle) {
        const auto r = load(yaml);
        EXPECT_FALSE(r.config);
        EXPECT_TRUE(has(r.errors, line, col, needle)) << dump(r.errors);
    }

    config_test::temp_dir dir_;
    fs::path file_;
};

constexpr std::string_view minimal =
    "accounts:\n"
    "  - name: atlas-a\n"
    "    provider: atlas\n"
    "    api_key_env: SHOTFARM_TEST_KEY_A\n";

TEST_F(config, minimal_config_gets_defaults) {
    const auto r = load(minimal);
    ASSERT_TRUE(r.config) << dump(r.errors);
    const auto& c = *r.config;
    EXPECT_EQ(c.file, dir_.path() / "config.yaml");
    EXPECT_EQ(c.state_dir, dir_.path() / "state");
    EXPECT_EQ(c.output_dir, dir_.path() / "output");
    EXPECT_FALSE(c.database_url);
    EXPECT_EQ(c.listen_host, "127.0.0.1");
    EXPECT_EQ(c.listen_port, 9464);
    EXPECT_EQ(c.max_attempts, 3);
    EXPECT_EQ(c.ambiguous_policy, "resubmit");
    EXPECT_DOUBLE_EQ(c.poll_interval_s, 5.0);
    EXPECT_DOUBLE_EQ(c.max_poll_interval_s, 30.0);
    EXPECT_EQ(c.max_download_bytes, 512ull << 20);
    ASSERT_EQ(c.accounts.size(), 1u);
    const auto& a = c.accounts[0];
    EXPECT_EQ(a.name, "atlas-a");
    EXPECT_EQ(a.provider, "atlas");
    EXPECT_EQ(a.base_url, "https://api.atlascloud.ai");
    EXPECT_EQ(a.api_key, "key-a-value");
    EXPECT_EQ(a.api_key_source, "env SHOTFARM_TEST_KEY_A");
    EXPECT_EQ(a.max_concurrency, 2);
    EXPECT_EQ(a.requests_per_minute, 60);
    EXPECT_TRUE(c.price_overrides.empty());
}

TEST_F(config, full_config_and_relative_paths) {
    dir_.write("keys/b.key", "key-b-value\n", 0600);
    fs::create_directories(dir_.path() / "elsewhere");
    const auto cwd = fs::current_path();
    fs::current_path(dir_.path() / "elsewhere");
    const auto r = load_config(dir_.write(
        "etc/shotfarm.yaml",
        "state_dir: ../var/state\n"
        "output_dir: /srv/renders\n"
        "database:\n"
        "  url: postgresql://shotfarm@db/shotfarm\n"
        "listen: \"[::1]:0\"\n"
        "max_attempts: 3\n"
        "ambiguous_policy: hold\n"
        "poll_interval_s: 0.05\n"
        "max_poll_interval_s: 2\n"
        "max_download_bytes: 1048576\n"
        "accounts:\n"
        "  - name: atlas-a\n"
        "    provider: atlas\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "    max_concurrency: 3\n"
        "    requests_per_minute: 20\n"
        "  - name: atlas-b\n"
        "    provider: atlas\n"
        "    base_url: http://127.0.0.1:8080/\n"
        "    api_key_file: ../keys/b.key\n"
        "prices:\n"
        "  atlas/minimax/hailuo-02/fast: 0.11\n"
        "  atlas/minimax/hailuo-02/t2v-standard: {10s: 0.60}\n"
    ));
    fs::current_path(cwd);
    ASSERT_TRUE(r.config) << dump(r.errors);
    const auto& c = *r.config;
    EXPECT_EQ(c.state_dir, dir_.path() / "var/state");
    EXPECT_EQ(c.output_dir, "/srv/renders");
    EXPECT_EQ(c.database_url, "postgresql://shotfarm@db/shotfarm");
    EXPECT_EQ(c.listen_host, "::1");
    EXPECT_EQ(c.listen_port, 0);
    EXPECT_EQ(c.max_attempts, 3);
    EXPECT_EQ(c.ambiguous_policy, "hold");
    EXPECT_DOUBLE_EQ(c.poll_interval_s, 0.05);
    EXPECT_DOUBLE_EQ(c.max_poll_interval_s, 2.0);
    EXPECT_EQ(c.max_download_bytes, 1048576u);
    ASSERT_EQ(c.accounts.size(), 2u);
    EXPECT_EQ(c.accounts[0].max_concurrency, 3);
    EXPECT_EQ(c.accounts[0].requests_per_minute, 20);
    EXPECT_EQ(c.accounts[1].base_url, "http://127.0.0.1:8080");
    EXPECT_EQ(c.accounts[1].api_key, "key-b-value");
    EXPECT_EQ(c.accounts[1].api_key_source, "file " + (dir_.path() / "keys/b.key").string());

    const auto cat = make_catalog(c);
    using providers::mode;
    EXPECT_DOUBLE_EQ(cat.find("hailuo-02-fast", mode::i2v, 6).front().price_usd, 0.11);
    EXPECT_DOUBLE_EQ(cat.find("hailuo-02-fast", mode::i2v, 10).front().price_usd, 0.11);
    EXPECT_DOUBLE_EQ(cat.find("hailuo-02-standard", mode::t2v, 10).front().price_usd, 0.60);
    EXPECT_DOUBLE_EQ(cat.find("hailuo-02-standard", mode::t2v, 6).front().price_usd, 0.23);
}

TEST_F(config, errors_name_the_key_path) {
    const auto r = load(
        "accounts:\n"
        "  - name: atlas-a\n"
        "    provider: atlas\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "  - name: atlas-b\n"
        "    provider: atlas\n"
        "    max_concurrency: 0\n"
        "    requests_per_minute: many\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "max_attempts: 0\n"
        "ambiguous_policy: retry\n"
        "listen: 9464\n"
    );
    EXPECT_FALSE(r.config);
    EXPECT_TRUE(has(r.errors, 7, 22, "accounts[1].max_concurrency: must be an integer >= 1"))
        << dump(r.errors);
    EXPECT_EQ(r.errors.front().str().find(file_.string() + ":"), 0u)
        << "diagnostics start with the file name";
    EXPECT_TRUE(
        has(r.errors, 8, 26, "accounts[1].requests_per_minute: expected an integer, got a string")
    ) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 10, 15, "max_attempts: must be an integer from 1 to 100"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 11, 19, "ambiguous_policy: must be 'resubmit' or 'hold'"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 12, 9, "listen: expected a string, got an integer"))
        << dump(r.errors);
    EXPECT_EQ(r.errors.size(), 5u) << dump(r.errors);
}

TEST_F(config, unknown_keys_and_shape) {
    expect_error(
        std::string{minimal} + "poll_intervall_s: 3\n",
        5,
        1,
        "unknown key 'poll_intervall_s'; did you mean 'poll_interval_s'?"
    );
    expect_error(
        "accounts:\n  - name: a\n    provider: atlas\n    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "    api_key: sk-inline\n",
        5,
        5,
        "accounts[0]: unknown key 'api_key'"
    );
    expect_error("state_dir: x\n", 1, 1, "accounts: missing");
    expect_error("accounts: []\n", 1, 11, "accounts: must list at least one account");
    expect_error(
        std::string{minimal} + "listen: \"localhost\"\n", 5, 9, "listen: must be \"host:port\""
    );
    expect_error(std::string{minimal} + "database: {}\n", 5, 11, "database: missing key 'url'");
    expect_error(
        std::string{minimal} + "poll_interval_s: 10\nmax_poll_interval_s: 5\n",
        6,
        22,
        "max_poll_interval_s: must be >= poll_interval_s"
    );
}

TEST_F(config, accounts_are_checked) {
    const auto r = load(
        "accounts:\n"
        "  - name: atlas-a\n"
        "    provider: atlas\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "  - name: atlas-a\n"
        "    provider: replicate\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "  - name: .hidden\n"
        "    provider: atlas\n"
        "    base_url: ftp://example.com\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "  - provider: atlas\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
    );
    EXPECT_FALSE(r.config);
    EXPECT_TRUE(
        has(r.errors,
            6,
            15,
            "accounts[1].provider: unknown provider 'replicate'; known: aimlapi, atlas, "
            "minimax, wavespeed")
    ) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 8, 11, "accounts[2].name: must match")) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 10, 15, "accounts[2].base_url: must start with https://"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 12, 5, "accounts[3]: missing required key 'name'")) << dump(r.errors);

    expect_error(
        std::string{minimal} +
            "  - name: atlas-a\n    provider: atlas\n"
            "    api_key_env: SHOTFARM_TEST_KEY_A\n",
        5,
        11,
        "accounts[1].name: duplicate account name 'atlas-a' (first at line 2)"
    );
}

TEST_F(config, api_key_env_must_be_set) {
    ::unsetenv("SHOTFARM_TEST_UNSET");
    expect_error(
        "accounts:\n  - name: a\n    provider: atlas\n    api_key_env: SHOTFARM_TEST_UNSET\n",
        4,
        18,
        "accounts[0].api_key_env: environment variable SHOTFARM_TEST_UNSET is not set or empty"
    );
    ::setenv("SHOTFARM_TEST_EMPTY", "", 1);
    expect_error(
        "accounts:\n  - name: a\n    provider: atlas\n    api_key_env: SHOTFARM_TEST_EMPTY\n",
        4,
        18,
        "is not set or empty"
    );
    expect_error(
        "accounts:\n  - name: a\n    provider: atlas\n",
        2,
        5,
        "accounts[0]: set exactly one of 'api_key_env' or 'api_key_file'"
    );
    dir_.write("k", "secret\n", 0600);
    expect_error(
        "accounts:\n  - name: a\n    provider: atlas\n    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "    api_key_file: k\n",
        5,
        19,
        "set exactly one of"
    );
}

TEST_F(config, api_key_file_permissions) {
    const std::string yaml =
        "accounts:\n  - name: a\n    provider: atlas\n    api_key_file: a.key\n";
    dir_.write("a.key", "sk-file-secret\r\n", 0644);
    const auto rejected = load(yaml);
    EXPECT_FALSE(rejected.config);
    EXPECT_TRUE(
        has(rejected.errors,
            4,
            19,
            "accounts[0].api_key_file: key file " + (dir_.path() / "a.key").string() +
                " has mode 0644; it must not be accessible by group or others (chmod 600)")
    ) << dump(rejected.errors);

    dir_.write("a.key", "sk-file-secret\r\n", 0600);
    const auto accepted = load(yaml);
    ASSERT_TRUE(accepted.config) << dump(accepted.errors);
    EXPECT_EQ(accepted.config->accounts[0].api_key, "sk-file-secret");

    dir_.write("a.key", "sk-file-secret\n", 0400);
    EXPECT_TRUE(load(yaml).config);
    dir_.write("a.key", "sk-file-secret\n", 0640);
    EXPECT_FALSE(load(yaml).config);

    dir_.write("a.key", "\n", 0600);
    expect_error(yaml, 4, 19, "is empty");
    fs::remove(dir_.path() / "a.key");
    expect_error(yaml, 4, 19, "cannot read key file");
    fs::create_directories(dir_.path() / "a.key");
    expect_error(yaml, 4, 19, "is not a regular file");
}

TEST_F(config, api_keys_never_appear_in_diagnostics) {
    ::setenv("SHOTFARM_TEST_CANARY_1", "CANARY-env-7f3a", 1);
    ::setenv("SHOTFARM_TEST_CANARY_2", "CANARY-env with space", 1);
    dir_.write("open.key", "CANARY-open-file-91c2\n", 0644);
    dir_.write("spaced.key", "CANARY-bad key\n", 0600);
    dir_.write("good.key", "CANARY-good-file-5d1e\n", 0600);
    const auto r = load(
        "accounts:\n"
        "  - {name: a, provider: atlas, api_key_env: SHOTFARM_TEST_CANARY_1, max_concurrency: 0}\n"
        "  - {name: b, provider: atlas, api_key_env: SHOTFARM_TEST_CANARY_2}\n"
        "  - {name: c, provider: atlas, api_key_file: open.key}\n"
        "  - {name: d, provider: atlas, api_key_file: spaced.key}\n"
        "  - {name: e, provider: atlas, api_key_file: good.key, base_url: 'nope'}\n"
        "  - {name: f, provider: atlas, api_key_file: good.key, api_key_env: "
        "SHOTFARM_TEST_CANARY_1}\n"
        "bogus: CANARY-not-a-key\n"
    );
    EXPECT_FALSE(r.config);
    EXPECT_GE(r.errors.size(), 6u) << dump(r.errors);
    for (const auto& e : r.errors) {
        EXPECT_EQ(e.str().find("CANARY-env"), std::string::npos) << e.str();
        EXPECT_EQ(e.str().find("CANARY-open"), std::string::npos) << e.str();
        EXPECT_EQ(e.str().find("CANARY-bad"), std::string::npos) << e.str();
        EXPECT_EQ(e.str().find("CANARY-good"), std::string::npos) << e.str();
    }
    EXPECT_TRUE(has(r.errors, 3, 45, "environment variable SHOTFARM_TEST_CANARY_2 contains spaces"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 5, 46, "contains spaces or control characters")) << dump(r.errors);
    ::unsetenv("SHOTFARM_TEST_CANARY_1");
    ::unsetenv("SHOTFARM_TEST_CANARY_2");
}

TEST_F(config, price_overrides_are_checked_against_the_catalog) {
    const auto r = load(
        std::string{minimal} +
        "prices:\n"
        "  minimax/hailuo-02/fast: 0.1\n"
        "  atlas/minimax/hailuo-99: 0.1\n"
        "  atlas/minimax/hailuo-02/pro: {10s: 0.5}\n"
        "  atlas/minimax/hailuo-02/i2v-pro: -1\n"
    );
    EXPECT_FALSE(r.config);
    EXPECT_TRUE(
        has(r.errors,
            6,
            3,
            "prices.minimax/hailuo-02/fast: name the provider too: 'atlas/minimax/hailuo-02/fast'")
    ) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 7, 3, "unknown provider model")) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 8, 33, "expected a duration this model renders")) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 9, 36, "must be a price in USD > 0")) << dump(r.errors);
}

TEST_F(config, all_four_providers_with_their_default_base_urls) {
    const auto r = load(
        "accounts:\n"
        "  - {name: a, provider: atlascloud, api_key_env: SHOTFARM_TEST_KEY_A}\n"
        "  - {name: w, provider: wavespeed, api_key_env: SHOTFARM_TEST_KEY_A}\n"
        "  - {name: m, provider: aimlapi, api_key_env: SHOTFARM_TEST_KEY_A}\n"
        "  - {name: x, provider: minimax, api_key_env: SHOTFARM_TEST_KEY_A,\n"
        "     base_url: 'http://127.0.0.1:8080'}\n"
    );
    ASSERT_TRUE(r.config) << dump(r.errors);
    const auto& a = r.config->accounts;
    ASSERT_EQ(a.size(), 4u);
    EXPECT_EQ(a[0].provider, "atlas");
    EXPECT_EQ(a[0].base_url, "https://api.atlascloud.ai");
    EXPECT_EQ(a[1].provider, "wavespeed");
    EXPECT_EQ(a[1].base_url, "https://api.wavespeed.ai");
    EXPECT_EQ(a[2].provider, "aimlapi");
    EXPECT_EQ(a[2].base_url, "https://api.aimlapi.com");
    EXPECT_EQ(a[3].provider, "minimax");
    EXPECT_EQ(a[3].base_url, "http://127.0.0.1:8080");
    EXPECT_EQ(default_base_url("minimax"), "https://api.minimax.io");
    EXPECT_EQ(default_base_url("fal"), "");
}

TEST_F(config, price_keys_of_every_provider) {
    const auto r = load(
        std::string{minimal} +
        "prices:\n"
        "  wavespeed/minimax/hailuo-02/fast: {10s: 0.2}\n"
        "  aimlapi/minimax/hailuo-02:1080P: 0.6\n"
        "  minimax/MiniMax-Hailuo-02:512P: 0.09\n"
        "  minimax/MiniMax-Hailuo-2.3:768P: {10s: 0.5}\n"
    );
    ASSERT_TRUE(r.config) << dump(r.errors);
    const auto cat = make_catalog(*r.config);
    using providers::mode;
    EXPECT_DOUBLE_EQ(cat.find("hailuo-02-fast", mode::i2v, 10, "wavespeed").front().price_usd, 0.2);
    EXPECT_DOUBLE_EQ(cat.find("hailuo-02-fast", mode::i2v, 6, "wavespeed").front().price_usd, 0.1);
    EXPECT_DOUBLE_EQ(cat.find("hailuo-02-fast", mode::i2v, 10, "atlas").front().price_usd, 0.15);
    EXPECT_DOUBLE_EQ(cat.find("hailuo-02-pro", mode::t2v, 6, "aimlapi").front().price_usd, 0.6);
    EXPECT_DOUBLE_EQ(
        cat.find("hailuo-02-standard", mode::t2v, 6, "aimlapi").front().price_usd, 0.294
    );
    EXPECT_DOUBLE_EQ(cat.find("hailuo-02-fast", mode::i2v, 6, "minimax").front().price_usd, 0.09);
    EXPECT_DOUBLE_EQ(
        cat.find("hailuo-2.3-standard", mode::t2v, 10, "minimax").front().price_usd, 0.5
    );

    const auto bad = load(
        std::string{minimal} +
        "prices:\n"
        "  minimax/MiniMax-Hailuo-02: 0.3\n"
        "  minimax/MiniMax-Hailuo-02:1080P: {10s: 0.5}\n"
    );
    EXPECT_FALSE(bad.config);
    EXPECT_TRUE(
        has(bad.errors,
            6,
            3,
            "prices.minimax/MiniMax-Hailuo-02: this provider takes the resolution as a "
            "parameter; name it too: 'minimax/MiniMax-Hailuo-02:1080P' or "
            "'minimax/MiniMax-Hailuo-02:512P' or 'minimax/MiniMax-Hailuo-02:768P'")
    ) << dump(bad.errors);
    EXPECT_TRUE(has(bad.errors, 7, 37, "expected a duration this model renders"))
        << dump(bad.errors);
}

// Issue 4: the scheduler's keys. Absent, each has the documented default.
TEST_F(config, scheduler_keys_default) {
    const auto r = load(
        std::string{minimal} +
        "  - name: mm\n"
        "    provider: minimax\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
    );
    ASSERT_TRUE(r.config) << dump(r.errors);
    const auto& c = *r.config;
    EXPECT_EQ(c.max_attempts, 3);
    EXPECT_FALSE(c.budget_usd);
    EXPECT_EQ(c.strategy, "fastest");
    EXPECT_TRUE(c.generation_prior_s.empty());
    // The built-in priors (providers' typical figures).
    EXPECT_DOUBLE_EQ(generation_prior_s(c, "hailuo-2.3-fast"), 40);
    EXPECT_DOUBLE_EQ(generation_prior_s(c, "hailuo-02-fast"), 45);
    EXPECT_DOUBLE_EQ(generation_prior_s(c, "hailuo-02-pro"), 70);
    EXPECT_DOUBLE_EQ(generation_prior_s(c, "hailuo-02-standard"), 60);
    ASSERT_EQ(c.accounts.size(), 2u);
    for (const auto& a : c.accounts) {
        EXPECT_EQ(a.requests_per_minute, 60) << a.name;
        EXPECT_EQ(a.submits_per_minute, 0) << a.name;
        EXPECT_FALSE(a.budget_usd_per_day) << a.name;
    }
    // Submits: every request for Atlas, MiniMax's documented 5 RPM.
    EXPECT_EQ(c.accounts[0].submit_rate(), 60);
    EXPECT_EQ(c.accounts[1].submit_rate(), 5);
}

TEST_F(config, scheduler_keys_are_read) {
    const auto r = load(
        "budget_usd: 250.5\n"
        "strategy: cheapest\n"
        "max_attempts: 2\n"
        "generation_prior_s:\n"
        "  hailuo-02-standard: 90\n"
        "  hailuo-2.3-fast: 12.5\n"
        "accounts:\n"
        "  - name: atlas-a\n"
        "    provider: atlas\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "    requests_per_minute: 30\n"
        "    submits_per_minute: 7\n"
        "    budget_usd_per_day: 20\n"
        "  - name: mm\n"
        "    provider: minimax\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "    requests_per_minute: 3\n"
        "    budget_usd_per_day: 0\n"
    );
    ASSERT_TRUE(r.config) << dump(r.errors);
    const auto& c = *r.config;
    EXPECT_EQ(c.budget_usd, 250.5);
    EXPECT_EQ(c.strategy, "cheapest");
    EXPECT_EQ(c.max_attempts, 2);
    EXPECT_DOUBLE_EQ(generation_prior_s(c, "hailuo-02-standard"), 90);
    EXPECT_DOUBLE_EQ(generation_prior_s(c, "hailuo-2.3-fast"), 12.5);
    EXPECT_DOUBLE_EQ(generation_prior_s(c, "hailuo-02-pro"), 70);  // not configured: built in
    ASSERT_EQ(c.accounts.size(), 2u);
    EXPECT_EQ(c.accounts[0].requests_per_minute, 30);
    EXPECT_EQ(c.accounts[0].submits_per_minute, 7);
    EXPECT_EQ(c.accounts[0].submit_rate(), 7);
    EXPECT_EQ(c.accounts[0].budget_usd_per_day, 20.0);
    // MiniMax's 5 RPM never exceeds the account's own request rate; a cap of 0 is a cap.
    EXPECT_EQ(c.accounts[1].submit_rate(), 3);
    EXPECT_EQ(c.accounts[1].budget_usd_per_day, 0.0);

    const auto strategy = load(std::string{minimal} + "strategy: fastest\n");
    ASSERT_TRUE(strategy.config) << dump(strategy.errors);
    EXPECT_EQ(strategy.config->strategy, "fastest");
}

TEST_F(config, scheduler_keys_bad_values_name_the_key) {
    const auto r = load(
        "budget_usd: ten\n"
        "strategy: random\n"
        "generation_prior_s:\n"
        "  hailuo-9: 30\n"
        "  hailuo-02-fast: 0\n"
        "accounts:\n"
        "  - name: atlas-a\n"
        "    provider: atlas\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "    submits_per_minute: 0\n"
        "    budget_usd_per_day: -1\n"
        "  - name: atlas-b\n"
        "    provider: atlas\n"
        "    api_key_env: SHOTFARM_TEST_KEY_A\n"
        "    submits_per_minute: 2.5\n"
        "    budget_usd_per_day: lots\n"
    );
    EXPECT_FALSE(r.config);
    EXPECT_TRUE(has(r.errors, 1, 13, "budget_usd: expected a number, got a string"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 2, 11, "strategy: must be 'fastest' or 'cheapest'"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 4, 3, "generation_prior_s.hailuo-9: unknown model 'hailuo-9'"))
        << dump(r.errors);
    EXPECT_TRUE(
        has(r.errors,
            5,
            19,
            "generation_prior_s.hailuo-02-fast: must be a number of seconds > 0 and <= 3600")
    ) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 10, 25, "accounts[0].submits_per_minute: must be an integer >= 1"))
        << dump(r.errors);
    EXPECT_TRUE(
        has(r.errors, 11, 25, "accounts[0].budget_usd_per_day: must be a number of US dollars >= 0")
    ) << dump(r.errors);
    EXPECT_TRUE(
        has(r.errors, 15, 25, "accounts[1].submits_per_minute: expected an integer, got a number")
    ) << dump(r.errors);
    EXPECT_TRUE(
        has(r.errors, 16, 25, "accounts[1].budget_usd_per_day: expected a number, got a string")
    ) << dump(r.errors);
    EXPECT_EQ(r.errors.size(), 8u) << dump(r.errors);

    expect_error(
        std::string{minimal} + "budget_usd: -0.5\n",
        5,
        13,
        "budget_usd: must be a number of US dollars >= 0"
    );
    expect_error(
        std::string{minimal} + "generation_prior_s: 30\n",
        5,
        21,
        "generation_prior_s: expected a mapping (key: value lines), got an integer"
    );
    expect_error(
        std::string{minimal} + "generation_prior_s: {hailuo-02-pro: 4000}\n",
        5,
        37,
        "generation_prior_s.hailuo-02-pro: must be a number of seconds > 0 and <= 3600"
    );
    expect_error(
        std::string{minimal} + "strategy: [fastest]\n", 5, 11, "strategy: expected a string"
    );
    expect_error(std::string{minimal} + "budget:\n  usd: 5\n", 5, 1, "unknown key 'budget'");
}

// The schema lists generation_prior_s's models by hand; they must be the catalog's.
TEST_F(config, schema_generation_prior_models_are_the_catalogs) {
    const char* src = std::getenv("SHOTFARM_SOURCE_DIR");
    const fs::path file =
        (src != nullptr
             ? fs::path{src}
             : config_test::data_dir().parent_path().parent_path().parent_path().parent_path()) /
        "schemas/config.schema.json";
    std::ifstream in(file);
    ASSERT_TRUE(in) << file;
    std::stringstream text;
    text << in.rdbuf();
    const auto schema = boost::json::parse(text.str());
    const auto& prior = schema.at("properties").at("generation_prior_s");
    std::set<std::string> listed;
    for (const auto& v : prior.at("propertyNames").at("enum").as_array()) {
        listed.insert(std::string{v.as_string()});
    }
    const auto models = providers::catalog::builtin().models();
    EXPECT_EQ(listed, std::set<std::string>(models.begin(), models.end()));
    // Same bounds as the loader's seconds(): > 0, <= 3600.
    EXPECT_EQ(prior.at("additionalProperties").at("exclusiveMinimum").as_int64(), 0);
    EXPECT_EQ(prior.at("additionalProperties").at("maximum").as_int64(), 3600);
}

}  // namespace
}  // namespace shotfarm::jobs
