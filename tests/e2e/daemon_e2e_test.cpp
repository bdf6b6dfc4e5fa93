// `shotfarm daemon` with the operator's commands around it, as a studio runs them (issue 5):
// submit with or without a daemon, status --json, history, cancel of a running job, SIGHUP
// reload, finished files verified at start, the embedded PostgreSQL stopped under a working
// daemon, SIGTERM → exit 0. Ground truth: the simulator's ledger, the files, the database.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <signal.h>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/e2e/farm_fixture.hpp"
#include "tests/support/http_call.hpp"

namespace shotfarm::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

std::int64_t count_where(farm& f, const std::string& where) {
    return std::stoll(f.query("SELECT count(*) FROM jobs WHERE " + where)[0][0]);
}

json::object status_json(farm& f, const std::string& tag) {
    const int code = f.command({"status", "--config", f.config_path().string(), "--json"}, tag);
    EXPECT_EQ(code, 0) << f.read(tag, "err");
    return json::parse(f.read(tag, "out")).as_object();
}

std::int64_t polls_on(farm& f, const std::string& key) {
    const auto ledger = f.sim().ledger();
    return ledger.as_object()
        .at("requests")
        .as_object()
        .at(key)
        .as_object()
        .at("poll")
        .to_number<std::int64_t>();
}

unsigned readyz(std::uint16_t port) {
    try {
        return http_call(port, http::verb::get, "/readyz", {}, {}, 5s).status;
    } catch (const std::exception&) {
        return 0;
    }
}

std::string metric_line(std::uint16_t port, const std::string& prefix) {
    const auto body = http_call(port, http::verb::get, "/metrics").body;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(prefix, 0) == 0) {
            return line;
        }
    }
    return "";
}

std::string config_text(const farm& f) {
    std::ifstream in(f.config_path());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
}

/// Every succeeded job's file is on disk with the recorded SHA-256, which is what the simulator
/// served for the job's provider id.
void expect_files_verified(farm& f) {
    std::map<std::string, std::string> served;
    for (const auto& s : f.billed()) {
        const auto& sha = s.at("sha256");
        served[std::string(s.at("id").as_string())] =
            sha.is_string() ? std::string(sha.as_string()) : "";
    }
    for (const auto& r : f.query("SELECT shot_id, output_path, sha256, provider_job_id FROM jobs "
                                 "WHERE state = 'succeeded'")) {
        ASSERT_TRUE(fs::exists(r[1])) << r[0];
        EXPECT_EQ(sha256_of(r[1]), r[2]) << r[0];
        EXPECT_EQ(served[r[3]], r[2]) << r[0];
    }
}

