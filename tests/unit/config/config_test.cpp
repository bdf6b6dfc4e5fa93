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
    EXPECT_DOUBLE_EQ(c.poll_interval_s, 0.25);
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
        "accounts[0].api_key: unknown key; put the key in an environment variable named by "
        "api_key_env or a 0600 file named by api_key_file"
    );
    expect_error("state_dir: x\n", 1, 1, "accounts: missing");
    expect_error("accounts: []\n", 1, 11, "accounts: must list at least one account");
    expect_error(
        std::string{minimal} + "listen: \"localhost\"\n", 5, 9, "listen: must be \"IP:port\""
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
            "accounts[1].provider: unknown provider; known: aimlapi, atlas, minimax, wavespeed")
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
        "accounts[1].name: duplicate account name (first at line 2)"
    );
}

TEST_F(config, api_key_env_must_be_set) {
    ::unsetenv("SHOTFARM_TEST_UNSET");
    expect_error(
        "accounts:\n  - name: a\n    provider: atlas\n    api_key_env: SHOTFARM_TEST_UNSET\n",
        4,
        18,
        "accounts[0].api_key_env: the environment variable it names is not set or empty"
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
            "accounts[0].api_key_file: the key file it names has mode 0644; it must not be "
            "accessible by group or others (chmod 600)")
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
    expect_error(yaml, 4, 19, "the key file it names does not exist");
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
    EXPECT_TRUE(has(r.errors, 3, 45, "environment variable it names contains spaces"))
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
    EXPECT_TRUE(has(r.errors, 6, 3, "prices: name the provider too: 'atlas/minimax/hailuo-02/fast'")
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
            "prices: this provider takes the resolution as a "
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
    EXPECT_TRUE(has(r.errors, 4, 3, "generation_prior_s: unknown model; known: hailuo-02-fast"))
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

// Issue 11: a key pasted into any field of the config is never printed back. Each row puts a
// recognisable fake key somewhere a key could land; no diagnostic may contain it, and every
// row that is an error still names a key path at a line and column.
TEST_F(config, a_pasted_key_is_never_echoed_by_any_diagnostic) {
    for (const std::string key : {"sk-CANARY-0123456789abcdefABCDEF", "CANARY+9f8e/7d6c5b4a3=="}) {
        dir_.write("open.key", "x\n", 0644);
        struct row {
            std::string yaml;
            bool error;  // the row is a mistake the loader must report
        };
        const std::string acc = "accounts:\n  - name: a\n    provider: atlas\n";
        const std::string ws = "accounts:\n  - name: w\n    provider: wavespeed\n";
        const std::string env = "    api_key_env: SHOTFARM_TEST_KEY_A\n";
        const std::string q = "'" + key + "'";
        const std::vector<row> rows{
            {"state_dir: " + q + "\n" + acc + env, false},
            {"output_dir: " + q + "\n" + acc + env, false},
            {"database: {url: " + q + "}\n" + acc + env, false},
            {"listen: " + q + "\n" + acc + env, true},
            {"strategy: " + q + "\n" + acc + env, true},
            {"ambiguous: " + q + "\n" + acc + env, true},
            {"ambiguous_policy: " + q + "\n" + acc + env, true},
            {"accounts:\n  - name: " + q + "\n    provider: atlas\n" + env,
             key.find('+') != std::string::npos},
            {"accounts:\n  - name: a\n    provider: " + q + "\n" + env, true},
            {acc + env + "    base_url: " + q + "\n", true},
            {acc + env + "    base_url: 'http://" + key + "'\n", true},
            {acc + env + "    download_hosts: [" + q + "]\n", true},
            {acc + env + "    download_hosts: ['https://cdn.example.com/" + key + "']\n", true},
            {acc + "    api_key_env: " + q + "\n", true},
            {acc + "    api_key_file: " + q + "\n", true},
            {acc + "    api_key_file: open.key\n    api_key_env: " + q + "\n", true},
            {acc + env + "    api_key: " + q + "\n", true},
            {acc + env + "    token: " + q + "\n", true},
            {acc + env + "    " + q + ": 1\n", true},
            {acc + env + "    " + q + ": 1\n    " + q + ": 1\n", true},
            {q + ": 1\n" + acc + env, true},
            {acc + env + "prices: {" + q + ": 0.1}\n", true},
            {acc + env + "prices: {atlas/minimax/hailuo-02/fast: {" + q + ": 0.1}}\n", true},
            {acc + env + "generation_prior_s: {" + q + ": 10}\n", true},
            {acc + env + "    max_concurrency: " + q + "\n", true},
            {acc + env + "    max_concurrency: " + key + "\n", true},
            {"max_attempts: " + key + "\n" + acc + env, true},
            {"budget_usd: " + key + "\n" + acc + env, true},
            {"listen_max_connections: " + q + "\n" + acc + env, true},
            {"strategy: !" + key.substr(0, key.find('+')) + " fastest\n" + acc + env, true},
            // Issue 12's keys: public_url, webhooks and the webhook secret's sources.
            {"public_url: " + q + "\n" + acc + env, true},
            {"public_url: 'http://" + key + "'\n" + acc + env, true},
            {acc + env + "    webhooks: " + q + "\n", true},
            {acc + env + "    webhook_jwks_url: " + q + "\n", true},
            {acc + env + "    webhook_jwks_url: 'http://" + key + "'\n", true},
            {acc + env + "    webhook_secret_env: " + q + "\n", true},
            {ws + env + "    webhook_secret_env: " + q + "\n", true},
            {ws + env + "    webhook_secret_file: " + q + "\n", true},
            {ws + env + "    webhook_secret_file: open.key\n    webhook_secret_env: " + q + "\n",
             true},
            {ws + env + "    webhook_secret: " + q + "\n", true},
        };
        for (const auto& [yaml, error] : rows) {
            const auto r = load(yaml);
            SCOPED_TRACE(yaml);
            EXPECT_EQ(r.errors.empty(), !error) << dump(r.errors);
            for (const auto& e : r.errors) {
                EXPECT_EQ(e.str().find(key), std::string::npos) << e.str();
                EXPECT_EQ(e.str().find(key.substr(0, 12)), std::string::npos) << e.str();
                EXPECT_GT(e.line, 0) << e.str();
            }
        }
    }
}

TEST_F(config, base_url_is_https_unless_the_host_is_loopback) {
    auto with = [&](std::string_view url) {
        return load(std::string{minimal} + "    base_url: '" + std::string{url} + "'\n");
    };
    for (const char* ok :
         {"https://api.example.com",
          "https://api.example.com:8443/v1/",
          "http://127.0.0.1:18080",
          "http://127.9.9.9",
          "http://[::1]:9000/atlas",
          "http://localhost:8080",
          "http://LOCALHOST:8080"}) {
        const auto r = with(ok);
        ASSERT_TRUE(r.config) << ok << "\n" << dump(r.errors);
    }
    EXPECT_EQ(
        with("https://api.example.com:8443/v1/").config->accounts[0].base_url,
        "https://api.example.com:8443/v1"
    );
    const std::pair<const char*, const char*> refused[] = {
        {"http://203.0.113.5", "plain http:// would send the API key in clear; use https://"},
        {"http://10.0.0.1:8080", "is accepted only for a loopback host"},
        {"http://localhost.example.com", "is accepted only for a loopback host"},
        {"http://[::ffff:203.0.113.5]", "is accepted only for a loopback host"},
        {"https://user:pw@api.example.com", "must not contain a user name or password"},
        {"https://api.example.com@evil.example", "must not contain a user name or password"},
        {"https://api.example.com/?x=1", "must not contain a query"},
        {"https://api.example.com/#top", "or a fragment"},
        {"https://api.example.com:0", "has a port that is not a number from 1 to 65535"},
        {"https://api.example.com:99999", "has a port that is not a number from 1 to 65535"},
        {"https://api.example.com:443x/v1", "has a port that is not a number from 1 to 65535"},
        {"https://", "has no host"},
        {"ftp://api.example.com", "must start with https://"},
        {"https://api.exa mple.com", "must not contain spaces"},
        {"https://%6cocalhost", "must not percent-encode its host"},
        // Names the HTTP client would refuse at every request (found by fuzz_config_base_url).
        {"https://cdn,example.com", "has a host name with characters other than"},
        {"https://api.atlas*cloud.ai", "has a host name with characters other than"},
    };
    for (auto [url, why] : refused) {
        SCOPED_TRACE(url);
        const auto r = with(url);
        EXPECT_FALSE(r.config);
        ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
        EXPECT_TRUE(has(r.errors, 5, 15, "accounts[0].base_url: ")) << dump(r.errors);
        EXPECT_TRUE(has(r.errors, 5, 15, why)) << dump(r.errors);
    }
}

TEST_F(config, download_hosts_are_origins_stored_normalized) {
    const auto r = load(
        std::string{minimal} +
        "    download_hosts:\n"
        "      - https://CDN.Example.com\n"
        "      - http://10.1.2.3:8080\n"
        "      - 'https://[2001:DB8::1]/'\n"
        "      - https://cdn.example.com:443\n"
    );
    ASSERT_TRUE(r.config) << dump(r.errors);
    EXPECT_EQ(
        r.config->accounts[0].download_hosts,
        (std::vector<std::string>{
            "https://cdn.example.com:443", "http://10.1.2.3:8080", "https://[2001:db8::1]:443"})
    );
    EXPECT_TRUE(load(minimal).config->accounts[0].download_hosts.empty());

    const std::pair<const char*, const char*> refused[] = {
        {"https://cdn.example.com/videos",
         "must be an origin, scheme://host[:port], without a path"},
        {"ftp://cdn.example.com", "must start with https://"},
        {"cdn.example.com", "must start with https://"},
        {"https://u@cdn.example.com", "must not contain a user name or password"},
        {"https://cdn.example.com?x", "must not contain a query"},
        {"https://cdn.example.com:0", "has a port that is not a number"},
    };
    for (auto [host, why] : refused) {
        SCOPED_TRACE(host);
        expect_error(
            std::string{minimal} + "    download_hosts: ['" + host + "']\n",
            5,
            22,
            std::string{"accounts[0].download_hosts[0]: "} + why
        );
    }
    expect_error(
        std::string{minimal} + "    download_hosts: https://cdn.example.com\n",
        5,
        21,
        "accounts[0].download_hosts: expected a list"
    );
}

TEST_F(config, listen_max_connections) {
    EXPECT_EQ(load(minimal).config->listen_max_connections, 64);
    EXPECT_EQ(
        load(std::string{minimal} + "listen_max_connections: 1\n").config->listen_max_connections, 1
    );
    EXPECT_EQ(
        load(std::string{minimal} + "listen_max_connections: 4096\n")
            .config->listen_max_connections,
        4096
    );
    for (const char* bad : {"0", "4097", "-1"}) {
        expect_error(
            std::string{minimal} + "listen_max_connections: " + bad + "\n",
            5,
            25,
            "listen_max_connections: must be an integer from 1 to 4096"
        );
    }
    expect_error(
        std::string{minimal} + "listen_max_connections: many\n",
        5,
        25,
        "listen_max_connections: expected an integer"
    );
}

// A name would pass validation and then fail at bind ("Invalid argument"): only IP literals.
TEST_F(config, listen_is_an_ip_and_a_port) {
    expect_error(
        std::string{minimal} + "listen: localhost:9464\n",
        5,
        9,
        "listen: must be an IP address and port; names are not looked up: write "
        "\"127.0.0.1:9464\""
    );
    for (const char* bad :
         {"example.com:80",
          "127.0.0.1:65536",
          "127.0.0.1:",
          "127.0.0.1",
          ":9464",
          "::1:9464",
          "[::1]",
          "1.2.3:80",
          "256.1.1.1:80",
          "[localhost]:80",
          "127.0.0.1:+80",
          "127.0.0.1:000080"}) {
        SCOPED_TRACE(bad);
        expect_error(
            std::string{minimal} + "listen: '" + bad + "'\n", 5, 9, "listen: must be \"IP:port\""
        );
    }
    const auto v4 = load(std::string{minimal} + "listen: 0.0.0.0:0\n");
    ASSERT_TRUE(v4.config) << dump(v4.errors);
    EXPECT_EQ(v4.config->listen_host, "0.0.0.0");
    EXPECT_EQ(v4.config->listen_port, 0);
    const auto v6 = load(std::string{minimal} + "listen: '[::1]:9464'\n");
    ASSERT_TRUE(v6.config) << dump(v6.errors);
    EXPECT_EQ(v6.config->listen_host, "::1");
    EXPECT_EQ(v6.config->listen_port, 9464);
}

// Paths the database stores as text must be UTF-8 without control characters.
TEST_F(config, paths_the_database_stores_are_text) {
    expect_error(
        std::string{minimal} + "output_dir: \"out\\x01put\"\n",
        5,
        13,
        "output_dir: the path contains the control character U+0001"
    );
    const auto odd = dir_.path() / "odd\xff";
    fs::create_directories(odd);
    {
        std::ofstream out(odd / "config.yaml");
        out << minimal;
    }
    const auto r = load_config(odd / "config.yaml");
    EXPECT_FALSE(r.config);
    EXPECT_TRUE(has(r.errors, 0, 0, "the config file's path is not valid UTF-8")) << dump(r.errors);
}

// --- Webhooks (issue 12): public_url, per-account webhooks and their secrets.

TEST_F(config, webhooks_are_off_by_default) {
    const auto r = load(minimal);
    ASSERT_TRUE(r.config) << dump(r.errors);
    const auto& c = *r.config;
    EXPECT_FALSE(c.public_url);
    const auto& a = c.accounts[0];
    EXPECT_FALSE(a.webhooks);
    EXPECT_TRUE(a.webhook_secret.empty());
    EXPECT_EQ(a.webhook_path(), "/webhooks/atlas-a");
    EXPECT_EQ(a.webhook_jwks_url, "https://api.atlascloud.ai/api/v1/webhooks/jwks.json");
    EXPECT_EQ(webhook_url(c, a), std::nullopt);
}

TEST_F(config, webhooks_are_read) {
    ::setenv("SHOTFARM_TEST_HOOK", "whsec_env-secret", 1);
    dir_.write("hook.secret", "whsec_file-secret\n", 0600);
    const auto r = load(
        "public_url: https://farm.studio.example/shotfarm/\n"
        "accounts:\n"
        "  - {name: atlas-a, provider: atlas, api_key_env: SHOTFARM_TEST_KEY_A, webhooks: true}\n"
        "  - {name: atlas-sim, provider: atlas, api_key_env: SHOTFARM_TEST_KEY_A,\n"
        "     base_url: 'http://127.0.0.1:18080/', webhooks: false}\n"
        "  - {name: atlas-own, provider: atlas, api_key_env: SHOTFARM_TEST_KEY_A, webhooks: true,\n"
        "     webhook_jwks_url: 'https://keys.example.com/jwks.json'}\n"
        "  - {name: ws-a, provider: wavespeed, api_key_env: SHOTFARM_TEST_KEY_A, webhooks: true,\n"
        "     webhook_secret_env: SHOTFARM_TEST_HOOK}\n"
        "  - {name: ws-b, provider: wavespeed, api_key_env: SHOTFARM_TEST_KEY_A, webhooks: True,\n"
        "     webhook_secret_file: hook.secret}\n"
        "  - {name: mm, provider: minimax, api_key_env: SHOTFARM_TEST_KEY_A, webhooks: true}\n"
        "  - {name: ai, provider: aimlapi, api_key_env: SHOTFARM_TEST_KEY_A, webhooks: false}\n"
    );
    ::unsetenv("SHOTFARM_TEST_HOOK");
    ASSERT_TRUE(r.config) << dump(r.errors);
    const auto& c = *r.config;
    EXPECT_EQ(c.public_url, "https://farm.studio.example/shotfarm");
    const auto& a = c.accounts;
    ASSERT_EQ(a.size(), 7u);
    EXPECT_TRUE(a[0].webhooks);
    EXPECT_EQ(webhook_url(c, a[0]), "https://farm.studio.example/shotfarm/webhooks/atlas-a");
    EXPECT_EQ(a[0].webhook_jwks_url, "https://api.atlascloud.ai/api/v1/webhooks/jwks.json");
    // A simulator on loopback serves its own keys.
    EXPECT_FALSE(a[1].webhooks);
    EXPECT_EQ(webhook_url(c, a[1]), std::nullopt);
    EXPECT_EQ(a[1].webhook_jwks_url, "http://127.0.0.1:18080/api/v1/webhooks/jwks.json");
    EXPECT_EQ(a[2].webhook_jwks_url, "https://keys.example.com/jwks.json");
    EXPECT_EQ(a[3].webhook_secret, "whsec_env-secret");
    EXPECT_EQ(a[3].webhook_secret_source, "env SHOTFARM_TEST_HOOK");
    EXPECT_TRUE(a[3].webhook_jwks_url.empty());
    EXPECT_EQ(a[4].webhook_secret, "whsec_file-secret");
    EXPECT_EQ(a[4].webhook_secret_source, "file " + (dir_.path() / "hook.secret").string());
    EXPECT_EQ(webhook_url(c, a[5]), "https://farm.studio.example/shotfarm/webhooks/mm");
    EXPECT_TRUE(a[5].webhook_secret.empty());
    EXPECT_FALSE(a[6].webhooks);

    // An operator command reads no secret.
    ::setenv("SHOTFARM_TEST_HOOK", "whsec_env-secret", 1);
    const auto quiet = load_config(file_, false);
    ::unsetenv("SHOTFARM_TEST_HOOK");
    ASSERT_TRUE(quiet.config) << dump(quiet.errors);
    EXPECT_TRUE(quiet.config->accounts[3].webhook_secret.empty());
}

TEST_F(config, webhook_mistakes_name_the_key) {
    dir_.write("open.secret", "whsec_x\n", 0644);
    const std::string ws = "accounts:\n  - name: w\n    provider: wavespeed\n";
    const std::string env = "    api_key_env: SHOTFARM_TEST_KEY_A\n";
    const std::string pub = "public_url: https://farm.example.com\n";
    struct row {
        std::string yaml;
        int line, col;
        std::string text;
    };
    const std::vector<row> rows{
        {pub + "accounts:\n  - name: a\n    provider: aimlapi\n" + env + "    webhooks: true\n",
         6,
         15,
         "accounts[0].webhooks: AI/ML API sends no webhooks"},
        {std::string{minimal} + "    webhooks: true\n",
         5,
         15,
         "accounts[0].webhooks: needs the top-level 'public_url'"},
        {pub + ws + env + "    webhooks: true\n",
         6,
         15,
         "accounts[0].webhooks: a WaveSpeed account with webhooks needs 'webhook_secret_env' or "
         "'webhook_secret_file'"},
        {std::string{minimal} + "    webhooks: yes\n",
         5,
         15,
         "accounts[0].webhooks: must be true or false"},
        {std::string{minimal} + "    webhooks: 'true'\n", 5, 15, "must be true or false"},
        {std::string{minimal} + "    webhook_secret_env: SHOTFARM_TEST_KEY_A\n",
         5,
         25,
         "accounts[0].webhook_secret_env: only a WaveSpeed account has a webhook secret"},
        {ws + env + "    webhook_jwks_url: https://keys.example.com/j\n",
         5,
         23,
         "accounts[0].webhook_jwks_url: only an Atlas account has a JWKS URL"},
        {std::string{minimal} + "    webhook_jwks_url: http://keys.example.com/j\n",
         5,
         23,
         "plain http:// would let anyone on the way replace Atlas's webhook signing keys"},
        {ws + env + "    webhook_secret_env: SHOTFARM_TEST_KEY_A\n    webhook_secret_file: x\n",
         6,
         26,
         "accounts[0]: set exactly one of 'webhook_secret_env' or 'webhook_secret_file'"},
        {ws + env + "    webhook_secret_file: open.secret\n",
         5,
         26,
         "accounts[0].webhook_secret_file: the secret file it names has mode 0644"},
        {ws + env + "    webhook_secret_file: missing.secret\n",
         5,
         26,
         "the secret file it names does not exist"},
        {ws + env + "    webhook_secret_env: SHOTFARM_TEST_UNSET_HOOK\n",
         5,
         25,
         "accounts[0].webhook_secret_env: the environment variable it names is not set"},
        {ws + env + "    webhook_secret: whsec_abc\n",
         5,
         5,
         "accounts[0].webhook_secret: unknown key; put the key in an environment variable named "
         "by api_key_env or a 0600 file named by api_key_file (a WaveSpeed webhook secret: "
         "webhook_secret_env or webhook_secret_file)"},
        {"public_url: http://203.0.113.5/farm\n" + std::string{minimal},
         1,
         13,
         "public_url: plain http:// would let anyone on the way read and forge the providers' "
         "webhooks; use https://"},
        {"public_url: https://farm.example.com/?x=1\n" + std::string{minimal},
         1,
         13,
         "public_url: must not contain a query"},
        {"public_url: 42\n" + std::string{minimal}, 1, 13, "public_url: expected a string"},
    };
    for (const auto& [yaml, line, col, text] : rows) {
        SCOPED_TRACE(yaml);
        expect_error(yaml, line, col, text);
    }
    // A bad public_url is reported once, not again at every account with webhooks.
    const auto r = load("public_url: ftp://x\n" + std::string{minimal} + "    webhooks: true\n");
    EXPECT_EQ(r.errors.size(), 1u) << dump(r.errors);
    // http:// is fine for a loopback public_url (a simulator's receiver on this machine).
    const auto local =
        load("public_url: http://127.0.0.1:9464\n" + std::string{minimal} + "    webhooks: true\n");
    ASSERT_TRUE(local.config) << dump(local.errors);
    EXPECT_EQ(
        webhook_url(*local.config, local.config->accounts[0]),
        "http://127.0.0.1:9464/webhooks/atlas-a"
    );
}

TEST_F(config, webhook_secrets_never_appear_in_diagnostics) {
    ::setenv("SHOTFARM_TEST_CANARY_3", "whsec_CANARY with space", 1);
    dir_.write("open.secret", "whsec_CANARY-open-4e1f\n", 0644);
    dir_.write("spaced.secret", "whsec_CANARY bad\n", 0600);
    const auto r = load(
        "public_url: https://farm.example.com\n"
        "accounts:\n"
        "  - {name: a, provider: wavespeed, api_key_env: SHOTFARM_TEST_KEY_A, webhooks: true,\n"
        "     webhook_secret_env: SHOTFARM_TEST_CANARY_3}\n"
        "  - {name: b, provider: wavespeed, api_key_env: SHOTFARM_TEST_KEY_A,\n"
        "     webhook_secret_file: open.secret}\n"
        "  - {name: c, provider: wavespeed, api_key_env: SHOTFARM_TEST_KEY_A,\n"
        "     webhook_secret_file: spaced.secret}\n"
        "  - {name: d, provider: wavespeed, api_key_env: SHOTFARM_TEST_KEY_A,\n"
        "     webhook_secret_env: 'whsec_CANARY-pasted-77aa'}\n"
    );
    ::unsetenv("SHOTFARM_TEST_CANARY_3");
    EXPECT_FALSE(r.config);
    EXPECT_EQ(r.errors.size(), 4u) << dump(r.errors);
    for (const auto& e : r.errors) {
        EXPECT_EQ(e.str().find("CANARY"), std::string::npos) << e.str();
    }
    EXPECT_TRUE(has(r.errors, 4, 26, "environment variable it names contains spaces"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 6, 27, "the secret file it names has mode 0644")) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 8, 27, "the secret file it names contains spaces")) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 10, 26, "is not an environment variable name")) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 10, 26, "holds the secret, not the secret")) << dump(r.errors);
}

