// The Atlas Cloud wire format (errors: https://atlascloud.ai/docs/en/errors) mapped onto the one
// error taxonomy.
#include "providers/atlas/atlas_wire.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace shotfarm::providers::atlas {
namespace {

namespace json = boost::json;

TEST(AtlasWire, SubmitBodyIsFlat) {
    submit_request r;
    r.provider_model = "minimax/hailuo-02/fast";
    r.prompt = "a \"quoted\" prompt";
    r.image_url = "https://example.com/a.jpg";
    r.duration = 10;
    r.extra_params["go_fast"] = true;
    auto body = json::parse(submit_body(r)).as_object();
    EXPECT_EQ(body.at("model").as_string(), "minimax/hailuo-02/fast");
    EXPECT_EQ(body.at("prompt").as_string(), "a \"quoted\" prompt");
    EXPECT_EQ(body.at("image").as_string(), "https://example.com/a.jpg");
    EXPECT_EQ(body.at("duration").as_int64(), 10);
    EXPECT_EQ(body.at("go_fast").as_bool(), true);
    EXPECT_FALSE(body.contains("input")) << "no wrapper object";

    r.image_url.reset();
    r.send_duration = false;  // pro models take no duration
    body = json::parse(submit_body(r)).as_object();
    EXPECT_FALSE(body.contains("image"));
    EXPECT_FALSE(body.contains("duration"));
}

TEST(AtlasWire, AcceptedSubmitReadsDataId) {
    auto r =
        parse_submit(200, R"({"code":200,"data":{"id":"pred_1","status":"created","outputs":null,
        "urls":{"get":"https://api.atlascloud.ai/api/v1/model/prediction/pred_1"}}})");
    EXPECT_EQ(r.cls, outcome_class::ok);
    EXPECT_EQ(r.provider_job_id, "pred_1");
}

TEST(AtlasWire, A2xxWithoutAnIdIsAmbiguousNotRetryable) {
    // It may have created (and billed) a job: never blindly resubmitted.
    EXPECT_EQ(parse_submit(200, R"({"code":200,"data":{}})").cls, outcome_class::ambiguous);
    EXPECT_EQ(parse_submit(200, "not json").cls, outcome_class::ambiguous);
    EXPECT_EQ(parse_submit(200, R"({"id":"top-level"})").cls, outcome_class::ambiguous);
}

TEST(AtlasWire, HttpErrorsMapOntoTheTaxonomy) {
    const std::string body =
        R"({"code":400,"msg":"duration must be 6","request_id":"r-9","data":null})";
    auto bad = parse_submit(400, body);
    EXPECT_EQ(bad.cls, outcome_class::rejected_input);
    EXPECT_NE(bad.message.find("duration must be 6"), std::string::npos) << "the provider's words";
    EXPECT_NE(bad.message.find("r-9"), std::string::npos) << "request id for support";
    EXPECT_EQ(
        parse_submit(401, R"({"code":401,"msg":"unauthorized"})").cls,
        outcome_class::account_problem
    );
    EXPECT_EQ(parse_submit(402, "{}").cls, outcome_class::account_problem);
    EXPECT_EQ(parse_submit(403, "{}").cls, outcome_class::account_problem);
    auto limited = parse_submit(429, R"({"code":429,"msg":"rate limit"})");
    EXPECT_EQ(limited.cls, outcome_class::retryable);
    EXPECT_FALSE(limited.retry_after.has_value()) << "Atlas sends no Retry-After";
    EXPECT_EQ(
        parse_submit(404, R"({"code":404,"msg":"model not available"})").cls,
        outcome_class::rejected_input
    );
    EXPECT_EQ(parse_submit(413, "{}").cls, outcome_class::rejected_input);
    EXPECT_EQ(parse_submit(500, "{}").cls, outcome_class::ambiguous) << "may have been created";
    EXPECT_EQ(parse_submit(503, "").cls, outcome_class::ambiguous);
}

TEST(AtlasWire, PollStatuses) {
    EXPECT_EQ(
        parse_poll(200, R"({"code":200,"data":{"id":"p","status":"created"}})").state,
        remote_state::pending
    );
    EXPECT_EQ(
        parse_poll(200, R"({"code":200,"data":{"id":"p","status":"processing"}})").state,
        remote_state::pending
    );
    for (const char* done : {"completed", "succeeded"}) {
        auto r = parse_poll(
            200,
            std::string(R"({"code":200,"data":{"id":"p","status":")") + done +
                R"(","outputs":["https://cdn/x.mp4"]}})"
        );
        EXPECT_EQ(r.state, remote_state::succeeded) << done;
        EXPECT_EQ(r.video_url, "https://cdn/x.mp4");
    }
    auto plain = parse_poll(200, R"({"data":{"status":"completed","output":"https://cdn/y.mp4"}})");
    EXPECT_EQ(plain.video_url, "https://cdn/y.mp4") << "some models answer a plain string";
    auto no_url = parse_poll(200, R"({"data":{"status":"completed","outputs":[]}})");
    EXPECT_NE(no_url.state, remote_state::succeeded);
}

