// Shot lists (YAML): a project, optional defaults and the shots to render. load_shotlist()
// checks everything that can be checked before money is spent — ids, types, unknown keys,
// model/mode/duration/resolution against the catalog, first-frame images (format, size,
// aspect), pins against the config — and reports every problem as `file:line:col: message`.
// Format: docs/shotlist.md and schemas/shotlist.schema.json.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/config.hpp"
#include "jobs/diagnostic.hpp"
#include "providers/image_limits.hpp"

namespace shotfarm::jobs {

struct shot {
    std::string id;                    // [A-Za-z0-9][A-Za-z0-9._-]{0,127}; unique within the list
    std::string prompt;                // trimmed; non-empty unless the model allows empty prompts
    std::optional<std::string> image;  // as written: local path or https URL
    std::optional<std::filesystem::path> image_path;  // resolved local path (absolute)
    std::string model = "hailuo-02-standard";         // provider-neutral id
    int duration = 6;                                 // seconds
    std::optional<std::string> resolution;            // after loading: what the model/tier renders
    int takes = 1;                                    // 1..20
    std::optional<std::string> provider;              // optional pin: provider name
    std::optional<std::string> account;               // optional pin: account name
    int priority = 0;                                 // higher renders first
    int line = 0, col = 0;  // where the shot starts, for later diagnostics
    // SHA-256 hex over the normalized spec: project and shot id, prompt, image (bytes' SHA-256
    // for local files, the URL otherwise), model, duration, resolution, takes, pins. Not the
    // priority, and not where a local image lives.
    std::string spec_hash;
};

struct shot_list {
    std::filesystem::path file;  // absolute
    std::string project;
    int priority = 0;                  // the batch's; a shot without its own priority takes it
    std::optional<double> budget_usd;  // the batch's cap over all its attempts; absent = none
    std::vector<shot> shots;
};

struct shotlist_result {
    std::optional<shot_list> list;  // set only when `errors` is empty
    diagnostics errors;             // sorted by position
};

/// `config` (may be null) lets validation check pins and that some configured account's
/// provider serves each shot; with nullptr only provider-independent checks and "some provider
/// in the catalog serves it" are done (`shotfarm validate SHOTLIST` without a config).
/// Never throws for bad input.
shotlist_result load_shotlist(
    const std::filesystem::path& file, const app_config* config = nullptr
);

/// The database refused to ingest `list` with SQLSTATE `sqlstate` although it had passed
/// load_shotlist (validation should catch everything first; this is the net under it). Returns
/// the refusal in the user's words, never the database's message: `file:line:col: shot 'X':
/// <what is wrong with it>; the database refused it (<plain reason>), nothing was stored`, at
/// the shot whose values explain it, or one file-level diagnostic when no shot does.
diagnostics explain_ingest_refusal(const shot_list& list, std::string_view sqlstate);

/// SQLSTATE class 22 (data exception) or 23 (integrity constraint violation): the database
/// refused the values, not the connection; explain_ingest_refusal() puts it in plain words.
bool is_data_refusal(std::string_view sqlstate);

/// Limits enforced by load_shotlist.
inline constexpr std::uintmax_t max_shotlist_bytes = 8u << 20;
/// "20MB" (Atlas): the same cap the adapters apply when they read the image again at submit.
inline constexpr std::uintmax_t max_image_bytes = providers::max_image_bytes;
inline constexpr std::uint32_t min_image_short_side = 301;  // "greater than 300px"
inline constexpr int max_takes = 20;

}  // namespace shotfarm::jobs
