// Provider push end to end (issue 12): the daemon's webhook route on its `listen` address, with
// `public_url` pointing at it, over the simulator's signed webhooks on Atlas Cloud (Ed25519 and
// its JWKS), WaveSpeed (HMAC v3 with the account's secret from a 0600 file) and MiniMax
// (challenge echo, unsigned hints). A push ends a job without the polls it would otherwise
// wait for; a lost one is covered by the safety poll; a duplicate is applied once; forged,
// stale, replayed and unknown-job deliveries — and the route's other doors — change nothing.
// Ground truth: the simulator's ledger (requests, bills, deliveries), the database (states and
// job_events), the files, and the daemon's /metrics.
#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <netinet/in.h>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "jobs/sched/polling.hpp"
#include "simulator/media.hpp"
#include "simulator/webhooks.hpp"
#include "tests/e2e/farm_fixture.hpp"
#include "tests/support/http_call.hpp"

namespace shotfarm::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

// The WaveSpeed key's webhook secret, in SIM.yaml and (the same value) in the account's 0600
// file. Base64 text on purpose: WaveSpeed keys the HMAC with the text after `whsec_`.
const std::string ws_secret = "whsec_ZTJlLXdlYmhvb2stc2VjcmV0LTAx";

/// A TCP port on 127.0.0.1 nothing listens on right now (bound, read, closed): the daemon's
/// `listen`, known before it starts so that `public_url` can name it.
std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw std::runtime_error("free_port: cannot bind 127.0.0.1:0");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// The key variable's suffix for an account (E2E_KEY_<it>): names may hold '-', variables not.
std::string env_name(std::string account) {
    std::replace(account.begin(), account.end(), '-', '_');
    return account;
}

struct hook_options {
    double time_scale = 0.05;
    double median_s = 80;  ///< provider seconds (x time_scale on the wall)
    double sigma = 0.2;
    std::string sim_webhooks = "{}";  ///< SIM.yaml `webhooks:`
    int concurrency = 4;              ///< per account
    bool minimax = true;              ///< an account `mm`
    bool plain_atlas = false;         ///< an account `at-off` without webhooks
};

/// A farm whose accounts `at` (Atlas), `ws` (WaveSpeed), `mm` (MiniMax) take webhooks at
/// http://127.0.0.1:<port>/webhooks/<account>, the daemon listening on that port.
class hooked_farm {
public:
    explicit hooked_farm(const hook_options& o) : port_(free_port()), f_(options(o)) {
        const fs::path secret = f_.dir() / "ws.secret";
        std::ofstream(secret) << ws_secret << "\n";
        fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write);
        std::string cfg = config();
        const std::string listen = "listen: 127.0.0.1:0\n";
        cfg.replace(
            cfg.find(listen),
            listen.size(),
            "listen: 127.0.0.1:" + std::to_string(port_) +
                "\npublic_url: http://127.0.0.1:" + std::to_string(port_) + "\n"
        );
        cfg.replace(cfg.find("@SECRET@"), 8, secret.string());
        set_config(cfg);
    }

    farm& f() { return f_; }
    std::uint16_t port() const { return port_; }

    std::string config() const {
        std::ifstream in(f_.config_path());
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }
    void set_config(const std::string& text) const { std::ofstream(f_.config_path()) << text; }

    /// Turns every account's webhooks on or off (public_url stays).
    void set_webhooks(bool on) const {
        std::string cfg = config();
        const std::string from = on ? "webhooks: false" : "webhooks: true";
        const std::string to = on ? "webhooks: true" : "webhooks: false";
        for (auto at = cfg.find(from); at != std::string::npos; at = cfg.find(from, at)) {
            cfg.replace(at, from.size(), to);
        }
        set_config(cfg);
    }

    /// `shotfarm submit`, then `shotfarm daemon` on the fixed port.
    std::unique_ptr<child> submit_and_start_daemon() {
        const int code = f_.command(
            {"submit", "--config", f_.config_path().string(), f_.shotlist_path().string()}, "submit"
        );
        EXPECT_EQ(code, 0) << f_.read("submit", "err");
        std::uint16_t port = 0;
        auto d = f_.start_daemon("daemon", port);
        EXPECT_EQ(port, port_);
        return d;
    }

