// The contract between each provider adapter and the simulator's emulation of that provider:
// the same request through the real adapter, the real HTTP client and the real simulator, for
// every outcome class of the taxonomy.
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

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

std::string sim_yaml(
    const std::string& provider, const std::string& faults, const std::string& key_extra = ""
) {
    return "time_scale: 0.002\nseed: 5\nkeys:\n  - {key: good-key, provider: " + provider +
           ", max_concurrency: 5, requests_per_minute: 1000" + key_extra + "}\nfaults: {" + faults +
           "}\n";
}

/// How `exercise` polls, and who watches each poll.
struct exercise_options {
    std::chrono::milliseconds submit_timeout{5000};
    std::chrono::milliseconds poll_timeout{5000};
    std::chrono::milliseconds poll_every{20};
    int max_polls = 400;
    /// Called after every poll (on the io thread; may block briefly, e.g. to read the ledger).
    std::function<void(const providers::poll_result&)> on_poll;
};

/// Submits one hailuo-02-standard t2v 6 s generation through the adapter and, if accepted,
/// polls it to a terminal state and downloads the video.
outcome exercise(
    const sim_process& sim,
    const std::string& provider,
    const std::string& key,
    const std::string& prompt,
    exercise_options opts = {}
) {
    return run_coro(
        [](std::string base, std::string prov, std::string k, std::string p, exercise_options o
        ) -> asio::awaitable<outcome> {
            auto ex = co_await asio::this_coro::executor;
            net::http_client http(ex);
            providers::account acct;
            acct.name = "contract";
            acct.provider = prov;
            acct.base_url = base;
            acct.api_key = k;
            acct.submit_timeout = o.submit_timeout;
            acct.poll_timeout = o.poll_timeout;
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
            for (int i = 0; i < o.max_polls; ++i) {
                out.last_poll = co_await api->poll(out.submit.provider_job_id);
                if (o.on_poll) {
                    o.on_poll(out.last_poll);
                }
                if (out.last_poll.state == remote_state::succeeded ||
                    out.last_poll.state == remote_state::failed) {
                    break;
                }
                t.expires_after(o.poll_every);
                co_await t.async_wait(asio::use_awaitable);
            }
            if (out.last_poll.state == remote_state::succeeded) {
                net::http_request get;
                get.url = out.last_poll.video_url;
                auto r = co_await http.send(get);
                out.download_status = r.ec ? 0 : r.response.status;
            }
            co_return out;
        }(sim.base_url(), provider, key, prompt, std::move(opts))
    );
}

std::size_t billed_count(const sim_process& sim) {
    const auto ledger = sim.ledger();
    return ledger.as_object().at("submissions").as_array().size();
}

