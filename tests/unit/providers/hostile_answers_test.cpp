// Hostile or broken provider answers, without a socket: ids are checked and stay one URL
// segment in every adapter's paths, a provider's words are bounded and printable, and status
// words no provider documents are a class of their own (bad_answer), never "pending forever".
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "providers/aimlapi/aimlapi_wire.hpp"
#include "providers/answer_checks.hpp"
#include "providers/atlas/atlas_wire.hpp"
#include "providers/minimax/minimax_wire.hpp"
#include "providers/provider_id.hpp"
#include "providers/wavespeed/wavespeed_wire.hpp"

namespace shotfarm::providers {
namespace {

const std::string climbing = "../../../admin/delete?x=1";
const std::string climbing_encoded = "..%2F..%2F..%2Fadmin%2Fdelete%3Fx%3D1";

TEST(ProviderIdCheck, RefusesWhatCannotBeData) {
    EXPECT_EQ(provider_id_problem("pred_abc123"), std::nullopt);
    EXPECT_EQ(provider_id_problem("349865017168125:minimax/hailuo-2.3"), std::nullopt);
    EXPECT_EQ(provider_id_problem("an id with spaces"), std::nullopt) << "encoded, not refused";
    EXPECT_EQ(provider_id_problem(climbing), std::nullopt) << "encoded, not refused";
    EXPECT_EQ(provider_id_problem("caf\xc3\xa9"), std::nullopt);
    EXPECT_EQ(provider_id_problem(std::string(256, 'a')), std::nullopt);

    EXPECT_NE(provider_id_problem(""), std::nullopt);
    EXPECT_NE(provider_id_problem("."), std::nullopt);
    EXPECT_NE(provider_id_problem(".."), std::nullopt);
    const auto long_id = provider_id_problem(std::string(257, 'a'));
    ASSERT_NE(long_id, std::nullopt);
    EXPECT_NE(long_id->find("257 bytes"), std::string::npos) << *long_id;
    for (const std::string& bad :
         {std::string("a\nb"),
          std::string("a\0b", 3),
          std::string("\x7f"),
          std::string("tab\there"),
          std::string("\x1b[31mred")}) {
        const auto why = provider_id_problem(bad);
        ASSERT_NE(why, std::nullopt) << bad;
        EXPECT_NE(why->find("control character"), std::string::npos) << *why;
        EXPECT_EQ(why->find(bad), std::string::npos) << "the reason never echoes the id";
    }
    for (const std::string& bad :
         {std::string("\xff"),
          std::string("a\xc3"),
          std::string("\xc0\xaf"),
          std::string("\xed\xa0\x80")}) {
        const auto why = provider_id_problem(bad);
        ASSERT_NE(why, std::nullopt);
        EXPECT_NE(why->find("UTF-8"), std::string::npos) << *why;
    }
}

TEST(ProviderIdCheck, EncodesEverythingButUnreserved) {
    EXPECT_EQ(encode_path_segment(climbing), climbing_encoded);
    EXPECT_EQ(encode_path_segment("a b%2F#"), "a%20b%252F%23");
    EXPECT_EQ(encode_path_segment("AZaz09-._~"), "AZaz09-._~");
}

TEST(ProviderIdCheck, ClimbingIdIsOneSegmentInEveryAdapter) {
    EXPECT_EQ(atlas::poll_path(climbing), "/api/v1/model/prediction/" + climbing_encoded);
    EXPECT_EQ(
        wavespeed::poll_path(climbing), "/api/v3/predictions/" + climbing_encoded + "/result"
    );
    EXPECT_EQ(
        aimlapi::poll_path(climbing), "/v2/video/generations?generation_id=" + climbing_encoded
    );
    EXPECT_EQ(
        minimax::query_path(climbing), "/v1/query/video_generation?task_id=" + climbing_encoded
    );
    EXPECT_EQ(minimax::retrieve_path(climbing), "/v1/files/retrieve?file_id=" + climbing_encoded);
    EXPECT_EQ(atlas::poll_path("pred 1"), "/api/v1/model/prediction/pred%201");
}

TEST(ProviderAnswerText, ShortTextIsKeptAndControlsEscaped) {
    EXPECT_EQ(bounded_text("model not found"), "model not found");
    EXPECT_EQ(bounded_text("line\nfeed\ttab\r"), "line\\nfeed\\ttab\\r");
    EXPECT_EQ(bounded_text(std::string("nul\0bell\x07 del\x7f", 14)), "nul\\x00bell\\x07 del\\x7f");
    EXPECT_EQ(bounded_text("\x1b[2J"), "\\x1b[2J") << "no terminal escapes reach a log";
    EXPECT_EQ(bounded_text("bad \xff utf8 \xc3"), "bad \\xff utf8 \\xc3");
    EXPECT_EQ(bounded_text("C1 \xc2\x85 next line"), "C1 \\u0085 next line");
    EXPECT_EQ(bounded_text("caf\xc3\xa9 \xe6\x97\xa5"), "caf\xc3\xa9 \xe6\x97\xa5") << "UTF-8 kept";
}

TEST(ProviderAnswerText, OneMebibyteIsCutToFourKibibytes) {
    std::string huge(1u << 20, 'x');
    huge[100] = '\n';
    const std::string out = bounded_text(huge);
    EXPECT_LE(out.size(), max_message_bytes);
    EXPECT_GT(out.size(), max_message_bytes - 64);
    EXPECT_TRUE(out.ends_with("… (truncated, 1048576 bytes)")) << out.substr(out.size() - 40);
    EXPECT_EQ(out.find('\n'), std::string::npos);
    EXPECT_NE(out.find("\\n"), std::string::npos);
    EXPECT_EQ(bounded_text(out), out) << "bounding twice changes nothing";

    // Never cut inside a character: 3-byte characters up to the budget.
    std::string wide;
    for (int i = 0; i < 3000; ++i) {
        wide += "\xe6\x97\xa5";
    }
    const std::string cut = bounded_text(wide);
    EXPECT_LE(cut.size(), max_message_bytes);
    const std::string body = cut.substr(0, cut.find("…"));
    EXPECT_EQ(body.size() % 3, 0u);
    EXPECT_EQ(bounded_text("0123456789abcdef", 8), "01234567") << "no room for the marker";
}

TEST(ProviderAnswerText, UrlShapeOnly) {
    EXPECT_EQ(answer_url_problem("https://cdn.example/x.mp4?Signature=a%2Fb"), std::nullopt);
    EXPECT_EQ(answer_url_problem("ftp://any.thing/x"), std::nullopt) << "policy is the pipeline's";
    EXPECT_NE(answer_url_problem(""), std::nullopt);
    EXPECT_NE(answer_url_problem("https://x/a b"), std::nullopt);
    EXPECT_NE(answer_url_problem("https://x/\r\nHost: evil"), std::nullopt);
    EXPECT_NE(answer_url_problem("https://x/\xff"), std::nullopt);
    EXPECT_NE(answer_url_problem("https://x/" + std::string(8192, 'a')), std::nullopt);
}

TEST(ProviderAnswerChecks, UnusableSubmitIdIsABadAnswer) {
    submit_result ok;
    ok.cls = outcome_class::ok;
    ok.provider_job_id = "pred\n\x1b[31m";
    const auto r = checked_submit("atlas", "", ok);
    EXPECT_EQ(r.cls, outcome_class::bad_answer);
    EXPECT_TRUE(r.provider_job_id.empty());
    EXPECT_TRUE(r.message.starts_with("atlas returned an unusable job id: ")) << r.message;
    EXPECT_EQ(r.message.find('\n'), std::string::npos);
    EXPECT_EQ(r.message.find('\x1b'), std::string::npos);
    EXPECT_NE(r.message.find("pred\\n\\x1b[31m"), std::string::npos) << "escaped form only";

    submit_result long_id;
    long_id.cls = outcome_class::ok;
    long_id.provider_job_id = std::string(100000, 'a');
    const auto l = checked_submit("wavespeed", "", long_id);
    EXPECT_EQ(l.cls, outcome_class::bad_answer);
    EXPECT_LT(l.message.size(), 200u) << "the id is shown truncated";

    submit_result fine;
    fine.cls = outcome_class::ok;
    fine.provider_job_id = "1:minimax/hailuo-2.3";
    EXPECT_EQ(checked_submit("aimlapi", "", fine).cls, outcome_class::ok);
}

TEST(ProviderAnswerChecks, SucceededWithoutUsableUrlIsHeldNotFetched) {
    poll_result done;
    done.cls = outcome_class::ok;
    done.state = remote_state::succeeded;
    done.status = "completed";
    done.video_url = "https://cdn/x.mp4\r\nX-Evil: 1";
    const auto r = checked_poll("atlas", "", done);
    EXPECT_EQ(r.cls, outcome_class::bad_answer);
    EXPECT_EQ(r.state, remote_state::pending) << "not a remote failure: held, not retried";
    EXPECT_TRUE(r.video_url.empty());
    EXPECT_NE(r.message.find("unusable video URL"), std::string::npos) << r.message;

    done.video_url = "https://cdn/" + std::string(9000, 'v');
    EXPECT_EQ(checked_poll("atlas", "", done).cls, outcome_class::bad_answer);
    done.video_url = "https://cdn/x.mp4";
    EXPECT_EQ(checked_poll("atlas", "", done).cls, outcome_class::ok);
}

TEST(ProviderAnswerChecks, KeyIsNeverEchoed) {
    submit_result r;
    r.cls = outcome_class::account_problem;
    r.message = "HTTP 401: invalid api key sk-SECRETCANARY-42 (did you mean sk-SECRETCANARY-42?)";
    const auto out = checked_submit("minimax", "sk-SECRETCANARY-42", r);
    EXPECT_EQ(out.message.find("SECRETCANARY"), std::string::npos) << out.message;
    EXPECT_NE(out.message.find("[api key]"), std::string::npos);
}

// A status word as each provider would carry it (JSON-escaped by the caller).
poll_result poll_with_status(std::string_view provider, const std::string& json_word) {
    if (provider == "atlas") {
        return atlas::parse_poll(
            200, R"({"code":200,"data":{"id":"p","status":")" + json_word + "\"}}"
        );
    }
    if (provider == "wavespeed") {
        return wavespeed::parse_poll(
            200,
            R"({"code":200,"message":"success","data":{"id":"p","status":")" + json_word + "\"}}"
        );
    }
    if (provider == "aimlapi") {
        return aimlapi::parse_poll(200, R"({"id":"g","status":")" + json_word + "\"}");
    }
    return minimax::parse_query(
               200,
               R"({"task_id":"t","status":")" + json_word +
                   R"(","base_resp":{"status_code":0,"status_msg":"success"}})"
    )
        .poll;
}

