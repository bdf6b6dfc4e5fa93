// with_retry_after: which submit outcomes are rate limits, and what Retry-After is honoured.
#include "providers/api_request.hpp"

#include <gtest/gtest.h>

namespace shotfarm::providers {
namespace {

submit_result refused(unsigned status, outcome_class cls) {
    submit_result r;
    r.cls = cls;
    r.http_status = status;
    return r;
}

net::http_response with_header(std::string value) {
    net::http_response resp;
    resp.status = 429;
    resp.headers.emplace_back("retry-after", std::move(value));
    return resp;
}

TEST(ApiRequest, A429IsARateLimitAndItsRetryAfterSecondsAreKept) {
    auto r = with_retry_after(refused(429, outcome_class::retryable), with_header("17"));
    EXPECT_TRUE(r.rate_limited);
    ASSERT_TRUE(r.retry_after);
    EXPECT_EQ(r.retry_after->count(), 17);
}

TEST(ApiRequest, A429WithoutRetryAfterIsStillARateLimit) {
    auto r = with_retry_after(refused(429, outcome_class::retryable), net::http_response{});
    EXPECT_TRUE(r.rate_limited);
    EXPECT_FALSE(r.retry_after);
}

TEST(ApiRequest, HttpDatesNegativeAndHugeValuesAreNotTrusted) {
    for (const char* v : {"Wed, 21 Oct 2026 07:28:00 GMT", "-5", "", "1e3", "9999999"}) {
        auto r = with_retry_after(refused(429, outcome_class::retryable), with_header(v));
        EXPECT_TRUE(r.rate_limited) << v;
        EXPECT_FALSE(r.retry_after) << v;
    }
    auto capped = with_retry_after(refused(429, outcome_class::retryable), with_header("86400"));
    ASSERT_TRUE(capped.retry_after);
    EXPECT_EQ(capped.retry_after->count(), 3600) << "a pause is capped at an hour";
}

TEST(ApiRequest, OtherRefusalsAreNotRateLimits) {
    EXPECT_FALSE(
        with_retry_after(refused(503, outcome_class::ambiguous), with_header("5")).rate_limited
    );
    EXPECT_FALSE(
        with_retry_after(refused(400, outcome_class::rejected_input), with_header("5")).retry_after
    );
    // MiniMax's rate limit arrives as HTTP 200 with base_resp 1002: its parser sets the flag,
    // and a Retry-After header (if one ever came) is then honoured too.
    submit_result minimax = refused(200, outcome_class::retryable);
    minimax.rate_limited = true;
    auto r = with_retry_after(minimax, with_header("3"));
    EXPECT_TRUE(r.rate_limited);
    ASSERT_TRUE(r.retry_after);
    EXPECT_EQ(r.retry_after->count(), 3);
}

}  // namespace
}  // namespace shotfarm::providers
