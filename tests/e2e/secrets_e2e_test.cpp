// API keys never leave the daemon's memory (issue 11): a batch over all four providers with
// every simulator fault on, each account's key a recognisable canary, and then a search for the
// keys in everything the farm writes or answers — the daemon's logs, /metrics scraped while it
// works, `status --json`, the history of every job, a pg_dump of its database, every file in
// its state and output folders (sidecar .json files included), every command's output. Zero
// hits. A config with the key pasted in the wrong field must not print it back either. And the
// daemon runs without core dumps, so a crash cannot write the keys to disk.
#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "pg/embedded.hpp"
#include "tests/e2e/farm_fixture.hpp"
#include "tests/support/http_call.hpp"

namespace shotfarm::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string random_hex(int n) {
    std::random_device rd;
    std::string out;
    for (int i = 0; i < n; ++i) {
        out += "0123456789abcdef"[rd() % 16];
    }
    return out;
}

/// Account name → (provider, canary key): recognisable, and different on every run.
std::map<std::string, std::pair<std::string, std::string>> canary_accounts() {
    const std::string run = random_hex(12);
    return {
        {"atlas", {"atlascloud", "sk-SECRETCANARY-" + run + "-atlas"}},
        {"ws", {"wavespeed", "sk-SECRETCANARY-" + run + "-ws"}},
        {"aiml", {"aimlapi", "sk-SECRETCANARY-" + run + "-aiml"}},
        {"mm", {"minimax", "sk-SECRETCANARY-" + run + "-mm"}},
    };
}

/// Every fault of docs/simulator.md "Faults", each at a modest probability.
constexpr const char* every_fault =
    "reset: 0.04, http_429: 0.05, http_5xx: 0.05, slow: 0.04, slow_s: 1, malformed_json: 0.05, "
    "generation_failed: 0.08, moderated: 0.05, stuck: 0.05, lost_response: 0.05";

farm_options canary_farm(const std::map<std::string, std::pair<std::string, std::string>>& accts) {
    farm_options o;
    o.sim_yaml =
        "time_scale: 0.01\nseed: 1111\ndefault_timing: {median_s: 60, sigma: 0.2}\nfaults: {" +
        std::string(every_fault) + "}\nkeys:\n";
    for (const auto& [name, pk] : accts) {
        o.sim_yaml += "  - {key: " + pk.second + ", provider: " + pk.first +
                      ", max_concurrency: 10, requests_per_minute: 1000}\n";
        o.accounts_yaml += "  - name: " + name + "\n    provider: " + pk.first +
                           "\n    base_url: @BASE@\n    api_key_env: E2E_KEY_" + name +
                           "\n    max_concurrency: 3\n    requests_per_minute: 1000\n"
                           // MiniMax's documented 5 submits a minute would space its four jobs
                           // and their resubmissions 12 s apart; the simulator's key has no such
                           // limit, and pacing is not what this test is about.
                           "    submits_per_minute: 1000\n";
        o.keys[name] = pk.second;
    }
    o.extra_config = "max_attempts: 10\n";
    return o;
}

/// 16 shots, four pinned to each provider, text and first-frame images (uploads and inline).
void write_mixed_shotlist(farm& f) {
    fs::copy_file(source_dir() / "examples/demo/frames/dusk_harbour.png", f.dir() / "frame.png");
    fs::copy_file(source_dir() / "examples/demo/frames/desert_road.jpg", f.dir() / "road.jpg");
    std::ostringstream y;
    y << "project: secrets\nshots:\n";
    const std::pair<const char*, const char*> providers[] = {
        {"a", "atlascloud"}, {"w", "wavespeed"}, {"i", "aimlapi"}, {"m", "minimax"}};
    for (const auto& [prefix, provider] : providers) {
        y << "  - {id: " << prefix << "1, prompt: " << provider
          << " frame one, model: hailuo-2.3-fast, image: road.jpg, provider: " << provider << "}\n"
          << "  - {id: " << prefix << "2, prompt: " << provider
          << " text two, model: hailuo-02-standard, provider: " << provider << "}\n"
          << "  - {id: " << prefix << "3, prompt: " << provider
          << " text three, model: hailuo-2.3-standard, provider: " << provider << "}\n"
          << "  - {id: " << prefix << "4, prompt: " << provider
          << " frame four, model: hailuo-02-standard, image: frame.png, provider: " << provider
          << "}\n";
    }
    f.write_shotlist(y.str());
}

