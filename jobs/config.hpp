// The daemon's configuration file (YAML): accounts and their keys, directories, database,
// listen address, retry/poll knobs, price overrides. load_config() validates everything and
// reports every problem as `file:line:col: key.path: message`; see docs/config.md and
// schemas/config.schema.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/mark.h>

#include "jobs/diagnostic.hpp"
#include "providers/catalog.hpp"

namespace shotfarm::jobs {

struct account_config {
    std::string name;            // [A-Za-z0-9][A-Za-z0-9._-]{0,63}, unique
    std::string provider;        // "atlas" (also written "atlascloud"), "wavespeed", "aimlapi",
                                 // "minimax"
    std::string base_url;        // default per provider, e.g. https://api.atlascloud.ai
    std::string api_key;         // the secret itself, read from api_key_env or api_key_file
    std::string api_key_source;  // "env ATLAS_KEY_A" / "file /path" — for messages, never the key
    int max_concurrency = 2;     // generations in flight, >= 1
    int requests_per_minute = 60;  // every API call (submits, polls, uploads), >= 1
    int submits_per_minute = 0;    // generations started; 0 = the provider default (MiniMax 5,
                                   // others = requests_per_minute)
    std::optional<double> budget_usd_per_day;  // UTC day; absent = no cap
    // Extra origins ("https://cdn.example.com", "http://10.1.2.3:8080") the account's video URLs
    // may point at besides public https hosts and the base_url's own origin; normalized to
    // scheme://host:port (lower-case, explicit port).
    std::vector<std::string> download_hosts;
    // Provider push (docs/webhooks.md). `webhooks: true` asks the provider to POST the job's
    // outcome to public_url + webhook_path(); polling goes on as a slower safety net. Atlas,
    // WaveSpeed and MiniMax only (AI/ML API has no webhooks).
    bool webhooks = false;
    // WaveSpeed: the account's webhook secret ("whsec_…"), read from webhook_secret_env or
    // webhook_secret_file like the API key; a secret, never logged or formatted. Empty for the
    // other providers, and when the config was loaded without reading keys.
    std::string webhook_secret;
    std::string webhook_secret_source;  // "env WS_HOOK" / "file /path" — never the secret
    // Atlas: where its webhook signing keys (a JWKS) are fetched; default
    // https://api.atlascloud.ai/api/v1/webhooks/jwks.json, or base_url + /api/v1/webhooks/jwks.json
    // when base_url is a loopback host (the simulator). Empty for the other providers.
    std::string webhook_jwks_url;