TEST(DaemonE2E, SubmitStoresABatchTheDaemonRendersEveryBatchAndSigtermEndsItWithExitZero) {
    farm f(with_time_scale(0.01));
    const std::string cfg = f.config_path().string();
    f.write_shotlist(6, "first");
    ASSERT_EQ(f.command({"submit", "--config", cfg, f.shotlist_path().string()}, "submit1"), 0)
        << f.read("submit1", "err");
    // Stored, nothing sent: no daemon runs yet.
    auto st = status_json(f, "status0");
    EXPECT_EQ(st.at("jobs").at("queued").to_number<int>(), 6);
    EXPECT_EQ(st.at("jobs").at("succeeded").to_number<int>(), 0);
    EXPECT_TRUE(f.billed().empty());

    std::uint16_t port = 0;
    auto d = f.start_daemon("daemon", port);
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'succeeded'") == 6; }, 60s))
        << d->err();
    // A second batch handed over while the daemon works.
    f.write_shotlist(4, "second");
    ASSERT_EQ(f.command({"submit", "--config", cfg, f.shotlist_path().string()}, "submit2"), 0)
        << f.read("submit2", "err");
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'succeeded'") == 10; }, 60s))
        << d->err();
    EXPECT_EQ(readyz(port), 200u);
    EXPECT_TRUE(d->running()) << "the daemon waits for more work";

    st = status_json(f, "status1");
    for (const char* s :
         {"queued",
          "submitting",
          "running",
          "downloading",
          "retry_wait",
          "failed",
          "canceled",
          "held"}) {
        EXPECT_EQ(st.at("jobs").at(s).to_number<int>(), 0) << s;
    }
    EXPECT_EQ(st.at("jobs").at("succeeded").to_number<int>(), 10);
    ASSERT_EQ(st.at("batches").as_array().size(), 2u);
    ASSERT_EQ(st.at("daemons").as_array().size(), 1u);
    EXPECT_TRUE(st.at("daemons").as_array()[0].at("alive").as_bool());
    EXPECT_EQ(st.at("daemons").as_array()[0].at("pid").to_number<int>(), d->pid());

    // The audit trail of one job: who moved it, from where to where.
    ASSERT_EQ(f.command({"history", "--config", cfg, "first/s001/t01"}, "history"), 0)
        << f.read("history", "err");
    const std::string hist = f.read("history", "out");
    const std::string by_daemon = ":" + std::to_string(d->pid()) + ":";
    EXPECT_NE(hist.find("-> queued"), std::string::npos) << hist;
    EXPECT_NE(hist.find("queued      -> submitting"), std::string::npos) << hist;
    EXPECT_NE(hist.find("downloading -> succeeded"), std::string::npos) << hist;
    EXPECT_NE(hist.find(by_daemon), std::string::npos) << hist;
    EXPECT_NE(hist.find("by operator:"), std::string::npos) << "ingested by the submit\n" << hist;

    d->signal(SIGTERM);
    EXPECT_EQ(d->wait(30s), 0) << d->err();
    EXPECT_EQ(f.billed().size(), 10u) << "each job paid once";
    expect_files_verified(f);
    EXPECT_EQ(f.query("SELECT count(*) FROM daemons WHERE stopped_at IS NOT NULL")[0][0], "1");
}

TEST(DaemonE2E, CancelOfARunningJobStopsItsPollingAndSaysTheProviderMayStillBill) {
    // 60 s generations at time scale 0.2: 12 s in flight, polled every 0.1-0.5 s.
    farm_options o = with_time_scale(0.2);
    farm f(o);
    const std::string cfg = f.config_path().string();
    f.write_shotlist(
        "project: cancel\nshots:\n"
        "  - {id: s1, prompt: a take nobody needs, account: atlas-a}\n"
        "  - {id: s2, prompt: a take that finishes, account: atlas-b}\n"
    );
    ASSERT_EQ(f.command({"submit", "--config", cfg, f.shotlist_path().string()}, "submit"), 0)
        << f.read("submit", "err");
    std::uint16_t port = 0;
    auto d = f.start_daemon("daemon", port);
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'running'") == 2; }, 30s))
        << d->err();
    ASSERT_TRUE(wait_until([&] { return polls_on(f, "key-a") >= 2; }, 20s));

    ASSERT_EQ(
        f.command({"cancel", "--config", cfg, "cancel/s1", "--reason", "wrong take"}, "cancel"), 0
    ) << f.read("cancel", "err");
    const std::string said = f.read("cancel", "out");
    EXPECT_NE(said.find("running -> canceled"), std::string::npos) << said;
    EXPECT_NE(said.find("may still bill"), std::string::npos) << said;
    // The daemon notices at its next lease renewal (≤ 5 s) and stops polling the job.
    ASSERT_TRUE(
        wait_until([&] { return d->err().find("job.lease_lost") != std::string::npos; }, 15s)
    ) << d->err();
    const auto polls_at_notice = polls_on(f, "key-a");
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'succeeded'") == 1; }, 30s))
        << d->err();
    EXPECT_LE(polls_on(f, "key-a"), polls_at_notice + 1) << "a canceled job is not polled";
    EXPECT_EQ(f.query("SELECT state FROM jobs WHERE shot_id = 's1'")[0][0], "canceled");
    EXPECT_EQ(f.billed().size(), 2u) << "nothing resubmitted";

    ASSERT_EQ(f.command({"history", "--config", cfg, "cancel/s1/t01"}, "history"), 0);
    const std::string hist = f.read("history", "out");
    EXPECT_NE(hist.find("running     -> canceled"), std::string::npos) << hist;
    EXPECT_NE(
        hist.find("canceled by operator: wrong take; the provider may still bill"),
        std::string::npos
    ) << hist;
    // Nothing left to cancel: exit 1; an unknown target: exit 2.
    EXPECT_EQ(f.command({"cancel", "--config", cfg, "cancel/s1"}, "again"), 1);
    EXPECT_EQ(f.command({"cancel", "--config", cfg, "nosuch"}, "unknown"), 2);
    EXPECT_NE(f.read("unknown", "err").find("no job matches nosuch"), std::string::npos);

    d->signal(SIGTERM);
    EXPECT_EQ(d->wait(30s), 0) << d->err();
}

