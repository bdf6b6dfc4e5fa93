// Chaos (issue 5): a night of 220 jobs over five accounts on four providers, with the
// simulator's faults on (429s, 5xx, resets, lost POST responses, failed generations), the
// daemon `kill -9`ed at random moments (>= 10 times) and PostgreSQL restarted under it once,
// then run to the end — with one daemon, and with three daemons killed in turn. Ground truth:
// the simulator's ledger (what was billed, which faults fired, the highest concurrency per key)
// against the shared database and the files on disk.
//
// What the ledger allows (docs/simulator.md §Faults; docs/operations.md, "Ambiguous"):
// - A billed generation the daemons never learned the id of (an *orphan*) comes from a lost
//   response (created, then the connection dropped) or from a kill between the POST and the
//   commit of its answer. 5xx and resets are drawn before the simulator handles a request:
//   ambiguous to the daemon, never billed. So orphans <= kills + lost_response, and every orphan
//   is matched by an attempt the daemons counted as spent (`ambiguous`).
// - Every other billed generation is on an attempt row. A job is only submitted again after an
//   accepted generation that failed (or an ambiguous attempt): billed <= jobs + failed
//   generations + ambiguous attempts, and every accepted generation of a job but its last
//   failed at the provider.
//
// Seeded and repeatable: the seed picks the simulator's draws and the kill moments; it is
// printed, and SHOTFARM_CHAOS_SEED=N runs every case with seed N. (The daemons run requests
// concurrently, so which request meets which fault can vary between runs of one seed; every
// assertion is an invariant that holds for any such assignment.)
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/e2e/farm_fixture.hpp"
#include "tests/e2e/fleet_fixture.hpp"

namespace shotfarm::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr int night_shots = 200;  ///< the batch submitted before the daemons start
constexpr int late_shots = 20;    ///< a second batch submitted while they run (daemon only)
constexpr int kills_wanted = 10;
constexpr const char* faults =
    "http_429: 0.02, http_5xx: 0.02, reset: 0.02, lost_response: 0.03, "
    "generation_failed: 0.03";
const std::set<std::string> active_states = {
    "queued", "submitting", "running", "downloading", "retry_wait"};

struct chaos_case {
    const char* name;
    std::uint64_t seed;
    int daemons;
    bool crash_database;  ///< immediate shutdown (SIGQUIT to the postmaster), else `-m fast`
};

std::ostream& operator<<(std::ostream& o, const chaos_case& c) {
    return o << c.name;
}

std::uint64_t seed_of(const chaos_case& c) {
    const char* env = std::getenv("SHOTFARM_CHAOS_SEED");
    return env != nullptr && *env != '\0' ? std::stoull(env) : c.seed;
}

std::string str(const json::value& v) {
    return v.is_string() ? std::string(v.as_string()) : std::string();
}

std::int64_t count_of(const json::object& o, const std::string& key) {
    const auto* n = o.if_contains(key);
    return n != nullptr ? n->to_number<std::int64_t>() : 0;
}

double number(const json::value& v) {
    return v.is_number() ? v.to_number<double>() : 0.0;
}

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// Polls `pred` every `every` until it holds or `deadline` passes (for predicates that spawn
/// a process, where farm_fixture's 20 ms wait_until would be wasteful).
bool poll_until(
    const std::function<bool()>& pred,
    std::chrono::milliseconds deadline,
    std::chrono::milliseconds every
) {
    const auto end = clock_type::now() + deadline;
    while (!pred()) {
        if (clock_type::now() > end) {
            return false;
        }
        std::this_thread::sleep_for(every);
    }
    return true;
}

/// The whole night, as the test drove it.
struct night {
    fleet& f;
    std::mt19937_64& rng;
    const chaos_case& c;
    std::vector<daemon_proc> daemons;
    int starts = 0;
    int kills = 0;
    int kills_mid_batch = 0;  ///< kills that landed while jobs were unfinished
    /// While the database was down (after every daemon said so): no submit may leave.
    std::int64_t outage_from_ms = 0;
    std::int64_t outage_to_ms = 0;
    boost::json::object final_status{};  ///< `status --json` once every job was finished

