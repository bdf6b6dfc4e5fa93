// MiniMax's own API (https://platform.minimax.io/docs/api-reference/video-generation-i2v):
// errors inside HTTP 200, two-step download.
#include "providers/minimax/minimax_wire.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace shotfarm::providers::minimax {
namespace {

namespace json = boost::json;

std::string with_code(long long code, const std::string& msg) {
    return R"({"task_id":"","base_resp":{"status_code":)" + std::to_string(code) +
           R"(,"status_msg":")" + msg + R"("}})";
}

TEST(MinimaxWire, SubmitBodyAndPaths) {
    EXPECT_EQ(submit_path, "/v1/video_generation");
    EXPECT_EQ(query_path("106916112212032"), "/v1/query/video_generation?task_id=106916112212032");
    EXPECT_EQ(retrieve_path("176844028768320"), "/v1/files/retrieve?file_id=176844028768320");
    EXPECT_EQ(query_path("a b/c"), "/v1/query/video_generation?task_id=a%20b%2Fc");

    submit_request r;
    r.provider_model = "MiniMax-Hailuo-02";
    r.prompt = "[Push in] a lighthouse";
    r.image_url = "data:image/webp;base64,UklGR";
    r.duration = 10;
    r.extra_params["resolution"] = "768P";
    r.extra_params["prompt_optimizer"] = true;
    auto body = json::parse(submit_body(r)).as_object();
    EXPECT_EQ(body.at("model").as_string(), "MiniMax-Hailuo-02");
    EXPECT_EQ(body.at("prompt").as_string(), "[Push in] a lighthouse");
    EXPECT_EQ(body.at("first_frame_image").as_string(), "data:image/webp;base64,UklGR");
    EXPECT_EQ(body.at("duration").as_int64(), 10);
    EXPECT_EQ(body.at("resolution").as_string(), "768P");
    EXPECT_EQ(body.at("prompt_optimizer").as_bool(), true);
    EXPECT_EQ(body.size(), 6u);

    r.image_url.reset();
    r.send_duration = false;
    body = json::parse(submit_body(r)).as_object();
    EXPECT_FALSE(body.contains("first_frame_image"));
    EXPECT_FALSE(body.contains("duration"));
}

TEST(MinimaxWire, AcceptedSubmitReadsTaskId) {
    auto r = parse_submit(
        200, R"({"task_id":"106916112212032","base_resp":{"status_code":0,"status_msg":"success"}})"
    );
    EXPECT_EQ(r.cls, outcome_class::ok);
    EXPECT_EQ(r.provider_job_id, "106916112212032");
    EXPECT_EQ(parse_submit(200, R"({"task_id":"7"})").provider_job_id, "7") << "no base_resp";
}

TEST(MinimaxWire, A200WithoutAnIdOrErrorIsAmbiguous) {
    EXPECT_EQ(
        parse_submit(200, R"({"base_resp":{"status_code":0,"status_msg":"success"}})").cls,
        outcome_class::ambiguous
    );
    EXPECT_EQ(parse_submit(200, "garbage").cls, outcome_class::ambiguous);
}

TEST(MinimaxWire, BaseRespCodesInsideA200) {
    struct expectation {
        long long code;
        outcome_class cls;
    };
    const expectation table[] = {
        {1000, outcome_class::retryable},
        {1001, outcome_class::retryable},
        {1002, outcome_class::retryable},
        {1024, outcome_class::retryable},
        {1033, outcome_class::retryable},
        {2013, outcome_class::rejected_input},
        {1026, outcome_class::rejected_input},
        {1027, outcome_class::rejected_input},
        {1004, outcome_class::account_problem},
        {2049, outcome_class::account_problem},
        {1008, outcome_class::account_problem},
    };
    for (const auto& e : table) {
        EXPECT_EQ(classify_base_resp(e.code), e.cls) << e.code;
        auto r = parse_submit(200, with_code(e.code, "words for " + std::to_string(e.code)));
        EXPECT_EQ(r.cls, e.cls) << e.code;
        EXPECT_TRUE(r.provider_job_id.empty());
        EXPECT_NE(r.message.find("words for " + std::to_string(e.code)), std::string::npos)
            << r.message;
        EXPECT_NE(r.message.find(std::to_string(e.code)), std::string::npos);
        EXPECT_EQ(r.rate_limited, e.code == 1002) << e.code;
    }
    EXPECT_EQ(classify_base_resp(0), outcome_class::ok);
}

TEST(MinimaxWire, HttpErrorsToo) {
    EXPECT_EQ(parse_submit(401, "{}").cls, outcome_class::account_problem);
    EXPECT_EQ(parse_submit(403, "{}").cls, outcome_class::account_problem);
    EXPECT_EQ(parse_submit(429, "{}").cls, outcome_class::retryable);
    EXPECT_EQ(parse_submit(400, R"({"message":"bad json"})").cls, outcome_class::rejected_input);
    EXPECT_EQ(parse_submit(502, "").cls, outcome_class::ambiguous);
}

TEST(MinimaxWire, QueryStatuses) {
    for (const char* s : {"Preparing", "Queueing", "Processing"}) {
        auto q = parse_query(
            200,
            std::string(R"({"task_id":"t","status":")") + s +
                R"(","base_resp":{"status_code":0,"status_msg":"success"}})"
        );
        EXPECT_EQ(q.poll.cls, outcome_class::ok) << s;
        EXPECT_EQ(q.poll.state, remote_state::pending) << s;
        EXPECT_EQ(q.poll.status, s);
    }
    auto ok = parse_query(
        200,
        R"({"task_id":"176843862716480","status":"Success","file_id":"176844028768320",
        "video_width":1920,"video_height":1080,"base_resp":{"status_code":0,"status_msg":"success"}})"
    );
    EXPECT_EQ(ok.poll.cls, outcome_class::ok);
    EXPECT_EQ(ok.poll.state, remote_state::succeeded);
    EXPECT_EQ(ok.file_id, "176844028768320");
    EXPECT_TRUE(ok.poll.video_url.empty()) << "the URL comes from files/retrieve";

    auto no_file = parse_query(200, R"({"status":"Success","base_resp":{"status_code":0}})");
    EXPECT_EQ(no_file.poll.cls, outcome_class::bad_answer);
    EXPECT_NE(no_file.poll.state, remote_state::succeeded) << "nothing to retrieve";
}

