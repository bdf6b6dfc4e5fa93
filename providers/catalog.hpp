// The model catalog: which provider serves which Hailuo model, in which mode, for how many
// seconds, at which resolution and price, under which provider model id. ONE table (in
// catalog.cpp); shot-list validation and the scheduler both read it, so a combination the
// provider would reject is refused before anything is paid.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace shotfarm::providers {

/// The catalog's name for a provider written in a config or shot list: `atlascloud` (the name
/// later contracts use) is accepted for `atlas`. Other names are returned unchanged.
std::string canonical_provider(std::string_view name);
/// Accepted alternative spellings of provider names (see canonical_provider).
const std::vector<std::string>& provider_aliases();

/// Text-to-video (prompt only) or image-to-video (first-frame image + optional prompt).
enum class mode { t2v, i2v };

/// "t2v" / "i2v".
std::string_view to_string(mode m);

/// One thing a provider sells: a neutral model id in one mode at one duration.
struct offer {
    std::string provider;  // "atlas" | "wavespeed" | "aimlapi" | "minimax"
    std::string model;     // neutral id, e.g. "hailuo-02-standard"
    mode m = mode::t2v;
    int duration = 6;                  // seconds
    std::string resolution;            // "512p" | "768p" | "1080p" (implied by the tier)
    std::string provider_model;        // e.g. "minimax/hailuo-02/i2v-standard"
    double price_usd = 0;              // per generation
    boost::json::object extra_params;  // sent verbatim in the submit body
    bool duration_param = true;        // whether the provider model takes a `duration` field
    bool prompt_required = true;       // false: the prompt may be empty (some I2V models)
};

/// Immutable after construction except for price overrides. Copy builtin() to override.
class catalog {
public:
    explicit catalog(std::vector<offer> offers);

    /// The table compiled into shotfarm (see catalog.cpp for the source of every row).
    static const catalog& builtin();

    /// All offers for (model, mode, duration); empty if none. `provider` empty = any provider.
    std::vector<offer> find(
        std::string_view model, mode m, int duration, std::string_view provider = {}
    ) const;

    /// Why find() returns nothing for this combination, as one readable sentence (e.g.
    /// "hailuo-02-fast needs a first-frame image (image-to-video only)"); empty when find()
    /// would return something.
    std::string why_not(
        std::string_view model, mode m, int duration, std::string_view provider = {}
    ) const;

    const std::vector<offer>& all() const { return offers_; }

    bool has_model(std::string_view model) const;
    bool has_provider(std::string_view provider) const;
    /// Sorted, unique neutral model ids / provider names.
    std::vector<std::string> models() const;
    std::vector<std::string> providers() const;
    /// Whether some offer of `provider` uses this provider model id.
    bool has_provider_model(std::string_view provider, std::string_view provider_model) const;
    /// Whether some offer of `model` in mode `m` (on `provider`, if given) requires a prompt —
    /// then an empty prompt is refused, whichever of those offers would get the job.
    bool prompt_required(std::string_view model, mode m, std::string_view provider = {}) const;

    /// Sets the price of every offer of `provider` that uses `provider_model`.
    /// Throws std::invalid_argument when there is none or the price is not > 0.
    void override_price(std::string_view provider, std::string_view provider_model, double usd);
    /// The same, for the offers of one duration only (seconds).
    void override_price(
        std::string_view provider, std::string_view provider_model, int duration, double usd
    );
    /// Whether some offer of `provider` uses this provider model id at `duration` seconds.
    bool has_provider_model(
        std::string_view provider, std::string_view provider_model, int duration
    ) const;

    /// The name a config's `prices:` uses for an offer: "<provider>/<provider model>", plus
    /// ":<resolution>" when the resolution is a body field (extra_params "resolution") rather
    /// than implied by the model id — e.g. "atlas/minimax/hailuo-02/fast",
    /// "aimlapi/minimax/hailuo-02:1080P", "minimax/MiniMax-Hailuo-02:512P".
    static std::string price_key(const offer& o);
    /// Sorted, unique price keys of all offers.
    std::vector<std::string> price_keys() const;
    /// Whether some offer has this price key (at `duration` seconds; 0 = any duration).
    bool has_price_key(std::string_view key, int duration = 0) const;
    /// Sets the price of every offer with this price key (at `duration` seconds; 0 = every
    /// duration). Throws std::invalid_argument when there is none or the price is not > 0.
    void override_price_key(std::string_view key, int duration, double usd);

    /// Prompt length limit, in Unicode code points (Atlas: "Maximum support 2000 characters").
    static constexpr std::size_t max_prompt_chars = 2000;

private:
    std::vector<offer> offers_;
};

}  // namespace shotfarm::providers