    std::string logs() const {
        std::string out;
        for (const auto& d : daemons) {
            out += f.tail(d.tag + ".out", 15) + f.tail(d.tag + ".err", 25);
        }
        return out;
    }

    void start(int i) {
        const std::string tag = "d" + std::to_string(i) + "-" + std::to_string(starts++);
        daemons[static_cast<std::size_t>(i)] = f.start_daemon(tag);
    }

    int unfinished_jobs() {
        const auto rows = f.query(
            "SELECT count(*) FROM jobs WHERE state IN "
            "('queued', 'submitting', 'running', 'downloading', 'retry_wait')"
        );
        return std::stoi(rows.at(0).at(0));
    }

    int running_jobs() {
        return std::stoi(f.query("SELECT count(*) FROM jobs WHERE state = 'running'").at(0).at(0));
    }

    /// Every poll the providers have seen so far.
    std::int64_t polls_so_far() {
        const auto ledger = f.sim().ledger();
        std::int64_t n = 0;
        for (const auto& [key, counts] : ledger.as_object().at("requests").as_object()) {
            n += count_of(counts.as_object(), "poll");
        }
        return n;
    }

    /// Stops the database under running daemons: each must report not-ready and stay alive,
    /// then ready again once it is back.
    void restart_database() {
        for (auto& d : daemons) {
            ASSERT_TRUE(
                wait_until([&] { return fleet::readyz(d.port) == 200 || !d.proc->running(); }, 60s)
            );
            ASSERT_TRUE(d.proc->running()) << d.tag << " exited\n" << logs();
            ASSERT_EQ(fleet::readyz(d.port), 200u) << d.tag << " never became ready\n" << logs();
        }
        const int running = running_jobs();
        const auto t0 = clock_type::now();
        const std::int64_t stopped_at_ms = unix_ms(std::chrono::system_clock::now());
        f.stop_database(c.crash_database);
        for (auto& d : daemons) {
            const bool said =
                wait_until([&] { return fleet::readyz(d.port) == 503 || !d.proc->running(); }, 30s);
            ASSERT_TRUE(d.proc->running())
                << d.tag << " exited when the database went away (it must wait for it)\n"
                << logs();
            ASSERT_TRUE(said) << d.tag << " still answers /readyz " << fleet::readyz(d.port)
                              << " 30 s after the database stopped\n"
                              << logs();
        }
        const auto noticed = clock_type::now();
        if (noticed - t0 > 5s) {
            std::cout << "slow to say not-ready:\n" << logs() << std::endl;
        }
        // From the stop on, no submit can be marked "about to send" (a write): none may leave
        // but one marked just before the stop (grace 500 ms).
        outage_from_ms = stopped_at_ms + 500;
        const std::int64_t polls_before = polls_so_far();
        std::uniform_int_distribution<int> outage(1000, 3000);
        std::this_thread::sleep_for(std::chrono::milliseconds(outage(rng)));
        for (auto& d : daemons) {
            ASSERT_TRUE(d.proc->running()) << d.tag << " exited while the database was down\n"
                                           << logs();
        }
        outage_to_ms = unix_ms(std::chrono::system_clock::now());
        const std::int64_t polls_during = polls_so_far() - polls_before;
        const auto t1 = clock_type::now();
        f.start_database();
        for (auto& d : daemons) {
            const bool back =
                wait_until([&] { return fleet::readyz(d.port) == 200 || !d.proc->running(); }, 60s);
            ASSERT_TRUE(d.proc->running()) << d.tag << " exited after the database came back\n"
                                           << logs();
            ASSERT_TRUE(back) << d.tag << " not ready 60 s after the database came back\n"
                              << logs();
        }
        const auto ms = [](auto a, auto b) {
            return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
        };
        std::cout << "database " << (c.crash_database ? "crashed" : "stopped")
                  << ": every daemon not-ready after " << ms(t0, noticed) << " ms, down "
                  << ms(t0, t1) << " ms, ready again " << ms(t1, clock_type::now())
                  << " ms after the restart; " << polls_during << " polls while it was down ("
                  << running << " jobs running at the stop)" << std::endl;
    }

