// load_shotlist: every error found, each at its file:line:col; defaults; spec hashes; images.
#include "jobs/shotlist.hpp"

#include <chrono>
#include <cstdlib>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/unit/config/test_files.hpp"

namespace shotfarm::jobs {
namespace {

namespace fs = std::filesystem;
using config_test::dump;
using config_test::has;
using config_test::jpeg_bytes;
using config_test::png_bytes;
using config_test::webp_bytes;

class shotlist : public ::testing::Test {
protected:
    shotlist_result load(std::string_view yaml, const app_config* config = nullptr) {
        file_ = dir_.write("shots.yaml", yaml);
        return load_shotlist(file_, config);
    }

    // Expects failure and exactly one diagnostic at line:col containing `needle`.
    void expect_error(std::string_view yaml, int line, int col, std::string_view needle) {
        const auto r = load(yaml);
        EXPECT_FALSE(r.list);
        EXPECT_TRUE(has(r.errors, line, col, needle)) << dump(r.errors);
        for (const auto& e : r.errors) {
            EXPECT_EQ(e.file, file_.string());
        }
    }

    shot only_shot(std::string_view yaml, const app_config* config = nullptr) {
        const auto r = load(yaml, config);
        EXPECT_TRUE(r.list) << dump(r.errors);
        if (!r.list || r.list->shots.size() != 1) {
            ADD_FAILURE() << "expected one shot";
            return {};
        }
        return r.list->shots.front();
    }

    config_test::temp_dir dir_;
    fs::path file_;
};

TEST_F(shotlist, minimal_t2v_shot_gets_the_documented_defaults) {
    const auto s = only_shot(
        "project: film\n"
        "shots:\n"
        "  - id: s010\n"
        "    prompt: '  a cat walks at dawn\n\n'\n"
    );
    EXPECT_EQ(s.id, "s010");
    EXPECT_EQ(s.prompt, "a cat walks at dawn");
    EXPECT_EQ(s.model, "hailuo-02-standard");
    EXPECT_EQ(s.duration, 6);
    EXPECT_EQ(s.resolution, "768p");
    EXPECT_EQ(s.takes, 1);
    EXPECT_EQ(s.priority, 0);
    EXPECT_FALSE(s.image);
    EXPECT_FALSE(s.provider);
    EXPECT_EQ(s.line, 3);
    EXPECT_EQ(s.col, 5);
    EXPECT_EQ(s.spec_hash.size(), 64u);
}

TEST_F(shotlist, bad_shot_id) {
    expect_error(
        "project: film\n"
        "shots:\n"
        "  - id: -bad\n"
        "    prompt: x\n",
        3,
        9,
        "shots[0].id: shot id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}"
    );
    expect_error(
        "project: film\n"
        "shots:\n"
        "  - id: ../etc\n"
        "    prompt: x\n",
        3,
        9,
        "shot id must match"
    );
}

TEST_F(shotlist, duplicate_id_points_at_the_second_and_names_the_first) {
    expect_error(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "  - id: b\n"
        "    prompt: y\n"
        "  - id: a\n"
        "    prompt: z\n",
        7,
        9,
        "shots[2].id: duplicate shot id 'a' (first at line 3)"
    );
}

TEST_F(shotlist, unknown_key_with_suggestion) {
    const auto r = load(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    promt: x\n"
        "colour: red\n"
    );
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(has(r.errors, 4, 5, "shots[0]: unknown key 'promt'; did you mean 'prompt'?"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 5, 1, "unknown key 'colour'")) << dump(r.errors);
    // and the shot now lacks a prompt, which standard text-to-video needs
    EXPECT_TRUE(has(
        r.errors, 3, 5, "shots[0]: missing required key 'prompt' (hailuo-02-standard t2v needs one)"
    )) << dump(r.errors);
}

TEST_F(shotlist, wrong_types) {
    const auto r = load(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "    duration: six\n"
        "    takes: \"2\"\n"
        "    model: [hailuo-02-pro]\n"
        "  - id: 42\n"
        "    prompt: y\n"
    );
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(has(r.errors, 5, 15, "shots[0].duration: expected an integer, got a string"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 6, 12, "shots[0].takes: expected an integer, got a string"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 7, 12, "shots[0].model: expected a string, got a list"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 8, 9, "shots[1].id: expected a string, got an integer (quote it"))
        << dump(r.errors);
}

TEST_F(shotlist, duration_the_model_does_not_render) {
    expect_error(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "    duration: 8\n",
        5,
        15,
        "shots[0].duration: hailuo-02-standard renders 6 or 10 s, not 8 s"
    );
}

TEST_F(shotlist, ten_seconds_on_pro) {
    expect_error(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "    model: hailuo-02-pro\n"
        "    duration: 10\n",
        6,
        15,
        "shots[0].duration: hailuo-02-pro only renders 6 s (1080p), not 10 s"
    );
}

TEST_F(shotlist, fast_without_image) {
    expect_error(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "    model: hailuo-02-fast\n",
        5,
        12,
        "shots[0].model: hailuo-02-fast needs a first-frame image (image-to-video only)"
    );
}

TEST_F(shotlist, unknown_model_lists_the_known_ones) {
    expect_error(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "    model: hailuo-03\n",
        5,
        12,
        "unknown model 'hailuo-03'; known: hailuo-02-fast, hailuo-02-pro"
    );
}

TEST_F(shotlist, prompt_length_counts_code_points) {
    std::string ok;
    for (int i = 0; i < 2000; ++i) {
        ok += "\xc3\xa9";  // é: 2 bytes, 1 code point
    }
    const auto s = only_shot("project: film\nshots:\n  - id: a\n    prompt: " + ok + "\n");
    EXPECT_EQ(s.prompt.size(), 4000u);
    expect_error(
        "project: film\nshots:\n  - id: a\n    prompt: " + ok + "e\n",
        4,
        13,
        "shots[0].prompt: prompt is 2001 characters; the limit is 2000"
    );
}

TEST_F(shotlist, prompt_must_be_valid_utf8) {
    const auto r = load("project: film\nshots:\n  - id: a\n    prompt: caf\xe9 au lait\n");
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(has(r.errors, 4, 13, "shots[0].prompt: is not valid UTF-8")) << dump(r.errors);
}

TEST_F(shotlist, empty_prompt_only_where_the_model_allows_it) {
    dir_.write("f.png", png_bytes(640, 360));
    const auto s = only_shot(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    image: f.png\n"
        "    model: hailuo-2.3-fast\n"
    );
    EXPECT_EQ(s.prompt, "");
    EXPECT_EQ(s.resolution, "768p");
    expect_error(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: '   '\n",
        4,
        13,
        "prompt must not be empty for hailuo-02-standard t2v"
    );
}

TEST_F(shotlist, missing_image_file) {
    const auto r = load(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "    image: frames/nope.png\n"
    );
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(
        has(r.errors,
            5,
            12,
            "shots[0].image: image file not found: " + (dir_.path() / "frames/nope.png").string())
    ) << dump(r.errors);
}

TEST_F(shotlist, image_checks_from_the_bytes) {
    dir_.write("small.png", png_bytes(300, 300));
    dir_.write("ok.png", png_bytes(301, 301));
    dir_.write("wide.jpg", jpeg_bytes(1000, 400));   // exactly 5:2: refused
    dir_.write("almost.jpg", jpeg_bytes(999, 400));  // just inside
    dir_.write("tall.jpeg", jpeg_bytes(400, 1000));  // exactly 2:5: refused
    dir_.write("text.png", "just some text, not pixels\n");
    dir_.write("fake.jpg", png_bytes(640, 360));  // PNG named .jpg
    dir_.write("frame.webp", webp_bytes(640, 360));
    const std::string whole = png_bytes(640, 360);
    dir_.write("cut.png", whole.substr(0, whole.size() - 12));  // IEND missing
    const auto r = load(
        "project: film\n"
        "defaults:\n"
        "  prompt: x\n"
        "shots:\n"
        "  - {id: small, image: small.png}\n"
        "  - {id: ok, image: ok.png}\n"
        "  - {id: wide, image: wide.jpg}\n"
        "  - {id: almost, image: almost.jpg}\n"
        "  - {id: tall, image: tall.jpeg}\n"
        "  - {id: text, image: text.png}\n"
        "  - {id: fake, image: fake.jpg}\n"
        "  - {id: webp, image: frame.webp}\n"
        "  - {id: cut, image: cut.png}\n"
    );
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(has(r.errors, 5, 24, "image is 300x300; its short side must be more than 300 px"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 7, 23, "image is 1000x400; its aspect ratio must be between 2:5"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 9, 23, "image is 400x1000; its aspect ratio")) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 10, 23, "is not a JPG or PNG image (by its content)"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 11, 23, "is PNG by its content but named '.jpg'; rename it to .png"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 12, 23, "is WebP, which only MiniMax accepts; pin the shot to"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 13, 22, "cut.png is truncated (PNG ends without its IEND chunk)"))
        << dump(r.errors);
    for (const auto& e : r.errors) {
        EXPECT_NE(e.line, 6) << "301x301 is fine: " << e.str();
        EXPECT_NE(e.line, 8) << "999x400 is fine: " << e.str();
    }
    EXPECT_EQ(r.errors.size(), 7u) << dump(r.errors);
}

