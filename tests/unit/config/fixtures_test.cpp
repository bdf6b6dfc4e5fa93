// The committed fixtures under data/ go through the loaders here and through the JSON Schemas
// in check_schemas.py (ctest config.schemas): valid ones pass both, invalid ones fail both,
// each at the position its "# expect: line:col: text" comment names.
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "jobs/config.hpp"
#include "jobs/shotlist.hpp"
#include "tests/unit/config/test_files.hpp"

namespace shotfarm::jobs {
namespace {

namespace fs = std::filesystem;
using config_test::data_dir;
using config_test::dump;
using config_test::has;

struct expectation {
    int line = 0;
    int col = 0;
    std::string text;
};

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// "# expect: <line>:<col>: <text>" lines. Parsed by hand: GCC 12's <regex> trips
// -Wmaybe-uninitialized in the sanitizer build.
std::vector<expectation> expectations(const fs::path& p) {
    static constexpr std::string_view prefix = "# expect: ";
    std::vector<expectation> out;
    std::istringstream in(read(p));
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with(prefix)) {
            continue;
        }
        std::istringstream fields(line.substr(prefix.size()));
        expectation e;
        char colon1 = 0;
        char colon2 = 0;
        if (fields >> e.line >> colon1 >> e.col >> colon2 && colon1 == ':' && colon2 == ':' &&
            fields.get() == ' ' && std::getline(fields, e.text)) {
            out.push_back(e);
        }
    }
    return out;
}

std::vector<fs::path> fixtures(const std::string& kind, const std::string& which) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(data_dir() / kind / which)) {
        if (e.path().extension() == ".yaml") {
            out.push_back(e.path());
        }
    }
    std::sort(out.begin(), out.end());
    EXPECT_FALSE(out.empty()) << kind << "/" << which;
    return out;
}

class fixtures_test : public ::testing::Test {
protected:
    void SetUp() override { ::setenv("SHOTFARM_FIXTURE_KEY", "fixture-key", 1); }
    void TearDown() override { ::unsetenv("SHOTFARM_FIXTURE_KEY"); }
};

TEST_F(fixtures_test, valid_configs_load) {
    for (const auto& p : fixtures("config", "valid")) {
        const auto r = load_config(p);
        EXPECT_TRUE(r.config) << p << "\n" << dump(r.errors);
    }
}

TEST_F(fixtures_test, invalid_configs_fail_where_they_say) {
    for (const auto& p : fixtures("config", "invalid")) {
        const auto r = load_config(p);
        EXPECT_FALSE(r.config) << p;
        const auto want = expectations(p);
        EXPECT_FALSE(want.empty()) << p << " has no '# expect:' line";
        for (const auto& w : want) {
            EXPECT_TRUE(has(r.errors, w.line, w.col, w.text))
                << p << " lacks " << w.line << ":" << w.col << ": " << w.text << "\n"
                << dump(r.errors);
        }
    }
}

TEST_F(fixtures_test, valid_shot_lists_load_with_and_without_a_config) {
    // One account on each provider, so every valid shot list has someone to render it.
    const auto config = load_config(data_dir() / "config/valid/four_providers.yaml");
    ASSERT_TRUE(config.config) << dump(config.errors);
    for (const auto& p : fixtures("shotlist", "valid")) {
        const auto alone = load_shotlist(p);
        EXPECT_TRUE(alone.list) << p << "\n" << dump(alone.errors);
        const auto with = load_shotlist(p, &*config.config);
        EXPECT_TRUE(with.list) << p << "\n" << dump(with.errors);
    }
    const auto full = load_shotlist(data_dir() / "shotlist/valid/full.yaml");
    ASSERT_TRUE(full.list);
    ASSERT_EQ(full.list->shots.size(), 7u);
    EXPECT_EQ(full.list->shots[0].takes, 2);
    EXPECT_EQ(full.list->shots[0].image_path, data_dir() / "images/frame_640x360.png");
    EXPECT_EQ(full.list->shots[3].prompt, "");
    EXPECT_EQ(full.list->shots[3].resolution, "512p");
    EXPECT_EQ(full.list->shots[4].image_path, std::nullopt);
    EXPECT_EQ(full.list->shots[6].resolution, "1080p");

    const auto four =
        load_shotlist(data_dir() / "shotlist/valid/four_providers.yaml", &*config.config);
    ASSERT_TRUE(four.list) << dump(four.errors);
    ASSERT_EQ(four.list->shots.size(), 9u);
    EXPECT_EQ(four.list->shots[5].image_path, data_dir() / "images/frame_640x360.webp");
    EXPECT_EQ(four.list->shots[5].resolution, "512p");
    EXPECT_EQ(four.list->shots[8].provider, "atlas");  // atlascloud, canonical
    // The same list against an Atlas-only config: the WebP shots and the shots pinned elsewhere
    // are refused.
    const auto atlas_only = load_config(data_dir() / "config/valid/minimal.yaml");
    ASSERT_TRUE(atlas_only.config) << dump(atlas_only.errors);
    const auto refused =
        load_shotlist(data_dir() / "shotlist/valid/four_providers.yaml", &*atlas_only.config);
    EXPECT_FALSE(refused.list);
    EXPECT_TRUE(has(refused.errors, 15, 55, "unknown account 'minimax-a'")) << dump(refused.errors);
    EXPECT_TRUE(has(refused.errors, 8, 52, "no configured account serves hailuo-02-fast i2v 10 s"))
        << dump(refused.errors);
}