TEST(DaemonE2E, SigtermMidBatchExitsZeroLeavesEveryJobResumableAndTheNextDaemonPaysNothingTwice) {
    farm f(with_time_scale(0.1));  // 6 s generations: jobs are in flight when the signal comes
    const std::string cfg = f.config_path().string();
    f.write_shotlist(8, "term");
    ASSERT_EQ(f.command({"submit", "--config", cfg, f.shotlist_path().string()}, "submit"), 0)
        << f.read("submit", "err");
    std::uint16_t port = 0;
    auto d = f.start_daemon("daemon", port);
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'running'") >= 3; }, 30s))
        << d->err();
    d->signal(SIGTERM);
    EXPECT_EQ(d->wait(30s), 0) << d->err();
    // Every job is where a restart understands it: none mid-submit, and the leases released.
    EXPECT_EQ(count_where(f, "state = 'submitting'"), 0);
    EXPECT_EQ(count_where(f, "state IN ('running', 'downloading') AND lease_expires_at > now()"), 0)
        << "leases released";
    EXPECT_EQ(
        f.query("SELECT count(*) FROM attempts WHERE outcome IN ('pending', 'ambiguous')")[0][0],
        "0"
    );
    const auto billed_at_stop = f.billed().size();
    EXPECT_EQ(
        static_cast<std::int64_t>(billed_at_stop), count_where(f, "provider_job_id IS NOT NULL")
    ) << "every billed generation has its id recorded";

    auto next = f.start_daemon("daemon2", port);
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'succeeded'") == 8; }, 60s))
        << next->err();
    EXPECT_EQ(f.billed().size(), 8u) << "the jobs in flight were polled again, not paid again";
    next->signal(SIGTERM);
    EXPECT_EQ(next->wait(30s), 0) << next->err();
    expect_files_verified(f);
}