TEST_F(shotlist, image_larger_than_20_mb) {
    std::string big = png_bytes(640, 360);
    big.resize(20'000'001, '\0');
    dir_.write("big.png", big);
    expect_error(
        "project: film\nshots:\n  - {id: a, prompt: x, image: big.png}\n",
        3,
        31,
        "image is 20000001 bytes; the limit is 20 MB"
    );
}

TEST_F(shotlist, image_urls) {
    expect_error(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "    image: http://example.com/a.png\n",
        5,
        12,
        "shots[0].image: plain http:// image URLs are refused"
    );
    expect_error(
        "project: film\nshots:\n  - {id: a, prompt: x, image: 'ftp://h/a.png'}\n",
        3,
        31,
        "use a local file path or an https:// URL"
    );
    const auto s = only_shot(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "    image: https://cdn.example.com/a.png\n"
    );
    EXPECT_EQ(s.image, "https://cdn.example.com/a.png");
    EXPECT_FALSE(s.image_path);
}

TEST_F(shotlist, takes_out_of_range) {
    expect_error(
        "project: film\nshots:\n  - id: a\n    prompt: x\n    takes: 0\n",
        5,
        12,
        "shots[0].takes: must be an integer from 1 to 20"
    );
    expect_error(
        "project: film\nshots:\n  - id: a\n    prompt: x\n    takes: 21\n",
        5,
        12,
        "must be an integer from 1 to 20"
    );
    EXPECT_EQ(only_shot("project: film\nshots:\n  - {id: a, prompt: x, takes: 20}\n").takes, 20);
}

TEST_F(shotlist, resolution_must_match_the_tier) {
    expect_error(
        "project: film\nshots:\n  - id: a\n    prompt: x\n    resolution: 1080p\n",
        5,
        17,
        "shots[0].resolution: hailuo-02-standard renders 768p, not 1080p"
    );
    expect_error(
        "project: film\nshots:\n  - id: a\n    prompt: x\n    resolution: 720p\n",
        5,
        17,
        "must be one of 512p, 768p, 1080p"
    );
    const auto s = only_shot(
        "project: film\nshots:\n  - {id: a, prompt: x, model: hailuo-02-pro, resolution: 1080p}\n"
    );
    EXPECT_EQ(s.resolution, "1080p");
}

app_config one_account_config() {
    app_config c;
    account_config a;
    a.name = "atlas-a";
    a.provider = "atlas";
    c.accounts.push_back(a);
    return c;
}

