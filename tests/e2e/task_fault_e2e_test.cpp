// A job task that throws is a bug in shotfarm or a broken machine, never a reason to loop: the
// job is logged once and held for an operator, the rest of the batch renders, the run ends by
// itself, and `shotfarm retry` carries the held job on without paying for it again.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/e2e/farm_fixture.hpp"

namespace shotfarm::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

int count_of(const std::string& text, const std::string& needle) {
    int n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

TEST(TaskFaultE2E, AThrowingTaskHoldsItsJobOnceAndTheRunEnds) {
    farm f;
    f.write_shotlist(6, "fault");
    // The take's output folder cannot be made: a file stands where the folder of shot s003
    // goes. Its download step throws (std::filesystem::filesystem_error) after the provider
    // has made — and billed — the video.
    fs::create_directories(f.output_dir() / "fault");
    std::ofstream(f.output_dir() / "fault" / "s003") << "in the way\n";

    // Before: the periodic recovery restarted the task every 5 s and it threw again, for ever.
    const int code = f.run(120s);
    ASSERT_NE(code, -1) << "the run must end by itself\n" << f.read("run", "err");
    EXPECT_EQ(code, 1) << "a held job makes the exit code 1\n" << f.read("run", "out");

    auto rows = f.query(
        "SELECT shot_id, state::text, coalesce(error_class, ''), coalesce(error, ''), "
        "provider_job_id IS NOT NULL FROM jobs ORDER BY shot_id"
    );
    ASSERT_EQ(rows.size(), 6u);
    for (const auto& r : rows) {
        if (r[0] == "s003") {
            EXPECT_EQ(r[1], "held");
            EXPECT_EQ(r[2], "task_failed");
            EXPECT_NE(r[3].find("shot fault/s003/t01"), std::string::npos) << r[3];
            EXPECT_NE(r[3].find("account '"), std::string::npos) << "names the account: " << r[3];
            EXPECT_EQ(r[4], "t") << "the paid generation's id is kept";
        } else {
            EXPECT_EQ(r[1], "succeeded") << r[0];
        }
    }
    const std::string err = f.read("run", "err");
    EXPECT_EQ(count_of(err, "\"job.task_failed\""), 1) << "logged once, not in a loop\n" << err;
    EXPECT_EQ(f.billed().size(), 6u) << "each job billed once";

    // The operator clears the way and retries: the video is fetched by polling the same
    // generation again — nothing is paid twice.
    fs::remove(f.output_dir() / "fault" / "s003");
    ASSERT_EQ(f.command({"retry", "--config", f.config_path().string(), "fault/s003"}, "retry"), 0)
        << f.read("retry", "err");
    EXPECT_EQ(f.run(120s, "again"), 0) << f.read("again", "err");
    EXPECT_TRUE(fs::exists(f.output_dir() / "fault" / "s003" / "s003_t01.mp4"));
    EXPECT_EQ(f.billed().size(), 6u) << "the retry polled the paid generation again";
}

}  // namespace
}  // namespace shotfarm::testing
