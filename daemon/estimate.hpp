// `shotfarm estimate`: what a shot list should cost on the configured accounts, before anything
// is submitted. Reads the config and the shot list (validated exactly like `shotfarm validate`)
// and the catalog with the config's price overrides; touches no database and no network.
// Output format and the pricing rules: docs/estimate.md.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "jobs/config.hpp"
#include "jobs/shotlist.hpp"

namespace shotfarm::daemon {

/// The expected share of one (model, provider) pair. Under `fastest` a job is spread evenly
/// over its eligible accounts, so `jobs` may be fractional; the rows add up to the totals.
struct estimate_row {
    std::string model;
    std::string provider;
    double jobs = 0;
    double usd = 0;
};

/// One spending cap that applies to the batch, compared with the estimate.
struct estimate_cap {
    std::string scope;  ///< "batch" | "global" | "accounts_per_day"
    std::string key;    ///< where it is set, for people: "budget_usd (shot list)", ...
    double usd = 0;
    /// Jobs that fit under the cap at expected prices, taken in the order the scheduler
    /// renders them (higher priority first, then shot-list order).
    int jobs_covered = 0;
    bool total_exceeds = false;  ///< total_usd > usd
    bool max_exceeds = false;    ///< max_usd > usd
    /// accounts_per_day only: configured accounts without a daily cap (then the sum does not
    /// bound the spend, and no warning is given).
    std::vector<std::string> uncapped_accounts;
};

struct estimate {
    std::string project;
    std::string strategy;  ///< the config's: "fastest" | "cheapest"
    int max_attempts = 1;
    int shots = 0;
    int jobs = 0;          ///< one per take
    double total_usd = 0;  ///< expected: each job priced as the strategy would place it
    double min_usd = 0;    ///< every job at its cheapest eligible offer
    double max_usd = 0;    ///< every job at its most expensive eligible offer × max_attempts
    std::vector<estimate_row> by_model;  ///< sorted by model, then provider
    std::vector<estimate_cap> caps;      ///< batch, global, accounts_per_day — those set
    std::vector<std::string> warnings;   ///< one line each, without a "warning: " prefix
};

/// Prices a validated shot list on the config's accounts (sans I/O).
estimate make_estimate(const jobs::app_config& config, const jobs::shot_list& list);

/// The `--json` form: total_usd, min_usd, max_usd, jobs, shots, project, strategy,
/// max_attempts, by_model [{model, provider, jobs, usd}], caps [...], warnings [...].
boost::json::object to_json(const estimate& e);

/// The human form: an aligned table, the three totals, the caps and warning lines.
void print_estimate(std::ostream& out, const estimate& e);

/// `shotfarm estimate --config FILE SHOTLIST [--json]`: 0, or 2 with file:line:col
/// diagnostics on stderr (and nothing on stdout) for a bad config or shot list.
int estimate_command(
    const std::filesystem::path& config, const std::filesystem::path& shotlist, bool json
);

}  // namespace shotfarm::daemon
