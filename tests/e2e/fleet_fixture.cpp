#include "tests/e2e/fleet_fixture.hpp"

#include <csignal>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "pg/connection.hpp"
#include "pg/embedded.hpp"
#include "tests/support/http_call.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/run_coro.hpp"

namespace shotfarm::testing {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// A YAML double-quoted scalar.
std::string yaml_quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

/// The port in "shotfarm: metrics on http://127.0.0.1:PORT/metrics", if the line is there.
std::optional<std::uint16_t> metrics_port(const std::string& out) {
    const std::string marker = "metrics on http://";
    const auto at = out.find(marker);
    if (at == std::string::npos) {
        return std::nullopt;
    }
    const auto end = out.find("/metrics", at + marker.size());
    const auto colon = out.rfind(':', end);
    if (end == std::string::npos || colon == std::string::npos || colon < at) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(std::stoul(out.substr(colon + 1, end - colon - 1)));
}

}  // namespace

fleet::fleet(fleet_options opts) : opts_(std::move(opts)), dir_(pg_scratch_dir()) {
    accounts_ = {
        {"atlas-1", "atlas", "k-atlas-1", "CHAOS_KEY_ATLAS1"},
        {"atlas-2", "atlascloud", "k-atlas-2", "CHAOS_KEY_ATLAS2"},
        {"ws", "wavespeed", "k-ws", "CHAOS_KEY_WS"},
        {"aiml", "aimlapi", "k-aiml", "CHAOS_KEY_AIML"},
        {"mm", "minimax", "k-mm", "CHAOS_KEY_MM"},
    };

    // The database first: the daemons' shared, durable cluster (crash tests need fsync on).
    pg::embedded_options durable;
    durable.durable = true;
    cluster_ = std::make_unique<pg::embedded_cluster>(
        pg::embedded_cluster::start(dir_ / "pg", "shotfarm", durable)
    );
    conninfo_ = cluster_->conninfo();

    std::ostringstream sim;
    sim << "time_scale: " << opts_.time_scale << "\nseed: " << opts_.seed
        << "\ndefault_timing: {median_s: " << opts_.median_s << ", sigma: 0.3}\n"
        << "faults: {" << opts_.faults << "}\nkeys:\n";
    for (const auto& a : accounts_) {
        sim << "  - {key: " << a.key << ", provider: " << a.provider
            << ", max_concurrency: " << opts_.key_cap << ", requests_per_minute: 100000}\n";
    }
    sim_ = std::make_unique<sim_process>(sim.str());

    std::ofstream cfg(config_path());
    cfg << "state_dir: state\noutput_dir: out\nlisten: \"127.0.0.1:0\"\n"
        << "database:\n  url: " << yaml_quoted(conninfo_) << "\n"
        << "max_attempts: " << opts_.max_attempts << "\nbudget_usd: " << opts_.budget_usd
        << "\nambiguous: resubmit\npoll_interval_s: 0.1\nmax_poll_interval_s: 0.5\n"
        << "accounts:\n";
    for (const auto& a : accounts_) {
        cfg << "  - name: " << a.name << "\n    provider: " << a.provider
            << "\n    base_url: " << sim_->base_url() << "\n    api_key_env: " << a.env
            << "\n    max_concurrency: " << opts_.account_cap
            << "\n    requests_per_minute: 100000\n    submits_per_minute: 100000\n";
    }
    if (!cfg) {
        throw std::runtime_error("cannot write " + config_path().string());
    }
    fs::copy_file(
        source_dir() / "examples/demo/frames/dusk_harbour.png",
        dir_ / "frame.png",
        fs::copy_options::overwrite_existing
    );
}