TEST(AtlasWire, CompletedAnswersReportTheGenerationTimeOnTheProvidersClock) {
    auto done = [](std::string created, std::string completed) {
        return parse_poll(
            200,
            R"({"data":{"id":"p1","status":"completed","outputs":["https://cdn.example/v.mp4"],)"
            R"("created_at":")" +
                created + R"(","completed_at":")" + completed + R"("}})"
        );
    };
    auto r = done("2026-12-04T22:00:00.250Z", "2026-12-04T22:01:30.750Z");
    ASSERT_EQ(r.state, remote_state::succeeded);
    ASSERT_TRUE(r.generation_s.has_value());
    EXPECT_NEAR(*r.generation_s, 90.5, 1e-6);
    // Untrusted: a completion before creation, a day or more, or no timestamp at all is not a
    // generation time (the poll's interval stands).
    EXPECT_FALSE(done("2026-12-04T22:01:00Z", "2026-12-04T22:00:00Z").generation_s);
    EXPECT_FALSE(done("2026-12-04T22:00:00Z", "2026-12-06T22:00:00Z").generation_s);
    EXPECT_FALSE(done("yesterday", "2026-12-04T22:00:00Z").generation_s);
    EXPECT_FALSE(parse_poll(
                     200,
                     R"({"data":{"id":"p1","status":"processing","created_at":)"
                     R"("2026-12-04T22:00:00Z"}})"
    )
                     .generation_s);
}

TEST(AtlasWire, TopLevelStatusIsNotTheJobStatus) {
    // A client reading the top-level field instead of data.status spins forever ("Always
    // check data.status", https://www.atlascloud.ai/docs/errors.md).
    auto r = parse_poll(200, R"({"status":"completed","data":{"status":"failed","error":"boom"}})");
    EXPECT_EQ(r.state, remote_state::failed);
}

TEST(AtlasWire, FailedJobsArriveWithHttp200) {
    auto moderated = parse_poll(200, R"({"code":200,"data":{"id":"p","status":"failed",
        "error":"input rejected by content moderation","error_code":1039}})");
    EXPECT_EQ(moderated.state, remote_state::failed);
    EXPECT_EQ(moderated.cls, outcome_class::rejected_input) << "moderation is never retried";
    EXPECT_NE(moderated.message.find("content moderation"), std::string::npos);
    EXPECT_NE(moderated.message.find("1039"), std::string::npos);

    auto nsfw =
        parse_poll(200, R"({"data":{"status":"failed","error":"x","has_nsfw_contents":[true]}})");
    EXPECT_EQ(nsfw.cls, outcome_class::rejected_input);

    auto other = parse_poll(200, R"({"data":{"status":"failed","error":"GPU fell over"}})");
    EXPECT_EQ(other.state, remote_state::failed);
    EXPECT_EQ(other.cls, outcome_class::retryable);
    for (const char* s : {"timeout", "cancelled"}) {
        EXPECT_EQ(
            parse_poll(200, std::string(R"({"data":{"status":")") + s + "\"}}").state,
            remote_state::failed
        ) << s;
    }
}

TEST(AtlasWire, PollErrors) {
    // Right after a submit the prediction may be unknown for a moment.
    EXPECT_EQ(parse_poll(404, R"({"code":404,"msg":"not found"})").state, remote_state::not_found);
    EXPECT_EQ(parse_poll(400, "{}").state, remote_state::not_found);
    EXPECT_EQ(parse_poll(401, "{}").cls, outcome_class::account_problem);
    EXPECT_EQ(parse_poll(429, "{}").cls, outcome_class::retryable);
    EXPECT_EQ(parse_poll(502, "{}").cls, outcome_class::retryable) << "reads are free to repeat";
    EXPECT_EQ(parse_poll(200, "garbage").cls, outcome_class::retryable);
}

TEST(AtlasWire, UploadReadsDownloadUrl) {
    auto up = parse_upload(200, R"({"code":200,"message":"success","data":{"type":"image",
        "download_url":"https://atlas-img.example/media/a.png","filename":"a.png","size":10}})");
    EXPECT_EQ(up.cls, outcome_class::ok);
    EXPECT_EQ(up.url, "https://atlas-img.example/media/a.png");
    EXPECT_EQ(parse_upload(200, R"({"url":"https://x/y.png"})").url, "https://x/y.png");
    EXPECT_EQ(parse_upload(200, R"({"code":200,"data":{}})").cls, outcome_class::retryable);
    EXPECT_EQ(
        parse_upload(400, R"({"code":400,"message":"not an image"})").cls,
        outcome_class::rejected_input
    );
    EXPECT_EQ(parse_upload(500, "{}").cls, outcome_class::retryable) << "uploads cost nothing";
}

}  // namespace
}  // namespace shotfarm::providers::atlas