    /// kill -9 at random moments, in turn, restarting each at once; the database restarted
    /// after half of the kills.
    void kill_loop() {
        const int n = static_cast<int>(daemons.size());
        std::uniform_int_distribution<int> delay(300, 2500);
        while (kills < kills_wanted) {
            const int victim = kills % n;
            auto& d = daemons[static_cast<std::size_t>(victim)];
            const int ms = delay(rng);
            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            if (!d.proc->running()) {
                const int code = d.proc->wait(1s);
                const bool signalled =
                    f.read(d.tag, "err").find("\"event\":\"signal\"") != std::string::npos;
                FAIL() << d.tag << " exited by itself with " << code
                       << (signalled ? " after a signal this test did not send (it sends only "
                                       "SIGKILL before the end): another process's pkill?"
                                     : "")
                       << "\n"
                       << logs();
            }
            const int unfinished = unfinished_jobs();
            d.proc->signal(SIGKILL);
            ASSERT_EQ(d.proc->wait(30s), 128 + SIGKILL) << d.tag;
            ++kills;
            kills_mid_batch += unfinished > 0 ? 1 : 0;
            std::cout << "kill " << kills << ": " << d.tag << " after " << ms << " ms, "
                      << unfinished << " jobs unfinished" << std::endl;
            ASSERT_NO_THROW(start(victim)) << logs();
            if (kills == kills_wanted / 2) {
                ASSERT_NO_FATAL_FAILURE(restart_database());
            }
        }
    }

    /// Runs to the end: every job finished (status --json), then SIGTERM → exit 0.
    void finish(int expected_jobs) {
        json::object& last = final_status;
        const bool done = poll_until(
            [&] {
                for (auto& d : daemons) {
                    if (!d.proc->running()) {
                        return true;  // reported below
                    }
                }
                last = f.status();
                const auto& jobs = last.at("jobs").as_object();
                std::int64_t total = 0;
                std::int64_t active = 0;
                for (const auto& [state, n] : jobs) {
                    total += n.to_number<std::int64_t>();
                    active +=
                        active_states.count(std::string(state)) ? n.to_number<std::int64_t>() : 0;
                }
                return total == expected_jobs && active == 0;
            },
            300s,
            300ms
        );
        for (auto& d : daemons) {
            ASSERT_TRUE(d.proc->running()) << d.tag << " exited before the end\n" << logs();
        }
        ASSERT_TRUE(done) << "jobs unfinished 300 s after the last kill: " << json::serialize(last)
                          << "\n"
                          << logs();
        for (auto& d : daemons) {
            d.proc->signal(SIGTERM);
        }
        for (auto& d : daemons) {
            EXPECT_EQ(d.proc->wait(60s), 0) << d.tag << " on SIGTERM\n" << logs();
        }
        // Each clean exit is on record; a kill -9 leaves its daemon's row unstopped.
        const auto rows =
            f.query("SELECT count(*) FILTER (WHERE stopped_at IS NOT NULL) FROM daemons");
        EXPECT_EQ(std::stoi(rows.at(0).at(0)), static_cast<int>(daemons.size()))
            << "daemons that say they stopped cleanly";
    }
};

/// One job as the database has it, with its attempts.
struct job_row {
    std::string id;
    std::string shot;
    std::string prompt;
    std::string state;
    std::string error;
    std::string error_class;
    std::string output_path;
    std::string sha256;
    std::string provider_job_id;
    int ambiguous = 0;
    int accepted = 0;
    int spent = 0;  ///< attempts counted as spent: accepted, ambiguous, pending
    int pending = 0;
};