fleet::~fleet() {
    // The daemons (owned by the test) are gone by now; stop the simulator, then the database.
    sim_.reset();
    try {
        if (!cluster_ || !cluster_->running()) {
            // Down (a failed test between stop and start): adopt a leftover server to stop it.
            if (fs::exists(dir_ / "pg" / "postmaster.pid")) {
                cluster_ = std::make_unique<pg::embedded_cluster>(
                    pg::embedded_cluster::start(dir_ / "pg", "shotfarm")
                );
            }
        }
        if (cluster_) {
            cluster_->stop();
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fleet: stopping the database: %s\n", e.what());
    }
}

std::map<std::string, std::string> fleet::env() const {
    std::map<std::string, std::string> e;
    for (const auto& a : accounts_) {
        e[a.env] = a.key;
    }
    return e;
}

fs::path fleet::write_shotlist(
    const std::string& name, const std::string& project, const std::string& prefix, int n
) const {
    std::ostringstream y;
    y << "project: " << project << "\nshots:\n";
    for (int i = 1; i <= n; ++i) {
        char id[32];
        std::snprintf(id, sizeof id, "%s%03d", prefix.c_str(), i);
        y << "  - id: " << id << "\n    prompt: \"chaos " << project << " shot " << id << "\"\n";
        if (i % 5 == 0) {
            y << "    image: frame.png\n";
        }
    }
    const fs::path path = dir_ / (name + ".yaml");
    std::ofstream(path) << y.str();
    return path;
}

int fleet::submit(const fs::path& shotlist, const std::string& tag) {
    child c(
        {shotfarm_binary().string(),
         "submit",
         "--config",
         config_path().string(),
         shotlist.string()},
        env(),
        dir_ / (tag + ".out"),
        dir_ / (tag + ".err")
    );
    return c.wait(120s);
}

daemon_proc fleet::start_daemon(const std::string& tag, std::chrono::seconds deadline) {
    const std::vector<std::string> argv = {
        shotfarm_binary().string(), "daemon", "--config", config_path().string()};
    daemon_proc d;
    d.tag = tag;
    d.proc = std::make_unique<child>(argv, env(), dir_ / (tag + ".out"), dir_ / (tag + ".err"));
    std::optional<std::uint16_t> port;
    const bool up = wait_until(
        [&] {
            port = metrics_port(d.proc->out());
            return port.has_value() || !d.proc->running();
        },
        deadline
    );
    if (!up || !port) {
        throw std::runtime_error(
            "daemon " + tag + " printed no metrics line (" +
            (d.proc->running() ? "still running" : "exited") + ")\n" + tail(tag + ".out") +
            tail(tag + ".err")
        );
    }
    d.port = *port;
    return d;
}

unsigned fleet::readyz(std::uint16_t port) {
    try {
        return http_call(port, boost::beast::http::verb::get, "/readyz", {}, {}, 5s).status;
    } catch (const std::exception&) {
        return 0;
    }
}

json::object fleet::status() {
    const std::string tag = "status";
    child c(
        {shotfarm_binary().string(), "status", "--config", config_path().string(), "--json"},
        env(),
        dir_ / (tag + ".out"),
        dir_ / (tag + ".err")
    );
    const int code = c.wait(60s);
    if (code != 0) {
        throw std::runtime_error(
            "shotfarm status exited " + std::to_string(code) + ": " + c.out() + c.err()
        );
    }
    return json::parse(c.out()).as_object();
}

std::vector<std::vector<std::string>> fleet::query(const std::string& sql) {
    return sql_rows(conninfo_, sql);
}

void fleet::stop_database(bool crash) {
    if (!crash) {
        cluster_->stop();
        return;
    }
    const fs::path pidfile = dir_ / "pg" / "postmaster.pid";
    long pid = 0;
    std::ifstream(pidfile) >> pid;
    if (pid <= 0) {
        throw std::runtime_error("no postmaster.pid in " + pidfile.parent_path().string());
    }
    ::kill(static_cast<pid_t>(pid), SIGQUIT);  // immediate shutdown: no checkpoint
    if (!wait_until([&] { return !fs::exists(pidfile); }, 60s)) {
        throw std::runtime_error("the postmaster did not exit after SIGQUIT");
    }
    cluster_->stop();  // pg_ctl finds nothing to stop; marks the handle stopped
}

void fleet::start_database() {
    cluster_ =
        std::make_unique<pg::embedded_cluster>(pg::embedded_cluster::start(dir_ / "pg", "shotfarm")
        );
    if (cluster_->conninfo() != conninfo_) {
        throw std::runtime_error("the restarted cluster has another conninfo");
    }
}

std::string fleet::read(const std::string& tag, const std::string& stream) const {
    return slurp(dir_ / (tag + "." + stream));
}

std::string fleet::tail(const std::string& file, int lines) const {
    std::ifstream in(dir_ / file);
    std::deque<std::string> last;
    for (std::string line; std::getline(in, line);) {
        last.push_back(line);
        if (static_cast<int>(last.size()) > lines) {
            last.pop_front();
        }
    }
    std::string out = "--- " + file + " (last " + std::to_string(last.size()) + " lines)\n";
    for (const auto& l : last) {
        out += l + "\n";
    }
    return out;
}

}  // namespace shotfarm::testing
