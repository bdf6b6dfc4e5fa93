// A hostile provider on loopback (issue 11): `shotfarm run` over four providers where some
// shots get unusable answers from the simulator — download URLs on ftp://, on a loopback port
// the provider does not own, on the cloud metadata address; redirect chains (3 allowed, 4 not)
// and redirects off the provider's origin; job ids that climb out of a path, carry control
// characters or run to 300 bytes; status words no provider documents — and the rest are
// healthy. The run must end by itself, render every healthy shot, park every hostile one with
// a reason naming provider, account and shot, log a task fault at most once per job, pay for
// nothing twice and touch nothing it should not: no request outside the provider's routes, no
// connection to the foreign port, no credentials on a media fetch (the simulator's ledger and a
// listener of the test's own are the witnesses).
//
// The test runs in a network namespace of its own (only loopback, as root — CI is), so a farm
// that fetched the metadata address as given would fail to connect without a packet leaving
// the machine. Where the namespace cannot be made, the two shots aimed at that address are
// left out (and the output says so); everything else runs the same.
#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/e2e/farm_fixture.hpp"

namespace shotfarm::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

/// Moves this thread (and every child it forks from now on) into a new network namespace with
/// only loopback, up. False when not permitted (not root, or a sandbox without namespaces).
bool isolate_network() {
    if (::unshare(CLONE_NEWNET) != 0) {
        return false;
    }
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        return false;
    }
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    bool up = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    up = up && ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    ::close(fd);
    return up;
}

/// A TCP listener on 127.0.0.1 that counts the connections it is offered: the "foreign" port
/// the hostile URLs name. Nothing may ever connect to it.
class counting_listener {
public:
    counting_listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd_, 64) != 0) {
            throw std::runtime_error("counting_listener: cannot listen on 127.0.0.1");
        }
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~counting_listener() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    counting_listener(const counting_listener&) = delete;
    counting_listener& operator=(const counting_listener&) = delete;

    std::uint16_t port() const { return port_; }
    int accepted() const { return accepted_; }

private:
    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
                const int c = ::accept(fd_, nullptr, nullptr);
                if (c >= 0) {
                    ++accepted_;
                    ::close(c);
                }
            }
        }
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

struct provider_account {
    std::string prefix;    ///< of the shot ids
    std::string provider;  ///< in the config
    std::string short_name;
    std::string account;
    std::string key;
};

const std::vector<provider_account>& providers() {
    static const std::vector<provider_account> all = {
        {"at", "atlascloud", "atlas", "acct-atlas", "k-atlas"},
        {"ws", "wavespeed", "wavespeed", "acct-ws", "k-ws"},
        {"ai", "aimlapi", "aimlapi", "acct-aiml", "k-aiml"},
        {"mm", "minimax", "minimax", "acct-mm", "k-mm"},
    };
    return all;
}

/// What a shot's trigger must lead to.
enum class expect { success, parked, either };

struct trap {
    std::string name;     ///< the shot id's suffix
    std::string trigger;  ///< in the prompt
    expect end;
    bool private_address = false;  ///< aimed at 169.254.169.254
};

std::vector<trap> traps(bool with_private) {
    std::vector<trap> t = {
        {"ok1", "", expect::success},
        {"ok2", "", expect::success},
        {"ftp", "[sim:url_ftp]", expect::parked},
        {"foreign", "[sim:url_foreign]", expect::parked},
        {"private", "[sim:url_private]", expect::parked, true},
        // Percent-encoded, the climbing id is data: it may be used (then nothing escapes) or
        // refused; either way nothing may reach a path outside the provider's routes.
        {"climb", "[sim:id_climb]", expect::either},
        {"ctrl", "[sim:id_ctrl]", expect::parked},
        {"long", "[sim:id_long]", expect::parked},
        {"bogus", "[sim:status_bogus]", expect::parked},
        {"redir2", "[sim:redirect:2]", expect::success},
        {"redir3", "[sim:redirect:3]", expect::success},
        {"redir4", "[sim:redirect:4]", expect::parked},
        {"redirforeign", "[sim:redirect_foreign]", expect::parked},
        {"redirprivate", "[sim:redirect_private]", expect::parked, true},
    };
    if (!with_private) {
        std::erase_if(t, [](const trap& x) { return x.private_address; });
    }
    return t;
}

farm_options hostile_farm(std::uint16_t foreign_port) {
    farm_options o;
    o.sim_yaml =
        "time_scale: 0.01\nseed: 11\nvisibility_lag_s: 1\n"
        "default_timing: {median_s: 30, sigma: 0.2}\nforeign_url_port: " +
        std::to_string(foreign_port) + "\nkeys:\n";
    for (const auto& p : providers()) {
        o.sim_yaml += "  - {key: " + p.key + ", provider: " + p.short_name +
                      ", max_concurrency: 6, requests_per_minute: 1000}\n";
        o.accounts_yaml += "  - name: " + p.account + "\n    provider: " + p.provider +
                           "\n    base_url: @BASE@\n    api_key_env: E2E_KEY_" + p.prefix +
                           "\n    max_concurrency: 4\n    requests_per_minute: 1000\n"
                           "    submits_per_minute: 1000\n";
        o.keys[p.prefix] = p.key;  // exported as E2E_KEY_<prefix>
    }
    return o;
}

