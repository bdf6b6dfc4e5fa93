// load_config: key-path diagnostics, api keys from env or 0600 files (never echoed), paths.
#include "jobs/config.hpp"

#include <cstdlib>

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
        cat.find("hailuo-02-standard", mode::t2v, 6, "aimlapi").front().price_usd, 0.25
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

}  // namespace
}  // namespace shotfarm::jobs
