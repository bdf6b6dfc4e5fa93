// shotfarm run under the simulator's injected faults, to the end: what each fault may cost, and
// that nothing else costs money twice (issue 3). Ground truth is the simulator's ledger (what
// was billed, which faults fired) against the daemon's own database (`attempts`).
//
// Which faults can make a job be billed twice (resubmit policy), from docs/simulator.md §Faults:
// - `lost_response`: the job is created and billed, then the connection is dropped → the
//   daemon sees an ambiguous submit and resubmits: one duplicate per fired fault.
// - `malformed_json` on a submit: handled (created, billed), answered with a broken 200 → an
//   ambiguous "2xx without an id" (the attempt's http_status is 200): one duplicate each.
// - `http_5xx` and `reset` are drawn *before* the request is handled: the daemon must call them
//   ambiguous (it cannot know), but the simulator created nothing — no duplicate.
// - `http_429` is an answer: retryable, never billed. `slow` (not used here) would be a third
//   cause: a submit that outlives the client's timeout is still created.
// Poll-side faults cost nothing. So: lost_response ≤ duplicates ≤ lost_response + (ambiguous
// attempts answered 200) ≤ lost_response + malformed_json (the ledger's counts, which include
// malformed polls).
//
// Determinism: the simulator draws faults from `seed` in request order; the daemon runs several
// requests concurrently, so which request meets which fault can vary between runs with the
// same seed. Every assertion below is an invariant that holds for any such assignment; the
// probabilities are small enough that no job exhausts its attempts (P < 1e-5 per run).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/e2e/farm_fixture.hpp"

namespace shotfarm::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int fault_seed = 4242;
constexpr int max_attempts = 10;
constexpr int account_cap = 3;  ///< the daemon's max_concurrency per account
constexpr int key_cap = 10;     ///< the simulator's, higher: the daemon's own limit is tested

std::string str(const json::value& v) {
    return v.is_string() ? std::string(v.as_string()) : std::string();
}

std::int64_t count_of(const json::object& o, const std::string& key) {
    const auto* n = o.if_contains(key);
    return n != nullptr ? n->to_number<std::int64_t>() : 0;
}

/// Account name → (provider, simulator key).
const std::map<std::string, std::pair<std::string, std::string>>& four_accounts() {
    static const std::map<std::string, std::pair<std::string, std::string>> accounts = {
        {"atlas", {"atlascloud", "k-atlas"}},
        {"ws", {"wavespeed", "k-ws"}},
        {"aiml", {"aimlapi", "k-aiml"}},
        {"mm", {"minimax", "k-mm"}},
    };
    return accounts;
}

farm_options faulty_four_providers(const std::string& faults, const std::string& extra_config) {
    farm_options o;
    o.sim_yaml = "time_scale: 0.01\nseed: " + std::to_string(fault_seed) +
                 "\ndefault_timing: {median_s: 60, sigma: 0.2}\nfaults: {" + faults + "}\nkeys:\n";
    for (const auto& [name, pk] : four_accounts()) {
        o.sim_yaml += "  - {key: " + pk.second + ", provider: " + pk.first +
                      ", max_concurrency: " + std::to_string(key_cap) +
                      ", requests_per_minute: 1000}\n";
        o.accounts_yaml += "  - name: " + name + "\n    provider: " + pk.first +
                           "\n    base_url: @BASE@\n    api_key_env: E2E_KEY_" + name +
                           "\n    max_concurrency: " + std::to_string(account_cap) +
                           "\n    requests_per_minute: 1000\n    submits_per_minute: 1000\n";
        o.keys[name] = pk.second;
    }
    o.extra_config = "max_attempts: " + std::to_string(max_attempts) + "\n" + extra_config;
    return o;
}

