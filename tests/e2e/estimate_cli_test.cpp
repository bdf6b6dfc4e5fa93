// `shotfarm estimate` as a user runs it: the real binary on a config with two providers (two
// Atlas accounts, one MiniMax) and a shot list with pins. Every expected number is worked out
// here from the built-in catalog table and the config's one price override — never taken from
// the program's output.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "providers/catalog.hpp"
#include "tests/e2e/farm_fixture.hpp"

namespace shotfarm::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using providers::mode;

/// The catalog's price of (model, mode, duration) on `provider` — exactly one offer expected.
double catalog_price(const std::string& model, mode m, int duration, const std::string& provider) {
    const auto offers = providers::catalog::builtin().find(model, m, duration, provider);
    EXPECT_EQ(offers.size(), 1u) << model << " " << duration << " s on " << provider;
    return offers.empty() ? 0 : offers.front().price_usd;
}

// The config's override: MiniMax's hailuo-02 768P at 6 s only (10 s keeps the catalog price).
constexpr double minimax_768p_6s = 0.31;

struct result {
    int code = -1;
    std::string out;
    std::string err;
};

class estimate_cli : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "shotfarm-estimate-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    void write(const std::string& name, const std::string& text) const {
        std::ofstream(dir_ / name, std::ios::binary) << text;
    }

    /// The test config: `extra` goes on top (strategy, budget_usd, ...).
    void write_config(const std::string& extra) const {
        write(
            "config.yaml",
            extra +
                "max_attempts: 4\n"
                "accounts:\n"
                "  - name: atlas-a\n"
                "    provider: atlas\n"
                "    api_key_env: ESTIMATE_TEST_KEY\n"
                "    budget_usd_per_day: 2\n"
                "  - name: atlas-b\n"
                "    provider: atlas\n"
                "    api_key_env: ESTIMATE_TEST_KEY\n"
                "    budget_usd_per_day: 1.5\n"
                "  - name: mm\n"
                "    provider: minimax\n"
                "    api_key_env: ESTIMATE_TEST_KEY\n"
                "    budget_usd_per_day: 0.5\n"
                "prices:\n"
                "  minimax/MiniMax-Hailuo-02:768P: {6s: 0.31}\n"
        );
    }

    /// Four shots, 7 jobs:
    ///   s010 hailuo-02-standard t2v 6 s × 2, no pin: atlas-a, atlas-b, mm
    ///   s020 hailuo-02-standard t2v 10 s × 1, provider: atlas (MiniMax is cheaper at 10 s)
    ///   s030 hailuo-02-pro t2v 6 s × 3, account: mm (Atlas is cheaper), priority 10
    ///   s040 hailuo-02-fast i2v 6 s × 1 (URL image), no pin: atlas-a, atlas-b, mm
    void write_shotlist(const std::string& extra = "") const {
        write(
            "shots.yaml",
            "project: est\n" + extra +
                "shots:\n"
                "  - {id: s010, prompt: harbour at dawn, takes: 2}\n"
                "  - {id: s020, prompt: gulls, duration: 10, provider: atlas}\n"
                "  - {id: s030, prompt: aerial, model: hailuo-02-pro, takes: 3, account: mm, "
                "priority: 10}\n"
                "  - {id: s040, prompt: pier, model: hailuo-02-fast, "
                "image: 'https://example.com/pier.png'}\n"
        );
    }

    result run(std::vector<std::string> args) const {
        std::vector<std::string> argv{shotfarm_binary().string(), "estimate"};
        argv.insert(argv.end(), args.begin(), args.end());
        child c(
            argv, {{"ESTIMATE_TEST_KEY", "key-value"}}, dir_ / "stdout.txt", dir_ / "stderr.txt"
        );
        result r;
        r.code = c.wait(std::chrono::seconds{30});
        r.out = c.out();
        r.err = c.err();
        return r;
    }

    result estimate(bool as_json = true) const {
        std::vector<std::string> args{
            "--config", (dir_ / "config.yaml").string(), (dir_ / "shots.yaml").string()};
        if (as_json) {
            args.push_back("--json");
        }
        return run(args);
    }

    static json::object parse(const result& r) {
        EXPECT_EQ(r.code, 0) << r.err;
        json::value v;
        EXPECT_NO_THROW(v = json::parse(r.out)) << r.out;
        EXPECT_TRUE(v.is_object()) << r.out;
        return v.is_object() ? v.as_object() : json::object{};
    }

    /// The by_model row for (model, provider); fails the test when absent.
    static json::object row(const json::object& o, const std::string& model, const std::string& p) {
        for (const auto& r : o.at("by_model").as_array()) {
            if (r.at("model").as_string() == model && r.at("provider").as_string() == p) {
                return r.as_object();
            }
        }
        ADD_FAILURE() << "no by_model row " << model << " / " << p << " in " << json::serialize(o);
        return {{"jobs", -1.0}, {"usd", -1.0}};
    }

    static bool has_row(const json::object& o, const std::string& model, const std::string& p) {
        const auto& rows = o.at("by_model").as_array();
        return std::any_of(rows.begin(), rows.end(), [&](const json::value& r) {
            return r.at("model").as_string() == model && r.at("provider").as_string() == p;
        });
    }

    fs::path dir_;
};