/// Where in `haystack` any of the keys occurs: "<what>: <key tail>" per hit.
std::vector<std::string> hits(
    const std::string& what,
    const std::string& haystack,
    const std::map<std::string, std::pair<std::string, std::string>>& accts
) {
    std::vector<std::string> found;
    for (const auto& [name, pk] : accts) {
        if (haystack.find(pk.second) != std::string::npos) {
            found.push_back(what + ": the key of account " + name);
        }
    }
    // A key cut short (a truncated message) still must not show its secret part.
    if (haystack.find("SECRETCANARY") != std::string::npos &&
        std::find_if(found.begin(), found.end(), [&](const std::string& h) {
            return h.starts_with(what + ":");
        }) == found.end()) {
        found.push_back(what + ": part of a key (SECRETCANARY)");
    }
    return found;
}

bool settled(farm& f) {
    std::set<std::string> stuck;
    for (const auto& s : f.billed()) {
        if (const auto* o = s.if_contains("outcome"); o != nullptr && *o == "stuck") {
            stuck.insert(std::string(s.at("id").as_string()));
        }
    }
    const auto rows = f.query("SELECT state::text, coalesce(provider_job_id, '') FROM jobs");
    if (rows.empty()) {
        return false;
    }
    for (const auto& r : rows) {
        const std::string& state = r[0];
        if (state == "succeeded" || state == "failed" || state == "canceled" || state == "held") {
            continue;
        }
        if (state == "running" && stuck.count(r[1]) > 0) {
            continue;  // the simulator's `stuck` fault: held only after 3 h, so not awaited
        }
        return false;
    }
    return true;
}

