// Issue 11: hostile input is refused by `validate`, and `submit`/`run` say the same thing in the
// same words — a file:line:col naming the shot — never a raw PostgreSQL error. The real binary
// with its embedded PostgreSQL, and a simulator that must not be called.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/farm_fixture.hpp"

namespace shotfarm::testing {
namespace {

// What a raw database error looks like; none of it may reach the user.
bool looks_like_a_database_error(const std::string& text) {
    for (const char* raw :
         {"ERROR:",
          "SQLSTATE",
          "invalid byte sequence",
          "malformed array literal",
          "pg:",
          "unsupported Unicode escape",
          "violates"}) {
        if (text.find(raw) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// One list with every kind of text the database or a provider refuses: NUL (seen: it passed
// validate and failed submit with PostgreSQL's message), an escape sequence, a C1 control and
// bytes that are not UTF-8. Line:col of each prompt value below.
const std::string hostile =
    "project: hostile\n"
    "shots:\n"
    "  - id: s001\n"
    "    prompt: a healthy shot\n"
    "  - id: s002\n"
    "    prompt: \"a\\0b\"\n"
    "  - id: s003\n"
    "    prompt: \"red \\e[31m text\"\n"
    "  - id: s004\n"
    "    prompt: \"nel \xc2\x85 here\"\n"
    "  - id: s005\n"
    "    prompt: \"caf\xe9\"\n";

const std::vector<std::string> expected{
    "shots.yaml:6:13: shots[1].prompt: contains a NUL character (at character 2)",
    "shots.yaml:8:13: shots[2].prompt: contains the control character U+001B (at character 5)",
    "shots.yaml:10:13: shots[3].prompt: contains the control character U+0085 (at character 5)",
    "shots.yaml:12:13: shots[4].prompt: is not valid UTF-8 (at byte 4)",
};

TEST(ingest_errors_e2e, validate_submit_and_run_refuse_the_same_shots_in_plain_words) {
    farm f;
    f.write_shotlist(hostile);
    const std::string cfg = f.config_path().string();
    const std::string list = f.shotlist_path().string();
    const std::vector<std::pair<std::string, std::vector<std::string>>> commands{
        {"validate", {"validate", "--config", cfg, list}},
        {"validate_no_config", {"validate", list}},
        {"submit", {"submit", "--config", cfg, list}},
        {"run", {"run", "--config", cfg, list}},
    };
    for (const auto& [tag, args] : commands) {
        SCOPED_TRACE(tag);
        EXPECT_EQ(f.command(args, tag), 2);
        const std::string out = f.read(tag, "out") + f.read(tag, "err");
        for (const auto& line : expected) {
            EXPECT_NE(out.find(line), std::string::npos) << line << "\n---\n" << out;
        }
        EXPECT_FALSE(looks_like_a_database_error(out)) << out;
        // Nothing raw reaches the terminal.
        EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
        EXPECT_EQ(out.find('\0'), std::string::npos) << out;
    }
    // Nothing was stored and nothing was paid for.
    EXPECT_EQ(f.billed().size(), 0u);

    // The healthy shot alone goes through: the refusal was about the shots, not the list.
    f.write_shotlist("project: hostile\nshots:\n  - id: s001\n    prompt: a healthy shot\n");
    ASSERT_EQ(f.command({"submit", "--config", cfg, list}, "submit_ok"), 0)
        << f.read("submit_ok", "err");
    const auto rows = f.query("SELECT shot_id FROM shots WHERE project = 'hostile'");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0][0], "s001");
}

}  // namespace
}  // namespace shotfarm::testing
