// Provider push, as each provider documents it: Atlas Cloud's signed terminal webhook (Ed25519
// over "<timestamp>.<body>", keys served as a JWKS, rotated on demand), WaveSpeed's webhook
// (HMAC-SHA256 "v3" over "<id>.<timestamp>.<body>" with the account's secret) and MiniMax's
// callback (a challenge echoed at submit, then unsigned status pushes). AI/ML API documents no
// webhook. Deliveries go through net::http_client on the simulator's one io thread, with the
// loss, duplication, delay and retries of SIM.yaml `webhooks:`; the counts go to the ledger.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "net/http_client.hpp"
#include "simulator/sim_state.hpp"

namespace shotfarm::simulator {

// The prompt trigger that makes a job's Atlas or WaveSpeed webhook carry a signature over other
// bytes than the ones sent (a forgery the receiver must refuse).
inline constexpr std::string_view bad_signature_trigger = "[sim:webhook_badsig]";

// What Atlas sends in `event_type` and X-AtlasCloud-Webhook-Event for a video job.
inline constexpr std::string_view atlas_video_event = "video.task.terminal";

// A MiniMax callback receiver has this long (wall clock) to echo the challenge.
inline constexpr std::chrono::seconds minimax_challenge_timeout{3};

// WaveSpeed: the account's webhook secret, "whsec_<...>": SIM.yaml keys[].webhook_secret, else
// derived from the seed and the key (stable across runs).
std::string webhook_secret(const sim_state& state, const key_config& key);

// The WaveSpeed v3 signature value "v3,<lower-case hex HMAC-SHA256>" of `message` under the
// secret without its "whsec_" prefix (the rest used as is, not base64-decoded).
std::string wavespeed_signature(std::string_view secret, std::string_view message);

class webhook_sender : public std::enable_shared_from_this<webhook_sender> {
public:
    webhook_sender(boost::asio::any_io_executor ex, std::shared_ptr<sim_state> state);
    ~webhook_sender();
    webhook_sender(const webhook_sender&) = delete;
    webhook_sender& operator=(const webhook_sender&) = delete;

    // A job was just accepted: if it asked for push (Atlas `webhook_url`, WaveSpeed `?webhook=`,
    // MiniMax `callback_url`), its events are scheduled (terminal; MiniMax also `processing`).
    void accepted(job& j);

    // MiniMax: POSTs {"challenge":"<random>"} to `url`; true when the receiver answered 200 with
    // a JSON object whose `challenge` is the same value within minimax_challenge_timeout.
    // Never blocks the io thread.
    boost::asio::awaitable<bool> challenge(std::string url);

    // The body of GET /api/v1/webhooks/jwks.json: the signing key and, once rotated, the one
    // before it.
    boost::json::object jwks();

    struct signing_key;

private:
    struct event;
    // `keep` holds the sender alive while the coroutine runs.
    boost::asio::awaitable<void> run_event(
        std::shared_ptr<webhook_sender> keep, std::shared_ptr<event> ev
    );
    boost::asio::awaitable<void> deliver(
        std::shared_ptr<webhook_sender> keep, std::shared_ptr<event> ev, std::string body
    );
    void schedule(job& j, const std::string& url, bool terminal);
    std::vector<std::pair<std::string, std::string>> sign(const event& ev, const std::string& body);
    const signing_key& atlas_key();

    boost::asio::any_io_executor ex_;
    std::shared_ptr<sim_state> state_;
    net::http_client client_;
    std::vector<std::unique_ptr<signing_key>> atlas_keys_;
    std::uint64_t atlas_signed_ = 0;
    std::uint64_t challenges_ = 0;
};

}  // namespace shotfarm::simulator
