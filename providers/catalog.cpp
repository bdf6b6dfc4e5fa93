#include "providers/catalog.hpp"

#include <algorithm>
#include <stdexcept>

namespace shotfarm::providers {
namespace {

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) {
            out += sep;
        }
        out += item;
    }
    return out;
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) {
        v.push_back(s);
    }
}

// One catalog row. `extra` is sent verbatim in the submit body.
void add_row(
    std::vector<offer>& v,
    const char* provider,
    const char* model,
    mode m,
    int duration,
    const char* resolution,
    const char* provider_model,
    double price,
    const boost::json::object& extra,
    bool duration_param,
    bool prompt_required
) {
    v.push_back(offer{
        provider,
        model,
        m,
        duration,
        resolution,
        provider_model,
        price,
        extra,
        duration_param,
        prompt_required,
    });
}

// Atlas Cloud. Atlas publishes no `resolution` field for Hailuo: the tier implies it (fast 512p,
// standard 768p, pro 1080p for Hailuo 02), and Atlas proxies WaveSpeed's implementations of the
// same model ids (Atlas's schemas, as its ComfyUI nodes AtlasCloudAI/atlascloud_comfyui expose
// them, match WaveSpeed's https://wavespeed.ai/docs/docs-api/minimax/minimax-hailuo-* pages
// word for word), so WaveSpeed's per-model facts stand in where Atlas is silent. Every submit
// sends `enable_prompt_expansion: false` explicitly (several 2.3 models default it to true): the
// studio's prompt is sent verbatim.
// Where Atlas and WaveSpeed disagree on a price Atlas's own figure is used (the higher one in
// every case seen); config `prices:` overrides any row.
std::vector<offer> atlas_offers() {
    const boost::json::object plain{{"enable_prompt_expansion", false}};
    const boost::json::object fast{{"go_fast", true}, {"enable_prompt_expansion", false}};
    std::vector<offer> v;
    auto row = [&v](
                   std::string model,
                   mode m,
                   int duration,
                   std::string resolution,
                   std::string provider_model,
                   double price,
                   const boost::json::object& extra,
                   bool duration_param,
                   bool prompt_required
               ) {
        v.push_back(offer{
            "atlas",
            std::move(model),
            m,
            duration,
            std::move(resolution),
            std::move(provider_model),
            price,
            extra,
            duration_param,
            prompt_required,
        });
    };

    // Hailuo 02 Fast: I2V only (`image` required, `prompt` optional), {6,10} s, 512p.
    // $0.10 "per run": https://www.atlascloud.ai/models/minimax/hailuo-02/fast;
    // 6 s $0.10 / 10 s $0.15: WaveSpeed minimax-hailuo-02-fast page and third-party credit
    // tables on Atlas routes.
    row("hailuo-02-fast", mode::i2v, 6, "512p", "minimax/hailuo-02/fast", 0.10, fast, true, false);
    row("hailuo-02-fast", mode::i2v, 10, "512p", "minimax/hailuo-02/fast", 0.15, fast, true, false);

    // Hailuo 02 Standard, 768p, {6,10} s. Per mode the dedicated model (t2v-standard /
    // i2v-standard) rather than the combined `standard`, whose Atlas node requires an image.
    // $0.23 "per run": https://www.atlascloud.ai/zh/models/minimax/hailuo-02/standard;
    // 10 s $0.56: WaveSpeed -standard/-i2v-standard/-t2v-standard pages and third-party Atlas
    // credit tables. Atlas's i2v-standard schema marks `prompt` required.
    row("hailuo-02-standard",
        mode::t2v,
        6,
        "768p",
        "minimax/hailuo-02/t2v-standard",
        0.23,
        plain,
        true,
        true);
    row("hailuo-02-standard",
        mode::t2v,
        10,
        "768p",
        "minimax/hailuo-02/t2v-standard",
        0.56,
        plain,
        true,
        true);
    row("hailuo-02-standard",
        mode::i2v,
        6,
        "768p",
        "minimax/hailuo-02/i2v-standard",
        0.23,
        plain,
        true,
        true);
    row("hailuo-02-standard",
        mode::i2v,
        10,
        "768p",
        "minimax/hailuo-02/i2v-standard",
        0.56,
        plain,
        true,
        true);

    // Hailuo 02 Pro, 1080p, 6 s only (MiniMax: 1080P = 6 s; WaveSpeed's "5 s" is a GAP).
    // T2V: `minimax/hailuo-02/pro` (Atlas schema: duration {6} only, prompt required ≤ 2000) —
    // t2v-pro has no published price. $0.48 per run on WaveSpeed minimax-hailuo-02-pro,
    // the one first-party price for this model id; third-party Atlas credit tables say
    // $0.48–0.49.
    // I2V: `minimax/hailuo-02/i2v-pro` (no duration field), $0.49 per generation on WaveSpeed
    // minimax-hailuo-02-i2v-pro; Atlas price GAP.
    row("hailuo-02-pro", mode::t2v, 6, "1080p", "minimax/hailuo-02/pro", 0.48, plain, true, true);
    row("hailuo-02-pro",
        mode::i2v,
        6,
        "1080p",
        "minimax/hailuo-02/i2v-pro",
        0.49,
        plain,
        false,
        true);

    // Hailuo 2.3 Fast: I2V only, {6,10} s, 768p (WaveSpeed; one page version says 1080p: GAP).
    // 6 s $0.19 "per run": https://www.atlascloud.ai/models/minimax/hailuo-2.3/fast;
    // 10 s $0.32: WaveSpeed minimax-hailuo-2.3-fast, Atlas GAP.
    row("hailuo-2.3-fast", mode::i2v, 6, "768p", "minimax/hailuo-2.3/fast", 0.19, fast, true, false
    );
    row("hailuo-2.3-fast", mode::i2v, 10, "768p", "minimax/hailuo-2.3/fast", 0.32, fast, true, false
    );

    // Hailuo 2.3 Standard, 768p (one page version says 1080p: GAP), {6,10} s.
    // T2V 6 s $0.28: https://www.atlascloud.ai/models/minimax/hailuo-2.3/t2v-standard/llms.txt
    // ("per second" there is a template error, as on 2.3 fast, whose model page says "per run";
    // WaveSpeed charges $0.23: Atlas's own used);
    // 10 s $0.56: WaveSpeed minimax-hailuo-2.3-t2v-standard, Atlas GAP.
    // I2V 6 s $0.28 / 10 s $0.56: WaveSpeed minimax-hailuo-2.3-i2v-standard, Atlas GAP.
    // prompt optional on i2v-standard (Atlas and WaveSpeed agree).
    row("hailuo-2.3-standard",
        mode::t2v,
        6,
        "768p",
        "minimax/hailuo-2.3/t2v-standard",
        0.28,
        plain,
        true,
        true);
    row("hailuo-2.3-standard",
        mode::t2v,
        10,
        "768p",
        "minimax/hailuo-2.3/t2v-standard",
        0.56,
        plain,
        true,
        true);
    row("hailuo-2.3-standard",
        mode::i2v,
        6,
        "768p",
        "minimax/hailuo-2.3/i2v-standard",
        0.28,
        plain,
        true,
        false);
    row("hailuo-2.3-standard",
        mode::i2v,
        10,
        "768p",
        "minimax/hailuo-2.3/i2v-standard",
        0.56,
        plain,
        true,
        false);

    // Hailuo 2.3 Pro, 1080p, one fixed duration (no `duration` field on Atlas; WaveSpeed says
    // "5 seconds", MiniMax 1080P = 6 s: we call it 6 s, GAP).
    // T2V $0.49: https://www.atlascloud.ai/zh/models/minimax/hailuo-2.3/t2v-pro/llms.txt.
    // I2V $0.49: WaveSpeed minimax-hailuo-2.3-i2v-pro, Atlas GAP; prompt optional.
    row("hailuo-2.3-pro",
        mode::t2v,
        6,
        "1080p",
        "minimax/hailuo-2.3/t2v-pro",
        0.49,
        plain,
        false,
        true);
    row("hailuo-2.3-pro",
        mode::i2v,
        6,
        "1080p",
        "minimax/hailuo-2.3/i2v-pro",
        0.49,
        plain,
        false,
        false);
    return v;
}