std::vector<job_row> jobs_of(fleet& f) {
    std::vector<job_row> out;
    for (const auto& r :
         f.query("SELECT j.id, j.project || '/' || j.shot_id, j.prompt, j.state, "
                 "coalesce(j.error, ''), coalesce(j.error_class, ''), coalesce(j.output_path, ''), "
                 "coalesce(j.sha256, ''), coalesce(j.provider_job_id, ''), "
                 "count(a.id) FILTER (WHERE a.outcome = 'ambiguous'), "
                 "count(a.id) FILTER (WHERE a.outcome = 'accepted'), "
                 "count(a.id) FILTER (WHERE a.outcome IN ('pending', 'accepted', 'ambiguous')), "
                 "count(a.id) FILTER (WHERE a.outcome = 'pending') "
                 "FROM jobs j LEFT JOIN attempts a ON a.job_id = j.id GROUP BY j.id ORDER BY j.id"
         )) {
        job_row j{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]};
        j.ambiguous = std::stoi(r[9]);
        j.accepted = std::stoi(r[10]);
        j.spent = std::stoi(r[11]);
        j.pending = std::stoi(r[12]);
        out.push_back(std::move(j));
    }
    return out;
}

int count_files(const fs::path& dir, const std::string& suffix) {
    int n = 0;
    if (!fs::exists(dir)) {
        return 0;
    }
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        n += name.size() >= suffix.size() &&
                     name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0
                 ? 1
                 : 0;
    }
    return n;
}