double num(const json::value& v) {
    return v.to_number<double>();
}

// Catalog prices of the four shots on each provider, and the facts the pins test relies on.
struct prices {
    double std6_atlas = catalog_price("hailuo-02-standard", mode::t2v, 6, "atlas");
    double std6_mm = minimax_768p_6s;
    double std10_atlas = catalog_price("hailuo-02-standard", mode::t2v, 10, "atlas");
    double std10_mm = catalog_price("hailuo-02-standard", mode::t2v, 10, "minimax");
    double pro_atlas = catalog_price("hailuo-02-pro", mode::t2v, 6, "atlas");
    double pro_mm = catalog_price("hailuo-02-pro", mode::t2v, 6, "minimax");
    double fast_atlas = catalog_price("hailuo-02-fast", mode::i2v, 6, "atlas");
    double fast_mm = catalog_price("hailuo-02-fast", mode::i2v, 6, "minimax");
};

TEST_F(estimate_cli, fastest_is_the_mean_over_eligible_accounts_and_honours_pins) {
    const prices p;
    // The pins must change the answer, or this test could not tell.
    ASSERT_LT(p.std10_mm, p.std10_atlas);
    ASSERT_LT(p.pro_atlas, p.pro_mm);
    ASSERT_NE(p.std6_atlas, p.std6_mm);

    write_config("");  // strategy defaults to fastest
    write_shotlist();
    const auto o = parse(estimate());

    // Three eligible accounts for s010 and s040 (two of them Atlas): each job is 2/3 Atlas.
    const double s010 = (2 * p.std6_atlas + p.std6_mm) / 3;
    const double s040 = (2 * p.fast_atlas + p.fast_mm) / 3;
    const double total = 2 * s010 + p.std10_atlas + 3 * p.pro_mm + s040;
    EXPECT_EQ(o.at("strategy").as_string(), "fastest");
    EXPECT_EQ(o.at("jobs").to_number<int>(), 7);
    EXPECT_NEAR(num(o.at("total_usd")), total, 1e-6);
    const double min =
        2 * p.std6_atlas + p.std10_atlas + 3 * p.pro_mm + std::min(p.fast_atlas, p.fast_mm);
    EXPECT_NEAR(num(o.at("min_usd")), min, 1e-6);
    const double max = 4 * (2 * std::max(p.std6_atlas, p.std6_mm) + p.std10_atlas + 3 * p.pro_mm +
                            std::max(p.fast_atlas, p.fast_mm));
    EXPECT_NEAR(num(o.at("max_usd")), max, 1e-6);

    // Per model and provider.
    const auto std_atlas = row(o, "hailuo-02-standard", "atlas");
    EXPECT_NEAR(num(std_atlas.at("jobs")), 2.0 * 2 / 3 + 1, 1e-6);
    EXPECT_NEAR(num(std_atlas.at("usd")), 2.0 * 2 / 3 * p.std6_atlas + p.std10_atlas, 1e-6);
    const auto std_mm = row(o, "hailuo-02-standard", "minimax");
    EXPECT_NEAR(num(std_mm.at("jobs")), 2.0 / 3, 1e-6);  // s020 is pinned to Atlas
    EXPECT_NEAR(num(std_mm.at("usd")), 2.0 / 3 * p.std6_mm, 1e-6);
    const auto pro_mm = row(o, "hailuo-02-pro", "minimax");
    EXPECT_NEAR(num(pro_mm.at("jobs")), 3, 1e-6);
    EXPECT_NEAR(num(pro_mm.at("usd")), 3 * p.pro_mm, 1e-6);
    EXPECT_FALSE(has_row(o, "hailuo-02-pro", "atlas")) << "s030 is pinned to account mm";
    EXPECT_NEAR(num(row(o, "hailuo-02-fast", "atlas").at("jobs")), 2.0 / 3, 1e-6);
    EXPECT_NEAR(num(row(o, "hailuo-02-fast", "minimax").at("usd")), p.fast_mm / 3, 1e-6);
    EXPECT_EQ(o.at("by_model").as_array().size(), 5u);
    double sum = 0;
    for (const auto& r : o.at("by_model").as_array()) {
        sum += num(r.at("usd"));
    }
    EXPECT_NEAR(sum, total, 1e-5);
}

