// The daemon's configuration file (YAML): accounts and their keys, directories, database,
// listen address, retry/poll knobs, price overrides. load_config() validates everything and
// reports every problem as `file:line:col: key.path: message`; see docs/config.md and
// schemas/config.schema.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jobs/diagnostic.hpp"
#include "providers/catalog.hpp"

namespace YAML {
class Node;
struct Mark;
}  // namespace YAML

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

    /// submits_per_minute with the provider default applied.
    int submit_rate() const;
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
    double poll_interval_s = 5.0;  // first/base poll interval (tests set it small)
    double max_poll_interval_s = 30.0;
    std::uint64_t max_download_bytes = 512ull << 20;
    // "prices:" — key a catalog price key (providers::catalog::price_key: "<provider>/<provider
    // model>", plus ":<resolution>" where the resolution is a body field, e.g.
    // "atlas/minimax/hailuo-02/fast", "minimax/MiniMax-Hailuo-02:768P") for every duration, or
    // "<price key>@<seconds>" (e.g. ".../fast@10") for one; value USD per generation; validated
    // against the catalog. Apply with make_catalog().
    std::vector<std::pair<std::string, double>> price_overrides;
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

/// The default base URL of a provider ("" for an unknown provider).
std::string_view default_base_url(std::string_view provider);

/// True for [A-Za-z0-9][A-Za-z0-9._-]{0,max_len-1} (project, shot and account names).
bool is_valid_id(std::string_view s, std::size_t max_len);

namespace detail {

/// Shared YAML plumbing for the config and shot-list loaders (implemented in config.cpp).
/// Reading refuses, before building any tree, what could hurt the daemon or silently mean
/// something else: files over `max_bytes`, anchors/aliases (alias bombs, cycles), nesting
/// deeper than 64, more than one document, duplicate keys, non-scalar keys, explicit tags.
/// Scalars are typed the way JSON Schema sees YAML: plain `42` is an integer, `"42"` a string.
class yaml_reader {
public:
    yaml_reader(std::string display_file, diagnostics& errors);

    /// Parses `path` into `root`; false (with diagnostics) on any problem.
    bool load(const std::filesystem::path& path, std::uintmax_t max_bytes, YAML::Node& root);

    void error(const YAML::Node& at, std::string_view key, std::string_view message);
    void error(const YAML::Mark& at, std::string_view key, std::string_view message);

    /// Each getter records "key: expected ..." and returns nullopt on a type mismatch.
    std::optional<std::string> string(const YAML::Node& n, std::string_view key);
    std::optional<std::int64_t> integer(const YAML::Node& n, std::string_view key);
    std::optional<double> number(const YAML::Node& n, std::string_view key);
    bool is_map(const YAML::Node& n, std::string_view key);
    bool is_sequence(const YAML::Node& n, std::string_view key);
    /// Reports every key of `map` not in `known`, with a "did you mean" hint.
    void check_keys(
        const YAML::Node& map, std::string_view key, const std::vector<std::string_view>& known
    );
    /// "what YAML would call it": "a string", "an integer", "a list", ...
    static std::string describe(const YAML::Node& n);

    const std::string& file() const { return file_; }
    diagnostics& errors() { return errors_; }

private:
    std::string file_;
    diagnostics& errors_;
};

/// Joins a key path: ("shots[2]", "image") -> "shots[2].image"; ("", "project") -> "project".
std::string key_path(std::string_view parent, std::string_view child);

}  // namespace detail
}  // namespace shotfarm::jobs
