// The model catalog: one table, the combinations each provider accepts, readable refusals.
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

offer only(std::string_view model, mode m, int duration, std::string_view provider = "atlas") {
    auto v = cat().find(model, m, duration, provider);
    EXPECT_EQ(v.size(), 1u) << provider << " " << model << " " << to_string(m) << " " << duration;
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
    EXPECT_EQ(cat().find("hailuo-02-fast", mode::i2v, 6).size(), 3u);  // atlas, wavespeed, minimax
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
            for (auto p : {"atlas", "wavespeed", "aimlapi", "minimax"}) {
                EXPECT_EQ(only(model, m, 6, p).resolution, "1080p");
            }
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
        "unknown provider 'fal'; known: aimlapi, atlas, minimax, wavespeed"
    );
    EXPECT_EQ(cat().why_not("hailuo-02-standard", mode::t2v, 6), "");
    EXPECT_TRUE(cat().find("hailuo-02-standard", mode::t2v, 6, "atlas").size() == 1);
}

TEST(catalog, table_is_consistent) {
    std::set<std::tuple<std::string, std::string, mode, int>> keys;
    for (const auto& o : cat().all()) {
        EXPECT_TRUE(keys.emplace(o.provider, o.model, o.m, o.duration).second)
            << "duplicate row " << o.provider << " " << o.model;
        EXPECT_GT(o.price_usd, 0.0) << o.provider_model;
        EXPECT_LE(o.price_usd, 1.0) << o.provider_model;
        EXPECT_TRUE(o.resolution == "512p" || o.resolution == "768p" || o.resolution == "1080p");
        EXPECT_TRUE(o.duration == 6 || o.duration == 10);
        // MiniMax's rules hold everywhere: 10 s never at 1080p, 512p only for hailuo-02 i2v.
        EXPECT_FALSE(o.duration == 10 && o.resolution == "1080p") << o.provider << " " << o.model;
        if (o.resolution == "512p") {
            EXPECT_EQ(o.model, "hailuo-02-fast");
            EXPECT_EQ(o.m, mode::i2v);
        }
        // Every provider's prompt rewriter is switched off explicitly.
        if (o.provider == "atlas" || o.provider == "wavespeed") {
            EXPECT_EQ(o.provider_model.rfind("minimax/hailuo-", 0), 0u) << o.provider_model;
            EXPECT_EQ(o.extra_params.at("enable_prompt_expansion"), false);
            EXPECT_FALSE(o.extra_params.contains("resolution"));
        } else if (o.provider == "aimlapi") {
            EXPECT_EQ(o.extra_params.at("enhance_prompt"), false);
        } else {
            EXPECT_EQ(o.provider, "minimax");
            EXPECT_EQ(o.extra_params.at("prompt_optimizer"), false);
        }
    }
    EXPECT_EQ(cat().models().size(), 6u);
    EXPECT_EQ(
        cat().providers(), (std::vector<std::string>{"aimlapi", "atlas", "minimax", "wavespeed"})
    );
    // The neutral tier fixes the resolution whichever provider renders it.
    for (const auto& o : cat().all()) {
        for (const auto& other : cat().find(o.model, o.m, o.duration)) {
            EXPECT_EQ(other.resolution, o.resolution) << o.model;
        }
    }
}

TEST(catalog, wavespeed_uses_atlas_model_paths_at_its_own_prices) {
    const auto t = only("hailuo-2.3-standard", mode::t2v, 6, "wavespeed");
    EXPECT_EQ(t.provider_model, "minimax/hailuo-2.3/t2v-standard");
    EXPECT_DOUBLE_EQ(t.price_usd, 0.23);  // Atlas charges 0.28
    EXPECT_DOUBLE_EQ(only("hailuo-2.3-standard", mode::t2v, 6).price_usd, 0.28);
    const auto fast = only("hailuo-02-fast", mode::i2v, 10, "wavespeed");
    EXPECT_EQ(fast.provider_model, "minimax/hailuo-02/fast");
    EXPECT_DOUBLE_EQ(fast.price_usd, 0.15);
    EXPECT_EQ(fast.extra_params.at("go_fast"), true);
    EXPECT_FALSE(only("hailuo-02-standard", mode::i2v, 6, "wavespeed").prompt_required);
    EXPECT_FALSE(only("hailuo-02-pro", mode::t2v, 6, "wavespeed").duration_param);
    EXPECT_EQ(
        only("hailuo-2.3-pro", mode::i2v, 6, "wavespeed").provider_model,
        "minimax/hailuo-2.3/i2v-pro"
    );
}