TEST(text_problem, what_the_database_and_providers_refuse) {
    EXPECT_FALSE(text_problem("a plain prompt, café, 東京", false));
    EXPECT_FALSE(text_problem("line one\n\tline two\r\n", true));
    EXPECT_EQ(
        text_problem("line one\nline two", false),
        "contains the control character U+000A (at character 9)"
    );
    EXPECT_EQ(
        text_problem(std::string_view{"ab\0c", 4}, true),
        "contains a NUL character (at character 3)"
    );
    EXPECT_EQ(
        text_problem("a\x1b[31m", true), "contains the control character U+001B (at character 2)"
    );
    EXPECT_EQ(
        text_problem("a\x7f", true), "contains the control character U+007F (at character 2)"
    );
    EXPECT_EQ(
        text_problem("é\xc2\x85", true), "contains the control character U+0085 (at character 2)"
    );
    EXPECT_FALSE(text_problem("\xc2\xa0", true));  // U+00A0, a no-break space: printable
    EXPECT_EQ(text_problem("caf\xe9", true), "is not valid UTF-8 (at byte 4)");
    EXPECT_EQ(text_problem("\xc0\xaf", true), "is not valid UTF-8 (at byte 1)");      // overlong
    EXPECT_EQ(text_problem("\xed\xa0\x80", true), "is not valid UTF-8 (at byte 1)");  // surrogate
    EXPECT_EQ(text_problem("ab\xe6\x9d", true), "is not valid UTF-8 (at byte 3)");    // cut short
}

}  // namespace
}  // namespace shotfarm::jobs