/// 16 shots, four pinned to each provider, t2v and i2v, every model.
void write_mixed_shotlist(farm& f) {
    fs::copy_file(source_dir() / "examples/demo/frames/dusk_harbour.png", f.dir() / "frame.png");
    fs::copy_file(source_dir() / "examples/demo/frames/desert_road.jpg", f.dir() / "road.jpg");
    f.write_shotlist(
        "project: faults\nshots:\n"
        "  - {id: a1, prompt: atlas fast frame, model: hailuo-02-fast, image: frame.png, "
        "provider: atlascloud}\n"
        "  - {id: a2, prompt: atlas standard text, model: hailuo-02-standard, "
        "provider: atlascloud}\n"
        "  - {id: a3, prompt: atlas pro text, model: hailuo-2.3-pro, provider: atlascloud}\n"
        "  - {id: a4, prompt: atlas 2.3 frame, model: hailuo-2.3-standard, image: road.jpg, "
        "provider: atlascloud}\n"
        "  - {id: w1, prompt: wavespeed pro text, model: hailuo-2.3-pro, provider: wavespeed}\n"
        "  - {id: w2, prompt: wavespeed standard frame, model: hailuo-02-standard, "
        "image: frame.png, provider: wavespeed}\n"
        "  - {id: w3, prompt: wavespeed fast frame, model: hailuo-2.3-fast, image: road.jpg, "
        "provider: wavespeed}\n"
        "  - {id: w4, prompt: wavespeed 02 pro text, model: hailuo-02-pro, provider: wavespeed}\n"
        "  - {id: i1, prompt: aiml fast frame, model: hailuo-2.3-fast, image: road.jpg, "
        "provider: aimlapi}\n"
        "  - {id: i2, prompt: aiml ten seconds, model: hailuo-02-standard, duration: 10, "
        "provider: aimlapi}\n"
        "  - {id: i3, prompt: aiml 2.3 text, model: hailuo-2.3-standard, provider: aimlapi}\n"
        "  - {id: i4, prompt: aiml pro frame, model: hailuo-02-pro, image: frame.png, "
        "provider: aimlapi}\n"
        "  - {id: m1, prompt: minimax pro frame, model: hailuo-02-pro, image: frame.png, "
        "provider: minimax}\n"
        "  - {id: m2, prompt: minimax 2.3 text, model: hailuo-2.3-standard, provider: minimax}\n"
        "  - {id: m3, prompt: minimax fast 512p frame, model: hailuo-02-fast, image: road.jpg, "
        "provider: minimax}\n"
        "  - {id: m4, prompt: minimax 2.3 fast frame, model: hailuo-2.3-fast, image: frame.png, "
        "provider: minimax}\n"
    );
}

/// One job as the daemon recorded it, with its attempts and what the ledger billed for it.
struct job_view {
    std::string shot;
    std::string prompt;
    std::string state;
    std::string account;
    std::string provider_job_id;
    std::string output_path;
    std::string sha256;
    int ambiguous = 0;       ///< attempts ruled ambiguous
    int ambiguous_200 = 0;   ///< … of which answered HTTP 200 without an id (a broken body)
    int spent_attempts = 0;  ///< attempts counted as spent (pending, accepted, ambiguous)
    int accepted = 0;
    std::vector<json::object> billed;  ///< ledger submissions with this job's prompt
};

struct run_view {
    std::vector<job_view> jobs;
    std::set<std::string> accepted_ids;  ///< every provider id on an attempt row
    std::vector<json::object> billed;
    json::object faults;
    json::object max_inflight;
};