TEST(catalog, aimlapi_sends_the_resolution_and_needs_a_prompt) {
    const auto std02 = only("hailuo-02-standard", mode::i2v, 10, "aimlapi");
    EXPECT_EQ(std02.provider_model, "minimax/hailuo-02");
    EXPECT_EQ(std02.extra_params.at("resolution"), "768P");
    EXPECT_TRUE(std02.prompt_required);
    EXPECT_TRUE(std02.duration_param);
    const auto pro = only("hailuo-02-pro", mode::t2v, 6, "aimlapi");
    EXPECT_EQ(pro.provider_model, "minimax/hailuo-02");
    EXPECT_EQ(pro.extra_params.at("resolution"), "1080P");
    EXPECT_DOUBLE_EQ(only("hailuo-2.3-standard", mode::t2v, 6, "aimlapi").price_usd, 0.294);
    const auto fast = only("hailuo-2.3-fast", mode::i2v, 6, "aimlapi");
    EXPECT_EQ(fast.provider_model, "minimax/hailuo-2.3-fast");
    EXPECT_DOUBLE_EQ(fast.price_usd, 0.1995);
    EXPECT_TRUE(fast.prompt_required);
    EXPECT_EQ(
        cat().why_not("hailuo-2.3-fast", mode::t2v, 6, "aimlapi"),
        "hailuo-2.3-fast needs a first-frame image (image-to-video only on aimlapi)"
    );
    EXPECT_EQ(
        cat().why_not("hailuo-02-fast", mode::i2v, 6, "aimlapi"),
        "provider 'aimlapi' does not serve hailuo-02-fast: AI/ML API renders Hailuo at 768P or "
        "1080P only, and hailuo-02-fast is 512p (served by: atlas, minimax, wavespeed)"
    );
    EXPECT_EQ(
        cat().why_not("hailuo-2.3-pro", mode::i2v, 10, "aimlapi"),
        "hailuo-2.3-pro only renders 6 s (1080p) on aimlapi, not 10 s"
    );
}

TEST(catalog, minimax_maps_tiers_to_model_and_resolution) {
    struct want {
        const char* model;
        mode m;
        int duration;
        const char* provider_model;
        const char* resolution;
        bool prompt_required;
    };
    const want rows[] = {
        {"hailuo-02-fast", mode::i2v, 10, "MiniMax-Hailuo-02", "512P", false},
        {"hailuo-02-standard", mode::t2v, 10, "MiniMax-Hailuo-02", "768P", true},
        {"hailuo-02-standard", mode::i2v, 6, "MiniMax-Hailuo-02", "768P", false},
        {"hailuo-02-pro", mode::t2v, 6, "MiniMax-Hailuo-02", "1080P", true},
        {"hailuo-2.3-fast", mode::i2v, 6, "MiniMax-Hailuo-2.3-Fast", "768P", false},
        {"hailuo-2.3-standard", mode::i2v, 10, "MiniMax-Hailuo-2.3", "768P", false},
        {"hailuo-2.3-pro", mode::i2v, 6, "MiniMax-Hailuo-2.3", "1080P", false},
    };
    for (const auto& w : rows) {
        const auto o = only(w.model, w.m, w.duration, "minimax");
        EXPECT_EQ(o.provider_model, w.provider_model) << w.model;
        EXPECT_EQ(o.extra_params.at("resolution"), w.resolution) << w.model;
        EXPECT_EQ(o.prompt_required, w.prompt_required) << w.model;
        EXPECT_TRUE(o.duration_param);
    }
    EXPECT_EQ(
        cat().why_not("hailuo-02-fast", mode::t2v, 6, "minimax"),
        "hailuo-02-fast needs a first-frame image (image-to-video only on minimax)"
    );
    EXPECT_EQ(
        cat().why_not("hailuo-02-pro", mode::t2v, 10, "minimax"),
        "hailuo-02-pro only renders 6 s (1080p) on minimax, not 10 s"
    );
}

