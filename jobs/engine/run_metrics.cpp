#include "jobs/engine/run_metrics.hpp"

namespace shotfarm::jobs {

namespace {
std::vector<double> request_buckets() {
    return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}
}  // namespace

run_metrics::run_metrics(metrics::registry& r)
    : jobs(r.add_gauge("shotfarm_jobs", "Jobs (takes) by state.", {"state"})),
      spend_usd(r.add_counter(
          "shotfarm_spend_usd_total",
          "USD committed to provider generations (accepted or possibly billed).",
          {"account", "provider", "model"}
      )),
      submissions(r.add_counter(
          "shotfarm_submissions_total",
          "Paid submit requests by outcome.",
          {"provider", "account", "outcome"}
      )),
      ambiguous(r.add_counter(
          "shotfarm_ambiguous_submissions_total",
          "Submits that may have been billed without an id coming back.",
          {"provider", "account"}
      )),
      retries(r.add_counter("shotfarm_retries_total", "Retries by reason.", {"reason"})),
      rate_limited(r.add_counter(
          "shotfarm_rate_limited_total",
          "Requests answered 429 or held back by a local limit.",
          {"provider", "account"}
      )),
      downloaded_bytes(r.add_counter(
          "shotfarm_downloaded_bytes_total", "Bytes of verified video downloaded.", {"provider"}
      )),
      submit_seconds(r.add_histogram(
          "shotfarm_submit_request_seconds",
          "Latency of submit requests.",
          {"provider", "outcome"},
          request_buckets()
      )),
      poll_seconds(r.add_histogram(
          "shotfarm_poll_request_seconds",
          "Latency of poll requests.",
          {"provider", "outcome"},
          request_buckets()
      )),
      download_seconds(r.add_histogram(
          "shotfarm_download_seconds",
          "Time to download and verify one video.",
          {"provider", "outcome"},
          request_buckets()
      )),
      generation_seconds(r.add_histogram(
          "shotfarm_generation_seconds",
          "Provider generation time, accepted to video ready.",
          {"provider", "model"},
          metrics::exponential_buckets(0.5, 2, 12)
      )),
      queue_wait_seconds(r.add_histogram(
          "shotfarm_queue_wait_seconds",
          "Time from a job's start of this run to its first submit.",
          {},
          metrics::exponential_buckets(0.1, 2, 14)
      )),
      inflight(r.add_gauge(
          "shotfarm_inflight_generations",
          "Generations in flight per account as this daemon counts them.",
          {"provider", "account"}
      )),
      up(r.add_gauge("shotfarm_pipeline_running", "1 while the pipeline is working.", {})),
      uploads(r.add_counter(
          "shotfarm_image_uploads_total",
          "First-frame images made usable for a submit: uploaded, reused or inlined.",
          {"provider", "account", "source"}
      )),
      breaker_opened(r.add_counter(
          "shotfarm_breaker_opened_total",
          "Times an account's circuit breaker opened after repeated 5xx/transport failures.",
          {"provider", "account"}
      )),
      effective_concurrency(r.add_gauge(
          "shotfarm_account_effective_concurrency",
          "Generations an account may have in flight now (AIMD: halved on 429s, regrown slowly).",
          {"provider", "account"}
      )),
      budget_remaining_usd(r.add_gauge(
          "shotfarm_budget_remaining_usd",
          "Cap minus spent and reserved, per capped scope: global, or account/<name> for today "
          "(UTC).",
          {"scope"}
      )),
      budget_spent_usd(r.add_gauge(
          "shotfarm_budget_spent_usd",
          "Spent plus reserved (ambiguous attempts count as spent) per scope: global, or "
          "account/<name> for today (UTC).",
          {"scope"}
      )),
      pushes_applied(r.add_counter(
          "shotfarm_pushes_applied_total",
          "Provider pushes (webhooks) applied to a job in place of a poll.",
          {"provider"}
      )) {}

}  // namespace shotfarm::jobs
