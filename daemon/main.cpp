// shotfarm — renders AI-video shot lists on hosted providers. CLI entry point.
#include <csignal>
#include <iostream>
#include <set>
#include <string>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <boost/program_options.hpp>

#include "daemon/commands.hpp"
#include "daemon/estimate.hpp"
#include "jobs/log.hpp"

namespace po = boost::program_options;

namespace {

constexpr const char* usage = R"(usage:
  shotfarm daemon --config FILE          work on every batch in the database until SIGTERM
                                         (SIGHUP reloads accounts, limits and budgets)
  shotfarm submit --config FILE SHOTLIST store a shot list as a batch (a daemon picks it up)
  shotfarm status --config FILE [--json] batches, jobs by state, spend, budgets, daemons
  shotfarm retry --config FILE TARGET    release held jobs, retry failed/canceled ones
  shotfarm cancel --config FILE TARGET [--reason TEXT]
                                         cancel jobs (one in flight may still be billed)
  shotfarm history --config FILE JOB    every transition of one job: when, who, why
  shotfarm run --config FILE SHOTLIST    submit and work in the foreground until the list is
                                         done (resumes where it stopped)
  shotfarm validate [--config FILE] SHOTLIST
                                         check a shot list; file:line:col errors, exit 2
  shotfarm estimate --config FILE SHOTLIST [--json]
                                         what the list should cost (no database, no network)
  shotfarm models                        the model catalog: who serves what, at what price

  TARGET: a job id, PROJECT/SHOT/tNN (one take), PROJECT/SHOT (its takes) or PROJECT (the
  batch); JOB: a job id or PROJECT/SHOT/tNN.

options:
  --config FILE        the daemon config (accounts, database, state and output folders)
  --log-level LEVEL    debug | info | warn | error (JSON lines on stderr; default info)
  --quiet              run: no progress lines
  --json               estimate, status: one JSON object instead of the table
  --reason TEXT        cancel: why (kept in the job's history)
  -h, --help           this text
  --version            the version

exit codes: 0 done, 1 some job failed or the run stopped early (retry/cancel: nothing to
change), 2 bad input or config, 3 jobs wait for budget
)";

// Keys live in this process's memory (read from the environment or key files): no core file
// may carry them to disk, and no other process of the same user may read our memory through
// /proc/<pid>/mem or ptrace. Done first, for every command, before anything reads a key.
void no_core_dumps() {
    const rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

}  // namespace

int main(int argc, char** argv) {
    no_core_dumps();
    std::signal(SIGPIPE, SIG_IGN);  // socket writes report EPIPE instead of killing us
    po::options_description opts;
    opts.add_options()("help,h", "")("version", "")("config", po::value<std::string>())(
        "log-level", po::value<std::string>()->default_value("info")
    )("quiet", "")("command", po::value<std::string>())("shotlist", po::value<std::string>());
    opts.add_options()("json", "")("reason", po::value<std::string>()->default_value(""));
    po::positional_options_description pos;
    pos.add("command", 1).add("shotlist", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        std::cerr << "shotfarm: " << e.what() << "\n" << usage;
        return 2;
    }
    if (vm.count("help") || argc == 1) {
        std::cout << usage;
        return argc == 1 ? 2 : 0;
    }
    if (vm.count("version")) {
        std::cout << "shotfarm 0.1.0\n";
        return 0;
    }
    const std::string command_name = vm.count("command") ? vm["command"].as<std::string>() : "";
    const bool operator_command = command_name == "submit" || command_name == "status" ||
                                  command_name == "retry" || command_name == "cancel" ||
                                  command_name == "history";
    // The operator's commands print what they did; their log lines only say what went wrong.
    const std::string level = vm["log-level"].defaulted() && operator_command
                                  ? std::string("warn")
                                  : vm["log-level"].as<std::string>();
    using shotfarm::jobs::log_level;
    if (level == "debug") {
        shotfarm::jobs::set_log_level(log_level::debug);
    } else if (level == "info") {
        shotfarm::jobs::set_log_level(log_level::info);
    } else if (level == "warn") {
        shotfarm::jobs::set_log_level(log_level::warn);
    } else if (level == "error") {
        shotfarm::jobs::set_log_level(log_level::error);
    } else {
        std::cerr << "shotfarm: --log-level must be debug, info, warn or error\n";
        return 2;
    }

    const std::string command = vm.count("command") ? vm["command"].as<std::string>() : "";
    std::optional<std::filesystem::path> config;
    if (vm.count("config")) {
        config = vm["config"].as<std::string>();
    }
    if (command == "models") {
        return shotfarm::daemon::models_command();
    }
    static const std::set<std::string> known = {
        "run", "validate", "estimate", "daemon", "submit", "status", "retry", "cancel", "history"};
    if (known.count(command) == 0) {
        std::cerr << "shotfarm: unknown command '" << command << "'\n" << usage;
        return 2;
    }
    if (command == "daemon" || command == "status") {
        if (!config) {
            std::cerr << "shotfarm: " << command << " needs --config FILE\n" << usage;
            return 2;
        }
        if (vm.count("shotlist")) {
            std::cerr << "shotfarm: " << command << " takes no other argument\n" << usage;
            return 2;
        }
        try {
            return command == "daemon"
                       ? shotfarm::daemon::daemon_command(*config)
                       : shotfarm::daemon::status_command(*config, vm.count("json") > 0);
        } catch (const std::exception& e) {
            std::cerr << "shotfarm: " << e.what() << "\n";
            return 1;
        }
    }
    if (!vm.count("shotlist")) {
        const char* what = command == "history"                        ? "a JOB"
                           : command == "retry" || command == "cancel" ? "a TARGET"
                                                                       : "a SHOTLIST";
        std::cerr << "shotfarm: " << command << " needs " << what << "\n" << usage;
        return 2;
    }
    if (command == "retry" || command == "cancel" || command == "history") {
        if (!config) {
            std::cerr << "shotfarm: " << command << " needs --config FILE\n" << usage;
            return 2;
        }
        const std::string target = vm["shotlist"].as<std::string>();
        try {
            if (command == "retry") {
                return shotfarm::daemon::retry_command(*config, target);
            }
            if (command == "cancel") {
                return shotfarm::daemon::cancel_command(
                    *config, target, vm["reason"].as<std::string>()
                );
            }
            return shotfarm::daemon::history_command(*config, target);
        } catch (const std::exception& e) {
            std::cerr << "shotfarm: " << e.what() << "\n";
            return 1;
        }
    }
    const std::filesystem::path shotlist = vm["shotlist"].as<std::string>();
    if (command == "validate") {
        return shotfarm::daemon::validate_command(shotlist, config);
    }
    if (!config) {
        std::cerr << "shotfarm: " << command << " needs --config FILE\n" << usage;
        return 2;
    }
    if (command == "estimate") {
        return shotfarm::daemon::estimate_command(*config, shotlist, vm.count("json") > 0);
    }
    try {
        if (command == "submit") {
            return shotfarm::daemon::submit_command(*config, shotlist);
        }
        return shotfarm::daemon::run_command({*config, shotlist, vm.count("quiet") > 0});
    } catch (const std::exception& e) {
        std::cerr << "shotfarm: " << e.what() << "\n";
        return 1;
    }
}
