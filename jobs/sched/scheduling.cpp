#include "jobs/sched/scheduling.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <tuple>

namespace shotfarm::sched {

namespace {

/// Jobs a second an account's slots turn over: each once per expected generation.
double slot_turnover_per_s(const account_view& a) {
    return std::max(1, a.slots) / std::max(a.expected_generation_s, 1e-3);
}

/// Jobs a second an account can take: its slots' turnover, at most its submit rate.
double throughput_per_s(const account_view& a) {
    const double rate = slot_turnover_per_s(a);
    return a.submits_per_minute > 0 ? std::min(rate, a.submits_per_minute / 60.0) : rate;
}

}  // namespace

bool slot_bound(const account_view& a) {
    return a.submits_per_minute <= 0 || slot_turnover_per_s(a) <= a.submits_per_minute / 60.0;
}

std::vector<account_view> rank_accounts(std::vector<account_view> accounts, const rank_inputs& in) {
    std::erase_if(accounts, [](const account_view& a) { return !a.usable; });
    auto finish = [](const account_view& a) { return a.wait_s + a.expected_generation_s; };
    auto late = [&](const account_view& a) {
        return slot_bound(a) ? a.wait_s + std::max(a.late_generation_s, a.expected_generation_s)
                             : finish(a);
    };
    // Which accounts may still take work (fastest): by late finish, each next one while its
    // finish is within the drain time of the best one's. With the queue's size known, the
    // drain time is the one the quicker accounts face without this one (what holding the job
    // back from it would mean: the queue drains on the others), else the given one.
    double admitted_late = std::numeric_limits<double>::infinity();
    if (!in.cheapest && !accounts.empty()) {
        std::vector<account_view> by_late = accounts;
        std::stable_sort(by_late.begin(), by_late.end(), [&](const auto& a, const auto& b) {
            return late(a) < late(b);
        });
        const double best = late(by_late.front());
        double admitted_per_s = 0;  // the throughput of the accounts admitted so far
        for (const auto& a : by_late) {
            const double drain = !in.queue_left       ? in.drain_s
                                 : admitted_per_s > 0 ? *in.queue_left / admitted_per_s
                                                      : 0.0;
            if (late(a) > best + drain + 0.001) {
                break;
            }
            admitted_late = late(a);
            admitted_per_s += throughput_per_s(a);
        }
    }
    std::erase_if(accounts, [&](const account_view& a) {
        return a.full || (!in.cheapest && late(a) > admitted_late);
    });
    std::stable_sort(accounts.begin(), accounts.end(), [&](const auto& a, const auto& b) {
        if (in.cheapest) {
            return std::tuple(a.price_usd, finish(a), a.load) <
                   std::tuple(b.price_usd, finish(b), b.load);
        }
        return std::tuple(finish(a), a.price_usd, a.load) <
               std::tuple(finish(b), b.price_usd, b.load);
    });
    return accounts;
}

double drain_time_s(int queue_left, double submits_per_minute_total) {
    return submits_per_minute_total > 0 ? queue_left / (submits_per_minute_total / 60.0) : 0.0;
}

double fluid_drain_time_s(int queue_left, const std::vector<account_view>& accounts) {
    double per_s = 0;
    for (const auto& a : accounts) {
        if (!a.usable) {
            continue;
        }
        per_s += throughput_per_s(a);
    }
    return per_s > 0 ? queue_left / per_s : 0.0;
}

bool longest_first(int queue_left, int total_slots, double waves) {
    return total_slots > 0 && queue_left <= waves * total_slots;
}

std::vector<std::size_t> claim_order(std::span<const claim_candidate> jobs, bool lpt) {
    std::vector<std::size_t> order(jobs.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (jobs[a].priority != jobs[b].priority) {
            return jobs[a].priority > jobs[b].priority;
        }
        return lpt && jobs[a].expected_s > jobs[b].expected_s;
    });
    return order;
}

}  // namespace shotfarm::sched