TEST(ProviderWireStatus, UndocumentedWordsAreBadAnswersInEveryAdapter) {
    for (const char* provider : {"atlas", "wavespeed", "aimlapi", "minimax"}) {
        for (const std::string word : {"exploded", "Running", "\\u001b[2Jgone\\n"}) {
            const auto r = poll_with_status(provider, word);
            EXPECT_EQ(r.cls, outcome_class::bad_answer) << provider << " " << word;
            EXPECT_EQ(r.state, remote_state::pending) << "held, not a remote failure";
            EXPECT_TRUE(r.message.starts_with(std::string(provider) + " answered status '"))
                << r.message;
            EXPECT_NE(r.message.find("which it does not document"), std::string::npos);
            EXPECT_EQ(r.message.find('\x1b'), std::string::npos) << r.message;
            EXPECT_EQ(r.message.find('\n'), std::string::npos) << r.message;
        }
        const auto longword = poll_with_status(provider, std::string(5000, 'z'));
        EXPECT_EQ(longword.cls, outcome_class::bad_answer);
        EXPECT_LT(longword.message.size(), 200u) << "the word is cut to 64 bytes";
        const auto none = poll_with_status(provider, "");
        EXPECT_EQ(none.cls, outcome_class::bad_answer) << provider << ": no status word";
    }
    // The documented in-progress words stay pending.
    for (const auto& [provider, word] : std::initializer_list<std::pair<const char*, const char*>>{
             {"atlas", "created"},
             {"atlas", "processing"},
             {"wavespeed", "created"},
             {"wavespeed", "processing"},
             {"wavespeed", "pending"},
             {"aimlapi", "queued"},
             {"aimlapi", "generating"},
             {"aimlapi", "waiting"},
             {"aimlapi", "active"},
             {"minimax", "Preparing"},
             {"minimax", "Queueing"},
             {"minimax", "Processing"}}) {
        const auto r = poll_with_status(provider, word);
        EXPECT_EQ(r.cls, outcome_class::ok) << provider << " " << word;
        EXPECT_EQ(r.state, remote_state::pending) << provider << " " << word;
    }
}