// docs/operations.md, "Leases, fencing": a daemon paused past its lease (a VM stall; here SIGSTOP)
// wakes up believing it owns its jobs. Another daemon has taken them over; every write the zombie
// tries is refused by the epoch, nothing is written twice, nothing is paid twice but for ambiguity.
TEST(DaemonE2E, APausedDaemonIsFencedOutAndItsJobsAreFinishedByAnotherWithoutDoubleWrites) {
    farm_options o = with_time_scale(0.05);  // 3 s generations
    o.extra_config = "lease_ttl_s: 3\n";
    farm f(o);
    const std::string cfg = f.config_path().string();
    f.write_shotlist(16, "zombie");
    ASSERT_EQ(f.command({"submit", "--config", cfg, f.shotlist_path().string()}, "submit"), 0)
        << f.read("submit", "err");
    std::uint16_t port_a = 0, port_b = 0;
    auto a = f.start_daemon("a", port_a);
    const std::string a_actor = "%:" + std::to_string(a->pid()) + ":%";
    auto leased_by_a = [&] {
        return count_where(
            f,
            "lease_owner LIKE '" + a_actor +
                "' AND state IN ('submitting', 'running', 'downloading')"
        );
    };
    ASSERT_TRUE(wait_until([&] { return leased_by_a() >= 2; }, 30s)) << a->err();
    a->signal(SIGSTOP);
    auto b = f.start_daemon("b", port_b);
    // b takes a's jobs over once their leases (3 s) run out, and finishes the batch.
    ASSERT_TRUE(wait_until([&] { return leased_by_a() == 0; }, 30s)) << b->err();
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'succeeded'") == 16; }, 90s))
        << b->err();
    a->signal(SIGCONT);
    // The zombie finds out: at its next renewal, or at its first refused write.
    ASSERT_TRUE(wait_until(
        [&] {
            const std::string err = a->err();
            return err.find("job.lease_lost") != std::string::npos ||
                   err.find("job.fenced") != std::string::npos;
        },
        20s
    )) << a->err();
    a->signal(SIGTERM);
    b->signal(SIGTERM);
    EXPECT_EQ(a->wait(30s), 0) << a->err();
    EXPECT_EQ(b->wait(30s), 0) << b->err();

    EXPECT_EQ(count_where(f, "state = 'succeeded'"), 16);
    expect_files_verified(f);
    // Submits ever ruled ambiguous (a late id may have turned one 'accepted' since).
    const auto ambiguous =
        std::stoll(f.query("SELECT count(*) FROM attempts WHERE ruled_ambiguous_at IS NOT NULL"
        )[0][0]);
    EXPECT_LE(static_cast<std::int64_t>(f.billed().size()), 16 + ambiguous);
    // Per job: a continuous chain of events, epochs never going back, and nothing written by
    // the zombie after the job was taken from it.
    const auto events = f.query(
        "SELECT job_id, coalesce(from_state::text, '-'), to_state, coalesce(lease_epoch, -1), "
        "actor LIKE '" +
        a_actor + "', actor LIKE 'operator:%' FROM job_events ORDER BY job_id, id"
    );
    std::string last_job, last_to;
    long long last_epoch = -1;
    bool seen_a = false, taken = false;
    int zombie_events = 0, takeovers = 0;
    for (const auto& e : events) {
        const bool by_a = e[4] == "t", by_operator = e[5] == "t";
        if (e[0] != last_job) {
            last_job = e[0];
            last_epoch = -1;
            seen_a = taken = false;
        } else {
            EXPECT_EQ(e[1], last_to) << "job " << e[0] << ": a move not recorded";
        }
        last_to = e[2];
        if (const long long epoch = std::stoll(e[3]); epoch >= 0) {
            EXPECT_GE(epoch, last_epoch) << "job " << e[0];
            last_epoch = epoch;
        }
        if (by_a) {
            ++zombie_events;
            EXPECT_FALSE(taken) << "job " << e[0] << ": the zombie wrote after the takeover";
            seen_a = true;
        } else if (!by_operator && seen_a && !taken) {
            taken = true;
            ++takeovers;
        }
    }
    EXPECT_GE(takeovers, 2) << "b took over the jobs a held when it was paused";
    EXPECT_GT(zombie_events, 0) << "daemon a did work before it was paused";
}

