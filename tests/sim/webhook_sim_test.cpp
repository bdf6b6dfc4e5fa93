// shotfarm-sim's provider push over loopback: Atlas's Ed25519-signed webhooks and their JWKS,
// WaveSpeed's HMAC v3 webhooks and secret route, MiniMax's challenge and status pushes, and the
// delivery faults (loss, duplicates, retries, delay). A receiver in the test (net::http_server
// on its own thread) records every POST; tests await its deliveries or the ledger's counters.
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "net/http_server.hpp"
#include "simulator/common.hpp"
#include "tests/sim/sim_test_util.hpp"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace shotfarm::testing::sim;
using namespace std::chrono_literals;
using shotfarm::simulator::encode_segment;  // the query value percent-encoded
using shotfarm::testing::bearer;
using shotfarm::testing::http_call;
using shotfarm::testing::http_reply;
using shotfarm::testing::sim_process;

// One POST the receiver got.
struct delivery {
    std::string target;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;

    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
    json::object json_body() const {
        boost::system::error_code ec;
        auto v = json::parse(body, ec);
        EXPECT_TRUE(!ec && v.is_object()) << body;
        return !ec && v.is_object() ? v.as_object() : json::object{};
    }
};

struct reply {
    unsigned status = 200;
    std::string body = "{}";
};

// A webhook receiver on 127.0.0.1:<any port>. `answer` decides each reply (the n-th delivery,
// 0-based); held(): every request is recorded, then waits for release() before it is answered.
class receiver {
public:
    using policy = std::function<reply(const delivery&, std::size_t n)>;

    explicit receiver(policy answer = {}) : answer_(std::move(answer)) {
        server_ = std::make_unique<shotfarm::net::http_server>(
            ioc_.get_executor(),
            "127.0.0.1",
            0,
            [this](shotfarm::net::http_request_t req
            ) -> asio::awaitable<shotfarm::net::http_response_t> { co_return handle(req); }
        );
        server_->start();
        thread_ = std::thread([this] { ioc_.run(); });
    }

    ~receiver() {
        release();
        server_->stop();
        ioc_.stop();
        thread_.join();
    }

    std::string url(const std::string& path = "/hook") const {
        return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
    }

    void hold() {
        std::lock_guard lock(mu_);
        held_ = true;
    }
    void release() {
        {
            std::lock_guard lock(mu_);
            held_ = false;
        }
        cv_.notify_all();
    }

    // Waits until at least n deliveries arrived; returns them all (fails the test on timeout).
    std::vector<delivery> wait_for(std::size_t n, std::chrono::seconds deadline = 20s) {
        std::unique_lock lock(mu_);
        const bool ok = cv_.wait_for(lock, deadline, [&] { return got_.size() >= n; });
        EXPECT_TRUE(ok) << "got " << got_.size() << " deliveries, waited for " << n;
        return got_;
    }

    std::vector<delivery> all() const {
        std::lock_guard lock(mu_);
        return got_;
    }

private:
    shotfarm::net::http_response_t handle(const shotfarm::net::http_request_t& req) {
        delivery d;
        d.target = std::string(req.target());
        for (const auto& f : req) {
            std::string name(f.name_string());
            for (auto& c : name) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            d.headers[name] = std::string(f.value());
        }
        d.body = req.body();
        reply r;
        {
            std::unique_lock lock(mu_);
            const auto n = got_.size();
            got_.push_back(d);
            cv_.notify_all();
            // Blocks only the receiver's own thread: the simulator is another process.
            cv_.wait(lock, [&] { return !held_; });
            if (answer_) {
                lock.unlock();
                r = answer_(d, n);
            }
        }
        shotfarm::net::http_response_t res{static_cast<http::status>(r.status), 11};
        res.set(http::field::content_type, "application/json");
        res.body() = r.body;
        return res;
    }

    asio::io_context ioc_;
    std::unique_ptr<shotfarm::net::http_server> server_;
    std::thread thread_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<delivery> got_;
    bool held_ = false;
    policy answer_;
};

