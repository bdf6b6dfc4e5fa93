// The WaveSpeedAI wire format (https://www.wavespeed.ai/docs/submit-task) mapped onto the one error
// taxonomy.
#include "providers/wavespeed/wavespeed_wire.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace shotfarm::providers::wavespeed {
namespace {

namespace json = boost::json;

TEST(WavespeedWire, ModelIsThePathAndTheBodyIsFlat) {
    EXPECT_EQ(submit_path("minimax/hailuo-02/fast"), "/api/v3/minimax/hailuo-02/fast");
    EXPECT_EQ(poll_path("pred_abc123"), "/api/v3/predictions/pred_abc123/result");

    submit_request r;
    r.provider_model = "minimax/hailuo-02/fast";
    r.prompt = "a \"quoted\" prompt";
    r.image_url = "data:image/png;base64,AAAA";
    r.duration = 10;
    r.extra_params["go_fast"] = true;
    r.extra_params["enable_prompt_expansion"] = false;
    auto body = json::parse(submit_body(r)).as_object();
    EXPECT_EQ(body.at("prompt").as_string(), "a \"quoted\" prompt");
    EXPECT_EQ(body.at("image").as_string(), "data:image/png;base64,AAAA");
    EXPECT_EQ(body.at("duration").as_int64(), 10);
    EXPECT_EQ(body.at("go_fast").as_bool(), true);
    EXPECT_EQ(body.at("enable_prompt_expansion").as_bool(), false);
    EXPECT_FALSE(body.contains("model")) << "the model is in the path";
    EXPECT_EQ(body.size(), 5u);

    r.image_url.reset();
    r.send_duration = false;  // pro tiers: fixed length
    r.prompt.clear();
    r.extra_params.clear();
    body = json::parse(submit_body(r)).as_object();
    EXPECT_TRUE(body.empty()) << json::serialize(body);
}

TEST(WavespeedWire, AcceptedSubmitReadsDataId) {
    auto r = parse_submit(
        200,
        R"({"code":200,"message":"success","data":{"id":"pred_abc123","model":"m",
        "status":"created","urls":{"get":"https://api.wavespeed.ai/api/v3/predictions/pred_abc123"}}})"
    );
    EXPECT_EQ(r.cls, outcome_class::ok);
    EXPECT_EQ(r.provider_job_id, "pred_abc123");
    EXPECT_EQ(r.http_status, 200u);
}

TEST(WavespeedWire, A2xxWithoutAnIdIsAmbiguous) {
    EXPECT_EQ(parse_submit(200, R"({"code":200,"data":{}})").cls, outcome_class::ambiguous);
    EXPECT_EQ(parse_submit(200, R"({"id":"top-level"})").cls, outcome_class::ambiguous);
    EXPECT_EQ(parse_submit(201, "not json").cls, outcome_class::ambiguous);
}

TEST(WavespeedWire, HttpErrorsMapOntoTheTaxonomy) {
    auto bad = parse_submit(400, R"({"code":400,"message":"duration must be one of 6, 10"})");
    EXPECT_EQ(bad.cls, outcome_class::rejected_input);
    EXPECT_NE(bad.message.find("duration must be one of 6, 10"), std::string::npos);
    EXPECT_EQ(parse_submit(422, "{}").cls, outcome_class::rejected_input);
    EXPECT_EQ(parse_submit(404, "{}").cls, outcome_class::rejected_input) << "unknown model";
    EXPECT_EQ(
        parse_submit(401, R"({"message":"Unauthorized"})").cls, outcome_class::account_problem
    );
    EXPECT_EQ(parse_submit(402, "{}").cls, outcome_class::account_problem);
    EXPECT_EQ(parse_submit(403, "{}").cls, outcome_class::account_problem);
    EXPECT_EQ(parse_submit(429, "Too Many Requests").cls, outcome_class::retryable);
    EXPECT_EQ(parse_submit(500, "{}").cls, outcome_class::ambiguous);
    EXPECT_EQ(parse_submit(503, "").cls, outcome_class::ambiguous);
}

TEST(WavespeedWire, AnErrorCodeInsideA200Counts) {
    auto r = parse_submit(200, R"({"code":401,"message":"Invalid API key","data":null})");
    EXPECT_EQ(r.cls, outcome_class::account_problem);
    EXPECT_NE(r.message.find("Invalid API key"), std::string::npos);
    EXPECT_EQ(
        parse_submit(200, R"({"code":400,"message":"bad image"})").cls,
        outcome_class::rejected_input
    );
}

TEST(WavespeedWire, PollStatuses) {
    for (const char* s : {"created", "processing", "pending"}) {
        auto r = parse_poll(
            200, std::string(R"({"code":200,"data":{"id":"p","status":")") + s + R"("}})"
        );
        EXPECT_EQ(r.cls, outcome_class::ok) << s;
        EXPECT_EQ(r.state, remote_state::pending) << s;
        EXPECT_EQ(r.status, s);
    }
    auto done = parse_poll(
        200,
        R"({"code":200,"message":"success","data":{"id":"p","status":"completed",
        "outputs":["https://cdn.wavespeed.ai/out.mp4"],"has_nsfw_contents":[false],"error":""}})"
    );
    EXPECT_EQ(done.cls, outcome_class::ok);
    EXPECT_EQ(done.state, remote_state::succeeded);
    EXPECT_EQ(done.video_url, "https://cdn.wavespeed.ai/out.mp4");

    auto empty = parse_poll(200, R"({"code":200,"data":{"status":"completed","outputs":[]}})");
    EXPECT_EQ(empty.cls, outcome_class::bad_answer) << "completed without a URL: held";
    EXPECT_NE(empty.state, remote_state::succeeded);
}

TEST(WavespeedWire, FailuresInsideA200) {
    auto failed = parse_poll(
        200, R"({"code":200,"data":{"status":"failed","error":"GPU out of memory","outputs":[]}})"
    );
    EXPECT_EQ(failed.state, remote_state::failed);
    EXPECT_EQ(failed.cls, outcome_class::retryable);
    EXPECT_NE(failed.message.find("GPU out of memory"), std::string::npos);

    auto nsfw = parse_poll(
        200,
        R"({"code":200,"data":{"status":"failed","error":"content flagged",
        "has_nsfw_contents":[true]}})"
    );
    EXPECT_EQ(nsfw.state, remote_state::failed);
    EXPECT_EQ(nsfw.cls, outcome_class::rejected_input) << "moderation is never retried";
    EXPECT_NE(nsfw.message.find("content flagged"), std::string::npos);

    for (const char* s : {"cancelled", "timeout"}) {
        auto r = parse_poll(200, std::string(R"({"code":200,"data":{"status":")") + s + R"("}})");
        EXPECT_EQ(r.state, remote_state::failed) << s;
        EXPECT_EQ(r.cls, outcome_class::retryable) << s;
        EXPECT_NE(r.message.find(s), std::string::npos);
    }
}

TEST(WavespeedWire, PollHttpErrors) {
    EXPECT_EQ(
        parse_poll(404, R"({"code":404,"message":"not found"})").state, remote_state::not_found
    );
    EXPECT_EQ(parse_poll(500, "{}").cls, outcome_class::retryable) << "a GET is never ambiguous";
    EXPECT_EQ(parse_poll(429, "{}").cls, outcome_class::retryable);
    EXPECT_EQ(parse_poll(401, "{}").cls, outcome_class::account_problem);
    EXPECT_EQ(parse_poll(200, "<html>").cls, outcome_class::retryable);
}

}  // namespace
}  // namespace shotfarm::providers::wavespeed
