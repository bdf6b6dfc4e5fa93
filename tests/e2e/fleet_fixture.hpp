// Fleet fixture for the chaos tests (issue 5): one or more `shotfarm daemon` processes sharing an
// external PostgreSQL cluster (durable: fsync on) that the test owns, so it can restart it under
// them; a faulty shotfarm-sim over several accounts; shot lists handed over with
// `shotfarm submit`. Reuses farm_fixture's `child`, `wait_until`, `sha256_of`, `source_dir`.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "tests/e2e/farm_fixture.hpp"
#include "tests/support/sim_process.hpp"

namespace shotfarm::pg {
class embedded_cluster;
}

namespace shotfarm::testing {

/// One configured account, and its simulator key.
struct fleet_account {
    std::string name;
    std::string provider;
    std::string key;
    std::string env;  ///< the variable the daemons read the key from
};

struct fleet_options {
    std::uint64_t seed = 1;
    double time_scale = 0.01;
    double median_s = 100;  ///< every model's generation time (provider seconds), sigma 0.3
    std::string faults;     ///< the body of SIM.yaml's `faults: {…}`
    int account_cap = 3;    ///< the daemons' max_concurrency per account
    int key_cap = 6;        ///< the simulator's per key (higher: the daemons' limit is tested)
    int max_attempts = 10;
    double budget_usd = 200;
};

/// A started daemon (or its stand-in) and the port of its /metrics, /readyz.
struct daemon_proc {
    std::unique_ptr<child> proc;
    std::uint16_t port = 0;
    std::string tag;
};

class fleet {
public:
    explicit fleet(fleet_options opts);
    ~fleet();
    fleet(const fleet&) = delete;
    fleet& operator=(const fleet&) = delete;

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path config_path() const { return dir_ / "config.yaml"; }
    std::filesystem::path output_dir() const { return dir_ / "out"; }
    sim_process& sim() { return *sim_; }
    const std::vector<fleet_account>& accounts() const { return accounts_; }
    const fleet_options& options() const { return opts_; }

    /// Writes `<name>.yaml`: n shots "<prefix>001".. of project `project`, one take each,
    /// distinct prompts, every fifth with the demo's first frame. Returns its path.
    std::filesystem::path write_shotlist(
        const std::string& name, const std::string& project, const std::string& prefix, int n
    ) const;

    /// `shotfarm submit --config C SHOTLIST`; returns the exit code (output in <tag>.out/err).
    int submit(const std::filesystem::path& shotlist, const std::string& tag);
    /// Starts `shotfarm daemon --config C` and waits (up to `deadline`) for its "metrics on
    /// http://…:PORT" line. Throws if the line never comes.
    daemon_proc start_daemon(
        const std::string& tag, std::chrono::seconds deadline = std::chrono::seconds{60}
    );
    /// GET /readyz: the HTTP status, 0 when nothing answers.
    static unsigned readyz(std::uint16_t port);
    /// `shotfarm status --config C --json`, parsed (throws when it fails or is not JSON).
    boost::json::object status();

    /// SQL against the shared database (a fresh connection each call).
    std::vector<std::vector<std::string>> query(const std::string& sql);
    std::string conninfo() const { return conninfo_; }

    /// Stops the database: `pg_ctl stop -m fast`, or (crash) SIGQUIT to the postmaster — an
    /// immediate shutdown, recovery from the WAL at the next start.
    void stop_database(bool crash);
    void start_database();

    std::string read(const std::string& tag, const std::string& stream) const;
    /// The last `lines` lines of a file in dir() (for failure messages).
    std::string tail(const std::string& file, int lines = 40) const;

private:
    std::map<std::string, std::string> env() const;

    fleet_options opts_;
    std::filesystem::path dir_;
    std::vector<fleet_account> accounts_;
    std::unique_ptr<sim_process> sim_;
    std::unique_ptr<pg::embedded_cluster> cluster_;
    std::string conninfo_;
};

}  // namespace shotfarm::testing