// WaveSpeedAI: the same model paths as Atlas (Atlas proxies WaveSpeed's implementations), its
// own prices and input rules (all from its model pages,
// https://wavespeed.ai/docs/docs-api/minimax/minimax-hailuo-*). Resolution is implied by the path,
// as on Atlas. `enable_prompt_expansion: false` is sent explicitly (it defaults to
// true on several paths): the studio's prompt is sent verbatim.
std::vector<offer> wavespeed_offers() {
    const boost::json::object plain{{"enable_prompt_expansion", false}};
    const boost::json::object fast{{"go_fast", true}, {"enable_prompt_expansion", false}};
    std::vector<offer> v;
    const auto t2v = mode::t2v;
    const auto i2v = mode::i2v;
    const char* ws = "wavespeed";
    // hailuo-02/fast: image required, prompt optional, {6,10} s, 512p; $0.10 / $0.15
    // (…/minimax-hailuo-02-fast).
    add_row(
        v, ws, "hailuo-02-fast", i2v, 6, "512p", "minimax/hailuo-02/fast", 0.10, fast, true, false
    );
    add_row(
        v, ws, "hailuo-02-fast", i2v, 10, "512p", "minimax/hailuo-02/fast", 0.15, fast, true, false
    );
    // hailuo-02 t2v-standard (prompt required) / i2v-standard (prompt optional), 768p, {6,10} s;
    // $0.23 / $0.56 (…/minimax-hailuo-02-t2v-standard, -i2v-standard).
    add_row(
        v,
        ws,
        "hailuo-02-standard",
        t2v,
        6,
        "768p",
        "minimax/hailuo-02/t2v-standard",
        0.23,
        plain,
        true,
        true
    );
    add_row(
        v,
        ws,
        "hailuo-02-standard",
        t2v,
        10,
        "768p",
        "minimax/hailuo-02/t2v-standard",
        0.56,
        plain,
        true,
        true
    );
    add_row(
        v,
        ws,
        "hailuo-02-standard",
        i2v,
        6,
        "768p",
        "minimax/hailuo-02/i2v-standard",
        0.23,
        plain,
        true,
        false
    );
    add_row(
        v,
        ws,
        "hailuo-02-standard",
        i2v,
        10,
        "768p",
        "minimax/hailuo-02/i2v-standard",
        0.56,
        plain,
        true,
        false
    );
    // hailuo-02 pro (t2v; no duration field, "fixed output in 5s" vs MiniMax's 1080P = 6 s:
    // called 6 s, GAP) $0.48 per run (…/minimax-hailuo-02-pro); i2v-pro (prompt "yes") $0.49
    // per generation (…/minimax-hailuo-02-i2v-pro). t2v-pro has no price (GAP): unused.
    add_row(
        v, ws, "hailuo-02-pro", t2v, 6, "1080p", "minimax/hailuo-02/pro", 0.48, plain, false, true
    );
    add_row(
        v,
        ws,
        "hailuo-02-pro",
        i2v,
        6,
        "1080p",
        "minimax/hailuo-02/i2v-pro",
        0.49,
        plain,
        false,
        true
    );
    // hailuo-2.3/fast: image required, {6,10} s, 768p; $0.19 / $0.32 (…-2.3-fast).
    add_row(
        v, ws, "hailuo-2.3-fast", i2v, 6, "768p", "minimax/hailuo-2.3/fast", 0.19, fast, true, false
    );
    add_row(
        v,
        ws,
        "hailuo-2.3-fast",
        i2v,
        10,
        "768p",
        "minimax/hailuo-2.3/fast",
        0.32,
        fast,
        true,
        false
    );
    // hailuo-2.3 t2v-standard $0.23 / $0.56, i2v-standard (prompt optional) $0.28 / $0.56,
    // 768p, {6,10} s (…-2.3-t2v-standard, -2.3-i2v-standard).
    add_row(
        v,
        ws,
        "hailuo-2.3-standard",
        t2v,
        6,
        "768p",
        "minimax/hailuo-2.3/t2v-standard",
        0.23,
        plain,
        true,
        true
    );
    add_row(
        v,
        ws,
        "hailuo-2.3-standard",
        t2v,
        10,
        "768p",
        "minimax/hailuo-2.3/t2v-standard",
        0.56,
        plain,
        true,
        true
    );
    add_row(
        v,
        ws,
        "hailuo-2.3-standard",
        i2v,
        6,
        "768p",
        "minimax/hailuo-2.3/i2v-standard",
        0.28,
        plain,
        true,
        false
    );
    add_row(
        v,
        ws,
        "hailuo-2.3-standard",
        i2v,
        10,
        "768p",
        "minimax/hailuo-2.3/i2v-standard",
        0.56,
        plain,
        true,
        false
    );
    // hailuo-2.3 t2v-pro / i2v-pro (prompt optional): 1080p, fixed duration (no field; "5
    // seconds" vs 6 s, GAP), $0.49 each (…-2.3-t2v-pro, -2.3-i2v-pro).
    add_row(
        v,
        ws,
        "hailuo-2.3-pro",
        t2v,
        6,
        "1080p",
        "minimax/hailuo-2.3/t2v-pro",
        0.49,
        plain,
        false,
        true
    );
    add_row(
        v,
        ws,
        "hailuo-2.3-pro",
        i2v,
        6,
        "1080p",
        "minimax/hailuo-2.3/i2v-pro",
        0.49,
        plain,
        false,
        false
    );
    return v;
}