// MiniMax receivers answer the challenge; everything else gets 200 {}.
reply echo_challenge(const delivery& d, std::size_t /*n*/) {
    auto body = d.json_body();
    if (const auto* c = body.if_contains("challenge")) {
        return reply{200, json::serialize(json::object{{"challenge", *c}})};
    }
    return reply{};
}

std::string yaml(const std::string& extra = "") {
    return "time_scale: 0.01\n"
           "seed: 11\n"
           "visibility_lag_s: 0\n"
           "created_fraction: 0.3\n"
           "succeeded_fraction: 0\n"
           "default_timing: {median_s: 100, sigma: 0}\n"  // 1 s of wall time
           "keys:\n"
           "  - {key: at-a, provider: atlas}\n"
           "  - {key: ws-a, provider: wavespeed}\n"
           "  - {key: ws-b, provider: wavespeed, webhook_secret: whsec_c2VjcmV0LWZvci1i}\n"
           "  - {key: mm-a, provider: minimax}\n" +
           extra;
}

std::string atlas_submit(
    const sim_process& sim, const std::string& url, const std::string& prompt
) {
    const auto r = http_call(
        sim.port(),
        http::verb::post,
        "/api/v1/model/generateVideo",
        json::serialize(json::object{
            {"model", "minimax/hailuo-02/standard"}, {"prompt", prompt}, {"webhook_url", url}}),
        bearer("at-a")
    );
    EXPECT_EQ(r.status, 200U) << r.body;
    return str(as_object(r)["data"].as_object()["id"]);
}

std::string wavespeed_submit(
    const sim_process& sim,
    const std::string& key,
    const std::string& url,
    const std::string& prompt
) {
    const auto r = http_call(
        sim.port(),
        http::verb::post,
        "/api/v3/minimax/hailuo-02/standard?webhook=" + encode_segment(url),
        json::serialize(json::object{{"prompt", prompt}}),
        bearer(key)
    );
    EXPECT_EQ(r.status, 200U) << r.body;
    return str(as_object(r)["data"].as_object()["id"]);
}

http_reply minimax_submit(const sim_process& sim, const std::string& url) {
    return http_call(
        sim.port(),
        http::verb::post,
        "/v1/video_generation",
        json::serialize(json::object{
            {"model", "MiniMax-Hailuo-2.3"}, {"prompt", "a lighthouse"}, {"callback_url", url}}),
        bearer("mm-a")
    );
}

std::string unbase64url(std::string s) {
    for (auto& c : s) {
        c = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (s.size() % 4 != 0) {
        s.push_back('=');
    }
    std::string out(s.size(), '\0');
    const int n = EVP_DecodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(s.data()),
        static_cast<int>(s.size())
    );
    EXPECT_GE(n, 0) << s;
    out.resize(static_cast<std::size_t>(std::max(n, 0)));
    // EVP_DecodeBlock counts the padding's zero bytes as data: drop one per '='.
    for (auto pad = s.size(); pad > 0 && s[pad - 1] == '='; --pad) {
        out.pop_back();
    }
    return out;
}

// The Atlas JWKS, kid -> raw 32-byte public key; checks each entry's shape.
std::map<std::string, std::string> atlas_jwks(const sim_process& sim) {
    const auto r = http_call(sim.port(), http::verb::get, "/api/v1/webhooks/jwks.json");
    EXPECT_EQ(r.status, 200U) << r.body;
    std::map<std::string, std::string> keys;
    const auto body = as_object(r);
    for (const auto& k : body.at("keys").as_array()) {
        const auto& o = k.as_object();
        EXPECT_EQ(str(o.at("kty")), "OKP");
        EXPECT_EQ(str(o.at("crv")), "Ed25519");
        EXPECT_EQ(str(o.at("alg")), "EdDSA");
        EXPECT_EQ(str(o.at("use")), "sig");
        const auto x = unbase64url(str(o.at("x")));
        EXPECT_EQ(x.size(), 32U);
        keys[str(o.at("kid"))] = x;
    }
    return keys;
}