TEST(ProviderWireStatus, FinishedWithoutAStringUrlIsABadAnswer) {
    EXPECT_EQ(
        atlas::parse_poll(200, R"({"data":{"status":"succeeded","outputs":[42]}})").cls,
        outcome_class::bad_answer
    );
    EXPECT_EQ(
        wavespeed::parse_poll(200, R"({"data":{"status":"completed","outputs":[{"u":1}]}})").cls,
        outcome_class::bad_answer
    );
    EXPECT_EQ(
        aimlapi::parse_poll(200, R"({"status":"completed","video":{"url":null}})").cls,
        outcome_class::bad_answer
    );
    const auto mm = minimax::parse_query(
        200, R"({"status":"Success","file_id":"../f\n","base_resp":{"status_code":0}})"
    );
    EXPECT_EQ(mm.poll.cls, outcome_class::bad_answer);
    EXPECT_NE(mm.poll.state, remote_state::succeeded) << "nothing is retrieved";
    EXPECT_TRUE(mm.file_id.empty());
}

TEST(UtcTimestamp, OnlyWellFormedUtcTimesAreRead) {
    struct row {
        const char* text;
        std::optional<double> unix_s;
    };
    const row rows[] = {
        {"1970-01-01T00:00:00Z", std::nullopt},  // before 2000: not a generation's time
        {"2026-12-04T22:00:00Z", 1796421600.0},
        {"2026-12-04T22:00:00.5Z", 1796421600.5},
        {"2026-12-04T22:00:00.123456789+00:00", 1796421600.123456789},
        {"2026-02-29T00:00:00Z", std::nullopt},  // not a leap year
        {"2028-02-29T00:00:00Z", 1835395200.0},
        {"2026-12-04T24:00:00Z", std::nullopt},
        {"2026-12-04T22:00:00+01:00", std::nullopt},  // only UTC
        {"2026-12-04T22:00:00", std::nullopt},
        {"2026-12-04T22:00:00.Z", std::nullopt},
        {"", std::nullopt},
        {"2026-12-04T22:00:00Z\n", std::nullopt},
    };
    for (const auto& r : rows) {
        const auto got = parse_utc_timestamp(r.text);
        ASSERT_EQ(got.has_value(), r.unix_s.has_value()) << r.text;
        if (got) {
            EXPECT_NEAR(*got, *r.unix_s, 1e-6) << r.text;
        }
    }
}

}  // namespace
}  // namespace shotfarm::providers
