// The three metric kinds the daemon exposes: counter, gauge, histogram. Lock-free on the hot path.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace shotfarm::metrics {

// A monotonically increasing value. inc() with a negative or NaN amount is ignored (a counter
// never goes down). Thread-safe: any call may race with any other and with a scrape.
class counter {
public:
    void inc(double v = 1);
    double value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};
};

// A value that goes up and down. Thread-safe like counter.
class gauge {
public:
    void set(double v) { value_.store(v, std::memory_order_relaxed); }
    void inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
    void dec(double v = 1) { value_.fetch_sub(v, std::memory_order_relaxed); }
    double value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};
};

// Observations counted into fixed buckets (upper bounds, strictly increasing; +Inf is implied).
// count() is the sum of the bucket counts, so a scrape always sees `_count` equal to the +Inf
// bucket. A NaN observation lands in the +Inf bucket and makes the sum NaN. Thread-safe.
class histogram {
public:
    // Throws std::invalid_argument unless `upper_bounds` is strictly increasing with no NaN;
    // a trailing +Inf is dropped (it is always there).
    explicit histogram(std::vector<double> upper_bounds);

    void observe(double v);
    std::uint64_t count() const;
    double sum() const { return sum_.load(std::memory_order_relaxed); }

    // The finite upper bounds, as given.
    const std::vector<double>& upper_bounds() const { return bounds_; }
    // Cumulative counts, one per upper bound plus the final +Inf one.
    std::vector<std::uint64_t> cumulative_counts() const;

    // Checks bucket bounds the way the constructor does; returns them without a trailing +Inf.
    static std::vector<double> validate_bounds(std::vector<double> upper_bounds);

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1 (last: +Inf)
    std::atomic<double> sum_{0};
};

// `count` bounds start, start*factor, start*factor^2, ... Throws std::invalid_argument unless
// start > 0, factor > 1 and count >= 1.
std::vector<double> exponential_buckets(double start, double factor, int count);

// `count` bounds start, start+width, ... Throws std::invalid_argument unless width > 0, count >= 1.
std::vector<double> linear_buckets(double start, double width, int count);

}  // namespace shotfarm::metrics