    /// submits_per_minute with the provider default applied.
    int submit_rate() const;
    /// The daemon's route for this account's webhooks: "/webhooks/<name>" (fixed).
    std::string webhook_path() const { return "/webhooks/" + name; }
};

struct app_config {
    std::filesystem::path file;       // the config file itself
    std::filesystem::path state_dir;  // relative paths resolve against the config file's folder
    std::filesystem::path output_dir;
    std::optional<std::string> database_url;  // database: {url: ...}
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 9464;  // listen: "host:port"; port 0 = pick a free port
    int listen_max_connections = 64;   // open connections to /metrics etc.; the excess refused
    std::vector<account_config> accounts;
    int max_attempts = 3;              // paid submissions per job (issue 4)
    std::optional<double> budget_usd;  // global cap over every batch; absent = none
    std::string strategy = "fastest";  // "fastest" | "cheapest"
    // Prior for each model's generation time (provider-neutral id -> seconds), the first poll
    // waits for it until the median of real ones is learned (kept in the database).
    std::vector<std::pair<std::string, double>> generation_prior_s;
    std::string ambiguous_policy = "resubmit";  // `ambiguous:` "resubmit" | "hold"
    double shutdown_grace_s = 20;  // SIGTERM: how long requests in flight get to finish
    int lease_ttl_s = 30;  // a claimed job's lease; a dead daemon's jobs wait this long at most
    double poll_interval_s = 0.25;      // the closest two polls of one job may be
    double max_poll_interval_s = 30.0;  // the furthest apart
    // Polls per job the planner aims at (expected, under the learned distribution); fewer when
    // an account's requests_per_minute cannot afford them, twice it for the last jobs.
    double polls_per_job = 10.0;
    std::uint64_t max_download_bytes = 512ull << 20;
    // "prices:" — key a catalog price key (providers::catalog::price_key: "<provider>/<provider
    // model>", plus ":<resolution>" where the resolution is a body field, e.g.
    // "atlas/minimax/hailuo-02/fast", "minimax/MiniMax-Hailuo-02:768P") for every duration, or
    // "<price key>@<seconds>" (e.g. ".../fast@10") for one; value USD per generation; validated
    // against the catalog. Apply with make_catalog().
    std::vector<std::pair<std::string, double>> price_overrides;
    // The https URL (no trailing '/') under which the providers reach this daemon's webhook
    // routes through the studio's reverse proxy; needed by every account with webhooks.
    std::optional<std::string> public_url;
};

struct config_result {
    std::optional<app_config> config;  // set only when `errors` is empty
    diagnostics errors;
};

/// Reads and validates a config file; never throws for bad input (I/O errors included).
/// `read_keys` false: the accounts' key sources are checked for form only and no secret is
/// read (operator commands such as `shotfarm status` need none).
config_result load_config(const std::filesystem::path& file, bool read_keys = true);

/// The built-in catalog with the config's price overrides applied.
providers::catalog make_catalog(const app_config& config);

/// The prior for a model's generation time in seconds: the config's `generation_prior_s`, else
/// the providers' typical figures.
double generation_prior_s(const app_config& config, std::string_view model);

/// The URL the provider should push `account`'s outcomes to — public_url + webhook_path() — or
/// nullopt when the account has no webhooks (or the config no public_url).
std::optional<std::string> webhook_url(const app_config& config, const account_config& account);

/// The default base URL of a provider ("" for an unknown provider).
std::string_view default_base_url(std::string_view provider);

/// True for [A-Za-z0-9][A-Za-z0-9._-]{0,max_len-1} (project, shot and account names).
bool is_valid_id(std::string_view s, std::size_t max_len);

/// What PostgreSQL (a UTF8 database) or a provider would refuse in a text value, in plain words
/// ("contains a NUL character (at character 12)", "is not valid UTF-8 (at byte 40)", "contains
/// the control character U+001B (at character 3)"); nullopt when it is fine. Control
/// characters are C0, DEL and C1; `multiline` lets tab, newline and carriage return through
/// (prompts), otherwise they are refused too (ids, paths, URLs).
std::optional<std::string> text_problem(std::string_view s, bool multiline);

namespace detail {

/// One YAML node as the loaders keep it: some 80 bytes plus its text, built straight from the
/// parser's events (yaml-cpp's own node trees cost several hundred bytes a node, which made an
/// 8 MiB shot list need 800 MB).
struct yaml_data {
    enum class kind : std::uint8_t { null, scalar, sequence, map };
    kind k = kind::null;
    bool plain = true;  // a plain scalar (typed by its text), not quoted or a block scalar
    int line = 0;       // 0-based, as YAML::Mark
    int col = 0;
    std::string scalar;
    std::vector<yaml_data> children;  // a map's keys and values alternate: k0, v0, k1, v1, ...
    std::size_t streamed = 0;         // a sequence's items handed to a callback, not kept
};

/// A read-only handle on a yaml_data, with the subset of YAML::Node's interface the loaders
/// use. A default-constructed handle is "undefined" (a missing key): false in a condition.
class yaml_node {
public:
    yaml_node() = default;
    explicit yaml_node(const yaml_data* d) : d_(d) {}

    explicit operator bool() const { return d_ != nullptr; }
    bool IsNull() const { return d_ != nullptr && d_->k == yaml_data::kind::null; }
    bool IsScalar() const { return d_ != nullptr && d_->k == yaml_data::kind::scalar; }
    bool IsSequence() const { return d_ != nullptr && d_->k == yaml_data::kind::sequence; }
    bool IsMap() const { return d_ != nullptr && d_->k == yaml_data::kind::map; }
    /// A plain scalar, typed by its text (`42` is an integer, `"42"` a string).
    bool IsPlain() const { return d_ != nullptr && d_->plain; }
    const std::string& Scalar() const;
    YAML::Mark Mark() const;
    /// Items of a sequence (streamed ones included), pairs of a map, else 0.
    std::size_t size() const;
    yaml_node operator[](std::size_t i) const;
    yaml_node operator[](std::string_view key) const;

    class iterator {
    public:
        explicit iterator(const yaml_data* at) : at_(at) {}
        struct yaml_pair operator*() const;
        iterator& operator++() {
            at_ += 2;
            return *this;
        }
        bool operator!=(const iterator& o) const { return at_ != o.at_; }