app_config accounts_config(std::initializer_list<std::pair<const char*, const char*>> accounts) {
    app_config c;
    for (const auto& [name, provider] : accounts) {
        account_config a;
        a.name = name;
        a.provider = provider;
        c.accounts.push_back(a);
    }
    return c;
}

TEST_F(shotlist, webp_only_when_pinned_to_minimax) {
    dir_.write("frame.webp", webp_bytes(640, 360));
    dir_.write("named.png", webp_bytes(640, 360));
    dir_.write("thin.webp", webp_bytes(1200, 400));  // 3:1
    // Unpinned, or pinned elsewhere: refused, pointing at the image.
    const auto r = load(
        "project: film\n"
        "defaults: {prompt: x}\n"
        "shots:\n"
        "  - {id: a, image: frame.webp}\n"
        "  - {id: b, image: frame.webp, provider: wavespeed}\n"
        "  - {id: c, image: frame.webp, provider: minimax}\n"
        "  - {id: d, image: named.png, provider: minimax}\n"
        "  - {id: e, image: thin.webp, provider: minimax}\n"
        "  - {id: f, image: frame.webp, provider: minimax, model: hailuo-02-fast}\n"
    );
    EXPECT_FALSE(r.list);
    const std::string webp = "shots[0].image: image " + (dir_.path() / "frame.webp").string() +
                             " is WebP, which only MiniMax accepts; pin the shot to provider: "
                             "minimax (or a minimax account), or convert the image to JPG or PNG";
    EXPECT_TRUE(has(r.errors, 4, 20, webp)) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 5, 20, "is WebP, which only MiniMax accepts")) << dump(r.errors);
    // Pinned to MiniMax the other checks still apply: name, aspect.
    EXPECT_TRUE(has(r.errors, 7, 20, "is WebP by its content but named '.png'; rename it to .webp"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 8, 20, "image is 1200x400; its aspect ratio")) << dump(r.errors);
    EXPECT_EQ(r.errors.size(), 4u) << dump(r.errors);

    // Pinned to a MiniMax account (the config says which provider it is on).
    const auto config = accounts_config({{"atlas-a", "atlas"}, {"mm", "minimax"}});
    const auto ok = only_shot(
        "project: film\nshots:\n  - {id: a, prompt: x, image: frame.webp, account: mm}\n", &config
    );
    EXPECT_EQ(ok.image_path, dir_.path() / "frame.webp");
    const auto bad = load(
        "project: film\nshots:\n  - {id: a, prompt: x, image: frame.webp, account: atlas-a}\n",
        &config
    );
    EXPECT_FALSE(bad.list);
    EXPECT_TRUE(has(bad.errors, 3, 31, "is WebP, which only MiniMax accepts")) << dump(bad.errors);
    // Only MiniMax accounts configured, but the shot is not pinned: still refused, since an
    // account on another provider added later could get the job.
    const auto only_minimax = accounts_config({{"mm", "minimax"}});
    const auto unpinned =
        load("project: film\nshots:\n  - {id: a, prompt: x, image: frame.webp}\n", &only_minimax);
    EXPECT_FALSE(unpinned.list);
    // Without a config an account pin's provider is unknown: checked again with the config.
    EXPECT_TRUE(
        load("project: film\nshots:\n  - {id: a, prompt: x, image: frame.webp, account: mm}\n").list
    );
}

TEST_F(shotlist, shots_must_be_served_by_a_configured_provider) {
    dir_.write("f.png", png_bytes(640, 360));
    const auto aiml = accounts_config({{"ai", "aimlapi"}});
    // hailuo-02-fast is 512p; AI/ML API has no 512P.
    const auto r = load(
        "project: film\n"
        "shots:\n"
        "  - {id: a, prompt: x, image: f.png, model: hailuo-02-fast}\n"
        "  - {id: b, prompt: x, model: hailuo-02-pro}\n",
        &aiml
    );
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(
        has(r.errors,
            3,
            45,
            "shots[0].model: no configured account serves hailuo-02-fast i2v 6 s: it is "
            "served by atlas, minimax, wavespeed; the config has accounts on aimlapi")
    ) << dump(r.errors);
    EXPECT_EQ(r.errors.size(), 1u) << dump(r.errors);
    // Pinned to the provider that cannot: the catalog's reason.
    const auto pinned = load(
        "project: film\n"
        "shots:\n"
        "  - {id: a, prompt: x, image: f.png, model: hailuo-02-fast, provider: aimlapi}\n",
        &aiml
    );
    EXPECT_TRUE(
        has(pinned.errors,
            3,
            71,
            "provider 'aimlapi' does not serve hailuo-02-fast: AI/ML API renders Hailuo at "
            "768P or 1080P only")
    ) << dump(pinned.errors);
    // A pin to a provider the config has no account on.
    const auto mm = accounts_config({{"mm", "minimax"}});
    const auto elsewhere =
        load("project: film\nshots:\n  - {id: a, prompt: x, provider: wavespeed}\n", &mm);
    EXPECT_TRUE(
        has(elsewhere.errors,
            3,
            34,
            "no configured account serves hailuo-02-standard t2v 6 s: it is served by "
            "wavespeed; the config has accounts on minimax")
    ) << dump(elsewhere.errors);
    // 10 s at 1080p is nowhere; 2.3-fast t2v is nowhere.
    const auto all =
        accounts_config({{"a", "atlas"}, {"w", "wavespeed"}, {"ai", "aimlapi"}, {"mm", "minimax"}});
    const auto nowhere = load(
        "project: film\n"
        "shots:\n"
        "  - {id: a, prompt: x, model: hailuo-2.3-pro, duration: 10}\n"
        "  - {id: b, prompt: x, model: hailuo-2.3-fast}\n"
        "  - {id: c, prompt: x, model: hailuo-2.3-standard, duration: 10, provider: minimax}\n",
        &all
    );
    EXPECT_TRUE(has(nowhere.errors, 3, 57, "hailuo-2.3-pro only renders 6 s (1080p), not 10 s"))
        << dump(nowhere.errors);
    EXPECT_TRUE(has(nowhere.errors, 4, 31, "hailuo-2.3-fast needs a first-frame image"))
        << dump(nowhere.errors);
    EXPECT_EQ(nowhere.errors.size(), 2u) << dump(nowhere.errors);
}