/// How often the simulator has fired fault `name` so far (the ledger's `faults` map).
std::int64_t fired(const sim_process& sim, const std::string& name) {
    const auto ledger = sim.ledger();
    const auto& faults = ledger.as_object().at("faults").as_object();
    const auto* n = faults.if_contains(name);
    return n != nullptr ? n->to_number<std::int64_t>() : 0;
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

TEST_P(AdapterContract, ResetOnSubmitIsAmbiguousAndWasNotBilled) {
    // The simulator drops the connection after reading the whole request: the client cannot
    // know whether the job was created, so it must not call it retryable.
    sim_process sim(sim_yaml(GetParam(), "reset: 1.0"));
    auto o = exercise(sim, GetParam(), "good-key", "a calm lake");
    EXPECT_EQ(o.submit.cls, outcome_class::ambiguous) << o.submit.message;
    EXPECT_EQ(billed_count(sim), 0u);
    EXPECT_EQ(fired(sim, "reset"), 1);
}

TEST_P(AdapterContract, SlowSubmitBeyondTheTimeoutIsAmbiguousAndIsBilledAnyway) {
    sim_process sim(sim_yaml(GetParam(), "slow: 1.0, slow_s: 1"));
    exercise_options opts;
    opts.submit_timeout = 300ms;
    auto o = exercise(sim, GetParam(), "good-key", "a calm lake", opts);
    EXPECT_EQ(o.submit.cls, outcome_class::ambiguous) << o.submit.message;
    EXPECT_EQ(o.submit.http_status, 0u);
    // The provider carries on after the client gave up: the generation is created (and billed)
    // once the delay is over — the reason a timed-out submit is never "retryable".
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (billed_count(sim) == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(billed_count(sim), 1u);
}

TEST_P(AdapterContract, InsufficientBalanceIsAnAccountProblem) {
    // 402 (Atlas, WaveSpeed), 403 (AI/ML API), base_resp 1008 (MiniMax).
    sim_process sim(sim_yaml(GetParam(), "", ", balance_usd: 0.01"));
    auto o = exercise(sim, GetParam(), "good-key", "a calm lake");
    EXPECT_EQ(o.submit.cls, outcome_class::account_problem) << o.submit.message;
    EXPECT_EQ(billed_count(sim), 0u);
}

TEST_P(AdapterContract, InvalidInputIsRejectedInputAndNotBilled) {
    // A prompt over the 2000-character limit: 400 (Atlas, WaveSpeed, AI/ML API), 2013 (MiniMax).
    sim_process sim(sim_yaml(GetParam(), ""));
    auto o = exercise(sim, GetParam(), "good-key", std::string(2001, 'x'));
    EXPECT_EQ(o.submit.cls, outcome_class::rejected_input) << o.submit.message;
    EXPECT_EQ(billed_count(sim), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Providers, AdapterContract, ::testing::Values("atlas", "wavespeed", "aimlapi", "minimax")
);

// ---- Poll-side faults ----------------------------------------------------------------------
//
// How these are aimed at polls only, deterministically: the simulator draws every transport
// fault from its own seeded stream, one draw per faultable request in request order
// (uniform(seed, n) for the n-th draw), independent of the provider and of timing. With a single
// fault at p = 0.5 and seed 8 the draws run ".XX.X.X.X.XX.XX…": draw 0 — the submit — passes,
// draws 1 and 2 — the first two polls — fire, and so on. (http_5xx takes one extra draw, to
// pick 500 or 503, when it fires; that shifts later draws but not the first three.) So the
// submit is accepted and billed once, the first polls fail, and later ones succeed. Each poll
// is then judged against the ledger: if the fault's counter moved during that poll, the poll
// met the fault and must be `retryable` with the job still `pending`; otherwise it must be ok.
constexpr int poll_fault_seed = 8;

std::string poll_fault_yaml(const std::string& provider, const std::string& fault) {
    return "time_scale: 0.002\nseed: " + std::to_string(poll_fault_seed) +
           "\nkeys:\n  - {key: good-key, provider: " + provider +
           ", max_concurrency: 5, requests_per_minute: 1000}\nfaults: {" + fault + ": 0.5" +
           (fault == "slow" ? ", slow_s: 1" : "") + "}\n";
}

/// The HTTP status a poll that met `fault` reports (0: no answer was parsed).
std::set<unsigned> fault_statuses(const std::string& provider, const std::string& fault) {
    if (fault == "http_429") {
        // MiniMax answers its rate limit as HTTP 200 with base_resp 1002.
        return {provider == "minimax" ? 200u : 429u};
    }
    if (fault == "http_5xx") {
        return {500u, 503u};
    }
    if (fault == "malformed_json") {
        return {200u};
    }
    return {0u};  // reset, slow (beyond the client's timeout)
}

using poll_fault = std::tuple<std::string, std::string>;

std::string poll_fault_name(const ::testing::TestParamInfo<poll_fault>& p) {
    return std::get<0>(p.param) + "_" + std::get<1>(p.param);
}

class PollFaults : public ::testing::TestWithParam<poll_fault> {};

TEST_P(PollFaults, AFailedPollIsRetryableALaterOneSucceedsAndTheJobIsBilledOnce) {
    const auto& [provider, fault] = GetParam();
    sim_process sim(poll_fault_yaml(provider, fault));
    std::int64_t seen = 0;
    int faulted = 0;
    int ok_after_fault = 0;
    exercise_options opts;
    opts.poll_timeout = 300ms;  // the slow fault holds the answer 1 s (wall clock)
    opts.on_poll = [&](const providers::poll_result& r) {
        const std::int64_t now = fired(sim, fault);
        if (now > seen) {
            ++faulted;
            EXPECT_EQ(r.cls, outcome_class::retryable) << fault << ": " << r.message;
            EXPECT_EQ(r.state, remote_state::pending) << "a failed read says nothing of the job";
            EXPECT_FALSE(r.message.empty());
            if (provider == "minimax" && r.status == "Success") {
                // The query passed and files/retrieve met the fault.
                EXPECT_NE(r.message.find("retrieving file"), std::string::npos) << r.message;
            } else {
                EXPECT_TRUE(fault_statuses(provider, fault).count(r.http_status))
                    << fault << " gave HTTP " << r.http_status << ": " << r.message;
            }
        } else {
            EXPECT_EQ(r.cls, outcome_class::ok) << r.message;
            ok_after_fault += faulted > 0 ? 1 : 0;
        }
        seen = now;
    };
    auto o = exercise(sim, provider, "good-key", "a calm lake", opts);
    ASSERT_EQ(o.submit.cls, outcome_class::ok)
        << "seed " << poll_fault_seed << "'s first draw should not fire: " << o.submit.message;
    EXPECT_GE(faulted, 2) << "seed " << poll_fault_seed << " fires on the first two polls";
    EXPECT_GE(ok_after_fault, 1);
    EXPECT_EQ(o.last_poll.state, remote_state::succeeded) << o.last_poll.message;
    EXPECT_EQ(o.download_status, 200u);
    EXPECT_EQ(billed_count(sim), 1u) << "failed polls never cost a second generation";
    EXPECT_EQ(fired(sim, fault), seen);
}

INSTANTIATE_TEST_SUITE_P(
    Providers,
    PollFaults,
    ::testing::Combine(
        ::testing::Values("atlas", "wavespeed", "aimlapi", "minimax"),
        ::testing::Values("reset", "http_5xx", "http_429", "slow", "malformed_json")
    ),
    poll_fault_name
);

// ---- Status words --------------------------------------------------------------------------
//
// Every status word each provider documents (docs/simulator.md lists them per provider, with
// the documentation they come from; the simulator emits each of them),
// seen through the real adapter: which words mean "still going", "done" and "failed".

struct status_words {
    std::set<std::string> pending;
    std::set<std::string> succeeded;
    std::set<std::string> failed;
};

const std::map<std::string, status_words>& documented_words() {
    static const std::map<std::string, status_words> words = {
        {"atlas", {{"created", "processing"}, {"completed", "succeeded"}, {"failed"}}},
        {"wavespeed", {{"created", "processing"}, {"completed"}, {"failed"}}},
        // `waiting` and `active` are not in the schema, but AI/ML API's own polling examples
        // (aimlapi/api-docs) wait on them.
        {"aimlapi", {{"queued", "waiting", "active", "generating"}, {"completed"}, {"error"}}},
        {"minimax", {{"Preparing", "Queueing", "Processing"}, {"Success"}, {"Fail", "Failed"}}},
    };
    return words;
}

/// A timeline slow enough to see every phase at a 10 ms poll: 1 s of generation (sigma 0),
/// 40 % of it in the created phase (two halves on AI/ML API and MiniMax), no visibility lag.
std::string timeline_yaml(const std::string& provider, const std::string& extra) {
    return "time_scale: 0.01\nseed: 5\nvisibility_lag_s: 0\ncreated_fraction: 0.4\n"
           "default_timing: {median_s: 100, sigma: 0}\n" +
           extra + "keys:\n  - {key: good-key, provider: " + provider +
           ", max_concurrency: 5, requests_per_minute: 1000}\n";
}

/// Every poll of one generation, polled every 10 ms to its end.
std::vector<providers::poll_result> trace(
    const sim_process& sim, const std::string& provider, const std::string& prompt, outcome& out
) {
    std::vector<providers::poll_result> polls;
    exercise_options opts;
    opts.poll_every = 10ms;
    opts.on_poll = [&](const providers::poll_result& r) { polls.push_back(r); };
    out = exercise(sim, provider, "good-key", prompt, opts);
    return polls;
}

/// Checks each poll's reading of its status word against the documented meaning; returns the
/// words seen.
std::set<std::string> check_words(
    const std::string& provider, const std::vector<providers::poll_result>& polls
) {
    const auto& words = documented_words().at(provider);
    std::set<std::string> seen;
    for (const auto& r : polls) {
        seen.insert(r.status);
        if (words.pending.count(r.status)) {
            EXPECT_EQ(r.state, remote_state::pending) << r.status;
            EXPECT_EQ(r.cls, outcome_class::ok) << r.status << ": " << r.message;
        } else if (words.succeeded.count(r.status)) {
            EXPECT_EQ(r.state, remote_state::succeeded) << r.status;
            EXPECT_EQ(r.cls, outcome_class::ok) << r.status << ": " << r.message;
            EXPECT_FALSE(r.video_url.empty()) << r.status;
        } else if (words.failed.count(r.status)) {
            EXPECT_EQ(r.state, remote_state::failed) << r.status;
            EXPECT_NE(r.cls, outcome_class::ok) << r.status;
        } else {
            ADD_FAILURE() << provider << " answered an undocumented status '" << r.status << "' ("
                          << r.message << ")";
        }
    }
    return seen;
}

class StatusWords : public ::testing::TestWithParam<std::string> {};

TEST_P(StatusWords, EveryPhaseWordOfASuccessAndAFailureMeansWhatItSays) {
    const std::string provider = GetParam();
    sim_process sim(timeline_yaml(provider, "succeeded_fraction: 0\n"));
    outcome ok_run;
    auto seen = check_words(provider, trace(sim, provider, "a calm lake", ok_run));
    EXPECT_EQ(ok_run.last_poll.state, remote_state::succeeded) << ok_run.last_poll.message;
    EXPECT_EQ(ok_run.download_status, 200u);
    outcome fail_run;
    auto failed_seen = check_words(provider, trace(sim, provider, "breaks [sim:fail]", fail_run));
    EXPECT_EQ(fail_run.last_poll.state, remote_state::failed);
    EXPECT_EQ(fail_run.last_poll.cls, outcome_class::retryable) << fail_run.last_poll.message;
    seen.insert(failed_seen.begin(), failed_seen.end());

    // Every word of the life cycle was met (the spelling variants have their own tests).
    const auto& words = documented_words().at(provider);
    std::set<std::string> expected = words.pending;
    expected.insert(*words.succeeded.begin());  // atlas: "completed" ("succeeded" below)
    expected.insert(*words.failed.begin());     // minimax: "Fail" ("Failed" below)
    for (const auto& w : expected) {
        EXPECT_TRUE(seen.count(w)) << provider << ": never saw '" << w << "'";
    }
    EXPECT_EQ(billed_count(sim), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Providers, StatusWords, ::testing::Values("atlas", "wavespeed", "aimlapi", "minimax")
);

TEST(StatusWordVariants, AtlasSucceededIsASuccess) {
    sim_process sim(timeline_yaml("atlas", "succeeded_fraction: 1\n"));
    outcome out;
    auto seen = check_words("atlas", trace(sim, "atlas", "a calm lake", out));
    EXPECT_TRUE(seen.count("succeeded"));
    EXPECT_EQ(out.last_poll.status, "succeeded");
    EXPECT_EQ(out.last_poll.state, remote_state::succeeded);
    EXPECT_EQ(out.download_status, 200u);
}

TEST(StatusWordVariants, MinimaxFailedSpellingIsAFailureAndKeepsTheModerationVerdict) {
    sim_process sim(timeline_yaml("minimax", "minimax_fail_status: Failed\n"));
    outcome failed;
    check_words("minimax", trace(sim, "minimax", "breaks [sim:fail]", failed));
    EXPECT_EQ(failed.last_poll.status, "Failed");
    EXPECT_EQ(failed.last_poll.state, remote_state::failed);
    EXPECT_EQ(failed.last_poll.cls, outcome_class::retryable) << failed.last_poll.message;
    outcome moderated;
    check_words("minimax", trace(sim, "minimax", "forbidden [sim:moderate]", moderated));
    EXPECT_EQ(moderated.last_poll.status, "Failed");
    EXPECT_EQ(moderated.last_poll.state, remote_state::failed);
    EXPECT_EQ(moderated.last_poll.cls, outcome_class::rejected_input)
        << moderated.last_poll.message;
}

}  // namespace
}  // namespace shotfarm::testing