// AI/ML API (from its documentation source, the aimlapi/api-docs repo): three model ids, the
// resolution as a body field ("768P" default, "1080P"; no 512P, so no hailuo-02-fast), `duration`
// 6 or 10 (10 s only at 768P, MiniMax's own rule), `prompt` always required,
// `image_url` the first frame (required for hailuo-2.3-fast, which is i2v only);
// `enhance_prompt: false` sent explicitly (default true): the prompt is sent verbatim.
// Prices ($1 = 2,000,000 credits, its docs/faq/how-can-i-track-my-funds.md): hailuo-2.3 768P 6 s
// 588,000 credits = $0.294 and hailuo-2.3-fast 399,000 credits = $0.1995 are the documented
// examples (default parameters).
// Everything else is a GAP: WaveSpeed's price for the same model, resolution and duration
// × 1.05 — the mark-up the hailuo-2.3 example shows over WaveSpeed's $0.28 — rounded up
// to the cent. Config `prices:` overrides any of them.
std::vector<offer> aimlapi_offers() {
    const boost::json::object p768{{"resolution", "768P"}, {"enhance_prompt", false}};
    const boost::json::object p1080{{"resolution", "1080P"}, {"enhance_prompt", false}};
    std::vector<offer> v;
    const char* ai = "aimlapi";
    for (const auto m : {mode::t2v, mode::i2v}) {
        // minimax/hailuo-02: GAP. 768P 6 s: priced like the documented hailuo-2.3 768P 6 s
        // ($0.294), not WaveSpeed's 0.23 × 1.05 → $0.25: of two guesses the higher, so that a
        // budget is never undercounted (the simulator bills $0.294 too). 10 s: 0.56 × 1.05 →
        // $0.59; 1080P: 0.49 × 1.05 → $0.52.
        add_row(
            v, ai, "hailuo-02-standard", m, 6, "768p", "minimax/hailuo-02", 0.294, p768, true, true
        );
        add_row(
            v, ai, "hailuo-02-standard", m, 10, "768p", "minimax/hailuo-02", 0.59, p768, true, true
        );
        add_row(
            v, ai, "hailuo-02-pro", m, 6, "1080p", "minimax/hailuo-02", 0.52, p1080, true, true
        );
        // minimax/hailuo-2.3: 768P 6 s $0.294 (documented); 10 s GAP 0.56 × 1.05 → $0.59;
        // 1080P 6 s GAP 0.49 × 1.05 → $0.52.
        add_row(
            v,
            ai,
            "hailuo-2.3-standard",
            m,
            6,
            "768p",
            "minimax/hailuo-2.3",
            0.294,
            p768,
            true,
            true
        );
        add_row(
            v,
            ai,
            "hailuo-2.3-standard",
            m,
            10,
            "768p",
            "minimax/hailuo-2.3",
            0.59,
            p768,
            true,
            true
        );
        add_row(
            v, ai, "hailuo-2.3-pro", m, 6, "1080p", "minimax/hailuo-2.3", 0.52, p1080, true, true
        );
    }
    // minimax/hailuo-2.3-fast, i2v only: 768P 6 s $0.1995 (documented); 10 s GAP 0.32 × 1.05 →
    // $0.34.
    add_row(
        v,
        ai,
        "hailuo-2.3-fast",
        mode::i2v,
        6,
        "768p",
        "minimax/hailuo-2.3-fast",
        0.1995,
        p768,
        true,
        true
    );
    add_row(
        v,
        ai,
        "hailuo-2.3-fast",
        mode::i2v,
        10,
        "768p",
        "minimax/hailuo-2.3-fast",
        0.34,
        p768,
        true,
        true
    );
    return v;
}