run_view look(farm& f) {
    run_view v;
    const auto ledger = f.sim().ledger();
    v.faults = ledger.as_object().at("faults").as_object();
    v.max_inflight = ledger.as_object().at("max_inflight").as_object();
    for (const auto& s : ledger.as_object().at("submissions").as_array()) {
        v.billed.push_back(s.as_object());
    }
    for (const auto& r : f.query("SELECT provider_job_id FROM attempts "
                                 "WHERE provider_job_id IS NOT NULL")) {
        v.accepted_ids.insert(r[0]);
    }
    auto rows = f.query(
        "SELECT j.shot_id, j.prompt, j.state, coalesce(j.account, ''), "
        "coalesce(j.provider_job_id, ''), coalesce(j.output_path, ''), coalesce(j.sha256, ''), "
        "count(*) FILTER (WHERE a.outcome = 'ambiguous'), "
        "count(*) FILTER (WHERE a.outcome = 'ambiguous' AND a.http_status = 200), "
        "count(*) FILTER (WHERE a.outcome IN ('pending', 'accepted', 'ambiguous')), "
        "count(*) FILTER (WHERE a.outcome = 'accepted') "
        "FROM jobs j LEFT JOIN attempts a ON a.job_id = j.id GROUP BY j.id ORDER BY j.shot_id"
    );
    for (const auto& r : rows) {
        job_view j;
        j.shot = r[0];
        j.prompt = r[1];
        j.state = r[2];
        j.account = r[3];
        j.provider_job_id = r[4];
        j.output_path = r[5];
        j.sha256 = r[6];
        j.ambiguous = std::stoi(r[7]);
        j.ambiguous_200 = std::stoi(r[8]);
        j.spent_attempts = std::stoi(r[9]);
        j.accepted = std::stoi(r[10]);
        for (const auto& s : v.billed) {
            if (str(s.at("prompt")) == j.prompt) {
                j.billed.push_back(s);
            }
        }
        v.jobs.push_back(std::move(j));
    }
    return v;
}

/// The finished job's file: on disk, matching the DB's SHA-256 and what the provider served
/// for the job's recorded id.
void expect_verified_file(const job_view& j) {
    ASSERT_FALSE(j.provider_job_id.empty()) << j.shot;
    ASSERT_TRUE(fs::exists(j.output_path)) << j.shot << ": " << j.output_path;
    EXPECT_EQ(sha256_of(j.output_path), j.sha256) << j.shot;
    const auto it = std::find_if(j.billed.begin(), j.billed.end(), [&](const json::object& s) {
        return str(s.at("id")) == j.provider_job_id;
    });
    ASSERT_NE(it, j.billed.end()) << j.shot << ": id " << j.provider_job_id << " never billed";
    EXPECT_EQ(str(it->at("sha256")), j.sha256) << j.shot;
}

/// Billed submissions the daemon never got an id for, per simulator key.
std::map<std::string, int> orphans_by_key(const run_view& v) {
    std::map<std::string, int> out;
    for (const auto& s : v.billed) {
        if (!v.accepted_ids.count(str(s.at("id")))) {
            ++out[str(s.at("key"))];
        }
    }
    return out;
}

/// No key ever had more generations in flight than the daemon's cap for its account, plus the
/// orphans on it (billed generations the daemon does not know of, so cannot count).
void expect_inflight_within_caps(const run_view& v) {
    const auto orphans = orphans_by_key(v);
    for (const auto& [name, pk] : four_accounts()) {
        const std::int64_t peak = count_of(v.max_inflight, pk.second);
        const auto it = orphans.find(pk.second);
        const int slack = it != orphans.end() ? it->second : 0;
        EXPECT_LE(peak, account_cap + slack) << name << " (" << slack << " orphans)";
        EXPECT_LE(peak, key_cap) << name;
        EXPECT_GE(peak, 1) << name << " was used";
    }
}

void print_faults(const run_view& v) {
    std::cout << "fault seed " << fault_seed << ", fired:";
    for (const auto& [k, n] : v.faults) {
        std::cout << " " << k << "=" << n.to_number<std::int64_t>();
    }
    std::cout << "\n";
}