/// Every assertion of the issue, from the ledger, the database and the files.
void check_the_morning(fleet& f, const night& n, int expected_jobs) {
    const auto ledger_value = f.sim().ledger();
    const auto& ledger = ledger_value.as_object();
    const auto& faults_fired = ledger.at("faults").as_object();
    const auto& max_inflight = ledger.at("max_inflight").as_object();
    std::map<std::string, json::object> billed;  // by provider id
    std::map<std::string, std::vector<std::string>> billed_by_prompt;
    double ledger_spend = 0;
    for (const auto& s : ledger.at("submissions").as_array()) {
        const auto& o = s.as_object();
        billed[str(o.at("id"))] = o;
        billed_by_prompt[str(o.at("prompt"))].push_back(str(o.at("id")));
        ledger_spend += number(o.at("price_usd"));
    }
    double ledger_spend_by_key = 0;
    for (const auto& [key, usd] : ledger.at("spent_usd").as_object()) {
        ledger_spend_by_key += number(usd);
    }
    EXPECT_NEAR(ledger_spend, ledger_spend_by_key, 1e-6);

    // provider id -> (job id, outcome) for every attempt that learned an id; each at the price
    // the provider billed.
    std::map<std::string, std::pair<std::string, std::string>> attempt_ids;
    for (const auto& r : f.query("SELECT provider_job_id, job_id, outcome, price_usd FROM attempts "
                                 "WHERE provider_job_id IS NOT NULL")) {
        attempt_ids[r[0]] = {r[1], r[2]};
        const auto it = billed.find(r[0]);
        if (it != billed.end()) {
            EXPECT_NEAR(std::stod(r[3]), number(it->second.at("price_usd")), 1e-6)
                << "attempt for " << r[0] << " (job " << r[1] << ", "
                << str(it->second.at("provider")) << ") recorded at another price than billed";
        }
    }

    const auto jobs = jobs_of(f);
    ASSERT_EQ(static_cast<int>(jobs.size()), expected_jobs);
    int succeeded = 0;
    int failed = 0;
    int ambiguous = 0;
    for (const auto& j : jobs) {
        ambiguous += j.ambiguous;
        EXPECT_EQ(j.pending, 0) << j.shot << ": an attempt was never settled";
        EXPECT_LE(j.spent, f.options().max_attempts) << j.shot << " paid beyond max_attempts";
        // Every accepted generation of the job but its last failed at the provider: nothing
        // that could still finish was submitted again.
        for (const auto& [pid, job_outcome] : attempt_ids) {
            if (job_outcome.first != j.id || job_outcome.second != "accepted" ||
                pid == j.provider_job_id) {
                continue;
            }
            const auto it = billed.find(pid);
            ASSERT_NE(it, billed.end()) << j.shot << ": id " << pid << " was never billed";
            const std::string outcome = str(it->second.at("outcome"));
            EXPECT_TRUE(outcome == "failed" || outcome == "moderated")
                << j.shot << ": generation " << pid << " (" << outcome
                << ") was abandoned and the job submitted again";
        }
        // What the provider billed for this job's prompt: its accepted generations, and at most
        // one orphan per ambiguous attempt.
        const auto by_prompt = billed_by_prompt.find(j.prompt);
        const int billed_for_job =
            by_prompt == billed_by_prompt.end() ? 0 : static_cast<int>(by_prompt->second.size());
        EXPECT_LE(billed_for_job, j.accepted + j.ambiguous)
            << j.shot << ": billed " << billed_for_job << " times, " << j.accepted << " accepted + "
            << j.ambiguous << " ambiguous attempts";

        if (j.state == "failed") {
            ++failed;
            EXPECT_FALSE(j.error.empty()) << j.shot << " failed without a reason";
            EXPECT_TRUE(j.error_class == "remote_failed" || j.error_class == "rejected_input")
                << j.shot << " failed for a reason of ours: " << j.error_class << ": " << j.error;
            continue;
        }
        ASSERT_EQ(j.state, "succeeded") << j.shot << ": " << j.error_class << " " << j.error;
        ++succeeded;
        ASSERT_FALSE(j.provider_job_id.empty()) << j.shot;
        ASSERT_TRUE(fs::exists(j.output_path)) << j.shot << ": " << j.output_path;
        EXPECT_EQ(sha256_of(j.output_path), j.sha256) << j.shot << ": the file changed";
        const auto it = billed.find(j.provider_job_id);
        ASSERT_NE(it, billed.end()) << j.shot << ": id " << j.provider_job_id << " never billed";
        EXPECT_EQ(str(it->second.at("sha256")), j.sha256) << j.shot << ": not the provider's video";
        EXPECT_EQ(str(it->second.at("prompt")), j.prompt) << j.shot << ": another job's video";
        fs::path sidecar = j.output_path;
        sidecar.replace_extension(".json");
        ASSERT_TRUE(fs::exists(sidecar)) << j.shot << ": no sidecar";
        std::ifstream in(sidecar);
        std::stringstream text;
        text << in.rdbuf();
        EXPECT_EQ(str(json::parse(text.str()).as_object().at("sha256")), j.sha256) << j.shot;
    }
    EXPECT_EQ(succeeded + failed, expected_jobs);
    const auto& reported = n.final_status.at("jobs").as_object();
    EXPECT_EQ(count_of(reported, "succeeded"), succeeded) << "status --json disagrees";
    EXPECT_EQ(count_of(reported, "failed"), failed) << "status --json disagrees";
    EXPECT_EQ(count_files(f.output_dir(), ".mp4"), succeeded) << "stray or missing videos";
    EXPECT_EQ(count_files(f.output_dir(), ".part"), 0) << "temporary downloads left behind";

    // Money. Orphans: billed generations no attempt knows the id of.
    std::map<std::string, int> orphans_by_key;
    int orphans = 0;
    int failed_generations = 0;
    for (const auto& [id, s] : billed) {
        const std::string outcome = str(s.at("outcome"));
        failed_generations += outcome == "failed" || outcome == "moderated" ? 1 : 0;
        if (!attempt_ids.count(id)) {
            ++orphans;
            ++orphans_by_key[str(s.at("key"))];
        }
    }
    const std::int64_t lost = count_of(faults_fired, "lost_response");
    const auto orphan_report = [&] {
        std::ostringstream o;
        int shown = 0;
        for (const auto& [id, s] : billed) {
            if (attempt_ids.count(id) || shown++ >= 12) {
                continue;
            }
            o << "  orphan " << id << " on " << str(s.at("key")) << " at " << str(s.at("at"))
              << " for \"" << str(s.at("prompt")) << "\"; its job's attempts:\n";
            for (const auto& r : f.query(
                     "SELECT a.id, a.account, a.outcome, coalesce(a.http_status::text, '-'), "
                     "coalesce(a.provider_job_id, '-'), a.started_at, "
                     "coalesce(a.sent_at::text, '-'), coalesce(a.message, '') "
                     "FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE j.prompt = '" +
                     str(s.at("prompt")) + "' ORDER BY a.id"
                 )) {
                o << "    #" << r[0] << " " << r[1] << " " << r[2] << " http " << r[3] << " id "
                  << r[4] << " started " << r[5] << " sent " << r[6] << " " << r[7] << "\n";
            }
        }
        return o.str();
    };
    std::cout << "billed " << billed.size() << " (" << orphans << " orphans, " << failed_generations
              << " failed generations) for " << expected_jobs << " jobs; ambiguous attempts "
              << ambiguous << "; kills " << n.kills << " (" << n.kills_mid_batch
              << " mid-batch); faults:";
    for (const auto& [k, v] : faults_fired) {
        std::cout << " " << k << "=" << v.to_number<std::int64_t>();
    }
    std::cout << std::endl;
    EXPECT_LE(static_cast<int>(billed.size()), expected_jobs + failed_generations + ambiguous)
        << "paid submissions beyond jobs + retries of failed generations + ambiguous attempts";
    EXPECT_LE(orphans, n.kills + lost) << "ambiguous resubmissions beyond kills + lost responses\n"
                                       << orphan_report();
    EXPECT_LE(orphans, ambiguous) << "a billed generation the database never counted as spent\n"
                                  << orphan_report();

    const auto budget =
        f.query("SELECT spent_usd, reserved_usd FROM budgets WHERE scope = 'global'");
    ASSERT_EQ(budget.size(), 1u);
    const double db_spend = std::stod(budget[0][0]);
    const auto attempts_spend = f.query(
        "SELECT coalesce(sum(price_usd), 0) FROM attempts "
        "WHERE outcome IN ('accepted', 'ambiguous')"
    );
    std::cout << "spend: ledger $" << ledger_spend << ", database $" << db_spend << ", budget $"
              << f.options().budget_usd << std::endl;
    EXPECT_NEAR(db_spend, std::stod(attempts_spend[0][0]), 1e-6);
    EXPECT_NEAR(std::stod(budget[0][1]), 0.0, 1e-6) << "reservations left at the end";
    EXPECT_LE(ledger_spend, db_spend + 1e-6) << "the provider billed more than the daemons know\n"
                                             << orphan_report();
    EXPECT_LE(db_spend, f.options().budget_usd + 1e-6);

    // Limits: no key ever had more in flight than its account's cap, plus the orphans on it
    // (generations the daemons cannot know of), nor more than the simulator's own cap.
    for (const auto& a : f.accounts()) {
        const std::int64_t peak = count_of(max_inflight, a.key);
        const int slack = orphans_by_key.count(a.key) ? orphans_by_key.at(a.key) : 0;
        EXPECT_LE(peak, f.options().account_cap + slack) << a.name << " (" << slack << " orphans)";
        EXPECT_LE(peak, f.options().key_cap) << a.name;
        EXPECT_GE(peak, 1) << a.name << " was never used";
    }

    // No submit left while the database was down.
    if (n.outage_to_ms > 0) {
        for (const auto& [id, s] : billed) {
            const auto at = s.at("submitted_at_ms").to_number<std::int64_t>();
            EXPECT_FALSE(at > n.outage_from_ms && at < n.outage_to_ms)
                << id << " was submitted " << at - n.outage_from_ms
                << " ms into the database outage";
        }
    }

    // Every transition was recorded: each job's events form one chain from its ingest to its
    // state now.
    std::map<std::string, std::string> state_of;
    for (const auto& j : jobs) {
        state_of[j.id] = j.state;
    }
    std::map<std::string, std::string> last;  // job id -> to_state of its latest event
    int breaks = 0;
    for (const auto& r : f.query(
             "SELECT job_id, coalesce(from_state::text, ''), to_state::text, coalesce(detail, '') "
             "FROM job_events ORDER BY job_id, id"
         )) {
        const auto it = last.find(r[0]);
        const std::string expected_from = it == last.end() ? "" : it->second;
        if (r[1] != expected_from && breaks++ < 10) {
            ADD_FAILURE() << "job " << r[0] << ": event " << r[1] << " -> " << r[2] << " (" << r[3]
                          << ") follows " << (expected_from.empty() ? "nothing" : expected_from);
        }
        last[r[0]] = r[2];
    }
    EXPECT_EQ(breaks, 0) << "broken event chains";
    for (const auto& [id, state] : state_of) {
        const auto it = last.find(id);
        ASSERT_NE(it, last.end()) << "job " << id << " has no events";
        EXPECT_EQ(it->second, state) << "job " << id << ": its last event is not its state";
    }
}