bool ed25519_verifies(
    const std::string& public_key, const std::string& message, const std::string& signature
) {
    EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519,
        nullptr,
        reinterpret_cast<const unsigned char*>(public_key.data()),
        public_key.size()
    );
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = pkey != nullptr && ctx != nullptr &&
                    EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
                    EVP_DigestVerify(
                        ctx,
                        reinterpret_cast<const unsigned char*>(signature.data()),
                        signature.size(),
                        reinterpret_cast<const unsigned char*>(message.data()),
                        message.size()
                    ) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return ok;
}

// Whether an Atlas delivery's signature verifies with the JWKS key its Key-Id names.
bool atlas_verifies(const delivery& d, const std::map<std::string, std::string>& jwks) {
    const auto key = jwks.find(d.header("x-atlascloud-webhook-key-id"));
    if (key == jwks.end()) {
        ADD_FAILURE() << "unknown kid " << d.header("x-atlascloud-webhook-key-id");
        return false;
    }
    const auto sig = unbase64url(d.header("x-atlascloud-webhook-signature-ed25519"));
    EXPECT_EQ(sig.size(), 64U);
    return ed25519_verifies(
        key->second, d.header("x-atlascloud-webhook-timestamp") + "." + d.body, sig
    );
}

std::string hmac_v3(std::string secret, const std::string& message) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(
        EVP_sha256(),
        secret.data(),
        static_cast<int>(secret.size()),
        reinterpret_cast<const unsigned char*>(message.data()),
        message.size(),
        mac,
        &len
    );
    std::string hex = "v3,";
    for (unsigned int i = 0; i < len; ++i) {
        static constexpr char digits[] = "0123456789abcdef";
        hex += {digits[mac[i] >> 4], digits[mac[i] & 0xf]};
    }
    return hex;
}

std::string wavespeed_secret(const sim_process& sim, const std::string& key) {
    const auto r =
        http_call(sim.port(), http::verb::get, "/api/v3/webhook/secret", {}, bearer(key));
    EXPECT_EQ(r.status, 200U) << r.body;
    auto body = as_object(r);
    EXPECT_EQ(body["code"], 200);
    EXPECT_EQ(str(body["message"]), "success");
    return str(body["data"].as_object()["secret"]);
}

bool wavespeed_verifies(const delivery& d, const std::string& secret) {
    const std::string prefix = "whsec_";
    EXPECT_EQ(secret.rfind(prefix, 0), 0U) << "secret without whsec_";
    const auto message =
        d.header("webhook-id") + "." + d.header("webhook-timestamp") + "." + d.body;
    return hmac_v3(secret.substr(prefix.size()), message) == d.header("webhook-signature");
}

const json::object& hooks(const json::value& ledger, const std::string& provider) {
    return ledger.at("webhooks").at(provider).as_object();
}

std::int64_t count(const json::value& ledger, const std::string& provider, const char* field) {
    return hooks(ledger, provider).at(field).to_number<std::int64_t>();
}