struct shot {
    std::string id;
    const provider_account* p;
    trap t;
};

std::vector<shot> shots(bool with_private) {
    std::vector<shot> out;
    for (const auto& p : providers()) {
        for (const auto& t : traps(with_private)) {
            out.push_back({p.prefix + "-" + t.name, &p, t});
        }
    }
    return out;
}

std::string shotlist_yaml(const std::vector<shot>& all) {
    std::string y = "project: hostile\nshots:\n";
    for (const auto& s : all) {
        y += "  - id: " + s.id + "\n    prompt: \"shot " + s.id + ": a harbour at dusk " +
             s.t.trigger + "\"\n    provider: " + s.p->provider + "\n";
    }
    return y;
}

/// The ledger submissions for one shot (matched by the shot id its prompt carries).
std::vector<json::object> billed_for(const json::value& ledger, const std::string& shot_id) {
    std::vector<json::object> out;
    const std::string marker = "shot " + shot_id + ":";
    for (const auto& s : ledger.at("submissions").as_array()) {
        if (std::string(s.at("prompt").as_string()).find(marker) != std::string::npos) {
            out.push_back(s.as_object());
        }
    }
    return out;
}

std::int64_t num(const json::value& v) {
    return v.to_number<std::int64_t>();
}

/// job_id → `job.task_failed` lines in a structured log (one JSON object per line).
std::map<std::int64_t, int> task_faults(const std::string& log) {
    std::map<std::int64_t, int> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
        if (line.find("\"job.task_failed\"") == std::string::npos) {
            continue;
        }
        boost::system::error_code ec;
        const auto v = json::parse(line, ec);
        const auto* id = !ec && v.is_object() ? v.as_object().if_contains("job_id") : nullptr;
        ++out[id != nullptr ? num(*id) : -1];
    }
    return out;
}

