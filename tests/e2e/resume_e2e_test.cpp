// kill -9 in the middle of a batch, run again: every job finishes once, no job whose provider id
// was recorded is submitted again, every file matches its recorded SHA-256.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <signal.h>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/e2e/farm_fixture.hpp"

namespace shotfarm::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

int count_mp4(const fs::path& dir) {
    int n = 0;
    if (!fs::exists(dir)) {
        return 0;
    }
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        n += e.path().extension() == ".mp4" ? 1 : 0;
    }
    return n;
}

void kill_mid_batch_and_resume(int kills, bool hold) {
    constexpr int shots = 30;
    farm_options opts;
    if (hold) {
        opts.extra_config = "ambiguous_policy: hold\n";
    }
    opts.key_concurrency = 4;
    opts.account_concurrency = 4;
    farm f(opts);
    f.write_shotlist(shots);

    int in_flight_at_kills = 0;
    int unsent_at_kills = 0;
    for (int k = 0; k < kills; ++k) {
        auto run = f.start_run("run" + std::to_string(k));
        // Kill once work is visibly under way: more submissions than before this run and at
        // least one more finished file, but the batch not done.
        const std::size_t billed_before = f.billed().size();
        const int files_before = count_mp4(f.output_dir());
        ASSERT_TRUE(wait_until(
            [&] {
                return f.billed().size() >= billed_before + 4 &&
                       count_mp4(f.output_dir()) > files_before;
            },
            90s
        )) << run->err();
        if (count_mp4(f.output_dir()) >= shots) {
            GTEST_SKIP() << "the batch finished before the kill";
        }
        run->signal(SIGKILL);
        EXPECT_EQ(run->wait(10s), 128 + SIGKILL);
        // Submits caught in flight by this kill: Phase A committed, no provider id recorded —
        // split by whether the POST had left (the attempt marked sent) or not yet (waiting for
        // its rate-limit slot, say).
        const auto caught = f.query(
            "SELECT count(*) FILTER (WHERE a.sent_at IS NOT NULL), "
            "count(*) FILTER (WHERE a.sent_at IS NULL) FROM jobs j JOIN attempts a ON "
            "a.job_id = j.id AND a.outcome = 'pending' WHERE j.state = 'submitting' "
            "AND j.provider_job_id IS NULL"
        );
        in_flight_at_kills += std::stoi(caught[0][0]);
        unsent_at_kills += std::stoi(caught[0][1]);
    }

    // What the database knew at the moment of the last kill.
    auto before =
        f.query("SELECT shot_id, provider_job_id FROM jobs WHERE provider_job_id IS NOT NULL");
    std::map<std::string, std::string> id_at_kill;
    for (const auto& r : before) {
        id_at_kill[r[0]] = r[1];
    }
    ASSERT_FALSE(id_at_kill.empty()) << "the kill should land with jobs in flight";

    std::cout << "submits in flight at the kills: " << in_flight_at_kills << " sent, "
              << unsent_at_kills << " not yet sent\n";
    // Under `hold`, the submits caught in flight wait for an operator: the run ends with exit 1.
    const int expected_exit = hold && in_flight_at_kills > 0 ? 1 : 0;
    ASSERT_EQ(f.run(120s, "final"), expected_exit)
        << f.read("final", "out") << f.read("final", "err");

    // Ground truth: the simulator's ledger of billed submissions.
    std::map<std::string, std::vector<json::object>> billed_by_prompt;
    std::map<std::string, json::object> billed_by_id;
    for (auto& s : f.billed()) {
        billed_by_prompt[std::string(s.at("prompt").as_string())].push_back(s);
        billed_by_id[std::string(s.at("id").as_string())] = s;
    }
    auto jobs = f.query(
        "SELECT shot_id, prompt, state, provider_job_id, output_path, sha256 FROM jobs "
        "ORDER BY shot_id"
    );
    ASSERT_EQ(jobs.size(), static_cast<std::size_t>(shots));
    auto ambiguous = f.query("SELECT count(*) FROM attempts WHERE outcome = 'ambiguous'");
    const int ambiguous_attempts = std::stoi(ambiguous[0][0]);
    int duplicates = 0;
    int held = 0;
    for (const auto& j : jobs) {
        const std::string& shot = j[0];
        // (A held job's POST may never have left: 0 billings, no duplicate.)
        duplicates += std::max(0, static_cast<int>(billed_by_prompt[j[1]].size()) - 1);
        if (hold && j[2] == "held") {
            ++held;
            EXPECT_FALSE(id_at_kill.count(shot)) << shot << " had an id: it should be polled";
            continue;
        }
        EXPECT_EQ(j[2], "succeeded") << shot;
        // Every job finished once: one file at its path, matching the recorded hash, which is
        // the hash of what the provider served for the job's provider id.
        ASSERT_TRUE(fs::exists(j[4])) << shot;
        EXPECT_EQ(sha256_of(j[4]), j[5]) << shot;
        ASSERT_TRUE(billed_by_id.count(j[3])) << shot;
        EXPECT_EQ(std::string(billed_by_id[j[3]].at("sha256").as_string()), j[5]) << shot;
        // A job whose provider id was recorded before the kill was polled, never resubmitted.
        if (auto it = id_at_kill.find(shot); it != id_at_kill.end()) {
            EXPECT_EQ(j[3], it->second) << shot << " kept its provider id";
            EXPECT_EQ(billed_by_prompt[j[1]].size(), 1u) << shot << " was submitted again";
        }
    }
    // The only way to pay twice is a kill inside the ambiguous window (POST possibly sent, id
    // not yet committed): each such submit is recorded as an ambiguous attempt, and there are
    // no more of them than submits that were in flight when the kills landed.
    EXPECT_LE(duplicates, ambiguous_attempts);
    EXPECT_EQ(ambiguous_attempts, in_flight_at_kills);
    // A submit whose POST had not left costs nothing and is not ambiguous: sent again.
    auto unsent = f.query(
        "SELECT count(*) FROM attempts WHERE outcome = 'not_sent' "
        "AND message = 'the daemon stopped before the request left'"
    );
    EXPECT_EQ(std::stoi(unsent[0][0]), unsent_at_kills);
    if (hold) {
        EXPECT_EQ(duplicates, 0) << "under hold, nothing is ever paid twice";
        EXPECT_EQ(held, in_flight_at_kills);
    }
    EXPECT_EQ(count_mp4(f.output_dir()), shots - held);
    for (const auto& e : fs::recursive_directory_iterator(f.output_dir())) {
        EXPECT_EQ(e.path().filename().string().find(".part"), std::string::npos) << e.path();
    }
}

TEST(ResumeE2E, KillNineMidBatchThenResume) {
    kill_mid_batch_and_resume(1, false);
}

TEST(ResumeE2E, ThreeKillsThenResume) {
    kill_mid_batch_and_resume(3, false);
}

TEST(ResumeE2E, ThreeKillsUnderHoldPolicyNeverPayTwice) {
    kill_mid_batch_and_resume(3, true);
}

}  // namespace
}  // namespace shotfarm::testing
