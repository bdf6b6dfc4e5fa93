// sim_process: runs a real shotfarm-sim child process for one test (or one suite).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <sys/types.h>

#include <boost/json/value.hpp>

namespace shotfarm::testing {

// Writes `sim_yaml` to a temp file, starts `$SHOTFARM_BUILD_DIR/shotfarm-sim --listen
// 127.0.0.1:0 --config <file>` (fallback: the build dir this library was configured for) and
// waits, with a deadline, for its `listening` line. The destructor stops it (SIGTERM, then
// SIGKILL after a grace period) and removes the temp file. If the test process dies first, the
// child gets SIGTERM (PR_SET_PDEATHSIG — which fires when the *thread* that constructed the
// sim_process exits, so construct it on a thread that outlives its use). Not copyable.
class sim_process {
public:
    explicit sim_process(
        const std::string& sim_yaml, std::chrono::seconds start_deadline = std::chrono::seconds{20}
    );
    ~sim_process();
    sim_process(const sim_process&) = delete;
    sim_process& operator=(const sim_process&) = delete;

    std::uint16_t port() const { return port_; }
    // "http://127.0.0.1:<port>" — what providers' base URLs point at in tests.
    std::string base_url() const;
    // GET /_sim/ledger, parsed. Throws if the answer is not 200 JSON.
    boost::json::value ledger() const;
    // SIGTERM, then waits up to `grace` for exit (SIGKILL after). Returns the exit status as
    // waitpid reports it decoded: the exit code, or 128 + signal number. Idempotent.
    int stop(std::chrono::seconds grace = std::chrono::seconds{10});
    pid_t pid() const { return pid_; }

    // Path of the shotfarm-sim binary used: $SHOTFARM_BUILD_DIR/shotfarm-sim or the default.
    static std::filesystem::path binary();

private:
    std::filesystem::path config_path_;
    pid_t pid_ = -1;
    int exit_status_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace shotfarm::testing