// Waits until the ledger's webhook counter reaches `want`.
void await_counter(
    const sim_process& sim, const std::string& provider, const char* field, std::int64_t want
) {
    poll_until([&] { return count(sim.ledger(), provider, field) >= want; });
    EXPECT_EQ(count(sim.ledger(), provider, field), want) << provider << "." << field;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

TEST(SimWebhooks, AtlasTerminalWebhookIsSignedWithTheJwksKeyOverTheExactBody) {
    receiver rcv;
    sim_process sim(yaml());
    const auto ok_id = atlas_submit(sim, rcv.url(), "a red kite over dunes");
    const auto fail_id = atlas_submit(sim, rcv.url(), "a storm [sim:fail]");
    const auto got = rcv.wait_for(2);
    ASSERT_EQ(got.size(), 2U);
    const auto jwks = atlas_jwks(sim);
    ASSERT_EQ(jwks.size(), 1U);

    std::map<std::string, delivery> by_id;
    for (const auto& d : got) {
        EXPECT_EQ(d.target, "/hook");
        EXPECT_EQ(d.header("content-type"), "application/json");
        EXPECT_EQ(d.header("x-atlascloud-webhook-event"), "video.task.terminal");
        EXPECT_NEAR(std::stoll(d.header("x-atlascloud-webhook-timestamp")), unix_now(), 30);
        EXPECT_TRUE(atlas_verifies(d, jwks)) << d.body;
        // The signature covers these exact bytes: one byte more or less does not verify.
        auto tampered = d;
        tampered.body += " ";
        EXPECT_FALSE(atlas_verifies(tampered, jwks));
        by_id[d.header("x-atlascloud-webhook-id")] = d;
    }
    ASSERT_TRUE(by_id.contains(ok_id));
    ASSERT_TRUE(by_id.contains(fail_id));

    auto ok = by_id[ok_id].json_body();
    EXPECT_EQ(str(ok["session_id"]), ok_id);
    EXPECT_EQ(str(ok["event_type"]), "video.task.terminal");
    EXPECT_EQ(str(ok["status"]), "OK");
    EXPECT_EQ(str(ok["error"]), "");
    // The payload is what a poll of the prediction answers in `data`.
    const auto poll = http_call(
        sim.port(), http::verb::get, "/api/v1/model/prediction/" + ok_id, {}, bearer("at-a")
    );
    EXPECT_EQ(ok["payload"], as_object(poll)["data"]);
    EXPECT_EQ(str(ok["payload"].as_object()["status"]), "completed");
    EXPECT_EQ(ok["payload"].as_object()["outputs"].as_array().size(), 1U);

    auto failed = by_id[fail_id].json_body();
    EXPECT_EQ(str(failed["status"]), "ERROR");
    EXPECT_FALSE(str(failed["error"]).empty());
    EXPECT_EQ(str(failed["payload"].as_object()["status"]), "failed");

    const auto ledger = sim.ledger();
    EXPECT_EQ(count(ledger, "atlas", "sent"), 2);
    EXPECT_EQ(count(ledger, "atlas", "delivered"), 2);
    EXPECT_EQ(count(ledger, "atlas", "retried"), 0);
    const auto* entry = ledger_entry(ledger, ok_id);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->at("webhook_posts"), 1);
    // Sent once the video was ready (same RFC 3339 format: compares as text).
    ASSERT_TRUE(entry->at("webhook_sent_at").is_string());
    EXPECT_GE(str(entry->at("webhook_sent_at")), str(entry->at("ready_at")));
}

TEST(SimWebhooks, AtlasRotationSignsWithANewKidAndTheJwksListsBoth) {
    receiver rcv;
    sim_process sim(yaml("webhooks: {atlas_rotate_after: 1}\n"));
    const auto before = atlas_jwks(sim);
    ASSERT_EQ(before.size(), 1U);
    atlas_submit(sim, rcv.url(), "first");
    const auto first = rcv.wait_for(1).at(0);
    atlas_submit(sim, rcv.url(), "second");
    const auto second = rcv.wait_for(2).at(1);

    const auto kid1 = first.header("x-atlascloud-webhook-key-id");
    const auto kid2 = second.header("x-atlascloud-webhook-key-id");
    EXPECT_EQ(kid1, before.begin()->first);
    EXPECT_NE(kid1, kid2);
    const auto after = atlas_jwks(sim);
    ASSERT_EQ(after.size(), 2U);
    ASSERT_TRUE(after.contains(kid1));
    ASSERT_TRUE(after.contains(kid2));
    EXPECT_TRUE(atlas_verifies(first, after));
    EXPECT_TRUE(atlas_verifies(second, after));
    // Each is signed by its own key only.
    auto swapped = second;
    swapped.headers["x-atlascloud-webhook-key-id"] = kid1;
    EXPECT_FALSE(atlas_verifies(swapped, after));

    // The keys come from the seed: a second simulator with the same seed serves the same first
    // key.
    sim_process again(yaml());
    EXPECT_EQ(atlas_jwks(again), before);
}

