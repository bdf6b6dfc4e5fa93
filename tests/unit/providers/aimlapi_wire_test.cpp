// The AI/ML API wire format (aimlapi/api-docs) mapped onto the one error taxonomy.
#include "providers/aimlapi/aimlapi_wire.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "providers/provider_id.hpp"

namespace shotfarm::providers::aimlapi {
namespace {

namespace json = boost::json;

TEST(AimlapiWire, SubmitBodyUsesTheCurrentFieldNames) {
    EXPECT_EQ(submit_path, "/v2/video/generations");
    submit_request r;
    r.provider_model = "minimax/hailuo-2.3";
    r.prompt = "a cat";
    r.image_url = "data:image/jpeg;base64,/9j/";
    r.duration = 6;
    r.extra_params["resolution"] = "1080P";
    r.extra_params["enhance_prompt"] = false;
    auto body = json::parse(submit_body(r)).as_object();
    EXPECT_EQ(body.at("model").as_string(), "minimax/hailuo-2.3");
    EXPECT_EQ(body.at("prompt").as_string(), "a cat");
    EXPECT_EQ(body.at("image_url").as_string(), "data:image/jpeg;base64,/9j/");
    EXPECT_EQ(body.at("duration").as_int64(), 6) << "an integer, not the docs' \"5\" string";
    EXPECT_EQ(body.at("resolution").as_string(), "1080P");
    EXPECT_EQ(body.at("enhance_prompt").as_bool(), false);
    EXPECT_EQ(body.size(), 6u);
    EXPECT_FALSE(body.contains("first_frame_image")) << "legacy name";
    EXPECT_FALSE(body.contains("prompt_optimizer")) << "legacy name";

    r.image_url.reset();
    r.send_duration = false;
    r.extra_params.clear();
    body = json::parse(submit_body(r)).as_object();
    EXPECT_EQ(body.size(), 2u);
    EXPECT_FALSE(body.contains("image_url"));
    EXPECT_FALSE(body.contains("duration"));
}

TEST(AimlapiWire, GenerationIdsArePercentEncodedInThePoll) {
    EXPECT_EQ(
        poll_path("349865017168125:minimax/hailuo-2.3"),
        "/v2/video/generations?generation_id=349865017168125%3Aminimax%2Fhailuo-2.3"
    );
    EXPECT_EQ(encode_path_segment("a b&c=d?e#f+g~h_i.j-k"), "a%20b%26c%3Dd%3Fe%23f%2Bg~h_i.j-k");
    EXPECT_EQ(encode_path_segment("\xc3\xa9"), "%C3%A9");
}

TEST(AimlapiWire, AcceptedSubmitReadsGenerationId) {
    auto r = parse_submit(
        201,
        R"({"generation_id":"349865017168125:minimax/hailuo-2.3","status":"queued",
        "meta":{"usage":{"credits_used":588000}}})"
    );
    EXPECT_EQ(r.cls, outcome_class::ok);
    EXPECT_EQ(r.provider_job_id, "349865017168125:minimax/hailuo-2.3");
}

TEST(AimlapiWire, A2xxWithoutAnIdIsAmbiguous) {
    EXPECT_EQ(parse_submit(200, R"({"status":"queued"})").cls, outcome_class::ambiguous);
    EXPECT_EQ(parse_submit(200, "").cls, outcome_class::ambiguous);
}