private:
    static farm_options options(const hook_options& o) {
        farm_options fo;
        std::ostringstream sim;
        sim << "time_scale: " << o.time_scale << "\nseed: 12\nvisibility_lag_s: 1\n"
            << "default_timing: {median_s: " << o.median_s << ", sigma: " << o.sigma << "}\n"
            << "webhooks: " << o.sim_webhooks << "\nkeys:\n"
            << "  - {key: k-at, provider: atlas, max_concurrency: 8, requests_per_minute: 5000}\n"
            << "  - {key: k-ws, provider: wavespeed, max_concurrency: 8, "
               "requests_per_minute: 5000, webhook_secret: "
            << ws_secret << "}\n"
            << "  - {key: k-mm, provider: minimax, max_concurrency: 8, requests_per_minute: "
               "5000}\n"
            << "  - {key: k-off, provider: atlas, max_concurrency: 8, requests_per_minute: 5000}\n";
        fo.sim_yaml = sim.str();
        const auto account = [&](const std::string& name,
                                 const std::string& provider,
                                 const std::string& key,
                                 const std::string& more) {
            fo.accounts_yaml +=
                "  - name: " + name + "\n    provider: " + provider +
                "\n    base_url: @BASE@\n    api_key_env: E2E_KEY_" + env_name(name) +
                "\n    max_concurrency: " + std::to_string(o.concurrency) +
                "\n    requests_per_minute: 5000\n    submits_per_minute: 1000\n" + more;
            fo.keys[env_name(name)] = key;
        };
        account("at", "atlascloud", "k-at", "    webhooks: true\n");
        account(
            "ws", "wavespeed", "k-ws", "    webhooks: true\n    webhook_secret_file: @SECRET@\n"
        );
        if (o.minimax) {
            account("mm", "minimax", "k-mm", "    webhooks: true\n");
        }
        if (o.plain_atlas) {
            account("at-off", "atlascloud", "k-off", "    webhooks: false\n");
        }
        // The planner decides (not a tight max_poll_interval); the prior is the true median.
        fo.poll_yaml = "poll_interval_s: 0.2\nmax_poll_interval_s: 30\n";
        std::ostringstream prior;
        prior << "generation_prior_s: {hailuo-02-standard: " << o.median_s * o.time_scale << "}\n";
        fo.extra_config = prior.str();
        return fo;
    }

    std::uint16_t port_;
    farm f_;
};

/// A shot list: `n` shots per account, pinned, ids "<account>-NN", distinct prompts; `extra`
/// (when given) adds to a shot's prompt what it answers for its id.
std::string pinned_shots(
    const std::string& project,
    const std::vector<std::string>& accounts,
    int n,
    const std::function<std::string(const std::string& id)>& extra = {}
) {
    std::string y = "project: " + project + "\nshots:\n";
    for (const auto& a : accounts) {
        for (int i = 1; i <= n; ++i) {
            const std::string id = a + "-" + (i < 10 ? "0" : "") + std::to_string(i);
            y += "  - id: " + id + "\n    account: " + a + "\n    prompt: \"shot " + id + " of " +
                 project + ", a harbour at dusk" + (extra ? extra(id) : "") + "\"\n";
        }
    }
    return y;
}