TEST(SimWebhooks, BadSignatureTriggerSignsOtherBytes) {
    receiver rcv;
    sim_process sim(yaml());
    const auto bad_atlas = atlas_submit(sim, rcv.url(), "forged [sim:webhook_badsig]");
    const auto bad_ws = wavespeed_submit(sim, "ws-a", rcv.url(), "forged [sim:webhook_badsig]");
    const auto good_ws = wavespeed_submit(sim, "ws-a", rcv.url(), "genuine");
    const auto got = rcv.wait_for(3);
    const auto jwks = atlas_jwks(sim);
    const auto secret = wavespeed_secret(sim, "ws-a");
    int checked = 0;
    for (const auto& d : got) {
        if (d.header("x-atlascloud-webhook-id") == bad_atlas) {
            EXPECT_FALSE(atlas_verifies(d, jwks));
            ++checked;
        } else {
            const auto id = str(d.json_body()["id"]);
            EXPECT_EQ(wavespeed_verifies(d, secret), id == good_ws) << id;
            checked += id == bad_ws || id == good_ws ? 1 : 0;
        }
    }
    EXPECT_EQ(checked, 3);
}

TEST(SimWebhooks, WaveSpeedWebhookIsTheBarePredictionSignedV3WithTheAccountSecret) {
    receiver rcv;
    sim_process sim(yaml());
    const auto id_a = wavespeed_submit(sim, "ws-a", rcv.url("/ws?x=1"), "a tide pool");
    const auto id_b = wavespeed_submit(sim, "ws-b", rcv.url("/ws?x=1"), "a [sim:moderate] tide");
    const auto got = rcv.wait_for(2);
    ASSERT_EQ(got.size(), 2U);

    const auto secret_a = wavespeed_secret(sim, "ws-a");
    const auto secret_b = wavespeed_secret(sim, "ws-b");
    EXPECT_EQ(secret_b, "whsec_c2VjcmV0LWZvci1i");  // keys[].webhook_secret
    EXPECT_NE(secret_a, secret_b);
    EXPECT_GT(secret_a.size(), 6U + 16U);
    // The secret route is WaveSpeed's, behind its auth.
    EXPECT_EQ(http_call(sim.port(), http::verb::get, "/api/v3/webhook/secret").status, 401U);

    for (const auto& d : got) {
        EXPECT_EQ(d.target, "/ws?x=1");
        auto body = d.json_body();
        const auto id = str(body["id"]);
        const bool is_a = id == id_a;
        ASSERT_TRUE(is_a || id == id_b) << id;
        EXPECT_TRUE(wavespeed_verifies(d, is_a ? secret_a : secret_b)) << d.body;
        EXPECT_FALSE(wavespeed_verifies(d, is_a ? secret_b : secret_a));
        // The secret is used as text after the prefix, never base64-decoded.
        const auto text = (is_a ? secret_a : secret_b).substr(6);
        const auto decoded = unbase64url(text);
        EXPECT_NE(
            hmac_v3(
                decoded, d.header("webhook-id") + "." + d.header("webhook-timestamp") + "." + d.body
            ),
            d.header("webhook-signature")
        );
        EXPECT_EQ(d.header("webhook-id").rfind("msg_", 0), 0U);
        EXPECT_NEAR(std::stoll(d.header("webhook-timestamp")), unix_now(), 30);
        EXPECT_FALSE(body.contains("code"));  // not wrapped in {code, data}
        EXPECT_EQ(str(body["model"]), "minimax/hailuo-02/standard");
        EXPECT_TRUE(body["urls"].as_object().contains("get"));
        EXPECT_TRUE(body["created_at"].is_string());
        EXPECT_TRUE(body["timings"].as_object().contains("inference"));
        EXPECT_EQ(
            str(body["input"].as_object()["prompt"]), is_a ? "a tide pool" : "a [sim:moderate] tide"
        );
        if (is_a) {
            EXPECT_EQ(str(body["status"]), "completed");
            ASSERT_EQ(body["outputs"].as_array().size(), 1U);
            EXPECT_EQ(body["has_nsfw_contents"], (json::array{false}));
            EXPECT_EQ(str(body["error"]), "");
            EXPECT_EQ(fetch(str(body["outputs"].as_array()[0])).status, 200U);
        } else {
            EXPECT_EQ(str(body["status"]), "failed");
            EXPECT_FALSE(str(body["error"]).empty());
        }
    }
    EXPECT_EQ(count(sim.ledger(), "wavespeed", "delivered"), 2);
}

