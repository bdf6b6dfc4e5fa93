// Which account takes a job, and which job goes next. Sans-I/O: a snapshot of the accounts (as
// the pipeline last read them from the database) and expected times in, an order out.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace shotfarm::sched {

/// One account that could take a job, as seen at the moment of choosing.
struct account_view {
    std::string account;
    std::string provider;
    std::string provider_model;
    double price_usd = 0;
    bool usable = true;  ///< not paused, broken or out of budget (may be full)
    /// Every slot taken: not offered the job now, but what it would take to finish it there
    /// (wait_s then includes the wait for a slot) counts when judging a slow free account.
    bool full = false;
    double wait_s = 0;  ///< until its limiter lets a submit out (and, when full, a slot frees)
    double expected_generation_s = 0;
    double load = 0;                ///< in flight / cap
    int slots = 1;                  ///< its max_concurrency
    double submits_per_minute = 0;  ///< its submit rate (0: none configured)
    /// A late but plausible generation time (the 90th percentile; 0: the expected one). Near
    /// the end of a night bound by slots, the last videos decide when it ends, so an account
    /// whose generations spread widely is judged by it (see rank_accounts).
    double late_generation_s = 0;
};

struct rank_inputs {
    bool cheapest = false;  ///< strategy: cheapest (else fastest)
    /// Seconds the rest of the queue needs to drain at the accounts' submit rates: an account
    /// whose expected finish is later than the best one's by more than this is skipped (near
    /// the end the last videos decide when the night ends).
    double drain_s = 0;
    /// Jobs left in the queue: when given, the drain time is computed instead, per account:
    /// the fluid one (fluid_drain_time_s) of the accounts quicker than it — what the queue
    /// would take without it, were the job held back from it — and `drain_s` is not used.
    std::optional<int> queue_left;
};

/// The usable accounts with a free slot, best first: fastest expected finish (then price, then
/// load), or cheapest (then finish, then load). With `fastest`, an account whose finish is
/// later than the best one's — full accounts included, waiting for their slot — by more than
/// the drain time is dropped: near the end a job waits for the quick account. "Finish" there is
/// the late one (`late_generation_s`) on accounts whose slots, not their submit rate, limit
/// them: holding a job back from such an account costs a slot for a moment, while a job that
/// runs long there ends the night late. An account limited by its submit rate is judged by the
/// expected finish: a submit it does not make is not made up later.
bool slot_bound(const account_view& a);
std::vector<account_view> rank_accounts(std::vector<account_view> accounts, const rank_inputs& in);

/// The queue's drain time: jobs left over the accounts' total submit rate (per minute).
double drain_time_s(int queue_left, double submits_per_minute_total);

/// The queue's drain time at the accounts' fluid throughput: each account turns over at most
/// slots ÷ expected generation jobs a second, and at most its submit rate; usable accounts
/// (full or not) count.
double fluid_drain_time_s(int queue_left, const std::vector<account_view>& accounts);

/// A claimable job as the claim sees it.
struct claim_candidate {
    int priority = 0;
    double expected_s = 0;  ///< its expected generation time on the best account for it
};

/// Longest first (LPT) once the queue is down to its last waves: no more jobs left than
/// `waves` times the slots. Before that, the database's order (priority, due time, id) stands.
bool longest_first(int queue_left, int total_slots, double waves = 2.0);

/// The order in which to try the candidates (indices into `jobs`): priority first, always;
/// within a priority, longest expected first when `lpt`, else as given.
std::vector<std::size_t> claim_order(std::span<const claim_candidate> jobs, bool lpt);

}  // namespace shotfarm::sched