TEST(AimlapiWire, BareErrorObjectsMapOntoTheTaxonomy) {
    auto bad = parse_submit(
        400,
        R"({"message":"Body validation error! Expected 6 | 10, received 5","path":"/v2/video/generations",
        "requestId":"req-7","statusCode":400,"timestamp":"2026-01-01T00:00:00Z"})"
    );
    EXPECT_EQ(bad.cls, outcome_class::rejected_input);
    EXPECT_NE(bad.message.find("Expected 6 | 10, received 5"), std::string::npos);
    EXPECT_NE(bad.message.find("req-7"), std::string::npos);

    auto list = parse_submit(422, R"({"message":["prompt too long","duration invalid"]})");
    EXPECT_EQ(list.cls, outcome_class::rejected_input);
    EXPECT_NE(list.message.find("prompt too long; duration invalid"), std::string::npos);

    auto credits = parse_submit(
        403,
        R"({"message":"You've run out of credits. Please top up your balance","statusCode":403})"
    );
    EXPECT_EQ(credits.cls, outcome_class::account_problem);
    EXPECT_NE(credits.message.find("run out of credits"), std::string::npos);
    EXPECT_EQ(
        parse_submit(401, R"({"message":"This request requires a valid API key"})").cls,
        outcome_class::account_problem
    );
    EXPECT_EQ(
        parse_submit(429, R"({"message":"Too Many Requests","statusCode":429})").cls,
        outcome_class::retryable
    );
    EXPECT_EQ(
        parse_submit(500, R"({"message":"The model is under maintenance"})").cls,
        outcome_class::ambiguous
    );
    EXPECT_EQ(
        parse_submit(504, R"({"message":"Generation timeout"})").cls, outcome_class::ambiguous
    );
}

TEST(AimlapiWire, PollStatuses) {
    for (const char* s : {"queued", "waiting", "active", "generating"}) {
        auto r = parse_poll(200, std::string(R"({"id":"g","status":")") + s + R"("})");
        EXPECT_EQ(r.cls, outcome_class::ok) << s;
        EXPECT_EQ(r.state, remote_state::pending) << s;
        EXPECT_EQ(r.status, s);
    }
    auto done = parse_poll(
        200,
        R"({"id":"g","status":"completed","video":{"url":"https://cdn.aimlapi.com/generations/x.mp4?Expires=1"},
        "meta":{"usage":{"credits_used":588000}}})"
    );
    EXPECT_EQ(done.cls, outcome_class::ok);
    EXPECT_EQ(done.state, remote_state::succeeded);
    EXPECT_EQ(done.video_url, "https://cdn.aimlapi.com/generations/x.mp4?Expires=1");

    auto no_url = parse_poll(200, R"({"id":"g","status":"completed","video":{}})");
    EXPECT_EQ(no_url.cls, outcome_class::bad_answer) << "paid and done, nothing to fetch: held";
    EXPECT_NE(no_url.state, remote_state::succeeded);
}

TEST(AimlapiWire, FailedGenerations) {
    auto err = parse_poll(
        200,
        R"({"id":"g","status":"error","error":{"name":"GenerationError","message":"worker crashed"}})"
    );
    EXPECT_EQ(err.state, remote_state::failed);
    EXPECT_EQ(err.cls, outcome_class::retryable);
    EXPECT_NE(err.message.find("worker crashed"), std::string::npos);

    auto failed = parse_poll(200, R"({"id":"g","status":"failed"})");
    EXPECT_EQ(failed.state, remote_state::failed) << "undocumented, accepted";
    EXPECT_EQ(failed.cls, outcome_class::retryable);

    auto moderated = parse_poll(
        200,
        R"({"id":"g","status":"error","error":{"name":"Error","message":"Prompt rejected by content moderation"}})"
    );
    EXPECT_EQ(moderated.state, remote_state::failed);
    EXPECT_EQ(moderated.cls, outcome_class::rejected_input) << "never retried";
}

TEST(AimlapiWire, PollHttpErrors) {
    EXPECT_EQ(
        parse_poll(404, R"({"message":"Not found","statusCode":404})").state,
        remote_state::not_found
    );
    EXPECT_EQ(parse_poll(502, "").cls, outcome_class::retryable) << "a GET is never ambiguous";
    EXPECT_EQ(parse_poll(429, "{}").cls, outcome_class::retryable);
    EXPECT_EQ(parse_poll(403, "{}").cls, outcome_class::account_problem);
    EXPECT_EQ(parse_poll(200, "{").cls, outcome_class::retryable);
}

}  // namespace
}  // namespace shotfarm::providers::aimlapi