TEST_F(estimate_cli, cheapest_puts_every_job_on_its_cheapest_eligible_offer) {
    const prices p;
    ASSERT_LT(p.fast_atlas, p.fast_mm);
    ASSERT_LT(p.std6_atlas, p.std6_mm);
    write_config("strategy: cheapest\n");
    write_shotlist();
    const auto o = parse(estimate());
    const double total = 2 * p.std6_atlas + p.std10_atlas + 3 * p.pro_mm + p.fast_atlas;
    EXPECT_EQ(o.at("strategy").as_string(), "cheapest");
    EXPECT_NEAR(num(o.at("total_usd")), total, 1e-6);
    EXPECT_NEAR(num(o.at("min_usd")), total, 1e-6);
    // The pins still hold: s020 stays on Atlas although MiniMax is cheaper at 10 s, s030 on mm
    // although Atlas is cheaper for pro.
    EXPECT_NEAR(num(row(o, "hailuo-02-standard", "atlas").at("jobs")), 3, 1e-6);
    EXPECT_FALSE(has_row(o, "hailuo-02-standard", "minimax"));
    EXPECT_NEAR(num(row(o, "hailuo-02-pro", "minimax").at("usd")), 3 * p.pro_mm, 1e-6);
    EXPECT_FALSE(has_row(o, "hailuo-02-pro", "atlas"));
    EXPECT_NEAR(num(row(o, "hailuo-02-fast", "atlas").at("usd")), p.fast_atlas, 1e-6);
    EXPECT_FALSE(has_row(o, "hailuo-02-fast", "minimax"));
}

TEST_F(estimate_cli, max_usd_is_the_dearest_offer_times_max_attempts) {
    const prices p;
    write_config("");  // max_attempts: 4
    write(
        "shots.yaml",
        "project: est\nshots:\n  - {id: a, prompt: x, takes: 5}\n"  // hailuo-02-standard 6 s
    );
    const auto o = parse(estimate());
    EXPECT_EQ(o.at("max_attempts").to_number<int>(), 4);
    EXPECT_NEAR(num(o.at("max_usd")), 5 * 4 * std::max(p.std6_atlas, p.std6_mm), 1e-6);
    EXPECT_NEAR(num(o.at("min_usd")), 5 * std::min(p.std6_atlas, p.std6_mm), 1e-6);
}

TEST_F(estimate_cli, caps_and_warnings) {
    const prices p;
    write_config("budget_usd: 1000\n");
    // A batch cap between the first jobs' cost and the total: s030 (priority 10) renders first.
    const double first_three = 3 * p.pro_mm;
    const double s010 = (2 * p.std6_atlas + p.std6_mm) / 3;
    const double cap = first_three + s010 + 0.001;
    ASSERT_LT(cap, first_three + 2 * s010);
    write_shotlist("budget_usd: " + std::to_string(cap) + "\n");
    const auto o = parse(estimate());
    const auto& caps = o.at("caps").as_array();
    ASSERT_EQ(caps.size(), 3u) << json::serialize(o);

    const auto& batch = caps[0].as_object();
    EXPECT_EQ(batch.at("scope").as_string(), "batch");
    EXPECT_NEAR(num(batch.at("usd")), cap, 1e-5);
    EXPECT_EQ(batch.at("jobs_covered").to_number<int>(), 4);  // s030 × 3, then one s010
    EXPECT_TRUE(batch.at("total_exceeds").as_bool());
    EXPECT_TRUE(batch.at("max_exceeds").as_bool());

    const auto& global = caps[1].as_object();
    EXPECT_EQ(global.at("scope").as_string(), "global");
    EXPECT_NEAR(num(global.at("usd")), 1000, 1e-9);
    EXPECT_EQ(global.at("jobs_covered").to_number<int>(), 7);
    EXPECT_FALSE(global.at("total_exceeds").as_bool());
    EXPECT_FALSE(global.at("max_exceeds").as_bool());

    const auto& daily = caps[2].as_object();
    EXPECT_EQ(daily.at("scope").as_string(), "accounts_per_day");
    EXPECT_NEAR(num(daily.at("usd")), 2 + 1.5 + 0.5, 1e-9);
    EXPECT_TRUE(daily.at("uncapped_accounts").as_array().empty());

    const auto& warnings = o.at("warnings").as_array();
    ASSERT_FALSE(warnings.empty());
    EXPECT_NE(
        std::string(warnings[0].as_string()).find("exceeds budget_usd (shot list)"),
        std::string::npos
    ) << json::serialize(warnings);
    EXPECT_NE(std::string(warnings[0].as_string()).find("covers 4 of 7 jobs"), std::string::npos)
        << json::serialize(warnings);

    // The human form says the same in a warning line.
    const auto human = estimate(false);
    EXPECT_EQ(human.code, 0) << human.err;
    EXPECT_NE(human.out.find("warning: total_usd"), std::string::npos) << human.out;
    EXPECT_NE(human.out.find("covers 4 of 7 jobs at expected prices"), std::string::npos)
        << human.out;
}

