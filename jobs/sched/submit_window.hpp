// How many submits an account may start in a sliding window. Providers document their submit
// limits as "N per minute" and the simulator (like any provider that counts a sliding 60 s
// window) refuses the N+1st submit inside any 60 s. Spacing submits evenly, 60/N s apart, keeps
// to that but wastes a slot that frees just after a submit: it waits for the next tick (on
// MiniMax's 5 a minute, up to 12 s). A log of the last submit times lets a freed slot refill
// at once while the window still holds at most N. Sans-I/O: the store keeps the log in the
// account's row and applies this rule in SQL.
#pragma once

namespace shotfarm::sched {

/// The rule for one account: a submit may start when fewer than `length` of the submits
/// before it started within the last `span_s` seconds — equivalently, when the `length`-th
/// most recent one is at least `span_s` old.
struct submit_window {
    int length = 1;
    double span_s = 60.0;
};

/// Spans are stretched by this factor: network jitter between our clock and the provider's
/// must never put N + 1 submits into its 60 s window.
inline constexpr double submit_window_margin = 1.01;

/// The longest log kept per account. Rates above it (WaveSpeed and Atlas allow hundreds a
/// minute) use a log of `length` ≤ this over a proportionally shorter span: `length` submits
/// per `span_s`, `m` such spans per minute, m × length ≤ N.
inline constexpr int submit_window_max_length = 64;

/// Above the longest log, the share of N a long log may give up to refill in bursts (on 67 a
/// minute a log of 64 allows only 64; one of 33 over two spans a minute allows 66).
inline constexpr double submit_window_min_share = 0.98;

/// The window for `submits_per_minute` (≥ 1): the exact sliding minute (length N, span 60 s ×
/// the margin) up to `max_length`; above, the longest length ≤ max_length whose spans still
/// allow at least `submit_window_min_share` of N a minute: m = ⌊N / length⌋ spans of
/// 60 s × margin / m each, m × length ≤ N submits a minute.
submit_window submit_window_for(int submits_per_minute, int max_length = submit_window_max_length);

/// The most submits `w` can let into any stretch of `seconds` (ends included):
/// (⌊seconds / span⌋ + 1) × length. For 60 s it is at most N: what a provider counts.
int most_submits_within(const submit_window& w, double seconds);

}  // namespace shotfarm::sched
