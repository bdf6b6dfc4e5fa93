// The pipeline's metric handles, registered once at wiring time. Labels are bounded:
// provider, account name, model, state, outcome, reason — never a shot id or a key.
#pragma once

#include "metrics/registry.hpp"

namespace shotfarm::jobs {

struct run_metrics {
    explicit run_metrics(metrics::registry& r);

    metrics::family<metrics::gauge>& jobs;                    // {state}
    metrics::family<metrics::counter>& spend_usd;             // {account, provider, model}
    metrics::family<metrics::counter>& submissions;           // {provider, account, outcome}
    metrics::family<metrics::counter>& ambiguous;             // {provider, account}
    metrics::family<metrics::counter>& retries;               // {reason}
    metrics::family<metrics::counter>& rate_limited;          // {provider, account}
    metrics::family<metrics::counter>& downloaded_bytes;      // {provider}
    metrics::family<metrics::histogram>& submit_seconds;      // {provider, outcome}
    metrics::family<metrics::histogram>& poll_seconds;        // {provider, outcome}
    metrics::family<metrics::histogram>& download_seconds;    // {provider, outcome}
    metrics::family<metrics::histogram>& generation_seconds;  // {provider, model}
    metrics::family<metrics::histogram>& queue_wait_seconds;  // {}
    metrics::family<metrics::gauge>& inflight;                // {provider, account}
    metrics::family<metrics::gauge>& up;                      // {}
    metrics::family<metrics::counter>& uploads;               // {provider, account, source}
    metrics::family<metrics::counter>& breaker_opened;        // {provider, account}
    metrics::family<metrics::gauge>& effective_concurrency;   // {provider, account}
    metrics::family<metrics::gauge>& budget_remaining_usd;    // {scope}
    metrics::family<metrics::gauge>& budget_spent_usd;        // {scope}
    metrics::family<metrics::counter>& pushes_applied;        // {provider}
};

}  // namespace shotfarm::jobs
