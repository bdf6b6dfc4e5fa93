#include "jobs/sched/submit_window.hpp"

#include <algorithm>
#include <cmath>

namespace shotfarm::sched {

submit_window submit_window_for(int submits_per_minute, int max_length) {
    const int n = std::max(1, submits_per_minute);
    const int cap = std::max(1, max_length);
    if (n <= cap) {
        return submit_window{n, 60.0 * submit_window_margin};
    }
    for (int length = cap; length > 1; --length) {
        const int spans = n / length;
        if (spans * length >= submit_window_min_share * n) {
            return submit_window{length, 60.0 * submit_window_margin / spans};
        }
    }
    return submit_window{1, 60.0 * submit_window_margin / n};  // even spacing
}

int most_submits_within(const submit_window& w, double seconds) {
    return (static_cast<int>(std::floor(std::max(0.0, seconds) / w.span_s)) + 1) * w.length;
}

}  // namespace shotfarm::sched