TEST(SimWebhooks, MiniMaxEchoedChallengeAcceptsTheSubmitThenPushesEachChange) {
    receiver rcv(echo_challenge);
    sim_process sim(yaml());
    const auto submit = minimax_submit(sim, rcv.url("/mm"));
    ASSERT_EQ(submit.status, 200U);
    auto answer = as_object(submit);
    ASSERT_EQ(answer["base_resp"].as_object()["status_code"], 0) << submit.body;
    const auto task = str(answer["task_id"]);

    const auto got = rcv.wait_for(3);
    ASSERT_EQ(got.size(), 3U);
    const auto challenge = got[0].json_body();
    ASSERT_EQ(challenge.size(), 1U) << got[0].body;
    EXPECT_GE(str(challenge.at("challenge")).size(), 16U);

    auto processing = got[1].json_body();
    EXPECT_EQ(str(processing["task_id"]), task);
    EXPECT_EQ(str(processing["status"]), "processing");
    EXPECT_EQ(processing["base_resp"].as_object()["status_code"], 0);

    auto success = got[2].json_body();
    EXPECT_EQ(str(success["task_id"]), task);
    EXPECT_EQ(str(success["status"]), "success");
    EXPECT_EQ(success["base_resp"].as_object()["status_code"], 0);
    const auto query = as_object(http_call(
        sim.port(),
        http::verb::get,
        "/v1/query/video_generation?task_id=" + task,
        {},
        bearer("mm-a")
    ));
    EXPECT_EQ(str(success["file_id"]), str(query.at("file_id")));
    EXPECT_FALSE(str(success["file_id"]).empty());
    for (const auto& d : got) {
        EXPECT_EQ(d.header("x-atlascloud-webhook-signature-ed25519"), "");  // unsigned
        EXPECT_EQ(d.header("webhook-signature"), "");
    }

    const auto ledger = sim.ledger();
    EXPECT_EQ(count(ledger, "minimax", "challenges"), 1);
    EXPECT_EQ(count(ledger, "minimax", "challenge_failed"), 0);
    EXPECT_EQ(count(ledger, "minimax", "sent"), 2);
    EXPECT_EQ(count(ledger, "minimax", "delivered"), 2);
    EXPECT_GT(ledger.at("spent_usd").at("mm-a").as_double(), 0.0);
}

TEST(SimWebhooks, MiniMaxWrongEchoRefusesTheSubmitUnbilled) {
    receiver rcv([](const delivery&, std::size_t) {
        return reply{200, R"({"challenge":"not-the-value"})"};
    });
    sim_process sim(yaml());
    const auto submit = minimax_submit(sim, rcv.url());
    ASSERT_EQ(submit.status, 200U);
    auto answer = as_object(submit);
    EXPECT_EQ(answer["base_resp"].as_object()["status_code"], 2013) << submit.body;
    EXPECT_NE(
        str(answer["base_resp"].as_object()["status_msg"]).find("callback_url"), std::string::npos
    );
    EXPECT_FALSE(answer.contains("task_id"));

    const auto ledger = sim.ledger();
    EXPECT_EQ(ledger.at("submissions").as_array().size(), 0U);
    EXPECT_EQ(ledger.at("spent_usd").at("mm-a"), 0.0);
    EXPECT_EQ(count(ledger, "minimax", "challenge_failed"), 1);
    EXPECT_EQ(ledger.at("rejected_reasons").at("callback"), 1);
    EXPECT_EQ(rcv.all().size(), 1U);  // the challenge only
}