// MiniMax's own API (https://platform.minimax.io/docs/api-reference/video-generation-i2v):
// `model` MiniMax-Hailuo-02 / -2.3 / -2.3-Fast, `resolution` 512P / 768P / 1080P, `duration` 6 or
// 10 — 10 s not at 1080P, 512P only on Hailuo-02 and only image-to-video, 2.3-Fast image-to-video
// only; `prompt` required for t2v,
// optional with a first frame (`first_frame_image`). `prompt_optimizer: false` sent explicitly
// (default true): the prompt is sent verbatim.
// Prices: MiniMax's USD matrix is a GAP (none published that we could read). 768P $0.25 (6 s)
// / $0.52 (10 s) are third-party summaries; the other cells scale those by WaveSpeed's ratio for
// the same tier — 512P 6 s 0.25 × 0.10/0.23 → $0.11, 10 s 0.52 × 0.15/0.56 → $0.14; 1080P
// 6 s 0.25 × 0.49/0.23 → $0.54; 2.3-Fast 6 s 0.25 × 0.19/0.28 → $0.17, 10 s 0.52 × 0.32/0.56 →
// $0.30 — rounded up to the cent. All lie inside the CN range ¥0.60–¥4.00 (≈ $0.08–$0.56).
// Hailuo 2.3 is priced as Hailuo 02 (WaveSpeed charges the same for both at 768p 10 s and
// 1080p). Config `prices:` overrides any of them.
std::vector<offer> minimax_offers() {
    const boost::json::object p512{{"resolution", "512P"}, {"prompt_optimizer", false}};
    const boost::json::object p768{{"resolution", "768P"}, {"prompt_optimizer", false}};
    const boost::json::object p1080{{"resolution", "1080P"}, {"prompt_optimizer", false}};
    std::vector<offer> v;
    const char* mm = "minimax";
    const auto i2v = mode::i2v;
    add_row(v, mm, "hailuo-02-fast", i2v, 6, "512p", "MiniMax-Hailuo-02", 0.11, p512, true, false);
    add_row(v, mm, "hailuo-02-fast", i2v, 10, "512p", "MiniMax-Hailuo-02", 0.14, p512, true, false);
    for (const auto m : {mode::t2v, mode::i2v}) {
        const bool prompt_required = m == mode::t2v;
        for (const char* generation : {"02", "2.3"}) {
            const std::string g{generation};
            const std::string model_id = "MiniMax-Hailuo-" + g;
            const std::string standard = "hailuo-" + g + "-standard";
            const std::string pro = "hailuo-" + g + "-pro";
            add_row(
                v,
                mm,
                standard.c_str(),
                m,
                6,
                "768p",
                model_id.c_str(),
                0.25,
                p768,
                true,
                prompt_required
            );
            add_row(
                v,
                mm,
                standard.c_str(),
                m,
                10,
                "768p",
                model_id.c_str(),
                0.52,
                p768,
                true,
                prompt_required
            );
            add_row(
                v,
                mm,
                pro.c_str(),
                m,
                6,
                "1080p",
                model_id.c_str(),
                0.54,
                p1080,
                true,
                prompt_required
            );
        }
    }
    add_row(
        v, mm, "hailuo-2.3-fast", i2v, 6, "768p", "MiniMax-Hailuo-2.3-Fast", 0.17, p768, true, false
    );
    add_row(
        v,
        mm,
        "hailuo-2.3-fast",
        i2v,
        10,
        "768p",
        "MiniMax-Hailuo-2.3-Fast",
        0.30,
        p768,
        true,
        false
    );
    return v;
}