TEST(FaultsE2E, MixedShotListUnderFaultsEndsWithEveryJobSucceededAndDuplicatesBounded) {
    std::cout << "fault seed " << fault_seed << "\n";
    farm f(faulty_four_providers(
        "http_429: 0.06, http_5xx: 0.06, reset: 0.05, malformed_json: 0.06, "
        "lost_response: 0.08",
        ""
    ));
    write_mixed_shotlist(f);
    ASSERT_EQ(f.run(150s), 0) << f.read("run", "out") << f.read("run", "err");

    const run_view v = look(f);
    print_faults(v);
    ASSERT_EQ(v.jobs.size(), 16u);
    int duplicates = 0;
    int ambiguous_200 = 0;
    int ambiguous = 0;
    for (const auto& j : v.jobs) {
        EXPECT_EQ(j.state, "succeeded") << j.shot;
        expect_verified_file(j);
        EXPECT_EQ(j.accepted, 1) << j.shot << ": one accepted generation";
        const int n = static_cast<int>(j.billed.size());
        EXPECT_GE(n, 1) << j.shot;
        EXPECT_LE(n, max_attempts) << j.shot << " billed beyond max_attempts";
        EXPECT_LE(j.spent_attempts, max_attempts) << j.shot;
        // Every billing of this job beyond the first is explained by an ambiguous attempt.
        EXPECT_LE(n - 1, j.ambiguous) << j.shot;
        duplicates += std::max(0, n - 1);
        ambiguous_200 += j.ambiguous_200;
        ambiguous += j.ambiguous;
    }
    // A duplicate is a billed generation the daemon never got an id for.
    int orphans = 0;
    for (const auto& [key, n] : orphans_by_key(v)) {
        orphans += n;
    }
    EXPECT_EQ(duplicates, orphans);
    const std::int64_t lost = count_of(v.faults, "lost_response");
    const std::int64_t malformed = count_of(v.faults, "malformed_json");
    std::cout << "duplicates " << duplicates << ", ambiguous attempts " << ambiguous
              << " (of which HTTP 200: " << ambiguous_200 << ")\n";
    EXPECT_GE(duplicates, lost) << "every lost response was billed and resubmitted";
    EXPECT_LE(duplicates, lost + ambiguous_200);
    EXPECT_LE(duplicates, lost + malformed);
    EXPECT_GE(ambiguous, lost) << "a lost response is ambiguous to the daemon";
    EXPECT_GE(lost + malformed + count_of(v.faults, "http_5xx"), 1)
        << "the run met no fault that makes a submit ambiguous: pick another seed";
    expect_inflight_within_caps(v);
}

TEST(FaultsE2E, HoldPolicyNeverPaysTwiceAndHoldsTheAmbiguousJobs) {
    std::cout << "fault seed " << fault_seed << "\n";
    // More ambiguity than above: under `hold` nothing is resubmitted, so no backoff piles up.
    farm f(faulty_four_providers(
        "http_429: 0.1, http_5xx: 0.1, reset: 0.05, malformed_json: 0.1, lost_response: 0.15",
        "ambiguous_policy: hold\n"
    ));
    write_mixed_shotlist(f);
    const int exit_code = f.run(150s);

    const run_view v = look(f);
    print_faults(v);
    ASSERT_EQ(v.jobs.size(), 16u);
    int held = 0;
    int billed_held = 0;
    for (const auto& j : v.jobs) {
        const int n = static_cast<int>(j.billed.size());
        EXPECT_LE(n, 1) << j.shot << " was paid for twice";
        if (j.ambiguous > 0) {
            ++held;
            billed_held += n;
            EXPECT_EQ(j.state, "held") << j.shot << " had an ambiguous submit";
            EXPECT_EQ(j.ambiguous, 1) << j.shot << " was submitted again";
            EXPECT_EQ(j.spent_attempts, 1) << j.shot;
            EXPECT_EQ(j.accepted, 0) << j.shot;
            EXPECT_FALSE(fs::exists(j.output_path)) << j.shot;
            continue;
        }
        EXPECT_EQ(j.state, "succeeded") << j.shot;
        EXPECT_EQ(n, 1) << j.shot;
        expect_verified_file(j);
    }
    std::cout << "held " << held << " (" << billed_held << " of them billed)\n";
    ASSERT_GE(held, 1) << "no ambiguous submit at all: pick another seed";
    EXPECT_EQ(exit_code, 1) << "held jobs wait for an operator\n"
                            << f.read("run", "out") << f.read("run", "err");
    // The held jobs that were billed are exactly the lost responses and the broken 200s on a
    // created job; a 5xx or a reset on a submit held a job that was never billed.
    EXPECT_GE(billed_held, count_of(v.faults, "lost_response"));
    EXPECT_EQ(static_cast<std::size_t>(16 - held + billed_held), v.billed.size());
    expect_inflight_within_caps(v);
}

