// Webhook deliveries as a hostile sender could make them (providers/webhook.hpp). The first
// byte picks the case, the rest is "<header lines>\n\n<body>" (header lines "name: value"):
//   0 — a MiniMax callback (unsigned, the body is all there is);
//   1 — a WaveSpeed delivery the harness signs itself with the account's secret, so that the
//       body reaches the parser and the answer checks past the HMAC;
//   2 — a WaveSpeed delivery with the input's own headers (the fuzzer cannot forge the HMAC);
//   3 — an Atlas delivery with the input's own headers (no keys held: it cannot verify).
// Whatever comes in: no exception, a status the route knows, a reason with no secret and no
// control character, and an event only with a usable job id and a result that passed the same
// checks as a poll's.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_support.hpp"
#include "fuzz/wire_checks.hpp"
#include "providers/provider_id.hpp"
#include "providers/webhook.hpp"
#include "providers/webhook_crypto.hpp"

namespace {

using namespace shotfarm;
using providers::webhook_verdict;

constexpr std::string_view secret = "whsec_fuzzSECRETc0ffee5eed";

std::string hex(std::string_view bytes) {
    std::string out;
    for (unsigned char c : bytes) {
        out += "0123456789abcdef"[c >> 4];
        out += "0123456789abcdef"[c & 15];
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

providers::webhook_request read_request(std::string_view provider, std::string_view text) {
    providers::webhook_request req;
    req.provider = std::string(provider);
    const auto split = text.find("\n\n");
    std::string_view head =
        split == std::string_view::npos ? std::string_view{} : text.substr(0, split);
    req.body = std::string(split == std::string_view::npos ? text : text.substr(split + 2));
    while (!head.empty()) {
        const auto eol = head.find('\n');
        const std::string_view line = head.substr(0, eol);
        head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 1);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        std::string_view value = line.substr(colon + 1);
        while (value.starts_with(' ')) {
            value.remove_prefix(1);
        }
        req.headers[lower(line.substr(0, colon))] = std::string(value);
    }
    return req;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const int mode = data[0] % 4;
    const std::string_view text = fuzz::as_text(data + 1, size - 1);
    static constexpr const char* providers_by_mode[] = {
        "minimax", "wavespeed", "wavespeed", "atlas"};
    auto req = read_request(providers_by_mode[mode], text);
    const auto now = providers::webhook_clock::now();
    if (mode == 1) {
        const std::string id =
            req.headers.count("webhook-id") ? req.headers["webhook-id"] : std::string("msg_fuzz");
        const std::string ts = std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()
        );
        req.headers["webhook-id"] = id;
        req.headers["webhook-timestamp"] = ts;
        req.headers["webhook-signature"] =
            "v3," + hex(providers::hmac_sha256(secret.substr(6), id + "." + ts + "." + req.body));
    }
    static providers::jwks_cache no_keys;  // never loaded: every Atlas key id is unknown
    static providers::replay_guard seen(64);
    providers::webhook_keys keys;
    keys.wavespeed_secret = std::string(secret);
    keys.atlas_keys = mode == 3 ? &no_keys : nullptr;

    providers::webhook_outcome o;
    try {
        o = providers::verify_webhook(req, keys, seen, now);
    } catch (const std::exception& e) {
        fuzz::fail("verify_webhook threw", e.what());
    }
    const unsigned s = o.http_status;
    fuzz::require(
        s == 200 || s == 400 || s == 401 || s == 413 || s == 500,
        "an HTTP status the route knows",
        std::to_string(s)
    );
    // (The sender may quote the secret back — libFuzzer learns it from the comparisons — and
    // a reason may quote the sender: only a secret the input did not hold would be a leak.)
    fuzz::require(
        o.reason.find(secret.substr(6)) == std::string::npos ||
            text.find(secret.substr(6)) != std::string_view::npos,
        "no secret in the reason",
        o.reason
    );
    fuzz::require(!fuzz::has_control(o.reason), "no control character in the reason", o.reason);
    fuzz::require(o.reason.size() <= 1024, "a bounded reason", o.reason.substr(0, 200));
    switch (o.verdict) {
        case webhook_verdict::event: {
            fuzz::require(s == 200 && o.event.has_value(), "an event is answered 200 and set");
            const auto& ev = *o.event;
            fuzz::require(mode <= 1, "no event without a signature the sender could not forge");
            fuzz::require(
                !providers::provider_id_problem(ev.provider_job_id) &&
                    ev.provider_job_id.find_first_of("/\\") == std::string::npos,
                "an event names a usable job id",
                ev.provider_job_id
            );
            fuzz::require(ev.unverified == (mode == 0), "only MiniMax's callbacks are unverified");
            fuzz::require(!ev.unverified || ev.confirm_by_poll(), "a hint is confirmed by a poll");
            // Applied as it stands only when it passed the poll's answer checks (checking it
            // again changes nothing); MiniMax's "succeeded, URL unknown" waits for the poll.
            if (!ev.confirm_by_poll()) {
                const auto again = fuzz::check_poll(ev.provider, ev.result);
                fuzz::require(
                    again.state == ev.result.state && again.cls == ev.result.cls,
                    "the event's result is a checked one"
                );
            }
            break;
        }
        case webhook_verdict::challenge:
            fuzz::require(mode == 0 && s == 200, "only MiniMax challenges, answered 200");
            fuzz::require(
                !providers::provider_id_problem(o.challenge), "a usable challenge", o.challenge
            );
            (void)providers::challenge_reply(o.challenge);
            break;
        case webhook_verdict::duplicate:
            fuzz::require(mode == 1 && s == 200, "only a signed delivery is a duplicate");
            break;
        case webhook_verdict::need_keys:
            fuzz::require(mode == 3, "only Atlas asks for keys");
            break;
        case webhook_verdict::refused:
            fuzz::require(s != 200, "a refusal is not answered 200", o.reason);
            break;
    }
    return 0;
}
