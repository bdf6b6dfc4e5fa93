// Issue 3's run: a shot list mixing all six models, text- and image-to-video, over four
// accounts on four providers (Atlas Cloud, WaveSpeed, AI/ML API, MiniMax) in the simulator.
#include <filesystem>
#include <map>
#include <set>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/e2e/farm_fixture.hpp"

namespace shotfarm::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

farm_options four_providers() {
    farm_options o;
    o.sim_yaml =
        "time_scale: 0.01\nseed: 31\nkeys:\n"
        "  - {key: k-atlas, provider: atlascloud, max_concurrency: 3, requests_per_minute: 1000}\n"
        "  - {key: k-ws, provider: wavespeed, max_concurrency: 3, requests_per_minute: 1000}\n"
        "  - {key: k-aiml, provider: aimlapi, max_concurrency: 3, requests_per_minute: 1000}\n"
        "  - {key: k-mm, provider: minimax, max_concurrency: 3, requests_per_minute: 1000}\n";
    std::string accounts;
    for (const auto& [name, provider] : std::map<std::string, std::string>{
             {"atlas", "atlascloud"},
             {"ws", "wavespeed"},
             {"aiml", "aimlapi"},
             {"mm", "minimax"}}) {
        accounts += "  - name: " + name + "\n    provider: " + provider +
                    "\n    base_url: @BASE@\n    api_key_env: E2E_KEY_" + name +
                    "\n    max_concurrency: 3\n    requests_per_minute: 1000\n    "
                    "submits_per_minute: 1000\n";
    }
    o.accounts_yaml = accounts;
    o.keys = {{"atlas", "k-atlas"}, {"ws", "k-ws"}, {"aiml", "k-aiml"}, {"mm", "k-mm"}};
    return o;
}

TEST(ProvidersE2E, MixedShotListRunsToCompletionOnFourProviders) {
    farm f(four_providers());
    fs::copy_file(source_dir() / "examples/demo/frames/dusk_harbour.png", f.dir() / "frame.png");
    fs::copy_file(source_dir() / "examples/demo/frames/desert_road.jpg", f.dir() / "road.jpg");
    // Every model, t2v and i2v, some pinned so that each provider is certainly used.
    f.write_shotlist(
        "project: mix\nshots:\n"
        "  - {id: a1, prompt: fast first frame, model: hailuo-02-fast, image: frame.png, "
        "provider: atlascloud}\n"
        "  - {id: w1, prompt: pro text, model: hailuo-2.3-pro, provider: wavespeed}\n"
        "  - {id: i1, prompt: fast 2.3 first frame, model: hailuo-2.3-fast, image: road.jpg, "
        "provider: aimlapi}\n"
        "  - {id: i2, prompt: standard ten seconds, model: hailuo-02-standard, duration: 10, "
        "provider: aimlapi}\n"
        "  - {id: m1, prompt: pro first frame, model: hailuo-02-pro, image: frame.png, "
        "provider: minimax}\n"
        "  - {id: m2, prompt: standard 2.3 text, model: hailuo-2.3-standard, provider: minimax}\n"
        "  - {id: u1, prompt: standard first frame, model: hailuo-02-standard, image: road.jpg}\n"
        "  - {id: u2, prompt: 2.3 standard first frame, model: hailuo-2.3-standard, image: "
        "frame.png}\n"
        "  - {id: u3, prompt: pro text 02, model: hailuo-02-pro}\n"
        "  - {id: u4, prompt: fast 2.3 ten seconds, model: hailuo-2.3-fast, image: frame.png, "
        "duration: 10}\n"
        "  - {id: u5, prompt: pro 2.3 first frame, model: hailuo-2.3-pro, image: road.jpg}\n"
        "  - {id: u6, prompt: fast 02 ten seconds, model: hailuo-02-fast, image: road.jpg, "
        "duration: 10}\n"
    );
    ASSERT_EQ(f.run(180s), 0) << f.read("run", "out") << f.read("run", "err");

    std::map<std::string, json::object> ledger;
    std::set<std::string> providers_billed;
    for (auto& s : f.billed()) {
        ledger[std::string(s.at("id").as_string())] = s;
        providers_billed.insert(std::string(s.at("provider").as_string()));
    }
    EXPECT_EQ(providers_billed.size(), 4u) << "all four providers were used";
    EXPECT_EQ(ledger.size(), 12u) << "each take billed once";

    auto rows = f.query(
        "SELECT shot_id, state, provider, provider_job_id, output_path, sha256 FROM jobs "
        "ORDER BY shot_id"
    );
    ASSERT_EQ(rows.size(), 12u);
    const std::map<std::string, std::string> pinned = {
        {"a1", "atlas"},
        {"w1", "wavespeed"},
        {"i1", "aimlapi"},
        {"i2", "aimlapi"},
        {"m1", "minimax"},
        {"m2", "minimax"}};
    for (const auto& r : rows) {
        EXPECT_EQ(r[1], "succeeded") << r[0];
        if (auto it = pinned.find(r[0]); it != pinned.end()) {
            EXPECT_EQ(r[2], it->second) << r[0] << " went to its pinned provider";
        }
        ASSERT_TRUE(ledger.count(r[3])) << r[0] << ": provider id " << r[3] << " not billed";
        EXPECT_EQ(std::string(ledger[r[3]].at("sha256").as_string()), r[5]) << r[0];
        EXPECT_EQ(sha256_of(r[4]), r[5]) << r[0];
    }
}

}  // namespace
}  // namespace shotfarm::testing
