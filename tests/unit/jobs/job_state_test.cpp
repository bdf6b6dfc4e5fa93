// The job state machine: which moves the store may make.
#include "jobs/job_state.hpp"

#include <random>

#include <gtest/gtest.h>

#include "jobs/backoff.hpp"

namespace shotfarm::jobs {
namespace {

TEST(JobState, NamesRoundTrip) {
    for (job_state s : all_job_states) {
        EXPECT_EQ(parse_job_state(to_string(s)), s);
    }
    EXPECT_FALSE(parse_job_state("finished").has_value());
}

TEST(JobState, TerminalStatesNeverMove) {
    for (job_state from : {job_state::succeeded, job_state::failed, job_state::canceled}) {
        EXPECT_TRUE(is_terminal(from));
        for (job_state to : all_job_states) {
            EXPECT_FALSE(transition_allowed(from, to)) << to_string(from) << "->" << to_string(to);
        }
    }
}

TEST(JobState, TheHappyPath) {
    EXPECT_TRUE(transition_allowed(job_state::queued, job_state::submitting));
    EXPECT_TRUE(transition_allowed(job_state::submitting, job_state::running));
    EXPECT_TRUE(transition_allowed(job_state::running, job_state::downloading));
    EXPECT_TRUE(transition_allowed(job_state::downloading, job_state::succeeded));
}

TEST(JobState, AJobWithAProviderIdIsNeverSubmittedAgainDirectly) {
    // running/downloading jobs hold a provider id: they go back to polling, not to submitting.
    EXPECT_FALSE(transition_allowed(job_state::running, job_state::submitting));
    EXPECT_FALSE(transition_allowed(job_state::running, job_state::queued));
    EXPECT_FALSE(transition_allowed(job_state::downloading, job_state::submitting));
    EXPECT_FALSE(transition_allowed(job_state::downloading, job_state::queued));
    EXPECT_TRUE(transition_allowed(job_state::downloading, job_state::running));  // URL refresh
}

TEST(JobState, NothingSkipsTheSubmitStep) {
    for (job_state from : {job_state::queued, job_state::retry_wait}) {
        for (job_state to : {job_state::downloading, job_state::succeeded}) {
            EXPECT_FALSE(transition_allowed(from, to)) << to_string(from) << "->" << to_string(to);
        }
    }
    EXPECT_FALSE(transition_allowed(job_state::queued, job_state::running));
    // The one way back to running without a new submit: adopting the late id of a submit that
    // had been ruled ambiguous.
    EXPECT_TRUE(transition_allowed(job_state::retry_wait, job_state::running));
    EXPECT_FALSE(transition_allowed(job_state::submitting, job_state::succeeded));
    EXPECT_FALSE(transition_allowed(job_state::submitting, job_state::downloading));
    EXPECT_FALSE(transition_allowed(job_state::running, job_state::succeeded));
}

TEST(JobState, FailurePaths) {
    EXPECT_TRUE(transition_allowed(job_state::submitting, job_state::retry_wait));
    EXPECT_TRUE(transition_allowed(job_state::submitting, job_state::failed));
    EXPECT_TRUE(transition_allowed(job_state::submitting, job_state::held));
    EXPECT_TRUE(transition_allowed(job_state::running, job_state::retry_wait));
    EXPECT_TRUE(transition_allowed(job_state::running, job_state::held));
    EXPECT_TRUE(transition_allowed(job_state::retry_wait, job_state::submitting));
    EXPECT_TRUE(transition_allowed(job_state::held, job_state::queued));
    EXPECT_TRUE(transition_allowed(job_state::queued, job_state::canceled));
}

TEST(JobState, ProviderOccupancy) {
    EXPECT_TRUE(occupies_provider(job_state::submitting));
    EXPECT_TRUE(occupies_provider(job_state::running));
    EXPECT_FALSE(occupies_provider(job_state::downloading));
    EXPECT_FALSE(occupies_provider(job_state::queued));
}

TEST(Backoff, FullJitterStaysUnderTheCappedExponential) {
    backoff_policy p{std::chrono::milliseconds(100), std::chrono::milliseconds(5000)};
    std::mt19937_64 rng(1);
    for (int retry = 0; retry < 12; ++retry) {
        const long long ceiling = std::min<long long>(5000, 100LL << retry);
        std::chrono::milliseconds::rep max_seen = 0;
        for (int i = 0; i < 400; ++i) {
            auto d = full_jitter(p, retry, rng).count();
            EXPECT_GE(d, 0);
            EXPECT_LE(d, ceiling);
            max_seen = std::max(max_seen, d);
        }
        EXPECT_GT(max_seen, ceiling / 2) << "jitter spreads over the whole range";
    }
}

}  // namespace
}  // namespace shotfarm::jobs