TEST_F(fixtures_test, four_provider_config_prices) {
    const auto r = load_config(data_dir() / "config/valid/four_providers.yaml");
    ASSERT_TRUE(r.config) << dump(r.errors);
    std::vector<std::string> providers;
    for (const auto& a : r.config->accounts) {
        providers.push_back(a.provider);
    }
    EXPECT_EQ(providers, (std::vector<std::string>{"atlas", "wavespeed", "aimlapi", "minimax"}));
    const auto cat = make_catalog(*r.config);
    using providers::mode;
    EXPECT_DOUBLE_EQ(cat.find("hailuo-2.3-fast", mode::i2v, 6, "aimlapi").front().price_usd, 0.2);
    EXPECT_DOUBLE_EQ(cat.find("hailuo-02-fast", mode::i2v, 6, "minimax").front().price_usd, 0.11);
}

TEST_F(fixtures_test, invalid_shot_lists_fail_where_they_say) {
    for (const auto& p : fixtures("shotlist", "invalid")) {
        const auto r = load_shotlist(p);
        EXPECT_FALSE(r.list) << p;
        const auto want = expectations(p);
        EXPECT_FALSE(want.empty()) << p << " has no '# expect:' line";
        for (const auto& w : want) {
            EXPECT_TRUE(has(r.errors, w.line, w.col, w.text))
                << p << " lacks " << w.line << ":" << w.col << ": " << w.text << "\n"
                << dump(r.errors);
        }
    }
}

boost::json::value schema(const std::string& name) {
    const char* src = std::getenv("SHOTFARM_SOURCE_DIR");
    const fs::path dir =
        src != nullptr
            ? fs::path{src} / "schemas"
            : data_dir().parent_path().parent_path().parent_path().parent_path() / "schemas";
    return boost::json::parse(read(dir / name));
}

std::set<std::string> strings(const boost::json::value& array) {
    std::set<std::string> out;
    for (const auto& v : array.as_array()) {
        if (v.is_string()) {
            out.insert(std::string{v.as_string()});
        }
    }
    return out;
}

// The schemas spell out the catalog's models, providers and provider models; so does the code.
TEST_F(fixtures_test, schemas_list_exactly_what_the_catalog_has) {
    const auto& cat = providers::catalog::builtin();
    const auto shotlist = schema("shotlist.schema.json");
    const auto& defs = shotlist.at("$defs");
    const auto models = cat.models();
    EXPECT_EQ(
        strings(defs.at("model").at("enum")), std::set<std::string>(models.begin(), models.end())
    );
    // Provider names, plus the accepted alternative spellings (atlascloud for atlas).
    auto providers = cat.providers();
    providers.insert(
        providers.end(), providers::provider_aliases().begin(), providers::provider_aliases().end()
    );
    EXPECT_EQ(
        strings(defs.at("provider").at("enum")),
        std::set<std::string>(providers.begin(), providers.end())
    );
    std::set<std::string> durations_schema;
    for (const auto& d : defs.at("duration").at("enum").as_array()) {
        durations_schema.insert(std::to_string(d.as_int64()));
    }
    std::set<std::string> durations_catalog;
    std::set<std::string> price_keys;
    for (const auto& o : cat.all()) {
        durations_catalog.insert(std::to_string(o.duration));
        price_keys.insert(providers::catalog::price_key(o));
    }
    EXPECT_EQ(durations_schema, durations_catalog);
    EXPECT_EQ(
        defs.at("prompt").at("maxLength").as_int64(),
        static_cast<std::int64_t>(providers::catalog::max_prompt_chars)
    );
    EXPECT_EQ(defs.at("takes").at("maximum").as_int64(), max_takes);

    const auto config = schema("config.schema.json");
    EXPECT_EQ(
        strings(config.at("properties").at("prices").at("propertyNames").at("enum")), price_keys
    );
    EXPECT_EQ(
        strings(config.at("$defs").at("account").at("properties").at("provider").at("enum")),
        std::set<std::string>(providers.begin(), providers.end())
    );
}

}  // namespace
}  // namespace shotfarm::jobs