// ---- MiniMax download URL expiry through the pipeline --------------------------------------
//
// `minimax_expire_first_urls: N`: the first N download URLs issued for each task answer 403
// "expired". The daemon must go back to polling (query → files/retrieve) for a fresh URL, never
// resubmit. Each time a job enters `downloading` it holds a URL from one successful
// files/retrieve, so the job's `downloading` events count its retrieves; the ledger's per-key
// `requests` counts the downloads (expired ones included) and the polls.

class MinimaxUrlExpiry : public ::testing::TestWithParam<int> {};

TEST_P(MinimaxUrlExpiry, ExpiredUrlsAreFetchedAgainAndEachJobIsBilledOnce) {
    const int expire = GetParam();
    constexpr int shots = 12;
    farm_options o;
    o.sim_yaml = "time_scale: 0.01\nseed: " + std::to_string(fault_seed) +
                 "\ndefault_timing: {median_s: 60, sigma: 0.2}\nminimax_expire_first_urls: " +
                 std::to_string(expire) +
                 "\nkeys:\n  - {key: k-mm, provider: minimax, max_concurrency: 4, "
                 "requests_per_minute: 1000}\n";
    o.accounts_yaml =
        "  - name: mm\n    provider: minimax\n    base_url: @BASE@\n    api_key_env: E2E_KEY_mm\n"
        "    max_concurrency: 4\n    requests_per_minute: 1000\n    submits_per_minute: 1000\n";
    o.keys = {{"mm", "k-mm"}};
    farm f(o);
    f.write_shotlist(shots);
    ASSERT_EQ(f.run(120s), 0) << f.read("run", "out") << f.read("run", "err");

    const run_view v = look(f);
    ASSERT_EQ(v.jobs.size(), static_cast<std::size_t>(shots));
    EXPECT_EQ(v.billed.size(), static_cast<std::size_t>(shots)) << "each job billed once";
    auto events = f.query(
        "SELECT j.shot_id, "
        "count(*) FILTER (WHERE e.to_state = 'downloading'), "
        "count(*) FILTER (WHERE e.from_state = 'downloading' AND e.to_state = 'running' "
        "AND e.detail LIKE '%HTTP 403%'), "
        "max(j.retries) "
        "FROM jobs j JOIN job_events e ON e.job_id = j.id GROUP BY j.id ORDER BY j.shot_id"
    );
    ASSERT_EQ(events.size(), static_cast<std::size_t>(shots));
    for (std::size_t i = 0; i < v.jobs.size(); ++i) {
        const auto& j = v.jobs[i];
        const auto& e = events[i];
        ASSERT_EQ(e[0], j.shot);
        EXPECT_EQ(j.state, "succeeded") << j.shot;
        EXPECT_EQ(j.billed.size(), 1u) << j.shot << " was submitted again";
        EXPECT_EQ(j.spent_attempts, 1) << j.shot;
        expect_verified_file(j);
        EXPECT_EQ(std::stoi(e[1]), expire + 1) << j.shot << ": retrieves (URLs fetched)";
        EXPECT_EQ(std::stoi(e[2]), expire) << j.shot << ": expired URLs met";
        EXPECT_GE(std::stoi(e[3]), expire) << j.shot << ": retries counted";
    }
    // The simulator's request counts for the key: every download attempt (the expired ones
    // included), and at least one query plus one files/retrieve per URL fetched.
    const auto ledger = f.sim().ledger();
    const auto& requests = ledger.as_object().at("requests").as_object().at("k-mm").as_object();
    EXPECT_EQ(count_of(requests, "download"), shots * (expire + 1));
    EXPECT_GE(count_of(requests, "poll"), 2 * shots * (expire + 1));
    EXPECT_EQ(count_of(requests, "submit"), shots);
    // The log names every expired download.
    const std::string err = f.read("run", "err");
    int logged = 0;
    for (auto at = err.find("job.download_failed"); at != std::string::npos;
         at = err.find("job.download_failed", at + 1)) {
        ++logged;
    }
    EXPECT_EQ(logged, expire * shots);
}