// Policy hold: a submit whose answer was lost (billed, id unknown) waits for an operator and is
// never paid twice behind their back; `shotfarm retry` sends it again (after the operator moved
// the account to a healthy endpoint with a SIGHUP).
TEST(DaemonE2E, HeldAmbiguousJobsWaitForTheOperatorAndRetrySubmitsThemAgain) {
    const std::string lossy =
        "time_scale: 0.01\nseed: 5\nfaults: {lost_response: 1.0}\nkeys:\n"
        "  - {key: key-a, provider: atlas, max_concurrency: 3, requests_per_minute: 1000}\n"
        "  - {key: key-b, provider: atlas, max_concurrency: 3, requests_per_minute: 1000}\n";
    farm_options o;
    o.sim_yaml = lossy;
    o.extra_config = "ambiguous: hold\n";
    farm f(o);
    const std::string cfg = f.config_path().string();
    f.write_shotlist(2, "held");
    ASSERT_EQ(f.command({"submit", "--config", cfg, f.shotlist_path().string()}, "submit"), 0)
        << f.read("submit", "err");
    std::uint16_t port = 0;
    auto d = f.start_daemon("daemon", port);
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'held'") == 2; }, 30s)) << d->err();
    EXPECT_EQ(f.billed().size(), 2u) << "each lost response was billed once, and not again";
    EXPECT_EQ(status_json(f, "st0").at("jobs").at("held").to_number<int>(), 2);
    ASSERT_EQ(f.command({"history", "--config", cfg, "held/s001/t01"}, "history"), 0);
    EXPECT_NE(f.read("history", "out").find("submitting  -> held"), std::string::npos)
        << f.read("history", "out");
    EXPECT_NE(
        f.read("history", "out").find("ambiguous submit (may have been billed)"), std::string::npos
    ) << f.read("history", "out");

    // The operator points the accounts at a healthy endpoint (SIGHUP), then retries the batch.
    sim_process healthy(
        "time_scale: 0.01\nseed: 6\nkeys:\n"
        "  - {key: key-a, provider: atlas, max_concurrency: 3, requests_per_minute: 1000}\n"
        "  - {key: key-b, provider: atlas, max_concurrency: 3, requests_per_minute: 1000}\n"
    );
    std::string text = config_text(f);
    replace_all(text, f.sim().base_url(), healthy.base_url());
    std::ofstream(f.config_path()) << text;
    d->signal(SIGHUP);
    ASSERT_TRUE(wait_until(
        [&] {
            return !metric_line(port, "shotfarm_config_reloads_total{outcome=\"ok\"} 1").empty();
        },
        20s
    )) << d->err();
    EXPECT_EQ(count_where(f, "state = 'held'"), 2) << "nothing moves without the operator";

    ASSERT_EQ(f.command({"retry", "--config", cfg, "held"}, "retry"), 0) << f.read("retry", "err");
    EXPECT_NE(f.read("retry", "out").find("held -> queued"), std::string::npos)
        << f.read("retry", "out");
    EXPECT_NE(
        f.read("retry", "out").find("a new generation will be submitted (paid)"), std::string::npos
    );
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'succeeded'") == 2; }, 30s))
        << d->err();
    const auto ledger = healthy.ledger();
    EXPECT_EQ(ledger.as_object().at("submissions").as_array().size(), 2u);
    EXPECT_EQ(f.billed().size(), 2u) << "the lossy endpoint saw nothing more";
    for (const auto& r : f.query("SELECT output_path, sha256 FROM jobs")) {
        ASSERT_TRUE(fs::exists(r[0]));
        EXPECT_EQ(sha256_of(r[0]), r[1]);
    }
    d->signal(SIGTERM);
    EXPECT_EQ(d->wait(30s), 0) << d->err();
}

