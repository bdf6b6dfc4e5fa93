// shotfarm run end to end: the real binary, the real simulator, an embedded PostgreSQL.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <signal.h>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/e2e/farm_fixture.hpp"
#include "tests/support/http_call.hpp"

namespace shotfarm::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

std::string str(const json::value& v) {
    return std::string(v.as_string());
}

std::map<std::string, json::object> ledger_by_id(farm& f) {
    std::map<std::string, json::object> out;
    for (auto& s : f.billed()) {
        out[str(s.at("id"))] = s;
    }
    return out;
}

TEST(RunE2E, RendersEveryShotOnceAndVerifiesEveryFile) {
    farm f;
    f.write_shotlist(12);
    ASSERT_EQ(f.run(), 0) << f.read("run", "out") << f.read("run", "err");

    auto ledger = ledger_by_id(f);
    ASSERT_EQ(ledger.size(), 12u) << "each job billed exactly once";

    auto rows = f.query(
        "SELECT shot_id, take, state, provider_job_id, output_path, sha256, account, "
        "(SELECT count(*) FROM attempts a WHERE a.job_id = j.id) FROM jobs j ORDER BY shot_id"
    );
    ASSERT_EQ(rows.size(), 12u);
    std::set<std::string> accounts;
    for (const auto& r : rows) {
        EXPECT_EQ(r[2], "succeeded") << r[0];
        EXPECT_EQ(r[7], "1") << r[0] << ": one attempt";
        ASSERT_TRUE(ledger.count(r[3])) << r[0] << " provider id not in the ledger";
        const fs::path file = r[4];
        EXPECT_EQ(file, f.output_dir() / "e2e" / r[0] / (r[0] + "_t01.mp4"));
        ASSERT_TRUE(fs::exists(file));
        EXPECT_EQ(sha256_of(file), r[5]) << "file matches the recorded SHA-256";
        EXPECT_EQ(str(ledger[r[3]].at("sha256")), r[5]) << "and what the provider served";
        // The sidecar describes the take.
        std::ifstream side(file.parent_path() / (r[0] + "_t01.json"));
        auto meta = json::parse(std::string(std::istreambuf_iterator<char>(side), {}));
        EXPECT_EQ(str(meta.at("sha256")), r[5]);
        EXPECT_EQ(str(meta.at("provider_job_id")), r[3]);
        EXPECT_EQ(str(meta.at("account")), r[6]);
        accounts.insert(r[6]);
    }
    EXPECT_EQ(accounts.size(), 2u) << "work spread over both accounts";
    // No key ever had more generations in flight than configured.
    const auto ledger_now = f.sim().ledger();
    for (const auto& [key, n] : ledger_now.as_object().at("max_inflight").as_object()) {
        EXPECT_LE(n.to_number<int>(), 3) << key;
    }
    // No leftover temp files.
    for (const auto& e : fs::recursive_directory_iterator(f.output_dir())) {
        EXPECT_EQ(e.path().filename().string().find(".part"), std::string::npos) << e.path();
    }

    // The same shot list again: nothing new is ingested, nothing is billed.
    ASSERT_EQ(f.run(60s, "again"), 0) << f.read("again", "err");
    EXPECT_NE(f.read("again", "out").find("0 new jobs"), std::string::npos);
    EXPECT_EQ(f.billed().size(), 12u);
}

TEST(RunE2E, ModeratedShotFailsWithTheProvidersWordsAndIsNotRetried) {
    farm f;
    f.write_shotlist(
        "project: mod\nshots:\n"
        "  - {id: ok1, prompt: a calm lake}\n"
        "  - {id: bad1, prompt: \"a forbidden scene [sim:moderate]\"}\n"
    );
    EXPECT_EQ(f.run(), 1) << "some job failed";
    auto billed = f.billed();
    EXPECT_EQ(billed.size(), 2u) << "the moderated shot was billed once and not resubmitted";
    auto rows = f.query("SELECT state, error FROM jobs WHERE shot_id = 'bad1'");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0][0], "failed");
    EXPECT_NE(rows[0][1].find("1039"), std::string::npos) << rows[0][1];
    EXPECT_NE(rows[0][1].find("mod/bad1/t01"), std::string::npos) << "names the shot";
    EXPECT_NE(rows[0][1].find("account 'atlas-"), std::string::npos) << "names the account";
    EXPECT_NE(rows[0][1].find("atlas"), std::string::npos) << "names the provider";
    EXPECT_NE(f.read("run", "out").find("mod/bad1/t01 [failed]"), std::string::npos);
}

