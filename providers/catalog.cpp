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

// Atlas Cloud. Atlas publishes no `resolution` field for Hailuo: the tier implies it (fast 512p,
// standard 768p, pro 1080p for Hailuo 02), and Atlas proxies WaveSpeed's implementations of the
// same model ids, so WaveSpeed's per-model facts stand in where Atlas is silent
// (PROVIDERS.md §1.2, §1.14, §2.3). Every submit sends `enable_prompt_expansion: false`
// explicitly (several 2.3 models default it to true): the studio's prompt is sent verbatim.
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
    // $0.10 "per run": https://www.atlascloud.ai/models/minimax/hailuo-02/fast (§1.12);
    // 6 s $0.10 / 10 s $0.15: WaveSpeed minimax-hailuo-02-fast page (§2.10) and third-party
    // credit tables on Atlas routes (§1.12).
    row("hailuo-02-fast", mode::i2v, 6, "512p", "minimax/hailuo-02/fast", 0.10, fast, true, false);
    row("hailuo-02-fast", mode::i2v, 10, "512p", "minimax/hailuo-02/fast", 0.15, fast, true, false);

    // Hailuo 02 Standard, 768p, {6,10} s. Per mode the dedicated model (t2v-standard /
    // i2v-standard) rather than the combined `standard`, whose Atlas node requires an image.
    // $0.23 "per run": https://www.atlascloud.ai/zh/models/minimax/hailuo-02/standard (§1.12);
    // 10 s $0.56: WaveSpeed -standard/-i2v-standard/-t2v-standard pages (§2.10) and third-party
    // Atlas credit tables (§1.12). Atlas's i2v-standard schema marks `prompt` required.
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
    // t2v-pro has no published price. $0.48 per run on WaveSpeed minimax-hailuo-02-pro (§2.10),
    // the one first-party price for this model id; third-party Atlas credit tables say
    // $0.48–0.49 (§1.12).
    // I2V: `minimax/hailuo-02/i2v-pro` (no duration field), $0.49 per generation on WaveSpeed
    // minimax-hailuo-02-i2v-pro (§2.10); Atlas price GAP.
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
    // 6 s $0.19 "per run": https://www.atlascloud.ai/models/minimax/hailuo-2.3/fast (§1.12);
    // 10 s $0.32: WaveSpeed minimax-hailuo-2.3-fast (§2.10), Atlas GAP.
    row("hailuo-2.3-fast", mode::i2v, 6, "768p", "minimax/hailuo-2.3/fast", 0.19, fast, true, false
    );
    row("hailuo-2.3-fast", mode::i2v, 10, "768p", "minimax/hailuo-2.3/fast", 0.32, fast, true, false
    );

    // Hailuo 2.3 Standard, 768p (one page version says 1080p: GAP), {6,10} s.
    // T2V 6 s $0.28: https://www.atlascloud.ai/models/minimax/hailuo-2.3/t2v-standard/llms.txt
    // ("per second" there is a template error, §1.12; WaveSpeed charges $0.23: Atlas's own used);
    // 10 s $0.56: WaveSpeed minimax-hailuo-2.3-t2v-standard (§2.10), Atlas GAP.
    // I2V 6 s $0.28 / 10 s $0.56: WaveSpeed minimax-hailuo-2.3-i2v-standard (§2.10), Atlas GAP.
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
    // T2V $0.49: https://www.atlascloud.ai/zh/models/minimax/hailuo-2.3/t2v-pro/llms.txt (§1.12).
    // I2V $0.49: WaveSpeed minimax-hailuo-2.3-i2v-pro (§2.10), Atlas GAP; prompt optional.
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

}  // namespace

std::string_view to_string(mode m) {
    return m == mode::t2v ? "t2v" : "i2v";
}

catalog::catalog(std::vector<offer> offers) : offers_(std::move(offers)) {}

const catalog& catalog::builtin() {
    static const catalog instance{atlas_offers()};
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
        return "provider '" + std::string{provider} + "' does not serve " + name +
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