TEST_F(shotlist, empty_prompt_depends_on_who_could_get_the_shot) {
    dir_.write("f.png", png_bytes(640, 360));
    const std::string yaml =
        "project: film\nshots:\n  - {id: a, image: f.png, model: hailuo-2.3-standard}\n";
    // No config: some provider takes an empty i2v prompt.
    EXPECT_TRUE(load(yaml).list);
    // An AI/ML API account could get it, and AI/ML API requires a prompt.
    const auto mixed = accounts_config({{"a", "atlas"}, {"ai", "aimlapi"}});
    const auto r = load(yaml, &mixed);
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(
        has(r.errors,
            3,
            5,
            "shots[0]: missing required key 'prompt' (hailuo-2.3-standard i2v needs one "
            "on aimlapi, which a configured account could get (pin provider or account "
            "to atlas to leave it empty))")
    ) << dump(r.errors);
    // Pinned to the Atlas account: fine.
    const std::string pinned =
        "project: film\nshots:\n"
        "  - {id: a, image: f.png, model: hailuo-2.3-standard, account: a}\n";
    EXPECT_TRUE(load(pinned, &mixed).list);
    // MiniMax takes an i2v shot without a prompt, not a t2v one.
    const auto mm = accounts_config({{"mm", "minimax"}});
    EXPECT_TRUE(load(yaml, &mm).list);
    const auto t2v = load("project: film\nshots:\n  - {id: a, prompt: ''}\n", &mm);
    EXPECT_TRUE(has(t2v.errors, 3, 21, "prompt must not be empty for hailuo-02-standard t2v"))
        << dump(t2v.errors);
    EXPECT_EQ(t2v.errors.size(), 1u) << dump(t2v.errors);
}

TEST_F(shotlist, pins) {
    expect_error(
        "project: film\nshots:\n  - id: a\n    prompt: x\n    provider: fal\n",
        5,
        15,
        "shots[0].provider: unknown provider 'fal'; known: aimlapi, atlas, minimax, wavespeed"
    );
    // Without a config an account pin can only be checked for its shape...
    const auto s = only_shot("project: film\nshots:\n  - {id: a, prompt: x, account: nope}\n");
    EXPECT_EQ(s.account, "nope");
    // ...with one, it must name a configured account.
    const auto config = one_account_config();
    const auto r = load(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "    account: nope\n"
        "  - {id: b, prompt: y, account: atlas-a, provider: atlas}\n",
        &config
    );
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(
        has(r.errors, 5, 14, "shots[0].account: unknown account 'nope'; configured: atlas-a")
    ) << dump(r.errors);
    EXPECT_EQ(r.errors.size(), 1u) << dump(r.errors);
    expect_error(
        "project: film\nshots:\n  - {id: a, prompt: x, account: '-x'}\n",
        3,
        33,
        "must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}"
    );
}

TEST_F(shotlist, all_errors_are_reported_at_once) {
    const auto r = load(
        "project: film\n"
        "shots:\n"
        "  - id: a\n"
        "    prompt: x\n"
        "    duration: 8\n"
        "    image: missing.png\n"
        "  - id: b\n"
        "    prompt: y\n"
        "    takes: 99\n"
        "  - id: c\n"
        "    prompt: fine\n"
    );
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(has(r.errors, 5, 15, "renders 6 or 10 s, not 8 s")) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 6, 12, "image file not found")) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 9, 12, "must be an integer from 1 to 20")) << dump(r.errors);
    EXPECT_EQ(r.errors.size(), 3u) << dump(r.errors);
    // sorted by position
    EXPECT_LT(r.errors[0].line, r.errors[1].line);
    EXPECT_LT(r.errors[1].line, r.errors[2].line);
}

TEST_F(shotlist, top_level_shape) {
    expect_error("shots:\n  - {id: a, prompt: x}\n", 1, 1, "missing required key 'project'");
    expect_error("project: film\n", 1, 1, "missing required key 'shots'");
    expect_error("project: film\nshots: []\n", 2, 8, "shots: must list at least one shot");
    expect_error(
        "project: 'my film'\nshots:\n  - {id: a, prompt: x}\n", 1, 10, "project: must match"
    );
    expect_error("- a\n- b\n", 1, 1, "expected a mapping");
    expect_error(
        "project: film\nshots:\n  - just a string\n", 3, 5, "shots[0]: expected a mapping"
    );
    expect_error(
        "project: film\ndefaults:\n  id: x\nshots:\n  - {id: a, prompt: x}\n",
        3,
        3,
        "'id' cannot have a default"
    );
}

TEST_F(shotlist, defaults_apply_and_shots_override_them) {
    dir_.write("frames/key.png", png_bytes(1280, 720));
    const auto r = load(
        "project: film\n"
        "defaults:\n"
        "  model: hailuo-02-pro\n"
        "  takes: 3\n"
        "  priority: 5\n"
        "  prompt: default prompt\n"
        "  image: frames/key.png\n"
        "shots:\n"
        "  - id: inherits\n"
        "  - id: overrides\n"
        "    model: hailuo-02-standard\n"
        "    duration: 10\n"
        "    takes: 1\n"
        "    priority: -2\n"
        "    prompt: own prompt\n"
        "    image: null\n"
    );
    ASSERT_TRUE(r.list) << dump(r.errors);
    ASSERT_EQ(r.list->shots.size(), 2u);
    const auto& a = r.list->shots[0];
    EXPECT_EQ(a.model, "hailuo-02-pro");
    EXPECT_EQ(a.takes, 3);
    EXPECT_EQ(a.priority, 5);
    EXPECT_EQ(a.prompt, "default prompt");
    EXPECT_EQ(a.image, "frames/key.png");
    EXPECT_EQ(a.image_path, dir_.path() / "frames/key.png");
    EXPECT_EQ(a.resolution, "1080p");
    const auto& b = r.list->shots[1];
    EXPECT_EQ(b.model, "hailuo-02-standard");
    EXPECT_EQ(b.duration, 10);
    EXPECT_EQ(b.takes, 1);
    EXPECT_EQ(b.priority, -2);
    EXPECT_EQ(b.prompt, "own prompt");
    EXPECT_FALSE(b.image);
    EXPECT_FALSE(b.image_path);
    EXPECT_EQ(r.list->project, "film");
}