// Why a provider has no row for a model at all (catalog::why_not quotes it).
struct absence {
    std::string_view provider;
    std::string_view model;
    std::string_view reason;
};

constexpr absence absences[] = {
    {"aimlapi",
     "hailuo-02-fast",
     "AI/ML API renders Hailuo at 768P or 1080P only, and hailuo-02-fast is 512p"},
};

std::vector<offer> builtin_offers() {
    std::vector<offer> v = atlas_offers();
    for (auto more : {wavespeed_offers(), aimlapi_offers(), minimax_offers()}) {
        v.insert(v.end(), more.begin(), more.end());
    }
    return v;
}

}  // namespace

std::string_view to_string(mode m) {
    return m == mode::t2v ? "t2v" : "i2v";
}

catalog::catalog(std::vector<offer> offers) : offers_(std::move(offers)) {}

const catalog& catalog::builtin() {
    static const catalog instance{builtin_offers()};
    return instance;
}

std::vector<offer> catalog::find(
    std::string_view model, mode m, int duration, std::string_view provider
) const {
    std::vector<offer> out;
    for (const auto& o : offers_) {
        if (o.model == model && o.m == m && o.duration == duration &&
            (provider.empty() || o.provider == provider)) {
            out.push_back(o);
        }
    }
    return out;
}