/// The daemon's /metrics as series → value (`name{labels}` exactly as exposed).
std::map<std::string, double> scrape(std::uint16_t port) {
    std::map<std::string, double> out;
    std::istringstream in(http_call(port, http::verb::get, "/metrics", {}, {}, 5s).body);
    for (std::string line; std::getline(in, line);) {
        const auto space = line.rfind(' ');
        if (line.empty() || line[0] == '#' || space == std::string::npos) {
            continue;
        }
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

double value_of(const std::map<std::string, double>& m, const std::string& series) {
    const auto it = m.find(series);
    return it == m.end() ? 0.0 : it->second;
}

std::string hooks(const std::string& provider, const std::string& verdict) {
    return "shotfarm_webhooks_total{provider=\"" + provider + "\",verdict=\"" + verdict + "\"}";
}
std::string applied(const std::string& provider) {
    return "shotfarm_pushes_applied_total{provider=\"" + provider + "\"}";
}

std::int64_t num(const json::value& v) {
    return v.to_number<std::int64_t>();
}

std::int64_t ledger_at(const json::value& ledger, std::initializer_list<const char*> path) {
    const json::value* v = &ledger;
    for (const char* k : path) {
        v = &v->as_object().at(k);
    }
    return num(*v);
}

/// Every job of the project succeeded exactly once: its file is on disk with the simulator's
/// bytes for its provider id, billed once, and it has one ready event (running → downloading).
/// Returns the number of jobs.
std::size_t expect_all_rendered_once(farm& f, const std::string& project) {
    const auto ledger = f.sim().ledger();
    std::map<std::string, int> bills;  // provider job id → submissions billed
    std::map<std::string, std::string> served;
    for (const auto& s : ledger.at("submissions").as_array()) {
        const std::string id(s.at("id").as_string());
        ++bills[id];
        if (s.at("sha256").is_string()) {
            served[id] = std::string(s.at("sha256").as_string());
        }
    }
    const auto rows = f.query(
        "SELECT j.shot_id, j.state::text, coalesce(j.output_path, ''), coalesce(j.sha256, ''), "
        "coalesce(j.provider_job_id, ''), coalesce(j.error, ''), "
        "(SELECT count(*) FROM job_events e WHERE e.job_id = j.id "
        "   AND e.from_state = 'running' AND e.to_state = 'downloading'), "
        "(SELECT count(*) FROM attempts a WHERE a.job_id = j.id AND a.outcome <> 'rejected' "
        "   AND a.outcome <> 'not_sent') "
        "FROM jobs j WHERE j.project = '" +
        project + "' ORDER BY j.shot_id"
    );
    for (const auto& r : rows) {
        SCOPED_TRACE(r[0]);
        EXPECT_EQ(r[1], "succeeded") << r[5];
        EXPECT_EQ(r[6], "1") << "one ready event per job";
        EXPECT_EQ(r[7], "1") << "one paid attempt per job";
        EXPECT_EQ(bills[r[4]], 1) << "billed once: " << r[4];
        EXPECT_TRUE(!r[2].empty() && fs::exists(r[2])) << "no file at '" << r[2] << "'";
        if (!r[2].empty() && fs::exists(r[2])) {
            EXPECT_EQ(sha256_of(r[2]), r[3]);
        }
        EXPECT_EQ(served[r[4]], r[3]) << "the file is the simulator's video for the job";
    }
    return rows.size();
}

/// Polls per job on a key since `before` (a ledger snapshot).
double polls_per_job(
    const json::value& before, const json::value& after, const std::string& key, int jobs
) {
    return static_cast<double>(
               ledger_at(after, {"requests", key.c_str(), "poll"}) -
               ledger_at(before, {"requests", key.c_str(), "poll"})
           ) /
           jobs;
}

/// Waits until every job of the project succeeded and every delivery of the simulator's
/// Atlas and WaveSpeed pushes was answered (`sent` of them, each delivered or given up).
bool await_all_done(hooked_farm& h, const std::string& project, std::size_t jobs) {
    const bool done = wait_until(
        [&] {
            return h.f().query(
                       "SELECT count(*) FROM jobs WHERE state = 'succeeded' AND project = '" +
                       project + "'"
                   )[0][0] == std::to_string(jobs);
        },
        60s
    );
    return done && wait_until(
                       [&] {
                           const auto l = h.f().sim().ledger();
                           for (const char* p : {"atlas", "wavespeed"}) {
                               if (ledger_at(l, {"webhooks", p, "sent"}) !=
                                   ledger_at(l, {"webhooks", p, "delivered"}) +
                                       ledger_at(l, {"webhooks", p, "failed"})) {
                                   return false;
                               }
                           }
                           return true;
                       },
                       20s
                   );
}

// ---- 1. pushes end jobs without polls -------------------------------------------------------

TEST(webhooks_e2e, PushesEndJobsWithFarFewerPollsThanPollingAlone) {
    // Generations of ~4 s on the wall (80 provider s x 0.05, sigma 0.2): a video is seen only
    // when something looks. Two batches of 24 shots, 8 per account, on the same farm: first
    // polling only (webhooks off, `shotfarm run`), then with webhooks (`shotfarm daemon`, so
    // that /metrics can be read once the work is done).
    hook_options o;
    hooked_farm h(o);
    const std::vector<std::string> accounts = {"at", "ws", "mm"};

    h.set_webhooks(false);
    h.f().write_shotlist(pinned_shots("polled", accounts, 8));
    const auto before = h.f().sim().ledger();
    ASSERT_EQ(h.f().run(90s, "polled"), 0) << h.f().read("polled", "err");
    EXPECT_EQ(expect_all_rendered_once(h.f(), "polled"), 24u);
    h.f().close_db();
    const auto middle = h.f().sim().ledger();

    h.set_webhooks(true);
    h.f().write_shotlist(pinned_shots("pushed", accounts, 8));
    const auto t0 = std::chrono::steady_clock::now();
    auto d = h.submit_and_start_daemon();
    ASSERT_TRUE(await_all_done(h, "pushed", 24)) << d->err();
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto m = scrape(h.port());
    d->signal(SIGTERM);
    EXPECT_EQ(d->wait(30s), 0) << d->err();
    EXPECT_EQ(expect_all_rendered_once(h.f(), "pushed"), 24u);
    const auto after = h.f().sim().ledger();

    std::cout << "with webhooks: 24 jobs in " << took << " s\n";
    for (const char* key : {"k-at", "k-ws", "k-mm"}) {
        const double polled = polls_per_job(before, middle, key, 8);
        const double pushed = polls_per_job(middle, after, key, 8);
        std::cout << key << ": polls per job " << polled << " polling only, " << pushed
                  << " with webhooks\n";
        if (std::string(key) != "k-mm") {
            // Signed pushes are applied as the poll result: what is left is the safety net,
            // planned for sched::safety_polls_per_job.
            EXPECT_LE(pushed, sched::safety_polls_per_job) << key;
            EXPECT_LE(pushed, 0.4 * polled) << key;
        } else {
            // MiniMax's callbacks are unsigned hints, each confirmed by a poll at once.
            EXPECT_LT(pushed, polled) << key;
        }
    }
    // The deliveries: every terminal event delivered (answered 2xx), MiniMax's challenges echoed.
    for (const char* p : {"atlas", "wavespeed"}) {
        EXPECT_EQ(ledger_at(after, {"webhooks", p, "delivered"}), 8) << p;
        EXPECT_EQ(ledger_at(after, {"webhooks", p, "failed"}), 0) << p;
    }
    EXPECT_EQ(ledger_at(after, {"webhooks", "minimax", "challenges"}), 8);
    EXPECT_EQ(ledger_at(after, {"webhooks", "minimax", "challenge_failed"}), 0);
    // And the daemon applied them: nearly every job ended by its push (a safety poll may see
    // a video in the milliseconds before its push lands), none twice.
    for (const char* p : {"atlas", "wavespeed"}) {
        SCOPED_TRACE(p);
        std::cout << p << ": pushes applied " << value_of(m, applied(p)) << " of 8\n";
        EXPECT_GE(value_of(m, applied(p)), 6);
        EXPECT_LE(value_of(m, applied(p)), 8);
        EXPECT_EQ(value_of(m, hooks(p, "event")), 8);
        EXPECT_EQ(value_of(m, hooks(p, "refused")), 0);
    }
    EXPECT_GE(value_of(m, hooks("minimax", "event")), 8) << "the terminal hints at least";
    EXPECT_EQ(value_of(m, hooks("minimax", "challenge")), 8);
}

// ---- 2. a lost webhook is covered by the safety poll ----------------------------------------

TEST(webhooks_e2e, LostWebhooksAreCoveredByTheSafetyPoll) {
    hook_options o;
    o.median_s = 30;  // 1.5 s on the wall
    o.sim_webhooks = "{loss: 1}";
    hooked_farm h(o);
    h.f().write_shotlist(pinned_shots("lost", {"at", "ws", "mm"}, 4));
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(h.f().run(60s, "run"), 0) << h.f().read("run", "err");
    std::cout << "run "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
              << " s\n";
    EXPECT_EQ(expect_all_rendered_once(h.f(), "lost"), 12u);
    const auto ledger = h.f().sim().ledger();
    EXPECT_EQ(ledger.at("submissions").as_array().size(), 12u) << "nothing billed twice";
    for (const char* p : {"atlas", "wavespeed"}) {
        EXPECT_EQ(ledger_at(ledger, {"webhooks", p, "lost"}), 4) << p;
        EXPECT_EQ(ledger_at(ledger, {"webhooks", p, "sent"}), 0) << p;
    }
    EXPECT_EQ(ledger_at(ledger, {"webhooks", "minimax", "sent"}), 0);
    EXPECT_EQ(ledger_at(ledger, {"webhooks", "minimax", "challenges"}), 4);
    for (const auto& s : ledger.at("submissions").as_array()) {
        EXPECT_TRUE(s.at("webhook_sent_at").is_null()) << json::serialize(s);
    }
}

// ---- 3. a duplicate is applied once ---------------------------------------------------------

TEST(webhooks_e2e, DuplicateDeliveriesAreAppliedOnce) {
    hook_options o;
    o.median_s = 30;
    o.sim_webhooks = "{duplicate: 1}";
    hooked_farm h(o);
    h.f().write_shotlist(pinned_shots("dup", {"at", "ws", "mm"}, 4));
    auto d = h.submit_and_start_daemon();
    ASSERT_TRUE(await_all_done(h, "dup", 12)) << d->err();
    const auto m = scrape(h.port());
    d->signal(SIGTERM);
    EXPECT_EQ(d->wait(30s), 0) << d->err();

    EXPECT_EQ(expect_all_rendered_once(h.f(), "dup"), 12u);
    const auto ledger = h.f().sim().ledger();
    EXPECT_EQ(ledger.at("submissions").as_array().size(), 12u);
    std::size_t files = 0;
    for (const auto& e : fs::recursive_directory_iterator(h.f().output_dir())) {
        files += e.is_regular_file() && e.path().extension() == ".mp4" ? 1 : 0;
    }
    EXPECT_EQ(files, 12u) << "one file per shot";
    for (const char* p : {"atlas", "wavespeed"}) {
        SCOPED_TRACE(p);
        EXPECT_EQ(ledger_at(ledger, {"webhooks", p, "duplicated"}), 4);
        EXPECT_EQ(value_of(m, hooks(p, "event")), 4) << "one copy of each event taken";
        EXPECT_EQ(value_of(m, hooks(p, "duplicate")), 4) << "the other known as a duplicate";
        EXPECT_LE(value_of(m, applied(p)), 4);
    }
    EXPECT_GT(value_of(m, applied("atlas")) + value_of(m, applied("wavespeed")), 0);
}

// ---- 4. forged, stale, replayed, unknown-job pushes and the route's other doors ------------

/// WaveSpeed's `webhook-signature` value for `secret` over "id.timestamp.body" — made by the
/// simulator's signer (the one its own deliveries use), not by the code under test.
std::string ws_signature(
    const std::string& secret, const std::string& id, const std::string& ts, const std::string& body
) {
    return simulator::wavespeed_signature(secret, id + "." + ts + "." + body);
}

/// An Ed25519 key of the test's own (never in the simulator's JWKS).
class own_key {
public:
    own_key() : key_(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")) {
        if (key_ == nullptr) {
            throw std::runtime_error("Ed25519 keygen failed");
        }
    }
    ~own_key() { EVP_PKEY_free(key_); }
    own_key(const own_key&) = delete;
    own_key& operator=(const own_key&) = delete;

    std::string sign(const std::string& msg) const {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        unsigned char sig[64];
        std::size_t len = sizeof sig;
        const bool ok =
            ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_) == 1 &&
            EVP_DigestSign(
                ctx, sig, &len, reinterpret_cast<const unsigned char*>(msg.data()), msg.size()
            ) == 1;
        EVP_MD_CTX_free(ctx);
        if (!ok) {
            throw std::runtime_error("Ed25519 signing failed");
        }
        return std::string(reinterpret_cast<const char*>(sig), len);
    }

private:
    EVP_PKEY* key_;
};

std::string unix_now(long long offset_s = 0) {
    return std::to_string(static_cast<long long>(std::time(nullptr)) + offset_s);
}

struct job_row {
    std::int64_t id = 0;
    std::string state;
    std::string provider_job_id;
    std::string events;  ///< job_events rows
};

std::map<std::string, job_row> jobs_by_shot(farm& f) {
    std::map<std::string, job_row> out;
    for (const auto& r :
         f.query("SELECT shot_id, id, state::text, coalesce(provider_job_id, ''), "
                 "(SELECT count(*) FROM job_events e WHERE e.job_id = j.id) FROM jobs j")) {
        out[r[0]] = {std::stoll(r[1]), r[2], r[3], r[4]};
    }
    return out;
}

TEST(webhooks_e2e, ForgedStaleReplayedAndUnknownPushesAreRefusedAndChangeNothing) {
    // Generations of ~7 s on the wall (140 provider s x 0.05, sigma 0.05): the deliveries below
    // land while every job is running and before the simulator sends any of its own.
    hook_options o;
    o.median_s = 140;
    o.sigma = 0.05;
    o.minimax = false;
    o.plain_atlas = true;
    o.sim_webhooks = "{retries: 1}";
    hooked_farm h(o);
    const auto badsig = [](const std::string& id) {
        return id.ends_with("-02") ? std::string(" [sim:webhook_badsig]") : std::string();
    };
    h.f().write_shotlist(pinned_shots("hostile", {"at", "ws", "at-off"}, 2, badsig));
    auto d = h.submit_and_start_daemon();
    const std::uint16_t port = h.port();

    // Every job in its poll loop: running for a moment, its provider id known.
    ASSERT_TRUE(wait_until(
        [&] {
            return h.f().query(
                       "SELECT count(*) FROM jobs WHERE state = 'running' AND provider_job_id IS "
                       "NOT NULL AND accepted_at < now() - interval '300 milliseconds'"
                   )[0][0] == "6";
        },
        30s
    )) << d->err();
    const auto before = jobs_by_shot(h.f());
    const auto m0 = scrape(port);
    const std::string ws_victim = before.at("ws-01").provider_job_id;
    const std::string at_victim = before.at("at-01").provider_job_id;
    const std::string forged_url = "http://127.0.0.1:1/forged.mp4";
    const auto post =
        [&](const std::string& target, const std::string& body, const http_headers& headers = {}) {
            return http_call(port, http::verb::post, target, body, headers, 10s).status;
        };

    // WaveSpeed: "completed, here is your video" for a real in-flight job.
    json::object done{
        {"id", ws_victim},
        {"model", "minimax/hailuo-02/t2v-standard"},
        {"outputs", json::array{json::value(forged_url)}},
        {"has_nsfw_contents", json::array{false}},
        {"status", "completed"},
        {"error", ""}};
    const std::string done_body = json::serialize(done);
    const auto ws_headers = [](const std::string& secret,
                               const std::string& id,
                               const std::string& ts,
                               const std::string& body) {
        return http_headers{
            {"webhook-id", id},
            {"webhook-timestamp", ts},
            {"webhook-signature", ws_signature(secret, id, ts, body)}};
    };
    const std::string other_secret = "whsec_bm90LXRoZS1hY2NvdW50cy1zZWNyZXQ";
    EXPECT_EQ(
        post(
            "/webhooks/ws",
            done_body,
            ws_headers(other_secret, "msg_forged1", unix_now(), done_body)
        ),
        401u
    ) << "an HMAC made with another secret";
    EXPECT_EQ(
        post(
            "/webhooks/ws",
            done_body,
            ws_headers(ws_secret, "msg_stale1", unix_now(-400), done_body)
        ),
        401u
    ) << "a genuine signature 400 s old";
    EXPECT_EQ(
        post(
            "/webhooks/ws",
            done_body,
            ws_headers(ws_secret, "msg_future1", unix_now(400), done_body)
        ),
        401u
    ) << "a genuine signature 400 s ahead";
    EXPECT_EQ(post("/webhooks/ws", done_body), 401u) << "no signature at all";

    // A genuine delivery ("still processing", for the other WaveSpeed job), then its replay.
    const std::string pending_body = json::serialize(json::object{
        {"id", before.at("ws-02").provider_job_id},
        {"status", "processing"},
        {"outputs", json::array{}}});
    const auto genuine = ws_headers(ws_secret, "msg_genuine1", unix_now(), pending_body);
    EXPECT_EQ(post("/webhooks/ws", pending_body, genuine), 200u);
    EXPECT_EQ(post("/webhooks/ws", pending_body, genuine), 200u) << "a replay is answered 200";
    // A genuine delivery for a job nobody has.
    json::object unknown = done;
    unknown["id"] = "ws-no-such-job-4711";
    const std::string unknown_body = json::serialize(unknown);
    EXPECT_EQ(
        post(
            "/webhooks/ws",
            unknown_body,
            ws_headers(ws_secret, "msg_unknown1", unix_now(), unknown_body)
        ),
        200u
    );

    // Atlas: "completed" for a real in-flight job, signed by a key Atlas never published —
    // under a made-up kid (the daemon fetches the JWKS once, does not find it), then under
    // the simulator's real kid.
    own_key mine;
    json::object payload{
        {"id", at_victim},
        {"status", "completed"},
        {"outputs", json::array{json::value(forged_url)}},
        {"has_nsfw_contents", json::array{false}},
        {"error", ""}};
    const std::string at_body = json::serialize(json::object{
        {"session_id", at_victim},
        {"event_type", "video.task.terminal"},
        {"status", "OK"},
        {"payload", payload},
        {"error", ""}});
    const auto at_headers = [&](const std::string& kid, const std::string& ts) {
        return http_headers{
            {"X-AtlasCloud-Webhook-Id", at_victim},
            {"X-AtlasCloud-Webhook-Timestamp", ts},
            {"X-AtlasCloud-Webhook-Event", "video.task.terminal"},
            {"X-AtlasCloud-Webhook-Key-Id", kid},
            {"X-AtlasCloud-Webhook-Signature-Ed25519",
             simulator::base64_encode(
                 mine.sign(ts + "." + at_body), simulator::base64_alphabet::url_unpadded
             )}};
    };
    EXPECT_EQ(post("/webhooks/at", at_body, at_headers("test-own-kid-1", unix_now())), 401u);
    const auto jwks = json::parse(
        http_call(h.f().sim().port(), http::verb::get, "/api/v1/webhooks/jwks.json", {}, {}, 5s)
            .body
    );
    const std::string sim_kid(jwks.at("keys").as_array().at(0).at("kid").as_string());
    EXPECT_EQ(post("/webhooks/at", at_body, at_headers(sim_kid, unix_now())), 401u)
        << "the simulator's kid, another key's signature";

    // The route's limits and its other doors.
    EXPECT_EQ(post("/webhooks/at", std::string(70 * 1024, 'x')), 413u) << "over Atlas's 64 KiB";
    EXPECT_EQ(http_call(port, http::verb::get, "/webhooks/at", {}, {}, 5s).status, 405u);
    EXPECT_EQ(http_call(port, http::verb::put, "/webhooks/ws", "{}", {}, 5s).status, 405u);
    EXPECT_EQ(post("/metrics", "{}"), 405u) << "nothing else takes a POST";
    EXPECT_EQ(post("/readyz", "{}"), 405u);
    EXPECT_EQ(post("/webhooks/nobody", ""), 404u) << "an unknown account";
    // docs/webhooks.md says 404; with a body the server's limit for a path no account owns
    // (0 bytes) answers 413 first. Either way nothing is read or reached.
    const unsigned unknown_with_body = post("/webhooks/nobody", "{}");
    EXPECT_TRUE(unknown_with_body == 404u || unknown_with_body == 413u) << unknown_with_body;
    EXPECT_EQ(post("/webhooks/at-off", ""), 404u) << "an account without webhooks";
    EXPECT_EQ(post("/webhooks/", ""), 404u);
    EXPECT_EQ(post("/webhooks/ws/../../metrics", ""), 404u);
    EXPECT_EQ(http_call(port, http::verb::get, "/metrics", {}, {}, 5s).status, 200u);

    // The one genuine "processing" push is applied (in place of a poll), its replay is not.
    ASSERT_TRUE(wait_until(
        [&] {
            return value_of(scrape(port), applied("wavespeed")) >=
                   value_of(m0, applied("wavespeed")) + 1;
        },
        5s
    ));
    const auto m1 = scrape(port);
    const auto ledger1 = h.f().sim().ledger();
    ASSERT_EQ(ledger_at(ledger1, {"webhooks", "atlas", "sent"}), 0)
        << "too late: the simulator's own pushes began (the deltas below would mix them in)";
    ASSERT_EQ(ledger_at(ledger1, {"webhooks", "wavespeed", "sent"}), 0);
    const auto delta = [&](const std::string& series) {
        return value_of(m1, series) - value_of(m0, series);
    };
    EXPECT_EQ(delta(hooks("wavespeed", "refused")), 4) << "other secret, stale, future, unsigned";
    EXPECT_EQ(delta(hooks("wavespeed", "event")), 2) << "the genuine push and the unknown job";
    EXPECT_EQ(delta(hooks("wavespeed", "duplicate")), 1) << "the replay";
    EXPECT_EQ(delta(applied("wavespeed")), 1) << "applied once, and nothing for the unknown job";
    EXPECT_EQ(delta(applied("atlas")), 0);
    EXPECT_EQ(delta(hooks("atlas", "event")), 0);
    EXPECT_EQ(delta(hooks("atlas", "need_keys")) + delta(hooks("atlas", "refused")), 2);
    // Nothing moved: every job still running, no event written.
    const auto now = jobs_by_shot(h.f());
    for (const auto& [shot, row] : before) {
        EXPECT_EQ(now.at(shot).state, "running") << shot;
        EXPECT_EQ(now.at(shot).events, row.events) << shot;
    }

    // The simulator's real videos end every job, the `[sim:webhook_badsig]` ones by polls; every
    // delivery answered (each bad one refused on its first try and its retry).
    ASSERT_TRUE(await_all_done(h, "hostile", 6)) << d->err();
    const auto m2 = scrape(port);
    d->signal(SIGTERM);
    EXPECT_EQ(d->wait(30s), 0) << d->err();

    EXPECT_EQ(expect_all_rendered_once(h.f(), "hostile"), 6u);
    const auto ledger = h.f().sim().ledger();
    EXPECT_EQ(ledger.at("submissions").as_array().size(), 6u) << "nothing billed twice";
    for (const char* p : {"atlas", "wavespeed"}) {
        SCOPED_TRACE(p);
        EXPECT_EQ(ledger_at(ledger, {"webhooks", p, "failed"}), 1) << "the badsig delivery";
        EXPECT_EQ(ledger_at(ledger, {"webhooks", p, "delivered"}), 1) << "the genuine one";
        EXPECT_GE(value_of(m2, hooks(p, "refused")) - value_of(m1, hooks(p, "refused")), 2);
    }
    for (const auto& r : h.f().query("SELECT shot_id, coalesce(video_url, '') FROM jobs")) {
        EXPECT_EQ(r[1].find("forged"), std::string::npos) << r[0] << ": " << r[1];
    }
    EXPECT_EQ(d->err().find(ws_secret.substr(6)), std::string::npos) << "the secret in a log";
}

}  // namespace
}  // namespace shotfarm::testing