TEST(RunE2E, EachDistinctImageIsUploadedOncePerAccount) {
    farm f;
    fs::copy_file(source_dir() / "examples/demo/frames/dusk_harbour.png", f.dir() / "frame.png");
    fs::copy_file(source_dir() / "examples/demo/frames/desert_road.jpg", f.dir() / "road.jpg");
    std::string shots = "project: up\nshots:\n";
    for (int i = 0; i < 4; ++i) {
        shots += "  - {id: fa" + std::to_string(i) +
                 ", prompt: harbour, image: frame.png, account: atlas-a}\n";
    }
    for (int i = 0; i < 2; ++i) {
        shots += "  - {id: ra" + std::to_string(i) +
                 ", prompt: road, image: road.jpg, account: atlas-a}\n";
        shots += "  - {id: fb" + std::to_string(i) +
                 ", prompt: harbour, image: frame.png, account: atlas-b}\n";
    }
    f.write_shotlist(shots);
    ASSERT_EQ(f.run(), 0) << f.read("run", "err");
    EXPECT_EQ(f.billed().size(), 8u);
    // frame.png on atlas-a, road.jpg on atlas-a, frame.png on atlas-b.
    EXPECT_EQ(f.sim().ledger().as_object().at("uploads").to_number<int>(), 3);
    auto rows = f.query("SELECT account, count(*) FROM uploads GROUP BY account ORDER BY account");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0][0], "atlas-a");
    EXPECT_EQ(rows[0][1], "2");
    EXPECT_EQ(rows[1][1], "1");
}

TEST(RunE2E, BadShotListEnqueuesNothingAndSpendsNothing) {
    farm f;
    f.write_shotlist(
        "project: bad\nshots:\n"
        "  - {id: s1, prompt: fine}\n"
        "  - {id: s2, prompt: too long, duration: 10, model: hailuo-02-pro}\n"
        "  - {id: s1, prompt: duplicate}\n"
    );
    EXPECT_EQ(f.run(30s), 2);
    const std::string err = f.read("run", "err");
    const std::string where = f.shotlist_path().string() + ":";
    EXPECT_NE(err.find(where + "4:"), std::string::npos) << err;
    EXPECT_NE(err.find(where + "5:"), std::string::npos) << err;
    EXPECT_TRUE(f.billed().empty());
    EXPECT_FALSE(fs::exists(f.dir() / "state" / "pg")) << "no database was even started";
}

TEST(RunE2E, BadConfigNamesTheKey) {
    farm_options opts;
    opts.extra_config = "bogus_key: 1\n";
    farm f(opts);
    f.write_shotlist(1);
    EXPECT_EQ(f.run(30s), 2);
    EXPECT_NE(f.read("run", "err").find("bogus_key"), std::string::npos) << f.read("run", "err");
}

TEST(RunE2E, ServesMetricsHealthAndStopsCleanlyOnSigterm) {
    farm f(with_time_scale(0.05));  // ~3 s per generation: the run is busy while we scrape
    f.write_shotlist(8);
    auto run = f.start_run();
    std::uint16_t port = 0;
    ASSERT_TRUE(wait_until(
        [&] {
            auto out = run->out();
            auto at = out.find("metrics on http://127.0.0.1:");
            if (at == std::string::npos) {
                return false;
            }
            port = static_cast<std::uint16_t>(std::stoi(out.substr(at + 28)));
            return true;
        },
        30s
    )) << run->err();
    // Wait until some job is in flight, so the scrape has live series.
    ASSERT_TRUE(wait_until([&] { return !f.billed().empty(); }, 30s));
    EXPECT_TRUE(wait_until(
        [&] { return http_call(port, boost::beast::http::verb::get, "/readyz").status == 200; }, 10s
    ));
    EXPECT_EQ(http_call(port, boost::beast::http::verb::get, "/healthz").status, 200u);
    // Scrape until the series of a busy run are all there (polls start a moment after the
    // first submits).
    const std::vector<std::string> series = {
        "shotfarm_jobs{state=\"running\"} ",
        "shotfarm_spend_usd_total{account=\"atlas-",
        "shotfarm_submit_request_seconds_bucket{provider=\"atlas\",outcome=\"ok\",le=",
        "shotfarm_poll_request_seconds_count{provider=\"atlas\",outcome=\"ok\"} "};
    http_reply scrape;
    const bool complete = wait_until(
        [&] {
            scrape = http_call(port, boost::beast::http::verb::get, "/metrics");
            for (const auto& s : series) {
                if (scrape.body.find(s) == std::string::npos) {
                    return false;
                }
            }
            // The jobs gauge is refreshed once a second: a scrape may fall between a batch of
            // downloads and the next polls. Awaited, not assumed.
            return scrape.status == 200 &&
                   scrape.body.find("shotfarm_jobs{state=\"running\"} 0\n") == std::string::npos;
        },
        20s
    );
    ASSERT_TRUE(complete) << "no scrape with every series of a busy run and jobs running\n"
                          << scrape.body;
    EXPECT_EQ(scrape.body.find("key-a"), std::string::npos) << "no API key in metrics";

    // The real promtool accepts the live exposition.
    const fs::path scraped = f.dir() / "scrape.txt";
    std::ofstream(scraped) << scrape.body;
    const std::string cmd = "promtool check metrics < " + scraped.string() + " > " +
                            (f.dir() / "promtool.txt").string() + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << f.read("promtool", "txt");

    run->signal(SIGTERM);
    EXPECT_EQ(run->wait(60s), 1) << "stopped early: not everything succeeded";
    EXPECT_NE(run->out().find("stopped before the end"), std::string::npos) << run->out();
    EXPECT_EQ(run->err().find("key-a"), std::string::npos) << "no API key in logs";

    // And the next run finishes the batch without paying twice for anything.
    ASSERT_EQ(f.run(120s, "resume"), 0) << f.read("resume", "err");
    EXPECT_EQ(f.billed().size(), 8u);
}

}  // namespace
}  // namespace shotfarm::testing
