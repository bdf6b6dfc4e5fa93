#include "tests/support/pg_cluster.hpp"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace shotfarm::testing {

namespace fs = std::filesystem;

namespace {

constexpr const char* prefix = "shotfarm-pgtest-";

bool process_alive(long pid) {
    return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// /tmp/shotfarm-pgtest-<pid>-XXXXXX left by a test process that no longer exists (killed by a
// timeout, aborted): stop its postmaster at once and delete the directory.
void sweep_leftovers() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/tmp", ec)) {
        std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0) {
            continue;
        }
        long owner = std::atol(name.c_str() + std::char_traits<char>::length(prefix));
        if (process_alive(owner)) {
            continue;
        }
        for (const auto& sub : fs::directory_iterator(entry.path(), ec)) {
            std::ifstream pidfile(sub.path() / "postmaster.pid");
            long postmaster = 0;
            if (pidfile >> postmaster && process_alive(postmaster)) {
                ::kill(static_cast<pid_t>(postmaster), SIGQUIT);  // immediate shutdown
            }
        }
        fs::remove_all(entry.path(), ec);
    }
}

struct scratch {
    std::mutex mutex;
    std::vector<fs::path> dirs;
    ~scratch() {
        std::error_code ec;
        for (const fs::path& d : dirs) {
            fs::remove_all(d, ec);
        }
    }
};

scratch& scratch_dirs() {
    static scratch s;
    return s;
}

fs::path make_dir() {
    std::string pattern = "/tmp/" + std::string(prefix) + std::to_string(::getpid()) + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
        throw std::runtime_error("mkdtemp " + pattern + " failed");
    }
    fs::path dir(buf.data());
    ::chmod(dir.c_str(), 0711);  // the server user (postgres, when we are root) must traverse it
    return dir;
}

void sweep_once() {
    static std::once_flag swept;
    std::call_once(swept, sweep_leftovers);
}

// Stops the cluster, then deletes its directory, at process exit.
struct shared_cluster {
    shared_cluster() : root(make_dir()) {
        pg::embedded_options opts;
        opts.durable = false;  // throw-away data: skip fsync
        try {
            cluster.emplace(pg::embedded_cluster::start(root / "pg", "postgres", opts));
        } catch (...) {
            std::error_code ec;
            fs::remove_all(root, ec);
            throw;
        }
    }
    shared_cluster(const shared_cluster&) = delete;
    shared_cluster& operator=(const shared_cluster&) = delete;
    ~shared_cluster() {
        cluster.reset();  // pg_ctl stop
        std::error_code ec;
        fs::remove_all(root, ec);
    }
    fs::path root;
    std::optional<pg::embedded_cluster> cluster;
};

}  // namespace

fs::path pg_scratch_dir() {
    sweep_once();
    fs::path dir = make_dir();
    scratch& s = scratch_dirs();
    std::lock_guard lock(s.mutex);
    s.dirs.push_back(dir);
    return dir;
}

pg::embedded_cluster& test_cluster() {
    scratch_dirs();  // constructed first, so destroyed after the cluster below
    sweep_once();
    static shared_cluster shared;
    return *shared.cluster;
}

std::string fresh_database() {
    static std::atomic<int> counter{0};
    std::string name =
        "test_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
    pg::embedded_cluster& cluster = test_cluster();
    cluster.create_database(name);
    return cluster.conninfo(name);
}

}  // namespace shotfarm::testing