TEST_F(shotlist, a_bad_default_is_reported_once_at_the_default) {
    const auto r = load(
        "project: film\n"
        "defaults:\n"
        "  model: hailuo-02-pro\n"
        "  duration: 10\n"
        "  takes: 50\n"
        "shots:\n"
        "  - {id: a, prompt: x}\n"
        "  - {id: b, prompt: y}\n"
        "  - {id: c, prompt: z}\n"
    );
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(has(r.errors, 4, 13, "defaults.duration: hailuo-02-pro only renders 6 s"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 5, 10, "defaults.takes: must be an integer from 1 to 20"))
        << dump(r.errors);
    EXPECT_EQ(r.errors.size(), 2u) << dump(r.errors);
    const auto r2 = load(
        "project: film\n"
        "defaults:\n"
        "  model: hailuo-02-pro\n"
        "  duration: 10\n"
        "shots:\n"
        "  - {id: a, prompt: x}\n"
        "  - {id: b, prompt: y}\n"
    );
    EXPECT_TRUE(has(r2.errors, 4, 13, "defaults.duration: hailuo-02-pro only renders 6 s"))
        << dump(r2.errors);
    EXPECT_EQ(r2.errors.size(), 1u) << dump(r2.errors);
}

TEST_F(shotlist, spec_hash_is_stable_and_sensitive_to_every_field) {
    dir_.write("a.png", png_bytes(640, 360, 10));
    dir_.write("copy/a.png", png_bytes(640, 360, 10));  // same bytes elsewhere
    const std::string base =
        "project: film\n"
        "shots:\n"
        "  - id: s1\n"
        "    prompt: a cat\n"
        "    image: a.png\n"
        "    model: hailuo-02-standard\n"
        "    duration: 6\n"
        "    takes: 2\n"
        "    priority: 1\n";
    const std::string h = only_shot(base).spec_hash;
    EXPECT_EQ(only_shot(base).spec_hash, h) << "stable across loads";

    auto with = [&](std::string_view from, std::string_view to) {
        std::string y = base;
        const auto at = y.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        y.replace(at, from.size(), to);
        return only_shot(y).spec_hash;
    };
    EXPECT_EQ(with("priority: 1", "priority: 9"), h) << "priority is scheduling, not spec";
    EXPECT_EQ(with("image: a.png", "image: copy/a.png"), h) << "same bytes, other place";
    EXPECT_EQ(with("takes: 2\n", "takes: 2\n    resolution: 768p\n"), h) << "implied anyway";
    EXPECT_EQ(with("a cat", "'  a cat  '"), h) << "trimmed prompt";

    std::set<std::string> hashes{h};
    for (auto [from, to] : std::vector<std::pair<std::string_view, std::string_view>>{
             {"project: film", "project: film2"},
             {"id: s1", "id: s2"},
             {"a cat", "a dog"},
             {"hailuo-02-standard", "hailuo-2.3-standard"},
             {"duration: 6", "duration: 10"},
             {"takes: 2", "takes: 3"},
             {"priority: 1", "priority: 1\n    provider: atlas"},
             {"priority: 1", "priority: 1\n    account: atlas-a"},
             {"image: a.png", "image: https://cdn.example.com/a.png"},
             {"image: a.png", "image: null"},
         }) {
        EXPECT_TRUE(hashes.insert(with(from, to)).second) << "no change for " << to;
    }
    dir_.write("a.png", png_bytes(640, 360, 11));  // one shade lighter
    EXPECT_TRUE(hashes.insert(only_shot(base).spec_hash).second) << "image bytes changed";
}

TEST_F(shotlist, relative_image_paths_resolve_against_the_shot_list_folder) {
    dir_.write("frames/a.png", png_bytes(640, 360));
    const auto list = dir_.write(
        "lists/act1/shots.yaml",
        "project: film\nshots:\n  - {id: a, prompt: x, image: ../../frames/a.png}\n"
    );
    const auto cwd = fs::current_path();
    fs::current_path("/");
    const auto r = load_shotlist(list);
    fs::current_path(cwd);
    ASSERT_TRUE(r.list) << dump(r.errors);
    EXPECT_EQ(r.list->shots[0].image_path, dir_.path() / "frames/a.png");
    EXPECT_EQ(r.list->shots[0].image, "../../frames/a.png");
    EXPECT_EQ(r.list->file, list);
}