TEST(catalog, price_keys_name_the_resolution_where_the_model_id_does_not) {
    EXPECT_EQ(
        catalog::price_key(only("hailuo-02-fast", mode::i2v, 6)), "atlas/minimax/hailuo-02/fast"
    );
    EXPECT_EQ(
        catalog::price_key(only("hailuo-02-pro", mode::i2v, 6, "aimlapi")),
        "aimlapi/minimax/hailuo-02:1080P"
    );
    EXPECT_EQ(
        catalog::price_key(only("hailuo-02-fast", mode::i2v, 6, "minimax")),
        "minimax/MiniMax-Hailuo-02:512P"
    );
    EXPECT_TRUE(cat().has_price_key("minimax/MiniMax-Hailuo-02:512P", 10));
    EXPECT_FALSE(cat().has_price_key("minimax/MiniMax-Hailuo-02:1080P", 10));
    EXPECT_FALSE(cat().has_price_key("minimax/MiniMax-Hailuo-02"));

    catalog copy = catalog::builtin();
    copy.override_price_key("aimlapi/minimax/hailuo-02:1080P", 0, 0.61);
    EXPECT_DOUBLE_EQ(only("hailuo-02-pro", mode::t2v, 6, "aimlapi").price_usd, 0.52);
    EXPECT_DOUBLE_EQ(copy.find("hailuo-02-pro", mode::t2v, 6, "aimlapi").front().price_usd, 0.61);
    EXPECT_DOUBLE_EQ(copy.find("hailuo-02-pro", mode::i2v, 6, "aimlapi").front().price_usd, 0.61);
    // The 768P offers of the same provider model keep their price.
    EXPECT_DOUBLE_EQ(
        copy.find("hailuo-02-standard", mode::t2v, 6, "aimlapi").front().price_usd, 0.294
    );
    copy.override_price_key("minimax/MiniMax-Hailuo-2.3:768P", 10, 0.7);
    EXPECT_DOUBLE_EQ(
        copy.find("hailuo-2.3-standard", mode::i2v, 10, "minimax").front().price_usd, 0.7
    );
    EXPECT_DOUBLE_EQ(
        copy.find("hailuo-2.3-standard", mode::i2v, 6, "minimax").front().price_usd, 0.25
    );
    EXPECT_THROW(
        copy.override_price_key("minimax/MiniMax-Hailuo-02:1080P", 10, 1), std::invalid_argument
    );
    EXPECT_THROW(
        copy.override_price_key("minimax/MiniMax-Hailuo-02:512P", 0, 0), std::invalid_argument
    );
}

TEST(catalog, provider_names) {
    EXPECT_EQ(canonical_provider("atlascloud"), "atlas");
    for (auto p : {"atlas", "wavespeed", "aimlapi", "minimax"}) {
        EXPECT_EQ(canonical_provider(p), p);
        EXPECT_TRUE(cat().has_provider(p)) << p;
    }
}

TEST(catalog, price_override_on_a_copy) {
    catalog copy = catalog::builtin();
    copy.override_price("atlas", "minimax/hailuo-02/fast", 0.12);
    EXPECT_DOUBLE_EQ(copy.find("hailuo-02-fast", mode::i2v, 6, "atlas").front().price_usd, 0.12);
    EXPECT_DOUBLE_EQ(copy.find("hailuo-02-fast", mode::i2v, 10, "atlas").front().price_usd, 0.12);
    EXPECT_DOUBLE_EQ(
        copy.find("hailuo-02-fast", mode::i2v, 6, "wavespeed").front().price_usd, 0.10
    );
    EXPECT_DOUBLE_EQ(cat().find("hailuo-02-fast", mode::i2v, 6, "atlas").front().price_usd, 0.10);
    EXPECT_THROW(copy.override_price("atlas", "minimax/nope", 0.1), std::invalid_argument);
    EXPECT_THROW(copy.override_price("atlas", "minimax/hailuo-02/fast", 0), std::invalid_argument);
}

}  // namespace
}  // namespace shotfarm::providers