TEST(SimWebhooks, MiniMaxChallengeWaitsWithoutBlockingTheSimulatorAndTimesOutAfterThreeSeconds) {
    receiver rcv(echo_challenge);
    sim_process sim(yaml());
    rcv.hold();
    // Echoed once released: while held, the simulator must keep answering others.
    auto accepted = std::async(std::launch::async, [&] { return minimax_submit(sim, rcv.url()); });
    rcv.wait_for(1);
    const auto ledger = http_call(sim.port(), http::verb::get, "/_sim/ledger", {}, {}, 2s);
    EXPECT_EQ(ledger.status, 200U);
    EXPECT_EQ(accepted.wait_for(0s), std::future_status::timeout);  // still waiting for the echo
    rcv.release();
    const auto ok = accepted.get();
    EXPECT_EQ(as_object(ok)["base_resp"].as_object()["status_code"], 0) << ok.body;

    // Held past the deadline: the simulator gives up by itself after 3 s and refuses.
    rcv.hold();
    const auto started = std::chrono::steady_clock::now();
    auto refused = std::async(std::launch::async, [&] { return minimax_submit(sim, rcv.url()); });
    const auto answer = refused.get();
    const auto waited = std::chrono::steady_clock::now() - started;
    rcv.release();
    EXPECT_EQ(as_object(answer)["base_resp"].as_object()["status_code"], 2013) << answer.body;
    EXPECT_GE(waited, 2900ms);
    EXPECT_LT(waited, 10s);
    EXPECT_EQ(count(sim.ledger(), "minimax", "challenge_failed"), 1);
    EXPECT_EQ(submission_count(sim), 1U);
}

TEST(SimWebhooks, LossOneDeliversNothingAndCountsEveryEventLost) {
    receiver rcv(echo_challenge);
    sim_process sim(yaml("webhooks: {loss: 1}\n"));
    const auto atlas_id = atlas_submit(sim, rcv.url(), "lost");
    wavespeed_submit(sim, "ws-a", rcv.url(), "lost");
    ASSERT_EQ(as_object(minimax_submit(sim, rcv.url()))["base_resp"].as_object()["status_code"], 0);
    await_counter(sim, "atlas", "lost", 1);
    await_counter(sim, "wavespeed", "lost", 1);
    await_counter(sim, "minimax", "lost", 2);  // processing and success
    const auto ledger = sim.ledger();
    for (const auto* p : {"atlas", "wavespeed", "minimax"}) {
        EXPECT_EQ(count(ledger, p, "sent"), 0) << p;
        EXPECT_EQ(count(ledger, p, "delivered"), 0) << p;
    }
    EXPECT_TRUE(ledger_entry(ledger, atlas_id)->at("webhook_sent_at").is_null());
    const auto got = rcv.all();
    ASSERT_EQ(got.size(), 1U);  // the MiniMax challenge (loss is about events, not the echo)
    EXPECT_TRUE(got[0].json_body().contains("challenge"));
}