TEST_F(shotlist, yaml_traps_are_refused_quickly) {
    const auto start = std::chrono::steady_clock::now();
    // billion laughs: loads instantly in yaml-cpp, explodes in any naive walker
    std::string bomb =
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
    for (char c = 'b'; c <= 'j'; ++c) {
        const char p = static_cast<char>(c - 1);
        bomb += std::string{c} + ": &" + c + " [*" + p + ",*" + p + ",*" + p + ",*" + p + ",*" + p +
                ",*" + p + ",*" + p + ",*" + p + ",*" + p + "]\n";
    }
    auto r = load(bomb);
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(has(r.errors, 1, 4, "YAML anchors (&name) are not supported")) << dump(r.errors);

    r = load("project: &x [*x]\nshots: []\n");
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(has(r.errors, 1, 14, "YAML aliases (*name) are not supported")) << dump(r.errors);

    r = load(std::string(100000, '[') + std::string(100000, ']'));
    EXPECT_FALSE(r.list);
    EXPECT_FALSE(r.errors.empty());

    r = load(std::string(200, '[') + std::string(200, ']'));
    EXPECT_TRUE(has(r.errors, 1, 65, "nesting deeper than 64 levels")) << dump(r.errors);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST_F(shotlist, duplicate_keys_multiple_documents_and_syntax_errors) {
    expect_error(
        "project: film\nshots:\n  - id: a\n    prompt: x\n    prompt: y\n",
        5,
        5,
        "duplicate key 'prompt' (first at line 4)"
    );
    expect_error(
        "project: film\nshots:\n  - {id: a, prompt: x}\n---\nproject: other\n",
        4,
        1,
        "only one YAML document is allowed"
    );
    const auto r = load("project: film\nshots:\n  - {id: a, prompt: x\n");
    EXPECT_FALSE(r.list);
    ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
    EXPECT_NE(r.errors[0].message.find("YAML syntax error"), std::string::npos);
    EXPECT_GT(r.errors[0].line, 0);
    expect_error("", 0, 0, "file is empty");
    expect_error("project: !!str film\nshots: []\n", 1, 10, "YAML tags");
}

TEST_F(shotlist, file_problems) {
    auto r = load_shotlist(dir_.path() / "absent.yaml");
    EXPECT_FALSE(r.list);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].str().find("absent.yaml: cannot read file"), std::string::npos)
        << r.errors[0].str();
    std::string huge = "project: film\nshots:\n";
    while (huge.size() <= max_shotlist_bytes) {
        huge += "  - {id: a, prompt: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}\n";
    }
    r = load(huge);
    EXPECT_FALSE(r.list);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].message.find("the limit is 8388608"), std::string::npos);
}

// Issue 4: the batch's priority and budget. A shot without a priority of its own (or from
// defaults) takes the batch's; the batch's budget is read, not enforced here.
TEST_F(shotlist, batch_priority_and_budget) {
    const auto r = load(
        "project: film\n"
        "priority: 7\n"
        "budget_usd: 12.5\n"
        "shots:\n"
        "  - {id: a, prompt: x}\n"
        "  - {id: b, prompt: y, priority: -3}\n"
        "  - {id: c, prompt: z, priority: 0}\n"
    );
    ASSERT_TRUE(r.list) << dump(r.errors);
    EXPECT_EQ(r.list->priority, 7);
    EXPECT_EQ(r.list->budget_usd, 12.5);
    ASSERT_EQ(r.list->shots.size(), 3u);
    EXPECT_EQ(r.list->shots[0].priority, 7);
    EXPECT_EQ(r.list->shots[1].priority, -3);
    EXPECT_EQ(r.list->shots[2].priority, 0);  // an explicit 0 is the shot's own

    // defaults.priority wins over the batch's for every shot without its own.
    const auto d = load(
        "project: film\n"
        "priority: 7\n"
        "defaults: {priority: 2}\n"
        "shots:\n"
        "  - {id: a, prompt: x}\n"
        "  - {id: b, prompt: y, priority: 9}\n"
    );
    ASSERT_TRUE(d.list) << dump(d.errors);
    EXPECT_EQ(d.list->shots[0].priority, 2);
    EXPECT_EQ(d.list->shots[1].priority, 9);

    // Absent: priority 0, no budget; a budget of 0 is a budget.
    const auto none = load("project: film\nshots:\n  - {id: a, prompt: x}\n");
    ASSERT_TRUE(none.list) << dump(none.errors);
    EXPECT_EQ(none.list->priority, 0);
    EXPECT_FALSE(none.list->budget_usd);
    EXPECT_EQ(none.list->shots[0].priority, 0);
    const auto zero = load("project: film\nbudget_usd: 0\nshots:\n  - {id: a, prompt: x}\n");
    ASSERT_TRUE(zero.list) << dump(zero.errors);
    EXPECT_EQ(zero.list->budget_usd, 0.0);
}

TEST_F(shotlist, batch_priority_is_not_part_of_the_spec_hash) {
    const auto low = only_shot("project: film\npriority: 1\nshots:\n  - {id: a, prompt: x}\n");
    const auto high = only_shot("project: film\npriority: 99\nshots:\n  - {id: a, prompt: x}\n");
    EXPECT_EQ(low.priority, 1);
    EXPECT_EQ(high.priority, 99);
    EXPECT_EQ(low.spec_hash, high.spec_hash);
}

TEST_F(shotlist, batch_priority_and_budget_bad_values) {
    expect_error(
        "project: film\npriority: high\nshots:\n  - {id: a, prompt: x}\n",
        2,
        11,
        "priority: expected an integer, got a string"
    );
    expect_error(
        "project: film\npriority: 2000000000\nshots:\n  - {id: a, prompt: x}\n",
        2,
        11,
        "priority: must be an integer from -1000000000 to 1000000000"
    );
    expect_error(
        "project: film\npriority: 1.5\nshots:\n  - {id: a, prompt: x}\n",
        2,
        11,
        "priority: expected an integer, got a number"
    );
    expect_error(
        "project: film\nbudget_usd: -3\nshots:\n  - {id: a, prompt: x}\n",
        2,
        13,
        "budget_usd: must be a number of US dollars >= 0"
    );
    expect_error(
        "project: film\nbudget_usd: '5'\nshots:\n  - {id: a, prompt: x}\n",
        2,
        13,
        "budget_usd: expected a number, got a string"
    );
    expect_error(
        "project: film\nbudget: 5\nshots:\n  - {id: a, prompt: x}\n",
        2,
        1,
        "unknown key 'budget'; known keys: project, priority, budget_usd, defaults, shots"
    );
    // Both at once, each at its own position.
    const auto r = load(
        "project: film\n"
        "priority: []\n"
        "budget_usd: {usd: 5}\n"
        "shots:\n"
        "  - {id: a, prompt: x}\n"
    );
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(has(r.errors, 2, 11, "priority: expected an integer, got a list"))
        << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 3, 13, "budget_usd: expected a number, got a mapping"))
        << dump(r.errors);
    EXPECT_EQ(r.errors.size(), 2u) << dump(r.errors);
}