TEST(SecretsE2E, NoKeyInLogsMetricsStatusHistoryDatabaseOrFiles) {
    const auto accts = canary_accounts();
    farm f(canary_farm(accts));
    write_mixed_shotlist(f);
    const std::string cfg = f.config_path().string();

    ASSERT_EQ(f.command({"validate", "--config", cfg, f.shotlist_path().string()}, "validate"), 0)
        << f.read("validate", "out") << f.read("validate", "err");
    ASSERT_EQ(f.command({"submit", "--config", cfg, f.shotlist_path().string()}, "submit"), 0)
        << f.read("submit", "err");

    std::uint16_t port = 0;
    auto daemon = f.start_daemon("daemon", port);
    std::vector<std::string> scraped;
    int status_runs = 0;
    const bool done = wait_until(
        [&] {
            try {
                scraped.push_back(http_call(port, http::verb::get, "/metrics", {}, {}, 5s).body);
            } catch (const std::exception&) {
            }
            if (scraped.size() % 10 == 1) {
                // status while work is in flight (accounts, budgets, daemons)
                f.command(
                    {"status", "--config", cfg, "--json"},
                    "status-live-" + std::to_string(status_runs++)
                );
            }
            return settled(f) || !daemon->running();
        },
        240s
    );
    ASSERT_TRUE(daemon->running())
        << "the daemon died (exit " << daemon->wait(1s) << "): " << f.read("daemon", "out")
        << f.read("daemon", "err")
               .substr(std::max<std::size_t>(f.read("daemon", "err").size(), 4000) - 4000);
    EXPECT_TRUE(done) << "the batch did not settle: " << [&] {
        std::string states;
        for (const auto& r : f.query("SELECT shot_id, state::text FROM jobs ORDER BY shot_id")) {
            states += r[0] + "=" + r[1] + " ";
        }
        // What the unsettled ones wait for: a backoff, a limiter, or nothing (a stall).
        for (const auto& r : f.query(
                 "SELECT shot_id, attempts::text, coalesce(extract(epoch FROM next_attempt_at - "
                 "now())::int::text, '-'), coalesce(wait_reason, '-'), coalesce(left(error, 120), "
                 "'-') FROM jobs WHERE state NOT IN ('succeeded', 'failed', 'canceled', 'held') "
                 "ORDER BY shot_id"
             )) {
            states += "\n  " + r[0] + ": attempts " + r[1] + ", next attempt in " + r[2] +
                      " s, waiting for " + r[3] + ", last error " + r[4];
        }
        return states;
    }();
    scraped.push_back(http_call(port, http::verb::get, "/metrics").body);
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(60s), 0) << f.read("daemon", "err");

    const auto ledger = f.sim().ledger();
    std::cout << "faults fired: " << json::serialize(ledger.as_object().at("faults")) << "\n";
    std::cout << "metrics scrapes: " << scraped.size() << ", live status runs: " << status_runs
              << "\n";
    EXPECT_GE(ledger.as_object().at("faults").as_object().size(), 5u)
        << "most kinds of fault should have fired";

    // Every key was used (the canaries travelled), so a miss below is not for want of use.
    for (const auto& [name, pk] : accts) {
        const auto& req = ledger.as_object().at("requests").as_object();
        ASSERT_TRUE(req.contains(pk.second)) << name;
        EXPECT_GT(req.at(pk.second).as_object().at("submit").to_number<std::int64_t>(), 0) << name;
    }

    ASSERT_EQ(f.command({"status", "--config", cfg, "--json"}, "status-final"), 0)
        << f.read("status-final", "err");
    const auto jobs = f.query("SELECT id::text FROM jobs ORDER BY id");
    ASSERT_EQ(jobs.size(), 16u);
    f.close_db();
    for (const auto& j : jobs) {
        const int code = f.command({"history", "--config", cfg, j[0]}, "history-" + j[0]);
        EXPECT_EQ(code, 0) << f.read("history-" + j[0], "err");
    }
    // A few commands that fail, for their error output: an unknown job, a bad target.
    f.command({"history", "--config", cfg, "no/such/t01"}, "history-missing");
    f.command({"retry", "--config", cfg, "secrets/nothing"}, "retry-missing");
    f.command({"cancel", "--config", cfg, "999999"}, "cancel-missing");

    // The database, whole: a pg_dump of the embedded cluster (socket in the state dir).
    {
        auto cluster = pg::embedded_cluster::start(f.dir() / "state" / "pg");
        child dump(
            {(pg::find_server_bindir() / "pg_dump").string(), "-d", cluster.conninfo()},
            {},
            f.dir() / "pg_dump.sql",
            f.dir() / "pg_dump.err"
        );
        EXPECT_EQ(dump.wait(60s), 0) << dump.err();
        cluster.stop();
    }
    const std::string dump = slurp(f.dir() / "pg_dump.sql");
    ASSERT_NE(dump.find("CREATE TABLE public.jobs"), std::string::npos) << "a real dump";
    ASSERT_NE(dump.find("COPY public.attempts"), std::string::npos);

    std::vector<std::string> found;
    auto search = [&](const std::string& what, const std::string& text) {
        const auto h = hits(what, text, accts);
        found.insert(found.end(), h.begin(), h.end());
    };
    for (std::size_t i = 0; i < scraped.size(); ++i) {
        search("/metrics scrape " + std::to_string(i), scraped[i]);
    }
    search("pg_dump", dump);
    // Every file the farm wrote: logs and outputs of every command (daemon.out/err,
    // status-*.out, history-*.out, …), the state dir (the database's files and server log
    // included) and the output folder with its sidecar .json files.
    int files = 0;
    int sidecars = 0;
    for (const auto& e : fs::recursive_directory_iterator(f.dir())) {
        if (!e.is_regular_file()) {
            continue;
        }
        ++files;
        if (e.path().extension() == ".json" &&
            e.path().string().find("/out/") != std::string::npos) {
            ++sidecars;
        }
        search(fs::relative(e.path(), f.dir()).string(), slurp(e.path()));
    }
    std::cout << "searched " << files << " files (" << sidecars << " sidecars), " << dump.size()
              << " bytes of pg_dump\n";
    EXPECT_GT(sidecars, 0) << "some shots rendered";
    EXPECT_TRUE(found.empty()) << [&] {
        std::string all;
        for (const auto& h : found) {
            all += h + "\n";
        }
        return all;
    }();
}

// A key pasted where a variable name or a file path belongs is a config error: the error
// names the field and where it is, never the value.
TEST(SecretsE2E, ConfigErrorsNeverPrintTheKey) {
    const auto accts = canary_accounts();
    farm f(canary_farm(accts));
    write_mixed_shotlist(f);
    const std::string key = accts.at("atlas").second;
    const std::string base = f.sim().base_url();
    const std::pair<std::string, std::string> mistakes[] = {
        {"in-api-key-env", "api_key_env: " + key},
        {"in-api-key-env-quoted", "api_key_env: \"" + key + "\""},
        {"in-api-key-file", "api_key_file: " + key},
        {"inline-api-key", "api_key: " + key},
    };
    std::vector<std::string> found;
    for (const auto& [tag, line] : mistakes) {
        const fs::path cfg = f.dir() / (tag + ".yaml");
        std::ofstream(cfg) << "state_dir: state\noutput_dir: out\nlisten: 127.0.0.1:0\n"
                           << "accounts:\n  - name: atlas\n    provider: atlascloud\n"
                           << "    base_url: " << base << "\n    " << line << "\n";
        for (const std::string command : {"validate", "run", "daemon", "status"}) {
            std::vector<std::string> args = {command, "--config", cfg.string()};
            if (command == "validate" || command == "run") {
                args.push_back(f.shotlist_path().string());
            }
            const std::string run_tag = tag + "-" + command;
            const int code = f.command(args, run_tag, 60s);
            // Operator commands (status) read no keys, so they may run; the others need the
            // account's key and must refuse the file.
            if (command != "status") {
                EXPECT_NE(code, 0) << run_tag << ": a key in the wrong place is refused";
            }
            for (const char* stream : {"out", "err"}) {
                const auto h = hits(run_tag + "." + stream, f.read(run_tag, stream), accts);
                found.insert(found.end(), h.begin(), h.end());
            }
        }
    }
    EXPECT_TRUE(found.empty()) << [&] {
        std::string all;
        for (const auto& h : found) {
            all += h + "\n";
        }
        return all;
    }();
}

