#include "metrics/metric_types.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace shotfarm::metrics {

void counter::inc(double v) {
    if (!(v >= 0)) {  // negative or NaN: a counter never decreases
        return;
    }
    value_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<double> histogram::validate_bounds(std::vector<double> upper_bounds) {
    if (!upper_bounds.empty() && upper_bounds.back() == std::numeric_limits<double>::infinity()) {
        upper_bounds.pop_back();
    }
    for (std::size_t i = 0; i < upper_bounds.size(); ++i) {
        const double b = upper_bounds[i];
        if (std::isnan(b) || std::isinf(b)) {
            throw std::invalid_argument("histogram bucket bounds must be finite");
        }
        if (i > 0 && !(upper_bounds[i - 1] < b)) {
            throw std::invalid_argument("histogram bucket bounds must be strictly increasing");
        }
    }
    return upper_bounds;
}

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(validate_bounds(std::move(upper_bounds))),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void histogram::observe(double v) {
    std::size_t i = 0;
    while (i < bounds_.size() && !(v <= bounds_[i])) {
        ++i;
    }
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

std::uint64_t histogram::count() const {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        total += counts_[i].load(std::memory_order_relaxed);
    }
    return total;
}

std::vector<std::uint64_t> histogram::cumulative_counts() const {
    std::vector<std::uint64_t> out(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        out[i] = running;
    }
    return out;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
    if (!(start > 0) || !(factor > 1) || count < 1) {
        throw std::invalid_argument("exponential_buckets needs start > 0, factor > 1, count >= 1");
    }
    std::vector<double> out;
    out.reserve(static_cast<std::size_t>(count));
    double b = start;
    for (int i = 0; i < count; ++i) {
        out.push_back(b);
        b *= factor;
    }
    return histogram::validate_bounds(std::move(out));
}

std::vector<double> linear_buckets(double start, double width, int count) {
    if (!(width > 0) || count < 1 || !std::isfinite(start)) {
        throw std::invalid_argument("linear_buckets needs a finite start, width > 0, count >= 1");
    }
    std::vector<double> out;
    out.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        out.push_back(start + width * i);
    }
    return histogram::validate_bounds(std::move(out));
}

}  // namespace shotfarm::metrics