// Issue 11: what PostgreSQL (a UTF8 database) or a provider would refuse is refused by
// validation, at the field: NUL, C0 controls (a prompt may hold tabs and newlines), DEL, C1,
// and bytes that are not UTF-8.
TEST_F(shotlist, control_characters_and_bad_utf8_are_refused_where_written) {
    struct row {
        std::string field;
        int col;
        std::string why;
    };
    const std::vector<row> rows{
        {"prompt: \"a\\0b\"", 13, "shots[0].prompt: contains a NUL character (at character 2)"},
        {"prompt: \"red \\e[31m\"", 13, "shots[0].prompt: contains the control character U+001B"},
        {"prompt: \"bell \\a\"", 13, "shots[0].prompt: contains the control character U+0007"},
        {"prompt: \"del \\x7f\"", 13, "shots[0].prompt: contains the control character U+007F"},
        {"prompt: \"nel \xc2\x85\"", 13, "shots[0].prompt: contains the control character U+0085"},
        {"prompt: \"csi \\x9b\"", 13, "shots[0].prompt: contains the control character U+009B"},
        {"prompt: \"ok\\vno\"", 13, "shots[0].prompt: contains the control character U+000B"},
        {"image: \"f\\0.png\"", 12, "shots[0].image: contains a NUL character"},
        {"image: \"f\\n.png\"", 12, "shots[0].image: contains the control character U+000A"},
        {"model: \"hailuo\\e[2J\"", 12, "shots[0].model: contains the control character U+001B"},
        {"provider: \"atlas\\0\"", 15, "shots[0].provider: contains a NUL character"},
        {"account: \"a\\x01\"", 14, "shots[0].account: contains the control character U+0001"},
        {"resolution: \"768p\\0\"", 17, "shots[0].resolution: contains a NUL character"},
    };
    for (const auto& [field, col, why] : rows) {
        SCOPED_TRACE(field);
        const auto r = load(
            "project: film\n"
            "shots:\n"
            "  - id: a\n"
            "    " +
            field + "\n" + (field.starts_with("prompt") ? "" : "    prompt: x\n")
        );
        EXPECT_FALSE(r.list);
        EXPECT_TRUE(has(r.errors, 4, col, why)) << dump(r.errors);
        for (const auto& e : r.errors) {
            // Nothing raw reaches the terminal: no escape sequence, no NUL.
            EXPECT_EQ(e.message.find_first_of(std::string_view{"\0\x1b\x07", 3}), std::string::npos)
                << e.str();
        }
    }
    expect_error(
        "project: film\nshots:\n  - id: \"a\\0\"\n    prompt: x\n",
        3,
        9,
        "shots[0].id: contains a NUL character"
    );
    expect_error(
        "project: \"film\\e\"\nshots:\n  - {id: a, prompt: x}\n",
        1,
        10,
        "project: contains the control character U+001B"
    );
    // Raw bytes that are not UTF-8, in a prompt yaml-cpp passes through.
    expect_error(
        "project: film\nshots:\n  - id: a\n    prompt: \"caf\xe9\"\n",
        4,
        13,
        "shots[0].prompt: is not valid UTF-8"
    );
    // Tabs, newlines and carriage returns are a prompt's business.
    const auto s = only_shot(
        "project: film\nshots:\n  - id: a\n    prompt: \"wide shot\\tharbour\\r\\nthen close-up\"\n"
    );
    EXPECT_EQ(s.prompt, "wide shot\tharbour\r\nthen close-up");
}

// The database stores the shot list's own path (batches, shots.source_file) as text.
TEST_F(shotlist, a_path_that_is_not_utf8_is_refused) {
    const auto odd = dir_.path() / "odd\xff";
    fs::create_directories(odd);
    const auto file =
        dir_.write("odd\xff/shots.yaml", "project: film\nshots:\n  - {id: a, prompt: x}\n");
    const auto r = load_shotlist(file);
    EXPECT_FALSE(r.list);
    EXPECT_TRUE(has(r.errors, 0, 0, "the shot list's path is not valid UTF-8")) << dump(r.errors);
}