std::string limit_line(pid_t pid, const std::string& name) {
    std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/limits"));
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with(name)) {
            return line.substr(name.size());
        }
    }
    return "";
}

TEST(SecretsE2E, DaemonRunsWithoutCoreDumps) {
    farm f;  // two Atlas accounts; their keys are in the daemon's environment and memory
    std::uint16_t port = 0;
    auto daemon = f.start_daemon("daemon", port);
    std::istringstream fields(limit_line(daemon->pid(), "Max core file size"));
    std::string soft;
    std::string hard;
    fields >> soft >> hard;
    EXPECT_EQ(soft, "0") << "core file size limit of the daemon";
    EXPECT_EQ(hard, "0") << "the daemon must not be able to raise it again";
    // SIGTERM once it handles signals (it says so when it starts working).
    ASSERT_TRUE(wait_until(
        [&] { return f.read("daemon", "out").find("daemon working") != std::string::npos; }, 30s
    )) << f.read("daemon", "out");
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(60s), 0) << f.read("daemon", "err");
}

// Not dumpable: no core file, and no other process of the same user can read its memory or
// environment through /proc or ptrace. The kernel shows it as /proc/<pid>/* owned by root while
// the process runs as someone else — so shotfarm is run as `nobody`, held still in its first
// write to a pipe that is already full (filled here before it starts, so it never gets to
// finish and exit — at exit LeakSanitizer makes a sanitizer build dumpable for its check), and
// its /proc entry looked at while it waits.
TEST(SecretsE2E, EveryCommandIsNotDumpable) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to run shotfarm as another user";
    }
    constexpr uid_t nobody = 65534;
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    // Fill the pipe to the brim (non-blocking while we do, blocking again for the child).
    ASSERT_EQ(::fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
    const std::string filler(4096, 'x');
    while (::write(fds[1], filler.data(), filler.size()) > 0) {
    }
    while (::write(fds[1], filler.data(), 1) > 0) {
    }
    ASSERT_EQ(errno, EAGAIN);
    ASSERT_EQ(::fcntl(fds[1], F_SETFL, 0), 0);
    const std::string binary = shotfarm_binary().string();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::dup2(fds[1], 1);
        if (::setgid(nobody) != 0 || ::setuid(nobody) != 0) {
            ::_exit(126);
        }
        ::execl(binary.c_str(), binary.c_str(), "models", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(fds[1]);
    // Blocked in its first write of output: main() has begun (core dumps are turned off before
    // anything) and cannot go further.
    const std::string proc = "/proc/" + std::to_string(pid);
    const bool writing = wait_until(
        [&] {
            std::error_code ec;
            return fs::read_symlink(proc + "/exe", ec) == fs::canonical(binary) &&
                   slurp(proc + "/wchan").find("pipe_write") != std::string::npos;
        },
        10s
    );
    if (!writing) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        ::close(fds[0]);
        FAIL() << "shotfarm models never blocked writing its output (wchan "
               << slurp(proc + "/wchan") << ")";
    }
    struct stat st {};
    ASSERT_EQ(::stat((proc + "/status").c_str(), &st), 0);
    const std::string status = slurp(proc + "/status");
    const std::string limits = limit_line(pid, "Max core file size");
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(fds[0]);
    ASSERT_NE(status.find("Uid:\t65534"), std::string::npos) << "it runs as nobody:\n" << status;
    EXPECT_EQ(
        st.st_uid, 0u
    ) << "/proc/<pid>/status of a dumpable process is owned by its user (nobody)";
    EXPECT_NE(limits.find(" 0 "), std::string::npos) << limits;
}

}  // namespace
}  // namespace shotfarm::testing
