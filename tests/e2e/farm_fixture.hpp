// End-to-end fixture: a real shotfarm-sim, a temp state dir (the embedded PostgreSQL lives in
// it), a config and shot list written for the test, and `shotfarm run` as a child process.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "tests/support/sim_process.hpp"

namespace shotfarm::testing {

/// A child process with stdout/stderr captured to files.
class child {
public:
    child(
        std::vector<std::string> argv,
        std::map<std::string, std::string> env,
        std::filesystem::path out,
        std::filesystem::path err
    );
    ~child();
    child(const child&) = delete;
    child& operator=(const child&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int sig) const;
    /// Waits up to `deadline`; returns the exit code (128 + signal when killed), or -1 on
    /// timeout (the process is then killed).
    int wait(std::chrono::seconds deadline);
    bool running();
    std::string out() const;
    std::string err() const;

private:
    pid_t pid_ = -1;
    int status_ = -1;
    std::filesystem::path out_;
    std::filesystem::path err_;
};

/// Polls `pred` every 20 ms until it holds or `deadline` passes (a condition wait, not a sleep).
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline);

struct farm_options {
    double time_scale = 0.02;
    int key_concurrency = 3;
    int account_concurrency = 3;
    double median_s = 60;
    std::string extra_config;  ///< appended to the daemon config
    /// The config's poll settings (replace to let adaptive polling govern).
    std::string poll_yaml = "poll_interval_s: 0.1\nmax_poll_interval_s: 0.5\n";
    /// When set: the whole SIM.yaml, and the config's `accounts:` block (with @BASE@ standing
    /// for the simulator's base URL) — for runs over other providers than the default two
    /// Atlas keys. Keys are exported as E2E_KEY_<name> from `keys`.
    std::string sim_yaml;
    std::string accounts_yaml;
    std::map<std::string, std::string> keys;
};

inline farm_options with_time_scale(double t) {
    farm_options o;
    o.time_scale = t;
    return o;
}

class farm {
public:
    explicit farm(farm_options opts = {});
    ~farm();

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path config_path() const { return dir_ / "config.yaml"; }
    std::filesystem::path shotlist_path() const { return dir_ / "shots.yaml"; }
    std::filesystem::path output_dir() const { return dir_ / "out"; }
    sim_process& sim() { return *sim_; }

    void write_shotlist(const std::string& yaml) const;
    /// A shot list of n text-to-video shots "s001".., one take each, distinct prompts; every
    /// fifth shot uses the demo's first-frame image.
    void write_shotlist(int n, const std::string& project = "e2e") const;

    /// Starts `shotfarm run --config … shots.yaml`.
    /// (First stops the test's own handle on the embedded cluster, if query() opened one.)
    std::unique_ptr<child> start_run(const std::string& tag = "run");
    /// Runs it to the end; returns the exit code.
    int run(
        std::chrono::seconds deadline = std::chrono::seconds{120}, const std::string& tag = "run"
    );
    std::string read(const std::string& tag, const std::string& stream) const;

    /// SQL against the daemon's embedded database (adopts the cluster if it is still running).
    std::vector<std::vector<std::string>> query(const std::string& sql);
    /// The ledger's submissions.
    std::vector<boost::json::object> billed();
    /// Lets go of the cluster handle query() opened — stopping the server unless a daemon or
    /// another command uses it (the daemon starts or adopts its own).
    void close_db();
    /// Stops the embedded PostgreSQL server whoever runs it (an outage, as a test makes one).
    void stop_db();

    /// `shotfarm <args...>` with the accounts' key variables set; output in <tag>.out/err.
    std::unique_ptr<child> start(std::vector<std::string> args, const std::string& tag);
    /// The same, run to its end; returns the exit code (-1 on timeout).
    int command(
        std::vector<std::string> args,
        const std::string& tag,
        std::chrono::seconds deadline = std::chrono::seconds{60}
    );
    /// `shotfarm daemon --config …`, and the port of its /metrics, /readyz (from its first
    /// lines of output).
    std::unique_ptr<child> start_daemon(const std::string& tag, std::uint16_t& port);

private:
    std::filesystem::path dir_;
    farm_options opts_;
    std::unique_ptr<sim_process> sim_;
    struct db;
    std::unique_ptr<db> db_;
};

/// Rows of one SQL statement on a fresh connection, every value as text.
std::vector<std::vector<std::string>> sql_rows(const std::string& conninfo, const std::string& sql);

std::filesystem::path shotfarm_binary();
std::filesystem::path source_dir();
std::string sha256_of(const std::filesystem::path& file);

}  // namespace shotfarm::testing