INSTANTIATE_TEST_SUITE_P(FirstUrls, MinimaxUrlExpiry, ::testing::Values(1, 2));

// ---- Free retries are bounded (docs/pipeline.md "Errors, by class") -----------------------
//
// "Transient problems that cost nothing (429, uploads, polls) are bounded by 40 retries per
// job", and "Five failed downloads fail the job". A provider that never answers a poll, or a
// CDN that never serves a URL, must therefore end the job (and the run) — without paying for a
// second generation — instead of polling until the 3 h job deadline.

/// One job on one account of `provider`; returns the run's exit code, -1 if it did not end
/// within `deadline` (it is then killed).
int run_one_shot(farm& f, std::chrono::seconds deadline) {
    f.write_shotlist("project: bounds\nshots:\n  - {id: s1, prompt: one lonely shot}\n");
    auto run = f.start_run();
    return run->wait(deadline);
}

farm_options one_account(const std::string& provider, const std::string& sim_extra, int seed) {
    farm_options o;
    o.sim_yaml = "time_scale: 0.01\nseed: " + std::to_string(seed) +
                 "\ndefault_timing: {median_s: 30, sigma: 0}\n" + sim_extra +
                 "keys:\n  - {key: k-one, provider: " + provider +
                 ", max_concurrency: 3, requests_per_minute: 1000}\n";
    o.accounts_yaml = "  - name: one\n    provider: " + provider +
                      "\n    base_url: @BASE@\n    api_key_env: E2E_KEY_one\n"
                      "    max_concurrency: 3\n    requests_per_minute: 1000\n";
    o.keys = {{"one", "k-one"}};
    return o;
}

TEST(FaultsE2EBounds, PollsThatAlwaysFailEndTheJobWithoutPayingAgain) {
    // reset at p = 0.99 with seed 69: draw 0 (the submit) is 0.995 — it passes; draws 1..399
    // all fire (computed from the simulator's splitmix64 draws), so every poll of the one job
    // has its connection dropped: a retryable poll failure, forever.
    farm f(one_account("atlas", "faults: {reset: 0.99}\n", 69));
    const int code = run_one_shot(f, 40s);
    const auto ledger = f.sim().ledger();
    const auto& faults = ledger.as_object().at("faults").as_object();
    EXPECT_EQ(ledger.as_object().at("submissions").as_array().size(), 1u)
        << "the submit passed once and was never repeated";
    EXPECT_GE(count_of(faults, "reset"), 40) << "polls kept failing";
    ASSERT_NE(code, -1) << "the run did not end within 40 s: failed polls are retried without "
                           "bound (docs/pipeline.md promises at most 40 free retries per job)\n"
                        << f.read("run", "out");
    auto rows = f.query("SELECT state, provider_job_id FROM jobs");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_TRUE(rows[0][0] == "failed" || rows[0][0] == "held") << rows[0][0];
    EXPECT_FALSE(rows[0][1].empty()) << "the paid generation's id is kept";
}

TEST(FaultsE2EBounds, DownloadUrlsThatAlwaysExpireEndTheJobWithoutPayingAgain) {
    // Every download URL of the task answers 403 "expired" (the first 1000 of them).
    farm f(one_account("minimax", "minimax_expire_first_urls: 1000\n", fault_seed));
    const int code = run_one_shot(f, 40s);
    const auto ledger = f.sim().ledger();
    EXPECT_EQ(ledger.as_object().at("submissions").as_array().size(), 1u);
    const std::int64_t downloads =
        count_of(ledger.as_object().at("requests").as_object().at("k-one").as_object(), "download");
    std::cout << "download attempts: " << downloads << "\n";
    ASSERT_NE(code, -1) << "the run did not end within 40 s after " << downloads
                        << " expired downloads: an expired URL sends the job back to `running` "
                           "with a fresh failure count each time, so nothing bounds the loop";
    EXPECT_LE(downloads, 41);
    auto rows = f.query("SELECT state FROM jobs");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0][0], "failed");
}

}  // namespace
}  // namespace shotfarm::testing