std::string catalog::why_not(
    std::string_view model, mode m, int duration, std::string_view provider
) const {
    if (!find(model, m, duration, provider).empty()) {
        return {};
    }
    const std::string name{model};
    if (!has_model(model)) {
        return "unknown model '" + name + "'; known: " + join(models(), ", ");
    }
    if (!provider.empty() && !has_provider(provider)) {
        return "unknown provider '" + std::string{provider} +
               "'; known: " + join(providers(), ", ");
    }
    std::vector<const offer*> candidates;
    std::vector<std::string> served_by;
    for (const auto& o : offers_) {
        if (o.model == model) {
            add_unique(served_by, o.provider);
            if (provider.empty() || o.provider == provider) {
                candidates.push_back(&o);
            }
        }
    }
    const std::string on = provider.empty() ? "" : " on " + std::string{provider};
    if (candidates.empty()) {
        std::sort(served_by.begin(), served_by.end());
        std::string reason;
        for (const auto& a : absences) {
            if (a.provider == provider && a.model == model) {
                reason = ": " + std::string{a.reason};
            }
        }
        return "provider '" + std::string{provider} + "' does not serve " + name + reason +
               " (served by: " + join(served_by, ", ") + ")";
    }
    std::vector<int> durations;
    std::string resolution;
    for (const auto* o : candidates) {
        if (o->m == m) {
            if (std::find(durations.begin(), durations.end(), o->duration) == durations.end()) {
                durations.push_back(o->duration);
            }
            resolution = o->resolution;
        }
    }
    if (durations.empty()) {
        return m == mode::t2v ? name + " needs a first-frame image (image-to-video only" + on + ")"
                              : name + " is text-to-video only" + on + "; remove the image";
    }
    std::sort(durations.begin(), durations.end());
    if (durations.size() == 1) {
        return name + " only renders " + std::to_string(durations.front()) + " s (" + resolution +
               ")" + on + ", not " + std::to_string(duration) + " s";
    }
    std::string list;
    for (std::size_t i = 0; i < durations.size(); ++i) {
        list += (i == 0 ? "" : (i + 1 == durations.size() ? " or " : ", ")) +
                std::to_string(durations[i]);
    }
    return name + " renders " + list + " s" + on + ", not " + std::to_string(duration) + " s";
}