TEST(SimWebhooks, DuplicateOneDeliversEachEventTwiceWithTheSameId) {
    receiver rcv;
    sim_process sim(yaml("webhooks: {duplicate: 1}\n"));
    const auto atlas_id = atlas_submit(sim, rcv.url(), "twice");
    const auto ws_id = wavespeed_submit(sim, "ws-a", rcv.url(), "twice");
    const auto got = rcv.wait_for(4);
    ASSERT_EQ(got.size(), 4U);
    std::map<std::string, std::vector<delivery>> by_event;
    for (const auto& d : got) {
        const auto atlas = d.header("x-atlascloud-webhook-id");
        by_event[atlas.empty() ? d.header("webhook-id") : atlas].push_back(d);
    }
    ASSERT_EQ(by_event.size(), 2U);
    ASSERT_TRUE(by_event.contains(atlas_id));
    for (const auto& [id, copies] : by_event) {
        ASSERT_EQ(copies.size(), 2U) << id;
        EXPECT_EQ(copies[0].body, copies[1].body) << id;
        if (id != atlas_id) {
            EXPECT_EQ(str(copies[0].json_body()["id"]), ws_id);
        }
    }
    const auto ledger = sim.ledger();
    for (const auto* p : {"atlas", "wavespeed"}) {
        EXPECT_EQ(count(ledger, p, "duplicated"), 1) << p;
        EXPECT_EQ(count(ledger, p, "sent"), 2) << p;
    }
    await_counter(sim, "atlas", "delivered", 2);
    EXPECT_EQ(ledger_entry(sim.ledger(), atlas_id)->at("webhook_posts"), 2);
}

TEST(SimWebhooks, ANon2xxAnswerIsRetriedWithTheSameEventAndRetriesRunOut) {
    receiver rcv([](const delivery&, std::size_t n) {
        return n == 0 ? reply{500, "{}"} : reply{};
    });
    sim_process sim(yaml());
    const auto id = wavespeed_submit(sim, "ws-a", rcv.url(), "retry me");
    const auto got = rcv.wait_for(2);
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(got[0].header("webhook-id"), got[1].header("webhook-id"));
    EXPECT_EQ(got[0].body, got[1].body);
    const auto secret = wavespeed_secret(sim, "ws-a");
    EXPECT_TRUE(wavespeed_verifies(got[0], secret));
    EXPECT_TRUE(wavespeed_verifies(got[1], secret));
    await_counter(sim, "wavespeed", "delivered", 1);
    auto ledger = sim.ledger();
    EXPECT_EQ(count(ledger, "wavespeed", "retried"), 1);
    EXPECT_EQ(count(ledger, "wavespeed", "sent"), 1);
    EXPECT_EQ(count(ledger, "wavespeed", "failed"), 0);
    EXPECT_EQ(ledger_entry(ledger, id)->at("webhook_posts"), 2);

    // A receiver that always fails: the first POST and `retries` more, then given up.
    receiver down([](const delivery&, std::size_t) { return reply{503, "{}"}; });
    sim_process sim2(yaml("webhooks: {retries: 2}\n"));
    atlas_submit(sim2, down.url(), "nobody home");
    await_counter(sim2, "atlas", "failed", 1);
    EXPECT_EQ(down.all().size(), 3U);
    ledger = sim2.ledger();
    EXPECT_EQ(count(ledger, "atlas", "retried"), 2);
    EXPECT_EQ(count(ledger, "atlas", "delivered"), 0);
}

TEST(SimWebhooks, DelayHoldsTheDeliveryBackInScaledProviderSeconds) {
    receiver rcv;
    sim_process sim(yaml("webhooks: {delay_s: 100}\n"));  // 1 s of wall time
    const auto id = atlas_submit(sim, rcv.url(), "later");
    rcv.wait_for(1);
    const auto ledger = sim.ledger();
    const auto* entry = ledger_entry(ledger, id);
    ASSERT_NE(entry, nullptr);
    const auto ms = [](const std::string& iso) {
        // "YYYY-MM-DDTHH:MM:SS.mmmZ": both on the same day in a test; compare time of day.
        return ((std::stoll(iso.substr(11, 2)) * 60 + std::stoll(iso.substr(14, 2))) * 60 +
                std::stoll(iso.substr(17, 2))) *
                   1000 +
               std::stoll(iso.substr(20, 3));
    };
    const auto late = ms(str(entry->at("webhook_sent_at"))) - ms(str(entry->at("ready_at")));
    EXPECT_GE((late + 86'400'000) % 86'400'000, 1000);
    EXPECT_LT((late + 86'400'000) % 86'400'000, 5000);
}

}  // namespace