// Every limit schemas/sql enforces on what ingest writes, refused by validation first:
// int columns (priority, duration_s, take >= 1), numeric(14,4) budget, the (project,
// shot_id) key, btree-indexed ids kept short, NOT NULL prompt (an absent prompt is ""), text
// without NUL. One row each.
TEST_F(shotlist, what_the_database_would_refuse_validation_refuses) {
    struct row {
        std::string yaml;
        int line;
        int col;
        std::string why;
    };
    const std::string id129(129, 'a');
    const std::vector<row> rows{
        {"project: film\nshots:\n  - {id: a, prompt: x, priority: 2147483648}\n",
         3,
         34,
         "shots[0].priority: must be an integer from -1000000000 to 1000000000"},
        {"project: film\nshots:\n  - {id: a, prompt: x, priority: -2147483649}\n",
         3,
         34,
         "shots[0].priority: must be an integer from"},
        {"project: film\npriority: 99999999999\nshots:\n  - {id: a, prompt: x}\n",
         2,
         11,
         "priority: must be an integer from"},
        {"project: film\nshots:\n  - {id: a, prompt: x, duration: 0}\n",
         3,
         34,
         "shots[0].duration: must be a number of seconds"},
        {"project: film\nshots:\n  - {id: a, prompt: x, duration: 4294967302}\n",
         3,
         34,
         "shots[0].duration: must be a number of seconds"},
        {"project: film\nshots:\n  - {id: a, prompt: x, takes: 0}\n",
         3,
         31,
         "shots[0].takes: must be an integer from 1 to 20"},
        {"project: film\nbudget_usd: 10000000000\nshots:\n  - {id: a, prompt: x}\n",
         2,
         13,
         "budget_usd: must be a number of US dollars >= 0"},
        {"project: film\nbudget_usd: .nan\nshots:\n  - {id: a, prompt: x}\n",
         2,
         13,
         "budget_usd: expected a finite decimal number"},
        {"project: film\nshots:\n  - {id: a, prompt: x}\n  - {id: a, prompt: y}\n",
         4,
         10,
         "shots[1].id: duplicate shot id 'a' (first at line 3)"},
        {"project: film\nshots:\n  - {id: " + id129 + ", prompt: x}\n",
         3,
         10,
         "shots[0].id: shot id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}"},
        {"project: " + id129 + "\nshots:\n  - {id: a, prompt: x}\n",
         1,
         10,
         "project: must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}"},
        {"project: film\nshots:\n  - {id: a, prompt: \"x\\0\"}\n",
         3,
         21,
         "shots[0].prompt: contains a NUL character"},
    };
    for (const auto& [yaml, line, col, why] : rows) {
        SCOPED_TRACE(yaml);
        expect_error(yaml, line, col, why);
    }
}

// The list's items are streamed from the parser, one shot's tree at a time: the order of the
// root keys must not matter (shots before project and defaults), and positions stay exact.
TEST_F(shotlist, shots_before_project_and_defaults) {
    const auto r = load(
        "shots:\n"
        "  - id: a\n"
        "  - id: b\n"
        "    prompt: own\n"
        "    takes: 0\n"
        "defaults:\n"
        "  prompt: from defaults\n"
        "  takes: 2\n"
        "project: film\n"
    );
    EXPECT_FALSE(r.list);
    ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
    EXPECT_TRUE(has(r.errors, 5, 12, "shots[1].takes: must be an integer from 1 to 20"))
        << dump(r.errors);
    const auto ok = load(
        "shots:\n  - id: a\n  - {id: b, prompt: own}\ndefaults: {prompt: from defaults, takes: 2}\n"
        "project: film\n"
    );
    ASSERT_TRUE(ok.list) << dump(ok.errors);
    ASSERT_EQ(ok.list->shots.size(), 2u);
    EXPECT_EQ(ok.list->project, "film");
    EXPECT_EQ(ok.list->shots[0].prompt, "from defaults");
    EXPECT_EQ(ok.list->shots[0].takes, 2);
    EXPECT_EQ(ok.list->shots[0].line, 2);
    EXPECT_EQ(ok.list->shots[1].prompt, "own");
    EXPECT_EQ(ok.list->shots[1].line, 3);
    EXPECT_EQ(ok.list->shots[1].col, 5);
    // A scalar where the list should be, and an empty list, are still reported.
    expect_error("project: film\nshots: 3\n", 2, 8, "shots: expected a list");
    expect_error("project: film\nshots: []\n", 2, 8, "shots: must list at least one shot");
}

// Issue 11: an 8 MiB list must not need 900 MB. A 2 MiB list of 34,000 one-line shots needed
// 205 MB when yaml-cpp's tree held the whole list; streamed, under 60 MB. Measured in a child
// process (its peak RSS is its own); not under ASan, whose quarantine keeps freed memory.
#if !defined(__SANITIZE_ADDRESS__)
TEST_F(shotlist, a_long_list_is_loaded_in_bounded_memory) {
    std::string yaml = "project: bench\nshots:\n";
    std::size_t n = 0;
    while (yaml.size() < (2u << 20) - 100) {
        yaml +=
            "- {id: s" + std::to_string(n++) + ", prompt: p, takes: 1, duration: 6, priority: 1}\n";
    }
    const auto file = dir_.write("big.yaml", yaml);
    yaml.clear();
    yaml.shrink_to_fit();
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const auto r = load_shotlist(file);
        rusage use{};
        ::getrusage(RUSAGE_SELF, &use);
        const bool ok = r.list && r.list->shots.size() == n;
        ::_exit(!ok ? 2 : use.ru_maxrss > 60 * 1024 ? 3 : 0);  // ru_maxrss is in KiB
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "2: the list did not load; 3: peak RSS over 60 MB";
}
#endif

TEST(explain_ingest_refusal, names_the_shot_and_its_position_never_the_server_text) {
    shot_list list;
    list.file = "/lists/tonight.yaml";
    list.project = "film";
    shot good;
    good.id = "s010";
    good.prompt = "a cat";
    good.line = 3;
    good.col = 5;
    shot bad = good;
    bad.id = "s020";
    bad.prompt = std::string{"a\0dog", 5};
    bad.line = 7;
    bad.col = 5;
    list.shots = {good, bad};
    const auto d = explain_ingest_refusal(list, "22021");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(
        d[0].str(),
        "/lists/tonight.yaml:7:5: shot 's020': the prompt contains a NUL character (at character "
        "2); the database refused it (text it cannot store: a NUL character or bytes that are "
        "not UTF-8), nothing of the list was stored"
    );
    // Nothing in the shots explains it: one line for the file, still in plain words.
    list.shots = {good};
    const auto f = explain_ingest_refusal(list, "23514");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].line, 0);
    EXPECT_NE(
        f[0].message.find("the database refused it (a value its checks refuse)"), std::string::npos
    ) << f[0].str();
    EXPECT_TRUE(is_data_refusal("22P05"));
    EXPECT_TRUE(is_data_refusal("23505"));
    EXPECT_FALSE(is_data_refusal("08006"));
    EXPECT_FALSE(is_data_refusal("40001"));
}

}  // namespace
}  // namespace shotfarm::jobs