TEST(hostile_e2e, HostileAnswersAreRefusedOnceTheRunEndsAndTheHealthyShotsRender) {
    const bool isolated = isolate_network();
    if (!isolated) {
        std::cout << "NOTE: no network namespace (not root?): the two shots aimed at "
                     "169.254.169.254 are left out\n";
    }
    counting_listener foreign;
    farm f(hostile_farm(foreign.port()));
    const auto all = shots(isolated);
    f.write_shotlist(shotlist_yaml(all));

    // Before issue 11 the run looped on `job.task_failed` for ever (killed by a timeout).
    const auto started = std::chrono::steady_clock::now();
    auto run = f.start_run();
    const int code = run->wait(120s);
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    const std::string err = f.read("run", "err");
    std::cout << "run took " << took.count() << " s, exit " << code << ", " << all.size()
              << " shots\n";
    ASSERT_NE(code, -1) << "the run did not end by itself within 120 s\n"
                        << err.substr(err.size() > 8000 ? err.size() - 8000 : 0);
    const auto tail = [](const std::string& text) {
        return text.substr(text.size() > 8000 ? text.size() - 8000 : 0);
    };
    EXPECT_EQ(code, 1) << "held or failed jobs make the exit code 1\n"
                       << f.read("run", "out") << tail(err);

    // ---- the daemon's record of every job ------------------------------------------------
    const auto ledger = f.sim().ledger();
    const auto rows = f.query(
        "SELECT shot_id, state::text, coalesce(error, ''), coalesce(output_path, ''), "
        "coalesce(sha256, ''), coalesce(account, ''), id FROM jobs ORDER BY shot_id"
    );
    ASSERT_EQ(rows.size(), all.size());
    std::map<std::string, std::vector<std::string>> by_shot;
    for (const auto& r : rows) {
        by_shot[r[0]] = r;
    }
    int succeeded = 0;
    int parked = 0;
    for (const auto& s : all) {
        SCOPED_TRACE(s.id);
        const auto it = by_shot.find(s.id);
        ASSERT_NE(it, by_shot.end());
        const auto& r = it->second;
        const std::string& state = r[1];
        const std::string& error = r[2];
        const auto billed = billed_for(ledger, s.id);
        EXPECT_EQ(billed.size(), 1u) << "each shot paid for exactly once";
        const bool ok = state == "succeeded";
        if (s.t.end == expect::success || (s.t.end == expect::either && ok)) {
            EXPECT_EQ(state, "succeeded") << error;
            ASSERT_TRUE(fs::exists(r[3])) << r[3];
            EXPECT_EQ(r[3].substr(r[3].size() - 4), ".mp4");
            EXPECT_EQ(sha256_of(r[3]), r[4]);
            if (!billed.empty()) {
                EXPECT_EQ(std::string(billed[0].at("sha256").as_string()), r[4])
                    << "the file is the provider's video";
            }
            ++succeeded;
            continue;
        }
        ++parked;
        std::cout << "  " << s.id << ": " << state << " · " << error.substr(0, 200) << "\n";
        EXPECT_TRUE(state == "held" || state == "failed") << state;
        EXPECT_FALSE(fs::exists(r[3]) && !r[3].empty()) << "no file for a refused answer";
        // The reason names the provider, the account and the shot.
        EXPECT_NE(error.find(s.p->short_name), std::string::npos) << error;
        EXPECT_NE(error.find("'" + s.p->account + "'"), std::string::npos) << error;
        EXPECT_NE(error.find("hostile/" + s.id), std::string::npos) << error;
    }
    std::cout << succeeded << " succeeded, " << parked << " held or failed\n";

    // ---- a task fault is logged at most once per job -----------------------------------
    int faults = 0;
    for (const auto& [job, n] : task_faults(err)) {
        EXPECT_LE(n, 1) << "job " << job << " logged job.task_failed " << n << " times";
        faults += n;
    }
    std::cout << "job.task_failed lines: " << faults << " (ideally 0)\n";

    // ---- the provider's side: nothing escaped, nothing foreign, no key on media --------
    EXPECT_EQ(num(ledger.at("escaped_requests")), 0) << "requests outside the providers' routes: "
                                                     << json::serialize(ledger.at("escaped_paths"));
    EXPECT_EQ(num(ledger.at("media_authorized")), 0) << "a credential went to a media route";
    EXPECT_EQ(foreign.accepted(), 0) << "the farm connected to a port its provider does not own";
    EXPECT_EQ(ledger.at("submissions").as_array().size(), all.size()) << "nothing billed twice";

    // Redirects: up to 3 hops are followed (each attempt walks the chain once); a 4th is
    // refused, so that file is never fetched; off-origin hops are never followed.
    for (const auto& s : all) {
        SCOPED_TRACE(s.id);
        const auto billed = billed_for(ledger, s.id);
        if (billed.empty()) {
            continue;
        }
        const auto& fetches = billed[0].at("fetches");
        const auto file = num(fetches.at("file"));
        const auto hops = num(fetches.at("redirect"));
        if (s.t.name == "redir2" || s.t.name == "redir3") {
            const int n = s.t.name == "redir2" ? 2 : 3;
            EXPECT_GE(file, 1);
            EXPECT_EQ(hops, n * file) << "every hop fetched once per download";
        } else if (s.t.name == "redir4") {
            EXPECT_EQ(file, 0) << "a 4th redirect must be refused";
            EXPECT_GE(hops, 4) << "the chain was walked (3 hops followed)";
            EXPECT_EQ(hops % 4, 0) << hops;
            EXPECT_LE(hops, 4 * 5) << "refused, not retried in a loop";
        } else if (s.t.name == "redirforeign" || s.t.name == "redirprivate") {
            EXPECT_EQ(file, 0);
            EXPECT_GE(hops, 1);
            EXPECT_LE(hops, 5) << "refused, not retried in a loop";
        } else if (s.t.end == expect::parked) {
            EXPECT_EQ(file, 0) << "a refused URL fetched from the simulator anyway";
            EXPECT_EQ(hops, 0);
        }
    }

    // ---- what the operator sees: status --json and history -----------------------------
    ASSERT_EQ(f.command({"status", "--config", f.config_path().string(), "--json"}, "status"), 0)
        << f.read("status", "err");
    const auto st = json::parse(f.read("status", "out")).as_object();
    const auto& counts = st.at("jobs");
    EXPECT_EQ(num(counts.at("succeeded")), succeeded);
    EXPECT_EQ(num(counts.at("held")) + num(counts.at("failed")), parked);
    for (const char* busy : {"queued", "submitting", "running", "downloading", "retry_wait"}) {
        EXPECT_EQ(num(counts.at(busy)), 0) << busy << ": the run ended with work in progress";
    }
    // One provider's hostile shots, as `shotfarm history` tells them.
    for (const auto& s : all) {
        if (s.p->prefix != "at" || by_shot[s.id][1] == "succeeded") {
            continue;
        }
        const std::string ref = "hostile/" + s.id + "/t01";
        ASSERT_EQ(f.command({"history", "--config", f.config_path().string(), ref}, "history"), 0)
            << f.read("history", "err");
        const std::string hist = f.read("history", "out");
        const std::string first = hist.substr(0, hist.find('\n'));
        EXPECT_NE(first.find(by_shot[s.id][1]), std::string::npos) << hist;
        EXPECT_NE(first.find("account '" + s.p->account + "'"), std::string::npos) << hist;
        EXPECT_NE(first.find(ref), std::string::npos) << hist;
    }
}

}  // namespace
}  // namespace shotfarm::testing