// docs/operations.md, "Several daemons, one database": three daemons on one account whose provider
// limits are the config's own (2 in flight, 5 submits a minute, MiniMax's documented rate): the
// limits hold for the fleet — the provider never had to refuse anything — and the work was shared.
TEST(DaemonE2E, ThreeDaemonsShareTheWorkAndOneAccountsLimitsHoldForTheFleet) {
    farm_options o;
    o.sim_yaml =
        "time_scale: 0.02\nseed: 9\nkeys:\n"
        "  - {key: key-a, provider: atlas, max_concurrency: 2, requests_per_minute: 30, "
        "submits_per_minute: 5}\n";
    o.accounts_yaml =
        "  - name: atlas-a\n    provider: atlas\n    base_url: @BASE@\n"
        "    api_key_env: E2E_KEY_a\n    max_concurrency: 2\n    submits_per_minute: 5\n"
        "    requests_per_minute: 240\n";
    farm f(o);
    const std::string cfg = f.config_path().string();
    constexpr int jobs = 7;
    f.write_shotlist(jobs, "fleet");
    ASSERT_EQ(f.command({"submit", "--config", cfg, f.shotlist_path().string()}, "submit"), 0)
        << f.read("submit", "err");
    std::uint16_t port = 0;
    std::vector<std::unique_ptr<child>> fleet;
    for (int i = 0; i < 3; ++i) {
        fleet.push_back(f.start_daemon("d" + std::to_string(i), port));
    }
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'succeeded'") == jobs; }, 150s))
        << fleet[0]->err();
    for (auto& d : fleet) {
        d->signal(SIGTERM);
    }
    for (auto& d : fleet) {
        EXPECT_EQ(d->wait(30s), 0) << d->err();
    }
    const auto ledger = f.sim().ledger();
    const auto& l = ledger.as_object();
    EXPECT_EQ(l.at("submissions").as_array().size(), std::size_t{jobs}) << "each job paid once";
    EXPECT_LE(l.at("max_inflight").at("key-a").to_number<int>(), 2);
    for (const auto& [reason, n] : l.at("rejected_reasons").as_object()) {
        EXPECT_EQ(n.to_number<int>(), 0) << "the provider refused for " << reason;
    }
    // The fleet's submit window (docs/scheduler.md): five go as slots free, the sixth and
    // seventh only a minute × 1.01 after the first and second (less network jitter) — three
    // daemons keeping windows of their own would each have sent five in the first minute.
    std::vector<std::int64_t> at;
    for (const auto& sub : l.at("submissions").as_array()) {
        at.push_back(sub.at("submitted_at_ms").to_number<std::int64_t>());
    }
    std::sort(at.begin(), at.end());
    ASSERT_EQ(at.size(), std::size_t{jobs});
    for (std::size_t i = 0; i + 5 < at.size(); ++i) {
        EXPECT_GE(at[i + 5] - at[i], 60600 - 100) << "submits " << i << " and " << i + 5;
    }
    EXPECT_LT(at[4] - at[0], 30000) << "the first five waited for more than their slots";
    // The claims were shared: more than one daemon submitted.
    const auto submitters =
        f.query("SELECT count(DISTINCT actor) FROM job_events WHERE to_state = 'submitting'");
    EXPECT_GE(std::stoi(submitters[0][0]), 2);
    expect_files_verified(f);
}

TEST(DaemonE2E, SighupReloadsLimitsAndBudgetsAndKeepsTheOldConfigWhenTheNewOneIsBad) {
    farm f(with_time_scale(0.01));
    const std::string cfg = f.config_path().string();
    f.write_shotlist(2, "reload");
    ASSERT_EQ(f.command({"submit", "--config", cfg, f.shotlist_path().string()}, "submit"), 0)
        << f.read("submit", "err");
    std::uint16_t port = 0;
    auto d = f.start_daemon("daemon", port);
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'succeeded'") == 2; }, 60s));

    auto max_concurrency_of = [&](const std::string& tag, const std::string& account) {
        const auto st = status_json(f, tag);
        for (const auto& a : st.at("accounts").as_array()) {
            if (a.at("name").as_string() == account) {
                return a.at("max_concurrency").to_number<int>();
            }
        }
        return -1;
    };
    EXPECT_EQ(max_concurrency_of("st0", "atlas-a"), 3);

    std::string text = config_text(f);
    std::string changed = text;
    replace_all(changed, "max_concurrency: 3", "max_concurrency: 2");
    ASSERT_NE(changed, text);
    std::ofstream(f.config_path()) << changed << "budget_usd: 7.5\n";
    d->signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return max_concurrency_of("st1", "atlas-a") == 2; }, 20s))
        << d->err();
    bool capped = false;
    const auto st2 = status_json(f, "st2");
    for (const auto& b : st2.at("budgets").as_array()) {
        if (b.at("scope").as_string() == "global") {
            capped = b.at("cap_usd").is_number() && b.at("cap_usd").to_number<double>() == 7.5;
        }
    }
    EXPECT_TRUE(capped) << "the global budget came with the reload";
    EXPECT_NE(metric_line(port, "shotfarm_config_reloads_total{outcome=\"ok\"} 1"), "");

    // A bad config: refused, named, and the running one stays.
    std::ofstream(f.config_path()) << changed << "max_attempts: -4\n";
    d->signal(SIGHUP);
    ASSERT_TRUE(wait_until(
        [&] {
            return !metric_line(port, "shotfarm_config_reloads_total{outcome=\"error\"} 1").empty();
        },
        20s
    )) << d->err();
    EXPECT_NE(d->err().find("config.reload_failed"), std::string::npos);
    EXPECT_NE(d->err().find("max_attempts"), std::string::npos);
    std::ofstream(f.config_path()) << changed;  // for the status command below
    EXPECT_TRUE(d->running());
    EXPECT_EQ(readyz(port), 200u);
    EXPECT_EQ(max_concurrency_of("st3", "atlas-a"), 2);

    d->signal(SIGTERM);
    EXPECT_EQ(d->wait(30s), 0) << d->err();
}

