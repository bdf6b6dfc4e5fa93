// The contract between each provider adapter and the simulator's emulation of that provider:
// the same request through the real adapter, the real HTTP client and the real simulator, for
// every outcome class of the taxonomy.
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "providers/catalog.hpp"
#include "providers/provider.hpp"
#include "tests/support/run_coro.hpp"
#include "tests/support/sim_process.hpp"

namespace shotfarm::testing {
namespace {

namespace asio = boost::asio;
using providers::outcome_class;
using providers::remote_state;
using namespace std::chrono_literals;

struct outcome {
    providers::submit_result submit;
    providers::poll_result last_poll;
    unsigned download_status = 0;
};

std::string sim_yaml(const std::string& provider, const std::string& faults) {
    return "time_scale: 0.002\nseed: 5\nkeys:\n  - {key: good-key, provider: " + provider +
           ", max_concurrency: 5, requests_per_minute: 1000}\nfaults: {" + faults + "}\n";
}

/// Submits one hailuo-02-standard t2v 6 s generation through the adapter and, if accepted,
/// polls it to a terminal state and downloads the video.
outcome exercise(
    const sim_process& sim,
    const std::string& provider,
    const std::string& key,
    const std::string& prompt
) {
    return run_coro(
        [](std::string base, std::string prov, std::string k, std::string p
        ) -> asio::awaitable<outcome> {
            auto ex = co_await asio::this_coro::executor;
            net::http_client http(ex);
            providers::account acct;
            acct.name = "contract";
            acct.provider = prov;
            acct.base_url = base;
            acct.api_key = k;
            acct.submit_timeout = 5s;
            acct.poll_timeout = 5s;
            auto api = providers::make_provider(acct, http);
            const auto offers = providers::catalog::builtin().find(
                "hailuo-02-standard", providers::mode::t2v, 6, prov
            );
            if (offers.empty()) {
                throw std::runtime_error("no catalog offer on " + prov);
            }
            providers::submit_request req;
            req.provider_model = offers.front().provider_model;
            req.prompt = p;
            req.duration = 6;
            req.send_duration = offers.front().duration_param;
            req.extra_params = offers.front().extra_params;
            outcome out;
            out.submit = co_await api->submit(req);
            if (out.submit.cls != outcome_class::ok) {
                co_return out;
            }
            asio::steady_timer t(ex);
            for (int i = 0; i < 400; ++i) {
                out.last_poll = co_await api->poll(out.submit.provider_job_id);
                if (out.last_poll.state == remote_state::succeeded ||
                    out.last_poll.state == remote_state::failed) {
                    break;
                }
                t.expires_after(20ms);
                co_await t.async_wait(asio::use_awaitable);
            }
            if (out.last_poll.state == remote_state::succeeded) {
                net::http_request get;
                get.url = out.last_poll.video_url;
                auto r = co_await http.send(get);
                out.download_status = r.ec ? 0 : r.response.status;
            }
            co_return out;
        }(sim.base_url(), provider, key, prompt)
    );
}

class AdapterContract : public ::testing::TestWithParam<std::string> {};

TEST_P(AdapterContract, HappyPathEndsInADownloadableVideo) {
    sim_process sim(sim_yaml(GetParam(), ""));
    auto o = exercise(sim, GetParam(), "good-key", "a calm lake at dawn");
    ASSERT_EQ(o.submit.cls, outcome_class::ok) << o.submit.message;
    EXPECT_FALSE(o.submit.provider_job_id.empty());
    EXPECT_EQ(o.last_poll.state, remote_state::succeeded) << o.last_poll.message;
    EXPECT_EQ(o.download_status, 200u);
}

TEST_P(AdapterContract, ModerationIsRejectedInputAtTheEnd) {
    sim_process sim(sim_yaml(GetParam(), ""));
    auto o = exercise(sim, GetParam(), "good-key", "something forbidden [sim:moderate]");
    ASSERT_EQ(o.submit.cls, outcome_class::ok) << "moderation shows up as a failed job";
    EXPECT_EQ(o.last_poll.state, remote_state::failed);
    EXPECT_EQ(o.last_poll.cls, outcome_class::rejected_input) << o.last_poll.message;
}

TEST_P(AdapterContract, RemoteFailureIsRetryable) {
    sim_process sim(sim_yaml(GetParam(), ""));
    auto o = exercise(sim, GetParam(), "good-key", "this one breaks [sim:fail]");
    ASSERT_EQ(o.submit.cls, outcome_class::ok);
    EXPECT_EQ(o.last_poll.state, remote_state::failed);
    EXPECT_EQ(o.last_poll.cls, outcome_class::retryable) << o.last_poll.message;
}

TEST_P(AdapterContract, UnknownKeyIsAnAccountProblem) {
    sim_process sim(sim_yaml(GetParam(), ""));
    auto o = exercise(sim, GetParam(), "no-such-key", "a calm lake");
    EXPECT_EQ(o.submit.cls, outcome_class::account_problem) << o.submit.message;
}

TEST_P(AdapterContract, RateLimitIsRetryable) {
    sim_process sim(sim_yaml(GetParam(), "http_429: 1.0"));
    auto o = exercise(sim, GetParam(), "good-key", "a calm lake");
    EXPECT_EQ(o.submit.cls, outcome_class::retryable) << o.submit.message;
    EXPECT_TRUE(sim.ledger().as_object().at("submissions").as_array().empty());
}

TEST_P(AdapterContract, LostResponseIsAmbiguousAndWasBilled) {
    sim_process sim(sim_yaml(GetParam(), "lost_response: 1.0"));
    auto o = exercise(sim, GetParam(), "good-key", "a calm lake");
    EXPECT_EQ(o.submit.cls, outcome_class::ambiguous) << o.submit.message;
    EXPECT_EQ(sim.ledger().as_object().at("submissions").as_array().size(), 1u)
        << "the provider did create (and bill) the job";
}

TEST_P(AdapterContract, ServerErrorOnSubmitIsAmbiguous) {
    sim_process sim(sim_yaml(GetParam(), "http_5xx: 1.0"));
    auto o = exercise(sim, GetParam(), "good-key", "a calm lake");
    EXPECT_EQ(o.submit.cls, outcome_class::ambiguous) << o.submit.message;
}

TEST_P(AdapterContract, MalformedJsonOnSubmitIsAmbiguous) {
    sim_process sim(sim_yaml(GetParam(), "malformed_json: 1.0"));
    auto o = exercise(sim, GetParam(), "good-key", "a calm lake");
    EXPECT_EQ(o.submit.cls, outcome_class::ambiguous) << o.submit.message;
}

INSTANTIATE_TEST_SUITE_P(
    Providers, AdapterContract, ::testing::Values("atlas", "wavespeed", "aimlapi", "minimax")
);

}  // namespace
}  // namespace shotfarm::testing