    private:
        const yaml_data* at_;
    };
    /// A map's key/value pairs (nothing for other nodes).
    iterator begin() const;
    iterator end() const;

private:
    const yaml_data* d_ = nullptr;
};

/// A map entry as iteration yields it: `for (const auto& kv : map)` → kv.first, kv.second.
struct yaml_pair {
    yaml_node first;
    yaml_node second;
};

inline yaml_pair yaml_node::iterator::operator*() const {
    return {yaml_node(at_), yaml_node(at_ + 1)};
}

/// Shared YAML plumbing for the config and shot-list loaders (implemented in config.cpp).
/// Reading refuses, before building any tree, what could hurt the daemon or silently mean
/// something else: files over `max_bytes`, anchors/aliases (alias bombs, cycles), nesting
/// deeper than 64, more than one document, duplicate keys, non-scalar keys, explicit tags.
/// Scalars are typed the way JSON Schema sees YAML: plain `42` is an integer, `"42"` a string.
class yaml_reader {
public:
    yaml_reader(std::string display_file, diagnostics& errors);

    /// Config files: no diagnostic quotes a value or key name unless it is a plain word
    /// ([a-z_], at most 40 characters), since a pasted API key could be anywhere.
    void redact_values(bool on) { redact_ = on; }
    /// Whether `s` may appear in a diagnostic.
    bool shows(std::string_view s) const;
    /// 's' with control characters and invalid UTF-8 escaped as \xNN, cut at 80 characters
    /// ("..." appended); in redacting mode "(not shown)" unless shows(s).
    std::string quote(std::string_view s) const;

    /// Parses `path`; false (with diagnostics) on any problem, else root() is the document.
    /// With `streamed_key`, the items of the root map's list under that key are left out of
    /// the tree (root()[streamed_key] is an empty sequence whose size() counts them): stream()
    /// hands them over one at a time, so a long list never is in memory as a whole.
    bool load(
        const std::filesystem::path& path,
        std::uintmax_t max_bytes,
        std::string_view streamed_key = {}
    );
    yaml_node root() const { return yaml_node(root_.get()); }
    /// Calls `each(index, item)` for every item left out by load(); each item's tree is freed
    /// after its call.
    void stream(const std::function<void(std::size_t, yaml_node)>& each);

    void error(const yaml_node& at, std::string_view key, std::string_view message);
    void error(const YAML::Mark& at, std::string_view key, std::string_view message);

    /// Each getter records "key: expected ..." and returns nullopt on a type mismatch.
    std::optional<std::string> string(const yaml_node& n, std::string_view key);
    std::optional<std::int64_t> integer(const yaml_node& n, std::string_view key);
    std::optional<double> number(const yaml_node& n, std::string_view key);
    bool is_map(const yaml_node& n, std::string_view key);
    bool is_sequence(const yaml_node& n, std::string_view key);
    /// Reports every key of `map` not in `known`, with a "did you mean" hint. With
    /// `secret_hint`, an unknown key whose name suggests a secret (key, token, secret,
    /// password, ...) is reported as "<key>.<name>: unknown key; <secret_hint>".
    void check_keys(
        const yaml_node& map,
        std::string_view key,
        const std::vector<std::string_view>& known,
        std::string_view secret_hint = {}
    );
    /// "what YAML would call it": "a string", "an integer", "a list", ...
    static std::string describe(const yaml_node& n);

    const std::string& file() const { return file_; }
    diagnostics& errors() { return errors_; }

private:
    std::string file_;
    diagnostics& errors_;
    bool redact_ = false;
    std::string text_;  // the file, kept between load() and stream()
    std::string streamed_key_;
    std::unique_ptr<yaml_data> root_;
};

/// Joins a key path: ("shots[2]", "image") -> "shots[2].image"; ("", "project") -> "project".
std::string key_path(std::string_view parent, std::string_view child);

/// Length of the valid UTF-8 sequence at s[i] (1..4); 0 when the bytes there are not UTF-8
/// (overlong forms, surrogates and truncated sequences included).
std::size_t utf8_sequence(std::string_view s, std::size_t i);

/// `s` fit for a terminal: control characters and bytes that are not UTF-8 escaped as \xNN,
/// cut after `max_chars` characters ("..." appended).
std::string printable(std::string_view s, std::size_t max_chars = 80);

}  // namespace detail
}  // namespace shotfarm::jobs