class Chaos : public ::testing::TestWithParam<chaos_case> {};

TEST_P(Chaos, KillsAndADatabaseRestartLoseNothingAndPayOnlyForAmbiguity) {
    const chaos_case& c = GetParam();
    const std::uint64_t seed = seed_of(c);
    std::cout << "chaos seed " << seed << " (" << c.daemons
              << " daemon(s); SHOTFARM_CHAOS_SEED=" << seed << " repeats it)" << std::endl;
    RecordProperty("chaos_seed", std::to_string(seed));
    const auto t0 = clock_type::now();
    std::mt19937_64 rng(seed);

    fleet_options o;
    o.seed = seed;
    o.faults = faults;
    // Each job costs at most $0.294 (AI/ML API); room for every retry the faults cause.
    o.budget_usd = 150;
    fleet f(o);
    night n{f, rng, c, {}};
    const fs::path night_list = f.write_shotlist("night", "chaos", "s", night_shots);
    const fs::path late_list = f.write_shotlist("late", "chaos-late", "l", late_shots);
    const int expected_jobs = night_shots + late_shots;
    ASSERT_EQ(f.submit(night_list, "submit-night"), 0)
        << f.read("submit-night", "out") << f.read("submit-night", "err");
    n.daemons.resize(static_cast<std::size_t>(c.daemons));
    for (int i = 0; i < c.daemons; ++i) {
        ASSERT_NO_THROW(n.start(i));
    }
    // A second batch while they work: a daemon serves every batch in the database.
    ASSERT_EQ(f.submit(late_list, "submit-late"), 0)
        << f.read("submit-late", "out") << f.read("submit-late", "err");

    ASSERT_NO_FATAL_FAILURE(n.kill_loop());
    const auto killed = clock_type::now();
    ASSERT_NO_FATAL_FAILURE(n.finish(expected_jobs));
    const auto ended = clock_type::now();
    EXPECT_GE(n.kills, kills_wanted);
    EXPECT_GE(n.kills_mid_batch, kills_wanted) << "kills after the batch was done prove nothing";

    ASSERT_NO_FATAL_FAILURE(check_the_morning(f, n, expected_jobs));
    const auto s = [](auto a, auto b) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count() / 1000.0;
    };
    std::cout << "chaos seed " << seed << ": kills done at " << s(t0, killed)
              << " s, batch done at " << s(t0, ended) << " s, checked at "
              << s(t0, clock_type::now()) << " s" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(
    Seeds,
    Chaos,
    ::testing::Values(
        chaos_case{"OneDaemon_seed1", 1, 1, false},
        chaos_case{"OneDaemon_seed2_crash", 2, 1, true},
        chaos_case{"ThreeDaemons_seed3_crash", 3, 3, true},
        chaos_case{"ThreeDaemons_seed4", 4, 3, false}
    ),
    [](const ::testing::TestParamInfo<chaos_case>& p) { return std::string(p.param.name); }
);

}  // namespace
}  // namespace shotfarm::testing
