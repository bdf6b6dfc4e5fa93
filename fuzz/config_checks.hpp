// The scratch setup and invariants shared by the two config targets (fuzz_config on whole
// files, fuzz_config_base_url on one account's base_url and download host).
#pragma once

#include <filesystem>
#include <string_view>

#include "jobs/config.hpp"

namespace shotfarm::fuzz {

/// The secrets a config may reference: $SHOTFARM_FUZZ_KEY, and key.txt (mode 0600) in the
/// scratch folder. Also writes open.key (mode 0644) and empty.key for the refusals.
inline constexpr std::string_view env_key = "sk-fuzz-env-6c0a1f93d2b84e57";
inline constexpr std::string_view file_key = "sk-fuzz-file-a94e20b7c13d5f68";
void stock_keys();

/// Loads `file` with and without reading keys and checks, whatever its content: no error
/// message ever holds a secret (the redaction the loader promises, even for a key pasted into
/// the wrong field); a config comes back exactly when there are no errors; and an accepted
/// config is one the daemon can start with: its listen address is an IP, every base_url is
/// https (or http to a loopback host), parses as the HTTP client parses URLs and builds the
/// account's download policy together with its download_hosts.
void load_and_check_config(const std::filesystem::path& file);

}  // namespace shotfarm::fuzz
