// The model catalog: one table, the combinations Atlas accepts, readable refusals.
#include "providers/catalog.hpp"

#include <set>
#include <stdexcept>
#include <tuple>

#include <gtest/gtest.h>

namespace shotfarm::providers {
namespace {

const catalog& cat() {
    return catalog::builtin();
}

offer only(std::string_view model, mode m, int duration) {
    auto v = cat().find(model, m, duration);
    EXPECT_EQ(v.size(), 1u) << model << " " << to_string(m) << " " << duration;
    return v.empty() ? offer{} : v.front();
}

TEST(catalog, hailuo_02_standard_picks_the_model_per_mode) {
    const auto t = only("hailuo-02-standard", mode::t2v, 6);
    EXPECT_EQ(t.provider, "atlas");
    EXPECT_EQ(t.provider_model, "minimax/hailuo-02/t2v-standard");
    EXPECT_EQ(t.resolution, "768p");
    EXPECT_DOUBLE_EQ(t.price_usd, 0.23);
    EXPECT_TRUE(t.duration_param);
    EXPECT_TRUE(t.prompt_required);
    EXPECT_EQ(t.extra_params.at("enable_prompt_expansion"), false);

    const auto i = only("hailuo-02-standard", mode::i2v, 10);
    EXPECT_EQ(i.provider_model, "minimax/hailuo-02/i2v-standard");
    EXPECT_DOUBLE_EQ(i.price_usd, 0.56);
}

TEST(catalog, hailuo_02_fast_is_i2v_only_512p) {
    EXPECT_TRUE(cat().find("hailuo-02-fast", mode::t2v, 6).empty());
    const auto six = only("hailuo-02-fast", mode::i2v, 6);
    const auto ten = only("hailuo-02-fast", mode::i2v, 10);
    EXPECT_EQ(six.resolution, "512p");
    EXPECT_DOUBLE_EQ(six.price_usd, 0.10);
    EXPECT_DOUBLE_EQ(ten.price_usd, 0.15);
    EXPECT_FALSE(six.prompt_required);
    EXPECT_EQ(six.extra_params.at("go_fast"), true);
    EXPECT_EQ(
        cat().why_not("hailuo-02-fast", mode::t2v, 6),
        "hailuo-02-fast needs a first-frame image (image-to-video only)"
    );
}

TEST(catalog, pro_tiers_render_6_s_at_1080p_only) {
    for (auto model : {"hailuo-02-pro", "hailuo-2.3-pro"}) {
        for (auto m : {mode::t2v, mode::i2v}) {
            EXPECT_EQ(only(model, m, 6).resolution, "1080p");
            EXPECT_TRUE(cat().find(model, m, 10).empty());
        }
    }
    EXPECT_EQ(
        cat().why_not("hailuo-02-pro", mode::t2v, 10),
        "hailuo-02-pro only renders 6 s (1080p), not 10 s"
    );
    EXPECT_FALSE(only("hailuo-02-pro", mode::i2v, 6).duration_param);  // i2v-pro: no field
    EXPECT_FALSE(only("hailuo-2.3-pro", mode::t2v, 6).duration_param);
}

TEST(catalog, hailuo_23_rows) {
    EXPECT_TRUE(cat().find("hailuo-2.3-fast", mode::t2v, 6).empty());
    EXPECT_DOUBLE_EQ(only("hailuo-2.3-fast", mode::i2v, 6).price_usd, 0.19);
    EXPECT_EQ(
        only("hailuo-2.3-standard", mode::t2v, 6).provider_model, "minimax/hailuo-2.3/t2v-standard"
    );
    EXPECT_EQ(
        only("hailuo-2.3-standard", mode::i2v, 10).provider_model, "minimax/hailuo-2.3/i2v-standard"
    );
    EXPECT_FALSE(only("hailuo-2.3-standard", mode::i2v, 6).prompt_required);
    EXPECT_EQ(only("hailuo-2.3-pro", mode::i2v, 6).provider_model, "minimax/hailuo-2.3/i2v-pro");
}

TEST(catalog, refusals_read_well) {
    EXPECT_EQ(
        cat().why_not("hailuo-02-standard", mode::t2v, 8),
        "hailuo-02-standard renders 6 or 10 s, not 8 s"
    );
    const auto unknown = cat().why_not("veo-3", mode::t2v, 6);
    EXPECT_EQ(unknown.rfind("unknown model 'veo-3'; known: hailuo-02-fast, ", 0), 0u) << unknown;
    EXPECT_EQ(
        cat().why_not("hailuo-02-standard", mode::t2v, 6, "fal"),
        "unknown provider 'fal'; known: atlas"
    );
    EXPECT_EQ(cat().why_not("hailuo-02-standard", mode::t2v, 6), "");
    EXPECT_TRUE(cat().find("hailuo-02-standard", mode::t2v, 6, "atlas").size() == 1);
}

TEST(catalog, table_is_consistent) {
    std::set<std::tuple<std::string, std::string, mode, int>> keys;
    for (const auto& o : cat().all()) {
        EXPECT_TRUE(keys.emplace(o.provider, o.model, o.m, o.duration).second)
            << "duplicate row " << o.model;
        EXPECT_GT(o.price_usd, 0.0) << o.provider_model;
        EXPECT_LE(o.price_usd, 1.0) << o.provider_model;
        EXPECT_TRUE(o.resolution == "512p" || o.resolution == "768p" || o.resolution == "1080p");
        EXPECT_EQ(o.provider_model.rfind("minimax/hailuo-", 0), 0u) << o.provider_model;
        EXPECT_TRUE(o.duration == 6 || o.duration == 10);
        EXPECT_EQ(o.extra_params.at("enable_prompt_expansion"), false);
    }
    EXPECT_EQ(cat().models().size(), 6u);
    EXPECT_EQ(cat().providers(), std::vector<std::string>{"atlas"});
}

TEST(catalog, price_override_on_a_copy) {
    catalog copy = catalog::builtin();
    copy.override_price("atlas", "minimax/hailuo-02/fast", 0.12);
    EXPECT_DOUBLE_EQ(copy.find("hailuo-02-fast", mode::i2v, 6).front().price_usd, 0.12);
    EXPECT_DOUBLE_EQ(copy.find("hailuo-02-fast", mode::i2v, 10).front().price_usd, 0.12);
    EXPECT_DOUBLE_EQ(cat().find("hailuo-02-fast", mode::i2v, 6).front().price_usd, 0.10);
    EXPECT_THROW(copy.override_price("atlas", "minimax/nope", 0.1), std::invalid_argument);
    EXPECT_THROW(copy.override_price("atlas", "minimax/hailuo-02/fast", 0), std::invalid_argument);
}

}  // namespace
}  // namespace shotfarm::providers
