// The shotfarm subcommands. Each returns the process exit code:
// 0 success, 1 some job failed (or the run stopped early), 2 bad input or config.
#pragma once

#include <filesystem>
#include <optional>

namespace shotfarm::daemon {

int validate_command(
    const std::filesystem::path& shotlist, const std::optional<std::filesystem::path>& config
);

struct run_args {
    std::filesystem::path config;
    std::filesystem::path shotlist;
    bool quiet = false;  ///< no progress lines
};
int run_command(const run_args& args);

int models_command();

}  // namespace shotfarm::daemon
