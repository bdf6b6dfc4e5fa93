#include "tests/e2e/farm_fixture.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "jobs/output.hpp"
#include "pg/connection.hpp"
#include "pg/embedded.hpp"
#include "pg/error.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/run_coro.hpp"

namespace shotfarm::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {
std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

fs::path shotfarm_binary() {
    const char* dir = std::getenv("SHOTFARM_BUILD_DIR");
    return fs::path(dir != nullptr ? dir : SHOTFARM_BUILD_DIR_DEFAULT) / "shotfarm";
}

fs::path source_dir() {
    const char* dir = std::getenv("SHOTFARM_SOURCE_DIR");
    return fs::path(dir != nullptr ? dir : SHOTFARM_SOURCE_DIR_DEFAULT);
}

std::string sha256_of(const fs::path& file) {
    return jobs::sha256_file(file);
}

child::child(
    std::vector<std::string> argv,
    std::map<std::string, std::string> env,
    fs::path out,
    fs::path err
)
    : out_(std::move(out)), err_(std::move(err)) {
    pid_ = ::fork();
    if (pid_ < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(o, 1);
        ::dup2(e, 2);
        for (const auto& [k, v] : env) {
            ::setenv(k.c_str(), v.c_str(), 1);
        }
        std::vector<char*> args;
        for (auto& a : argv) {
            args.push_back(a.data());
        }
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
}

child::~child() {
    if (status_ < 0 && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

void child::signal(int sig) const {
    ::kill(pid_, sig);
}

bool child::running() {
    if (status_ >= 0) {
        return false;
    }
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return false;
    }
    return true;
}

int child::wait(std::chrono::seconds deadline) {
    if (!wait_until([this] { return !running(); }, deadline)) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        status_ = 137;
        return -1;
    }
    return status_;
}

std::string child::out() const {
    return slurp(out_);
}
std::string child::err() const {
    return slurp(err_);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end) {
            return false;
        }
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

struct farm::db {
    std::optional<pg::embedded_cluster> cluster;
};

farm::farm(farm_options opts)
    : dir_(pg_scratch_dir()), opts_(std::move(opts)), db_(std::make_unique<db>()) {
    std::ostringstream sim;
    sim << "time_scale: " << opts_.time_scale << "\nseed: 7\nkeys:\n"
        << "  - {key: key-a, provider: atlas, max_concurrency: " << opts_.key_concurrency
        << ", requests_per_minute: 1000}\n"
        << "  - {key: key-b, provider: atlascloud, max_concurrency: " << opts_.key_concurrency
        << ", requests_per_minute: 1000}\n"
        << "models:\n";
    for (const char* m :
         {"minimax/hailuo-02/t2v-standard",
          "minimax/hailuo-02/i2v-standard",
          "minimax/hailuo-02/fast",
          "minimax/hailuo-2.3/t2v-standard"}) {
        sim << "  " << m << ": {median_s: " << opts_.median_s << ", sigma: 0.2}\n";
    }
    sim_ = std::make_unique<sim_process>(opts_.sim_yaml.empty() ? sim.str() : opts_.sim_yaml);

    std::ofstream cfg(config_path());
    cfg << "state_dir: state\noutput_dir: out\nlisten: 127.0.0.1:0\n"
        << opts_.poll_yaml << "accounts:\n";
    if (!opts_.accounts_yaml.empty()) {
        std::string accounts = opts_.accounts_yaml;
        for (auto at = accounts.find("@BASE@"); at != std::string::npos;
             at = accounts.find("@BASE@")) {
            accounts.replace(at, 6, sim_->base_url());
        }
        cfg << accounts << opts_.extra_config;
        return;
    }
    for (const char* name : {"a", "b"}) {
        // Both spellings of the provider: `atlas`, and `atlascloud` (later contracts' name).
        cfg << "  - name: atlas-" << name
            << "\n    provider: " << (std::string(name) == "a" ? "atlas" : "atlascloud")
            << "\n    base_url: " << sim_->base_url() << "\n    api_key_env: E2E_KEY_" << name
            << "\n    max_concurrency: " << opts_.account_concurrency
            << "\n    requests_per_minute: 1000\n";
    }
    cfg << opts_.extra_config;
}

farm::~farm() {
    if (db_ && db_->cluster) {
        db_->cluster->stop();
    } else if (fs::exists(dir_ / "state" / "pg" / "postmaster.pid")) {
        // A run left its embedded server (kill -9): adopt it to stop it.
        try {
            auto c = pg::embedded_cluster::start(dir_ / "state" / "pg");
            c.stop();
        } catch (const std::exception&) {
        }
    }
}

void farm::write_shotlist(const std::string& yaml) const {
    std::ofstream(shotlist_path()) << yaml;
}

void farm::write_shotlist(int n, const std::string& project) const {
    fs::copy_file(
        source_dir() / "examples/demo/frames/dusk_harbour.png",
        dir_ / "frame.png",
        fs::copy_options::overwrite_existing
    );
    std::ostringstream y;
    y << "project: " << project << "\nshots:\n";
    for (int i = 1; i <= n; ++i) {
        char id[16];
        std::snprintf(id, sizeof id, "s%03d", i);
        y << "  - id: " << id << "\n    prompt: \"shot " << id << " of the e2e batch\"\n";
        if (i % 5 == 0) {
            y << "    image: frame.png\n";
        }
    }
    write_shotlist(y.str());
}

void farm::close_db() {
    if (db_->cluster) {
        db_->cluster->stop_unless_in_use();
        db_->cluster.reset();
    }
}

void farm::stop_db() {
    auto cluster = pg::embedded_cluster::start(dir_ / "state" / "pg");
    cluster.stop();
    db_->cluster.reset();
}

std::unique_ptr<child> farm::start(std::vector<std::string> args, const std::string& tag) {
    close_db();
    std::vector<std::string> argv = {shotfarm_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::map<std::string, std::string> env = {{"E2E_KEY_a", "key-a"}, {"E2E_KEY_b", "key-b"}};
    for (const auto& [name, key] : opts_.keys) {
        env["E2E_KEY_" + name] = key;
    }
    return std::make_unique<child>(argv, env, dir_ / (tag + ".out"), dir_ / (tag + ".err"));
}

int farm::command(
    std::vector<std::string> args, const std::string& tag, std::chrono::seconds deadline
) {
    return start(std::move(args), tag)->wait(deadline);
}

std::unique_ptr<child> farm::start_daemon(const std::string& tag, std::uint16_t& port) {
    auto d = start({"daemon", "--config", config_path().string()}, tag);
    port = 0;
    const std::string marker = "metrics on http://127.0.0.1:";
    wait_until(
        [&] {
            const std::string out = d->out();
            const auto at = out.find(marker);
            if (at == std::string::npos) {
                return !d->running();
            }
            port = static_cast<std::uint16_t>(std::stoi(out.substr(at + marker.size())));
            return true;
        },
        std::chrono::seconds{30}
    );
    if (port == 0) {
        throw std::runtime_error("the daemon did not start: " + d->err());
    }
    return d;
}

std::unique_ptr<child> farm::start_run(const std::string& tag) {
    return start({"run", "--config", config_path().string(), shotlist_path().string()}, tag);
}

int farm::run(std::chrono::seconds deadline, const std::string& tag) {
    auto c = start_run(tag);
    return c->wait(deadline);
}

std::string farm::read(const std::string& tag, const std::string& stream) const {
    return slurp(dir_ / (tag + "." + stream));
}

std::vector<std::vector<std::string>> farm::query(const std::string& sql) {
    if (!db_->cluster) {
        db_->cluster.emplace(pg::embedded_cluster::start(dir_ / "state" / "pg"));
    }
    try {
        return sql_rows(db_->cluster->conninfo(), sql);
    } catch (const pg::error& e) {
        if (!e.connection_broken()) {
            throw;
        }
        // The server our handle adopted was stopped by its owner (a daemon that exited):
        // start it again.
        db_->cluster->forget();
        db_->cluster.reset();
        db_->cluster.emplace(pg::embedded_cluster::start(dir_ / "state" / "pg"));
        return sql_rows(db_->cluster->conninfo(), sql);
    }
}

std::vector<std::vector<std::string>> sql_rows(
    const std::string& conninfo, const std::string& sql
) {
    return run_coro(
        [](std::string ci,
           std::string q) -> boost::asio::awaitable<std::vector<std::vector<std::string>>> {
            pg::connection c(co_await boost::asio::this_coro::executor);
            co_await c.connect(ci);
            auto r = co_await c.exec(q);
            std::vector<std::vector<std::string>> rows;
            for (int i = 0; i < r.rows(); ++i) {
                std::vector<std::string> row;
                for (int j = 0; j < r.columns(); ++j) {
                    row.emplace_back(r.get(i, j));
                }
                rows.push_back(std::move(row));
            }
            co_return rows;
        }(conninfo, sql)
    );
}

std::vector<boost::json::object> farm::billed() {
    std::vector<boost::json::object> out;
    const auto ledger = sim_->ledger();  // named: a range-for does not extend a chain's temporaries
    for (const auto& s : ledger.as_object().at("submissions").as_array()) {
        out.push_back(s.as_object());
    }
    return out;
}

}  // namespace shotfarm::testing
