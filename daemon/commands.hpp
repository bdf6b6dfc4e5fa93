// The shotfarm subcommands. Each returns the process exit code:
// 0 success, 1 some job failed (or the run stopped early), 2 bad input or config.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

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

/// `shotfarm daemon`: works on every batch in the database until SIGTERM (exit 0).
int daemon_command(const std::filesystem::path& config);

// ---- operate.cpp: the operator's commands, on the database the config names ----

/// `shotfarm submit`: validates and stores a shot list as a batch (exit 0 once stored; a
/// running daemon picks it up). Exit 2 for a bad list or a conflict with what is stored.
int submit_command(const std::filesystem::path& config, const std::filesystem::path& shotlist);
/// `shotfarm status [--json]`: batches, jobs by state, spend, budgets, accounts, daemons.
int status_command(const std::filesystem::path& config, bool json);
/// TARGET: a job id (digits), PROJECT/SHOT/tNN (one take), PROJECT/SHOT (its takes) or
/// PROJECT (the batch).
int retry_command(const std::filesystem::path& config, const std::string& target);
int cancel_command(
    const std::filesystem::path& config, const std::string& target, const std::string& reason
);
/// `shotfarm history JOB`: every transition of one job (id or PROJECT/SHOT/tNN).
int history_command(const std::filesystem::path& config, const std::string& target);

int models_command();

}  // namespace shotfarm::daemon
