// The one interface the pipeline knows a provider by, and the error taxonomy every adapter
// maps its own wire codes onto. No wire format leaves an adapter.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

namespace shotfarm::net {
class http_client;
}

namespace shotfarm::providers {

/// What a caller must do about the outcome of one provider request — the same for every
/// provider (docs/pipeline.md, "Errors, by class").
enum class outcome_class {
    ok,               ///< the request did what was asked
    retryable,        ///< definitely not billed (429, refused connection…); try again later
    rejected_input,   ///< the provider refuses this input (400, moderation); never retry
    account_problem,  ///< auth or balance; pause the account, move its jobs elsewhere
    ambiguous,        ///< a paid request may have been billed but we have no id
    /// The provider answered, but the answer cannot be used safely: an id that is too long or
    /// holds control characters, a status word no documentation lists, a video URL the
    /// download policy refuses. Never retried blindly: a paid job is held for an operator
    /// with the reason, an unpaid one fails.
    bad_answer,
};

std::string_view to_string(outcome_class c) noexcept;

/// What a request to a provider's API is, for the account's limiters.
enum class request_kind {
    submit,  ///< a paid generation (counts against submits_per_minute too)
    other,   ///< polls, downloads of results via the API, uploads
};

/// An account as the adapter needs it. The key is a secret: never logged or formatted.
struct account {
    std::string name;
    std::string provider;
    std::string base_url;
    std::string api_key;
    std::chrono::milliseconds submit_timeout{60000};
    std::chrono::milliseconds poll_timeout{30000};
    /// Awaited before every request to this account's API: the scheduler's shared request
    /// limiter waits here for the account's next slot. Empty: no pacing.
    std::function<boost::asio::awaitable<void>(request_kind)> before_request;
};

struct submit_request {
    std::string provider_model;
    std::string prompt;
    std::optional<std::string> image_url;  ///< public URL or data: URL (after upload_image)
    int duration = 6;
    bool send_duration = true;  ///< some provider models take no duration field
    boost::json::object extra_params;
    /// Where the provider should push the job's outcome (the account's public webhook URL), or
    /// none to rely on polling. Atlas sends it as the body's `webhook_url`, WaveSpeed as the
    /// `?webhook=` query parameter, MiniMax as `callback_url`; AI/ML API has no webhooks and
    /// ignores it.
    std::optional<std::string> webhook_url;
    /// Awaited after the rate limiter and right before the POST's first byte (the pipeline
    /// records that the paid request leaves now). If it throws, nothing is sent and the
    /// exception propagates out of submit().
    std::function<boost::asio::awaitable<void>()> before_send;
};

struct submit_result {
    outcome_class cls = outcome_class::ambiguous;
    std::string provider_job_id;  ///< set when cls == ok
    std::string message;          ///< the provider's own words, or the transport failure
    unsigned http_status = 0;     ///< 0 when no response was parsed
    std::optional<std::chrono::seconds> retry_after;
    /// The provider refused for rate or concurrency (HTTP 429, MiniMax base_resp 1002/1041/
    /// 2045): back off the account and shrink its concurrency, not a fault of the account.
    bool rate_limited = false;
};

enum class remote_state {
    pending,    ///< created / queued / processing
    succeeded,  ///< video_url is set
    failed,     ///< terminal failure at the provider (see cls: rejected_input = moderation/input)
    not_found,  ///< the provider does not know the id (yet: some 404 right after submit)
};

struct poll_result {
    outcome_class cls = outcome_class::retryable;  ///< of the poll request itself / the failure
    remote_state state = remote_state::pending;
    std::string status;  ///< the provider's raw status word
    std::string video_url;
    /// Seconds from accept to ready as the provider reports them (Atlas: completed_at -
    /// created_at, both on its clock); unchecked against what the polls saw (the pipeline does).
    std::optional<double> generation_s;
    /// A lower bound the provider reports (WaveSpeed: timings.inference, which leaves out the
    /// time queued).
    std::optional<double> generation_at_least_s;
    std::string message;
    unsigned http_status = 0;
};

struct upload_result {
    outcome_class cls = outcome_class::retryable;
    std::string url;
    std::string message;
};

/// One provider account's API. Implementations are coroutine-based and hold no job state;
/// one instance per configured account. Call only on the io thread.
class provider {
public:
    virtual ~provider() = default;
    provider() = default;
    provider(const provider&) = delete;
    provider& operator=(const provider&) = delete;

    virtual std::string_view name() const noexcept = 0;
    /// Makes a local first-frame image usable in a submit (upload or inline); free of charge.
    virtual boost::asio::awaitable<upload_result> upload_image(std::filesystem::path file) = 0;
    /// Sends one paid generation. Never retried inside: the caller owns that decision.
    virtual boost::asio::awaitable<submit_result> submit(submit_request req) = 0;
    /// Reads the state of a generation by the provider's id.
    virtual boost::asio::awaitable<poll_result> poll(std::string provider_job_id) = 0;
};

/// The adapter for acct.provider ("atlas"); throws std::invalid_argument for an unknown one.
/// Its answers pass providers/answer_checks.hpp (bounded messages, usable ids and URLs, never
/// the key), and it refuses to poll an id that fails provider_id_problem.
std::unique_ptr<provider> make_provider(const account& acct, net::http_client& http);

}  // namespace shotfarm::providers