TEST_F(estimate_cli, daily_caps_bound_nothing_while_an_account_has_none) {
    // mm without a daily cap: the sum of the others ($3.50) is listed but warns of nothing,
    // although max_usd is far above it.
    write(
        "config.yaml",
        "accounts:\n"
        "  - {name: atlas-a, provider: atlas, api_key_env: ESTIMATE_TEST_KEY, "
        "budget_usd_per_day: 2}\n"
        "  - {name: atlas-b, provider: atlas, api_key_env: ESTIMATE_TEST_KEY, "
        "budget_usd_per_day: 1.5}\n"
        "  - {name: mm, provider: minimax, api_key_env: ESTIMATE_TEST_KEY}\n"
    );
    write_shotlist();
    const auto o = parse(estimate());
    const auto& caps = o.at("caps").as_array();
    ASSERT_EQ(caps.size(), 1u) << json::serialize(o);
    const auto& daily = caps[0].as_object();
    EXPECT_EQ(daily.at("scope").as_string(), "accounts_per_day");
    EXPECT_NEAR(num(daily.at("usd")), 3.5, 1e-9);
    EXPECT_TRUE(daily.at("max_exceeds").as_bool());
    ASSERT_EQ(daily.at("uncapped_accounts").as_array().size(), 1u);
    EXPECT_EQ(daily.at("uncapped_accounts").as_array()[0].as_string(), "mm");
    EXPECT_TRUE(o.at("warnings").as_array().empty()) << json::serialize(o);
    EXPECT_EQ(o.at("max_attempts").to_number<int>(), 3);  // the default
}

TEST_F(estimate_cli, human_table_lists_each_model_and_provider) {
    write_config("strategy: cheapest\n");
    write_shotlist();
    const auto r = estimate(false);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    // One line per (model, provider): model, provider, jobs, dollars.
    const prices p;
    char pro[64];
    std::snprintf(pro, sizeof pro, "$%.2f", 3 * p.pro_mm);
    bool found = false;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("hailuo-02-pro", 0) == 0) {
            found = true;
            EXPECT_NE(line.find("minimax"), std::string::npos) << line;
            EXPECT_NE(line.find(" 3 "), std::string::npos) << line;
            EXPECT_NE(line.find(pro), std::string::npos) << line;
        }
    }
    EXPECT_TRUE(found) << r.out;
    for (const char* key : {"MODEL", "PROVIDER", "total_usd", "min_usd", "max_usd"}) {
        EXPECT_NE(r.out.find(key), std::string::npos) << key << "\n" << r.out;
    }
}

TEST_F(estimate_cli, bad_shot_list_exits_2_with_positions_and_nothing_on_stdout) {
    write_config("");
    write("shots.yaml", "project: est\nbudget_usd: -1\nshots:\n  - {id: a, prompt: x, takes: 0}\n");
    for (bool as_json : {true, false}) {
        const auto r = estimate(as_json);
        EXPECT_EQ(r.code, 2);
        EXPECT_TRUE(r.out.empty()) << r.out;
        const std::string file = (dir_ / "shots.yaml").string();
        EXPECT_NE(
            r.err.find(file + ":2:13: budget_usd: must be a number of US dollars >= 0"),
            std::string::npos
        ) << r.err;
        EXPECT_NE(r.err.find(file + ":4:31: shots[0].takes:"), std::string::npos) << r.err;
    }
}

TEST_F(estimate_cli, bad_config_or_missing_config_exits_2) {
    write_config("strategy: slowest\n");
    write_shotlist();
    const auto bad = estimate();
    EXPECT_EQ(bad.code, 2);
    EXPECT_TRUE(bad.out.empty()) << bad.out;
    EXPECT_NE(
        bad.err.find((dir_ / "config.yaml").string() + ":1:11: strategy: must be"),
        std::string::npos
    ) << bad.err;

    const auto none = run({(dir_ / "shots.yaml").string()});
    EXPECT_EQ(none.code, 2);
    EXPECT_TRUE(none.out.empty()) << none.out;
    EXPECT_NE(none.err.find("estimate needs --config FILE"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace shotfarm::testing