bool catalog::has_model(std::string_view model) const {
    return std::any_of(offers_.begin(), offers_.end(), [&](const offer& o) {
        return o.model == model;
    });
}

bool catalog::has_provider(std::string_view provider) const {
    return std::any_of(offers_.begin(), offers_.end(), [&](const offer& o) {
        return o.provider == provider;
    });
}

std::vector<std::string> catalog::models() const {
    std::vector<std::string> out;
    for (const auto& o : offers_) {
        add_unique(out, o.model);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> catalog::providers() const {
    std::vector<std::string> out;
    for (const auto& o : offers_) {
        add_unique(out, o.provider);
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool catalog::has_provider_model(std::string_view provider, std::string_view provider_model) const {
    return std::any_of(offers_.begin(), offers_.end(), [&](const offer& o) {
        return o.provider == provider && o.provider_model == provider_model;
    });
}

bool catalog::prompt_required(std::string_view model, mode m, std::string_view provider) const {
    return std::any_of(offers_.begin(), offers_.end(), [&](const offer& o) {
        return o.model == model && o.m == m && (provider.empty() || o.provider == provider) &&
               o.prompt_required;
    });
}

void catalog::override_price(
    std::string_view provider, std::string_view provider_model, double usd
) {
    override_price(provider, provider_model, 0, usd);
}

void catalog::override_price(
    std::string_view provider, std::string_view provider_model, int duration, double usd
) {
    if (!(usd > 0)) {
        throw std::invalid_argument("price must be > 0");
    }
    bool found = false;
    for (auto& o : offers_) {
        if (o.provider == provider && o.provider_model == provider_model &&
            (duration == 0 || o.duration == duration)) {
            o.price_usd = usd;
            found = true;
        }
    }
    if (!found) {
        throw std::invalid_argument(
            "no offer of provider '" + std::string{provider} + "' uses model '" +
            std::string{provider_model} + "'" +
            (duration == 0 ? "" : " at " + std::to_string(duration) + " s")
        );
    }
}

std::string catalog::price_key(const offer& o) {
    std::string key = o.provider + "/" + o.provider_model;
    if (const auto* r = o.extra_params.if_contains("resolution"); r != nullptr && r->is_string()) {
        key += ":" + std::string{r->get_string()};
    }
    return key;
}

std::vector<std::string> catalog::price_keys() const {
    std::vector<std::string> out;
    for (const auto& o : offers_) {
        add_unique(out, price_key(o));
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool catalog::has_price_key(std::string_view key, int duration) const {
    return std::any_of(offers_.begin(), offers_.end(), [&](const offer& o) {
        return price_key(o) == key && (duration == 0 || o.duration == duration);
    });
}

void catalog::override_price_key(std::string_view key, int duration, double usd) {
    if (!(usd > 0)) {
        throw std::invalid_argument("price must be > 0");
    }
    bool found = false;
    for (auto& o : offers_) {
        if (price_key(o) == key && (duration == 0 || o.duration == duration)) {
            o.price_usd = usd;
            found = true;
        }
    }
    if (!found) {
        throw std::invalid_argument(
            "no offer has the price key '" + std::string{key} + "'" +
            (duration == 0 ? "" : " at " + std::to_string(duration) + " s")
        );
    }
}

bool catalog::has_provider_model(
    std::string_view provider, std::string_view provider_model, int duration
) const {
    return std::any_of(offers_.begin(), offers_.end(), [&](const offer& o) {
        return o.provider == provider && o.provider_model == provider_model &&
               o.duration == duration;
    });
}

std::string canonical_provider(std::string_view name) {
    if (name == "atlascloud") {
        return "atlas";
    }
    return std::string(name);
}

const std::vector<std::string>& provider_aliases() {
    static const std::vector<std::string> aliases{"atlascloud"};
    return aliases;
}

}  // namespace shotfarm::providers
