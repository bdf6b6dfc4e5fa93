// Retry delays: capped exponential backoff with full jitter, so that jobs which failed together
// spread their retries out instead of hitting the provider again in step.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace shotfarm::jobs {

struct backoff_policy {
    std::chrono::milliseconds base{2000};
    std::chrono::milliseconds cap{300000};
};

/// Delay before retry number `retry` (0-based): uniform in [0, min(cap, base * 2^retry)].
template <class Rng>
std::chrono::milliseconds full_jitter(const backoff_policy& p, int retry, Rng& rng) {
    const double ceiling = std::min(
        static_cast<double>(p.cap.count()),
        static_cast<double>(p.base.count()) * std::pow(2.0, std::clamp(retry, 0, 40))
    );
    std::uniform_real_distribution<double> dist(0.0, ceiling);
    return std::chrono::milliseconds(static_cast<long long>(dist(rng)));
}

}  // namespace shotfarm::jobs