TEST(DaemonE2E, AtStartAMissingOrDamagedFileIsFetchedAgainWithoutPayingAgain) {
    farm f(with_time_scale(0.01));
    f.write_shotlist(4, "verify");
    ASSERT_EQ(f.run(120s), 0) << f.read("run", "err");
    ASSERT_EQ(f.billed().size(), 4u);
    auto rows = f.query("SELECT shot_id, output_path, sha256 FROM jobs ORDER BY shot_id");
    ASSERT_EQ(rows.size(), 4u);
    fs::remove(rows[0][1]);
    {
        std::ofstream damaged(rows[1][1], std::ios::binary | std::ios::in | std::ios::out);
        damaged.seekp(100);
        damaged << "not the video any more";
    }
    ASSERT_NE(sha256_of(rows[1][1]), rows[1][2]);

    std::uint16_t port = 0;
    auto d = f.start_daemon("daemon", port);
    ASSERT_TRUE(wait_until(
        [&] {
            return fs::exists(rows[0][1]) && sha256_of(rows[0][1]) == rows[0][2] &&
                   sha256_of(rows[1][1]) == rows[1][2] &&
                   count_where(f, "state = 'succeeded'") == 4;
        },
        30s
    )) << d->err();
    EXPECT_EQ(f.billed().size(), 4u) << "fetched again, not paid again";
    auto refetched = f.query(
        "SELECT count(*) FROM job_events WHERE from_state = 'succeeded' "
        "AND to_state = 'downloading' AND detail LIKE 'output check at start: %'"
    );
    EXPECT_EQ(refetched[0][0], "2");
    d->signal(SIGTERM);
    EXPECT_EQ(d->wait(30s), 0) << d->err();
    expect_files_verified(f);
}

TEST(DaemonE2E, TheEmbeddedDatabaseStoppedUnderAWorkingDaemonMeansNotReadyThenCarryOn) {
    farm f(with_time_scale(0.05));
    const std::string cfg = f.config_path().string();
    f.write_shotlist(12, "outage");
    ASSERT_EQ(f.command({"submit", "--config", cfg, f.shotlist_path().string()}, "submit"), 0)
        << f.read("submit", "err");
    std::uint16_t port = 0;
    auto d = f.start_daemon("daemon", port);
    ASSERT_TRUE(wait_until([&] { return readyz(port) == 200; }, 20s));
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'running'") >= 2; }, 30s));
    f.stop_db();
    // Not ready while it is down; the daemon starts its embedded server again and carries on.
    ASSERT_TRUE(wait_until([&] { return readyz(port) == 503; }, 20s)) << d->err();
    EXPECT_TRUE(d->running());
    ASSERT_TRUE(wait_until([&] { return readyz(port) == 200; }, 30s)) << d->err();
    ASSERT_TRUE(wait_until([&] { return count_where(f, "state = 'succeeded'") == 12; }, 90s))
        << d->err();
    EXPECT_NE(d->err().find("database.unavailable"), std::string::npos);
    EXPECT_EQ(f.billed().size(), 12u) << "nothing in flight was lost or paid twice";
    EXPECT_EQ(f.query("SELECT count(*) FROM attempts WHERE outcome = 'ambiguous'")[0][0], "0");
    d->signal(SIGTERM);
    EXPECT_EQ(d->wait(30s), 0) << d->err();
    expect_files_verified(f);
}

}  // namespace
}  // namespace shotfarm::testing