TEST(MinimaxWire, FailAndFailedAreBothTerminal) {
    for (const char* s : {"Fail", "Failed", "failed"}) {
        auto q = parse_query(
            200,
            std::string(R"({"task_id":"t","status":")") + s +
                R"(","base_resp":{"status_code":1000,"status_msg":"generation crashed"}})"
        );
        EXPECT_EQ(q.poll.state, remote_state::failed) << s;
        EXPECT_EQ(q.poll.cls, outcome_class::retryable) << s;
        EXPECT_NE(q.poll.message.find("generation crashed"), std::string::npos);
    }
    for (long long code : {1026LL, 1027LL}) {
        auto q = parse_query(
            200,
            R"({"task_id":"t","status":"Fail","base_resp":{"status_code":)" + std::to_string(code) +
                R"(,"status_msg":"input new_sensitive"}})"
        );
        EXPECT_EQ(q.poll.state, remote_state::failed);
        EXPECT_EQ(q.poll.cls, outcome_class::rejected_input) << "moderation " << code;
    }
}

TEST(MinimaxWire, QueryBaseRespIsCheckedEveryTime) {
    // An empty status with an error must not look like "still processing" (the error is in
    // base_resp: https://platform.minimax.io/docs/api-reference/errorcode.md).
    auto auth = parse_query(200, with_code(1004, "token not match group"));
    EXPECT_EQ(auth.poll.cls, outcome_class::account_problem);
    EXPECT_NE(auth.poll.state, remote_state::succeeded);
    auto limited = parse_query(200, with_code(1002, "rate limit"));
    EXPECT_EQ(limited.poll.cls, outcome_class::retryable);
    auto unknown = parse_query(200, with_code(2013, "task not exist"));
    EXPECT_EQ(unknown.poll.state, remote_state::not_found) << "the pipeline's grace, then held";
    EXPECT_EQ(parse_query(404, "").poll.state, remote_state::not_found);
    EXPECT_EQ(parse_query(503, "").poll.cls, outcome_class::retryable);
    EXPECT_EQ(parse_query(200, "<html>").poll.cls, outcome_class::retryable);
}

TEST(MinimaxWire, RetrieveGivesTheDownloadUrl) {
    auto got = parse_retrieve(
        200,
        R"({"file":{"file_id":176844028768320,"bytes":0,"created_at":1700469398,
        "filename":"output_aigc.mp4","purpose":"video_generation",
        "download_url":"https://video-product.cdn.minimax.io/inference_output/video/x/output.mp4"},
        "base_resp":{"status_code":0,"status_msg":"success"}})"
    );
    ASSERT_EQ(got.cls, outcome_class::ok) << got.message;
    EXPECT_EQ(got.url, "https://video-product.cdn.minimax.io/inference_output/video/x/output.mp4");

    EXPECT_EQ(
        parse_retrieve(200, R"({"file":{},"base_resp":{"status_code":0}})").cls,
        outcome_class::bad_answer
    );
    EXPECT_EQ(
        parse_retrieve(200, R"({"file":{"download_url":"https://x/y.mp4"<html>)").cls,
        outcome_class::retryable
    ) << "a broken body is read again, not held";
    EXPECT_EQ(parse_retrieve(200, with_code(1004, "no")).cls, outcome_class::account_problem);
    EXPECT_EQ(parse_retrieve(200, with_code(2013, "bad file id")).cls, outcome_class::retryable);
    EXPECT_EQ(parse_retrieve(500, "").cls, outcome_class::retryable);
}

TEST(MinimaxWire, FinishPollCombinesQueryAndRetrieve) {
    auto q = parse_query(
        200, R"({"task_id":"t","status":"Success","file_id":"f1","base_resp":{"status_code":0}})"
    );
    upload_result fetched;
    fetched.cls = outcome_class::ok;
    fetched.url = "https://cdn.example/v.mp4";
    auto done = finish_poll(q, fetched);
    EXPECT_EQ(done.state, remote_state::succeeded);
    EXPECT_EQ(done.cls, outcome_class::ok);
    EXPECT_EQ(done.video_url, "https://cdn.example/v.mp4");

    upload_result failed;
    failed.cls = outcome_class::retryable;
    failed.message = "HTTP 502";
    auto again = finish_poll(q, failed);
    EXPECT_EQ(again.state, remote_state::pending) << "poll again, which retrieves again";
    EXPECT_EQ(again.cls, outcome_class::retryable);
    EXPECT_TRUE(again.video_url.empty());
    EXPECT_NE(again.message.find("f1"), std::string::npos);
}

}  // namespace
}  // namespace shotfarm::providers::minimax
