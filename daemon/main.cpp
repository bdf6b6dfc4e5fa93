// shotfarm — renders AI-video shot lists on hosted providers. CLI entry point.
#include <csignal>
#include <iostream>

#include <boost/program_options.hpp>

#include "daemon/commands.hpp"
#include "daemon/estimate.hpp"
#include "jobs/log.hpp"

namespace po = boost::program_options;

namespace {

constexpr const char* usage = R"(usage:
  shotfarm run --config FILE SHOTLIST    render a shot list (resumes where it stopped)
  shotfarm validate [--config FILE] SHOTLIST
                                         check a shot list; file:line:col errors, exit 2
  shotfarm estimate --config FILE SHOTLIST [--json]
                                         what the list should cost (no database, no network)
  shotfarm models                        the model catalog: who serves what, at what price

options:
  --config FILE        the daemon config (accounts, state and output folders)
  --log-level LEVEL    debug | info | warn | error (JSON lines on stderr; default info)
  --quiet              no progress lines
  --json               estimate: one JSON object instead of the table
  -h, --help           this text
  --version            the version

exit codes: 0 all done, 1 some job failed or the run stopped early, 2 bad input or config
)";

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);  // socket writes report EPIPE instead of killing us
    po::options_description opts;
    opts.add_options()("help,h", "")("version", "")("config", po::value<std::string>())(
        "log-level", po::value<std::string>()->default_value("info")
    )("quiet", "")("command", po::value<std::string>())("shotlist", po::value<std::string>());
    opts.add_options()("json", "");
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
    const std::string level = vm["log-level"].as<std::string>();
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
    if (command != "run" && command != "validate" && command != "estimate") {
        std::cerr << "shotfarm: unknown command '" << command << "'\n" << usage;
        return 2;
    }
    if (!vm.count("shotlist")) {
        std::cerr << "shotfarm: " << command << " needs a SHOTLIST\n" << usage;
        return 2;
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
        return shotfarm::daemon::run_command({*config, shotlist, vm.count("quiet") > 0});
    } catch (const std::exception& e) {
        std::cerr << "shotfarm: " << e.what() << "\n";
        return 1;
    }
}
