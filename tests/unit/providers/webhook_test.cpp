// Webhook verification without a socket (providers/webhook.hpp): Atlas deliveries signed here
// with a real Ed25519 key made by OpenSSL, WaveSpeed ones with an HMAC computed here by OpenSSL
// directly (not by the code under test), MiniMax's unsigned pushes; forged, stale, replayed and
// hostile deliveries are refused (or reported duplicate) and never throw.
#include "providers/webhook.hpp"

#include <cctype>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace shotfarm::providers {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const webhook_clock::time_point now{std::chrono::seconds(1'760'000'000)};

std::string unix_seconds(webhook_clock::time_point t) {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count()
    );
}

// --- Atlas: an Ed25519 key pair, a JWKS naming it, deliveries signed the way Atlas signs.

struct pkey_free {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

pkey_ptr new_ed25519_key() {
    pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    EXPECT_NE(key, nullptr);
    return key;
}

std::string raw_public_key(EVP_PKEY* key) {
    std::string raw(32, '\0');
    std::size_t length = raw.size();
    EXPECT_EQ(
        EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &length), 1
    );
    EXPECT_EQ(length, 32u);
    return raw;
}

std::string ed25519_sign(EVP_PKEY* key, const std::string& message) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key), 1);
    std::string sig(64, '\0');
    std::size_t length = sig.size();
    EXPECT_EQ(
        EVP_DigestSign(
            ctx.get(),
            reinterpret_cast<unsigned char*>(sig.data()),
            &length,
            reinterpret_cast<const unsigned char*>(message.data()),
            message.size()
        ),
        1
    );
    EXPECT_EQ(length, 64u);
    return sig;
}

std::string jwks(const std::vector<std::pair<std::string, EVP_PKEY*>>& keys) {
    json::array list;
    for (const auto& [kid, key] : keys) {
        list.push_back(json::object{
            {"kty", "OKP"},
            {"crv", "Ed25519"},
            {"use", "sig"},
            {"kid", kid},
            {"x", base64url_encode(raw_public_key(key))}});
    }
    return json::serialize(json::object{{"keys", std::move(list)}});
}

std::string atlas_body(
    const std::string& session_id,
    const std::string& status = "completed",
    const std::string& output = "https://storage.atlascloud.ai/outputs/result.mp4"
) {
    json::object payload{{"id", session_id}, {"status", status}};
    if (status == "completed") {
        payload["outputs"] = json::array{json::value(output)};
    }
    return json::serialize(json::object{
        {"session_id", session_id},
        {"event_type", "video.task.terminal"},
        {"status", status == "completed" ? "OK" : "ERROR"},
        {"payload", std::move(payload)}});
}

webhook_request atlas_delivery(
    EVP_PKEY* key, const std::string& kid, webhook_clock::time_point at, const std::string& body
) {
    webhook_request r;
    r.provider = "atlas";
    r.body = body;
    const std::string ts = unix_seconds(at);
    r.headers["x-atlascloud-webhook-timestamp"] = ts;
    r.headers["x-atlascloud-webhook-signature-ed25519"] =
        base64url_encode(ed25519_sign(key, ts + "." + body));
    r.headers["x-atlascloud-webhook-key-id"] = kid;
    r.headers["x-atlascloud-webhook-id"] = "pred_abc123";
    r.headers["x-atlascloud-webhook-event"] = "video.task.terminal";
    return r;
}

class AtlasWebhook : public ::testing::Test {
protected:
    void SetUp() override {
        key_ = new_ed25519_key();
        ASSERT_EQ(cache_.load(jwks({{"k1", key_.get()}}), now), std::nullopt);
        keys_.atlas_keys = &cache_;
    }

    webhook_outcome verify(const webhook_request& r, webhook_clock::time_point at = now) {
        return verify_webhook(r, keys_, guard_, at);
    }

    webhook_request signed_body(const std::string& body, webhook_clock::time_point at = now) {
        return atlas_delivery(key_.get(), "k1", at, body);
    }

    pkey_ptr key_;
    jwks_cache cache_;
    webhook_keys keys_;
    replay_guard guard_;
};

// A verified delivery of a finished video, to be applied as it stands.
void expect_finished(
    const webhook_outcome& o,
    const std::string& provider,
    const std::string& job_id,
    const std::string& webhook_id,
    const std::string& video_url
) {
    ASSERT_EQ(o.verdict, webhook_verdict::event) << o.reason;
    EXPECT_EQ(o.http_status, 200u);
    ASSERT_TRUE(o.event);
    EXPECT_EQ(o.event->provider, provider);
    EXPECT_EQ(o.event->provider_job_id, job_id);
    EXPECT_EQ(o.event->webhook_id, webhook_id);
    EXPECT_FALSE(o.event->unverified);
    EXPECT_FALSE(o.event->confirm_by_poll());
    EXPECT_EQ(o.event->result.cls, outcome_class::ok);
    EXPECT_EQ(o.event->result.state, remote_state::succeeded);
    EXPECT_EQ(o.event->result.video_url, video_url);
}

TEST_F(AtlasWebhook, ValidDeliveryIsAnEvent) {
    expect_finished(
        verify(signed_body(atlas_body("pred_abc123"))),
        "atlas",
        "pred_abc123",
        "pred_abc123",
        "https://storage.atlascloud.ai/outputs/result.mp4"
    );
    EXPECT_EQ(guard_.size(), 1u);
}

TEST_F(AtlasWebhook, OneByteOfTheBodyChangedIsRefused) {
    auto r = signed_body(atlas_body("pred_abc123"));
    r.body[r.body.find("result.mp4")] = 'R';
    const auto o = verify(r);
    EXPECT_EQ(o.verdict, webhook_verdict::refused);
    EXPECT_EQ(o.http_status, 401u);
    EXPECT_FALSE(o.event);
    EXPECT_NE(o.reason.find("signature does not match"), std::string::npos) << o.reason;
    EXPECT_EQ(guard_.size(), 0u) << "a refused delivery is not remembered";
}

TEST_F(AtlasWebhook, TheTimestampIsSignedToo) {
    auto r = signed_body(atlas_body("pred_abc123"), now - 10s);
    r.headers["x-atlascloud-webhook-timestamp"] = unix_seconds(now);  // freshened by a replayer
    EXPECT_EQ(verify(r).verdict, webhook_verdict::refused);
}

TEST_F(AtlasWebhook, AKeyNotInTheJwksCannotSign) {
    auto other = new_ed25519_key();
    const auto o = verify(atlas_delivery(other.get(), "k1", now, atlas_body("pred_abc123")));
    EXPECT_EQ(o.verdict, webhook_verdict::refused);
    EXPECT_EQ(o.http_status, 401u);
}

TEST_F(AtlasWebhook, UnknownKidAsksForTheKeysOnceAMinute) {
    auto rotated = new_ed25519_key();
    const auto r = atlas_delivery(rotated.get(), "k2", now, atlas_body("pred_abc123"));
    auto o = verify(r);
    ASSERT_EQ(o.verdict, webhook_verdict::need_keys) << o.reason;
    EXPECT_EQ(o.kid, "k2");
    EXPECT_EQ(o.http_status, 401u);
    EXPECT_FALSE(o.event);

    // The caller's dance: claim the fetch, load the new JWKS, verify once more.
    ASSERT_TRUE(cache_.claim_fetch(now));
    ASSERT_EQ(cache_.load(jwks({{"k1", key_.get()}, {"k2", rotated.get()}}), now), std::nullopt);
    EXPECT_EQ(cache_.size(), 2u);
    EXPECT_EQ(cache_.fetched_at(), now);
    o = verify(r);
    ASSERT_EQ(o.verdict, webhook_verdict::event) << o.reason;

    // A forged kid cannot make the daemon fetch more than once a minute.
    EXPECT_FALSE(cache_.claim_fetch(now + 59s));
    EXPECT_EQ(
        verify(atlas_delivery(rotated.get(), "k9", now, atlas_body("p2"))).verdict,
        webhook_verdict::need_keys
    );
    EXPECT_TRUE(cache_.claim_fetch(now + 60s));
    EXPECT_FALSE(cache_.claim_fetch(now + 61s));
}

TEST_F(AtlasWebhook, WithoutACacheEveryDeliveryNeedsKeys) {
    keys_.atlas_keys = nullptr;
    EXPECT_EQ(verify(signed_body(atlas_body("pred_abc123"))).verdict, webhook_verdict::need_keys);
    jwks_cache empty;
    EXPECT_TRUE(empty.claim_fetch(now)) << "never fetched: fetch now";
    EXPECT_EQ(empty.fetched_at(), std::nullopt);
}

TEST_F(AtlasWebhook, TimestampWindowIsThreeHundredSecondsEitherWay) {
    const auto body = atlas_body("pred_abc123");
    for (auto skew : {301s, -301s}) {
        const auto o = verify(signed_body(body, now - skew));
        EXPECT_EQ(o.verdict, webhook_verdict::refused) << skew.count();
        EXPECT_EQ(o.http_status, 401u);
        EXPECT_NE(o.reason.find("outside the ±300 s window"), std::string::npos) << o.reason;
    }
    EXPECT_EQ(verify(signed_body(body, now - 300s)).verdict, webhook_verdict::event);
    EXPECT_EQ(verify(signed_body(atlas_body("p2"), now + 300s)).verdict, webhook_verdict::event);
    keys_.window = 10s;  // configurable
    EXPECT_EQ(verify(signed_body(atlas_body("p3"), now - 11s)).verdict, webhook_verdict::refused);
}

TEST_F(AtlasWebhook, ReplayIsADuplicateAndAppliesNothing) {
    const auto r = signed_body(atlas_body("pred_abc123"), now - 5s);
    ASSERT_EQ(verify(r).verdict, webhook_verdict::event);
    // Replayed as it was, and with another (unsigned) webhook-id header.
    auto again = r;
    again.headers["x-atlascloud-webhook-id"] = "something-else";
    for (const auto& delivery : {r, again}) {
        const auto o = verify(delivery, now + 100s);
        EXPECT_EQ(o.verdict, webhook_verdict::duplicate) << o.reason;
        EXPECT_EQ(o.http_status, 200u);
        EXPECT_FALSE(o.event);
    }
    // Once its timestamp leaves the window the id is forgotten and the timestamp refuses it.
    const auto late = verify(r, now + 296s);
    EXPECT_EQ(late.verdict, webhook_verdict::refused) << late.reason;
}

TEST_F(AtlasWebhook, FailureWordsBesideThePayloadAndModeration) {
    auto body = json::parse(atlas_body("pred_1", "failed")).as_object();
    body["error"] = "content policy violation";
    body["payload"].as_object()["error_code"] = 1039;
    auto o = verify(signed_body(json::serialize(body)));
    ASSERT_EQ(o.verdict, webhook_verdict::event) << o.reason;
    EXPECT_EQ(o.event->result.state, remote_state::failed);
    EXPECT_EQ(o.event->result.cls, outcome_class::rejected_input);
    EXPECT_NE(o.event->result.message.find("content policy violation"), std::string::npos);

    o = verify(signed_body(atlas_body("pred_2", "timeout")));
    ASSERT_EQ(o.verdict, webhook_verdict::event) << o.reason;
    EXPECT_EQ(o.event->result.state, remote_state::failed);
    EXPECT_EQ(o.event->result.cls, outcome_class::retryable);
}

TEST_F(AtlasWebhook, OtherEventTypesAndUndocumentedStatusesAreRefused) {
    auto body = json::parse(atlas_body("pred_1")).as_object();
    body["event_type"] = "image.task.terminal";
    auto o = verify(signed_body(json::serialize(body)));
    EXPECT_EQ(o.verdict, webhook_verdict::refused);
    EXPECT_NE(o.reason.find("'image.task.terminal', not video.task.terminal"), std::string::npos)
        << o.reason;

    o = verify(signed_body(atlas_body("pred_2", "exploded")));
    EXPECT_EQ(o.verdict, webhook_verdict::refused);
    EXPECT_EQ(o.http_status, 400u);
    EXPECT_NE(o.reason.find("which it does not document"), std::string::npos) << o.reason;
}

TEST_F(AtlasWebhook, MissingOrMalformedSignatureHeaders) {
    const auto good = signed_body(atlas_body("pred_1"));
    for (const char* name :
         {"x-atlascloud-webhook-timestamp",
          "x-atlascloud-webhook-signature-ed25519",
          "x-atlascloud-webhook-key-id"}) {
        auto r = good;
        r.headers.erase(name);
        const auto o = verify(r);
        EXPECT_EQ(o.verdict, webhook_verdict::refused) << name;
        EXPECT_TRUE(o.reason.starts_with("missing header")) << o.reason;
    }
    const std::pair<const char*, std::string> broken[] = {
        {"x-atlascloud-webhook-signature-ed25519", "not base64url!"},
        {"x-atlascloud-webhook-signature-ed25519", base64url_encode(std::string(63, 'a'))},
        {"x-atlascloud-webhook-signature-ed25519", std::string(100'000, 'A')},
        {"x-atlascloud-webhook-timestamp", "1760000000.5"},
        {"x-atlascloud-webhook-timestamp", "-1760000000"},
        {"x-atlascloud-webhook-timestamp", "99999999999999999999999"},
        {"x-atlascloud-webhook-key-id", "k1\r\nX-Injected: 1"},
        {"x-atlascloud-webhook-key-id", ""},
    };
    for (const auto& [name, value] : broken) {
        auto r = good;
        r.headers[name] = value;
        const auto o = verify(r);
        EXPECT_EQ(o.verdict, webhook_verdict::refused) << name;
        EXPECT_EQ(o.http_status, 401u) << name;
        EXPECT_LE(o.reason.size(), 512u);
        EXPECT_EQ(o.reason.find('\n'), std::string::npos) << o.reason;
    }
}

TEST(JwksCache, LoadsOnlyUsableEd25519KeysAndKeepsTheOldOnFailure) {
    auto key = new_ed25519_key();
    jwks_cache cache;
    const std::string x = base64url_encode(raw_public_key(key.get()));
    const std::string doc = R"({"keys":[
        {"kty":"RSA","kid":"rsa","n":"abc","e":"AQAB"},
        {"kty":"OKP","crv":"X25519","kid":"ecdh","x":")" +
                            x + R"("},
        {"kty":"OKP","crv":"Ed25519","kid":"enc","use":"enc","x":")" +
                            x + R"("},
        {"kty":"OKP","crv":"Ed25519","kid":"short","x":"AAAA"},
        {"kty":"OKP","crv":"Ed25519","kid":42,"x":")" +
                            x + R"("},
        {"kty":"OKP","crv":"Ed25519","x":")" +
                            x + R"("},
        "not an object",
        {"kty":"OKP","crv":"Ed25519","kid":"good","alg":"EdDSA","x":")" +
                            x + R"("}]})";
    ASSERT_EQ(cache.load(doc, now), std::nullopt);
    EXPECT_EQ(cache.size(), 1u);
    EXPECT_NE(cache.find("good"), nullptr);
    EXPECT_EQ(cache.find("enc"), nullptr);
    EXPECT_EQ(cache.find("short"), nullptr);

    for (const std::string& bad :
         {std::string("not json"),
          std::string(R"({"keys":{}})"),
          std::string(R"({"keys":[{"kty":"RSA","kid":"r"}]})"),
          std::string(R"([1,2])"),
          std::string(jwks_cache::max_document_bytes + 1, ' ')}) {
        const auto why = cache.load(bad, now + 1h);
        EXPECT_TRUE(why) << bad.substr(0, 40);
        EXPECT_EQ(cache.size(), 1u) << "the old keys stay";
        EXPECT_EQ(cache.fetched_at(), now);
    }
    // A rotation replaces the set: the retired key no longer verifies.
    auto next = new_ed25519_key();
    ASSERT_EQ(cache.load(jwks({{"next", next.get()}}), now + 2h), std::nullopt);
    EXPECT_EQ(cache.find("good"), nullptr);
    EXPECT_NE(cache.find("next"), nullptr);
}

// --- WaveSpeed: HMAC-SHA256 keyed by the secret without its whsec_ prefix.

std::string hex(const std::string& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// Computed with OpenSSL here, not with the code under test.
std::string openssl_hmac_hex(const std::string& key, const std::string& message) {
    unsigned char mac[32];
    unsigned int length = 0;
    HMAC(
        EVP_sha256(),
        key.data(),
        static_cast<int>(key.size()),
        reinterpret_cast<const unsigned char*>(message.data()),
        message.size(),
        mac,
        &length
    );
    return hex(std::string(reinterpret_cast<const char*>(mac), length));
}

std::string wavespeed_body(const std::string& id, const std::string& status = "completed") {
    json::object o{
        {"id", id},
        {"model", "minimax/hailuo-02/fast"},
        {"input", json::object{{"prompt", "a lighthouse"}}},
        {"outputs", json::array{}},
        {"urls", json::object{{"get", "https://api.wavespeed.ai/api/v3/predictions/" + id}}},
        {"has_nsfw_contents", json::array{false}},
        {"status", status},
        {"created_at", "2025-01-01T12:00:00.000Z"},
        {"error", status == "failed" ? "out of memory" : ""}};
    if (status == "completed") {
        o["outputs"] = json::array{json::value("https://cdn.wavespeed.ai/out.mp4")};
    }
    return json::serialize(o);
}

const std::string wavespeed_secret = "whsec_c2VjcmV0LWJ5dGVzLWhlcmU";
const std::string hmac_key = "c2VjcmV0LWJ5dGVzLWhlcmU";  // the secret after whsec_, as text

webhook_request wavespeed_delivery(
    const std::string& body,
    const std::string& signature_header,
    const std::string& id = "msg_2fa1",
    webhook_clock::time_point at = now
) {
    webhook_request r;
    r.provider = "wavespeed";
    r.body = body;
    r.headers["webhook-id"] = id;
    r.headers["webhook-timestamp"] = unix_seconds(at);
    r.headers["webhook-signature"] = signature_header;
    return r;
}

std::string v3(
    const std::string& body,
    const std::string& id = "msg_2fa1",
    webhook_clock::time_point at = now,
    const std::string& key = hmac_key
) {
    return "v3," + openssl_hmac_hex(key, id + "." + unix_seconds(at) + "." + body);
}

class WavespeedWebhook : public ::testing::Test {
protected:
    void SetUp() override { keys_.wavespeed_secret = wavespeed_secret; }
    webhook_outcome verify(const webhook_request& r, webhook_clock::time_point at = now) {
        return verify_webhook(r, keys_, guard_, at);
    }
    webhook_keys keys_;
    replay_guard guard_;
};

TEST_F(WavespeedWebhook, ValidDeliveryOfTheBareObjectIsAnEvent) {
    const auto body = wavespeed_body("pred_7c1");
    expect_finished(
        verify(wavespeed_delivery(body, v3(body))),
        "wavespeed",
        "pred_7c1",
        "msg_2fa1",
        "https://cdn.wavespeed.ai/out.mp4"
    );

    const auto failed_body = wavespeed_body("pred_8", "failed");
    const auto f = verify(wavespeed_delivery(failed_body, v3(failed_body, "msg_3"), "msg_3"));
    ASSERT_EQ(f.verdict, webhook_verdict::event) << f.reason;
    EXPECT_EQ(f.event->result.state, remote_state::failed);
    EXPECT_EQ(f.event->result.message, "out of memory");
}

TEST_F(WavespeedWebhook, ForgedHmacIsRefused) {
    const auto body = wavespeed_body("pred_7c1");
    const std::string forged[] = {
        v3(body, "msg_2fa1", now, "another-secret"),
        v3(body, "msg_2fa1", now, wavespeed_secret),  // the prefix is not part of the key
        v3(body + " "),                               // signed another body
        v3(body, "msg_other"),                        // signed another id
        v3(body, "msg_2fa1", now - 1s),               // signed another timestamp
        "v3," + std::string(64, '0'),
        "v3,zz",
        "v3,",
    };
    for (const auto& header : forged) {
        const auto o = verify(wavespeed_delivery(body, header));
        EXPECT_EQ(o.verdict, webhook_verdict::refused) << header;
        EXPECT_EQ(o.http_status, 401u);
        EXPECT_NE(o.reason.find("no v3 signature matches"), std::string::npos) << o.reason;
        EXPECT_EQ(o.reason.find(hmac_key), std::string::npos) << o.reason;
    }
    EXPECT_EQ(guard_.size(), 0u);
    const auto v1 = verify(wavespeed_delivery(body, "v1," + v3(body).substr(3)));
    EXPECT_EQ(v1.verdict, webhook_verdict::refused);
    EXPECT_NE(v1.reason.find("holds no v3 entry"), std::string::npos) << v1.reason;
}

TEST_F(WavespeedWebhook, AnyOfSeveralV3EntriesMayMatch) {
    const auto body = wavespeed_body("pred_7c1");
    const auto header = "v1,Zm9v v3," + std::string(64, 'a') + "  " + v3(body) + " v3,00";
    const auto o = verify(wavespeed_delivery(body, header));
    EXPECT_EQ(o.verdict, webhook_verdict::event) << o.reason;
    // Upper-case hex is the same signature.
    std::string upper = v3(body, "msg_b");
    for (auto& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    upper[0] = 'v';
    EXPECT_EQ(verify(wavespeed_delivery(body, upper, "msg_b")).verdict, webhook_verdict::event);
}

TEST_F(WavespeedWebhook, TheWhsecPrefixIsRemovedAndNothingDecoded) {
    const auto body = wavespeed_body("pred_7c1");
    keys_.wavespeed_secret = hmac_key;  // configured without the prefix: the same key
    EXPECT_EQ(verify(wavespeed_delivery(body, v3(body))).verdict, webhook_verdict::event);
    // A base64-decoded key would be "secret-bytes-here": signing with it must not pass.
    const auto decoded = v3(body, "msg_c", now, "secret-bytes-here");
    EXPECT_EQ(verify(wavespeed_delivery(body, decoded, "msg_c")).verdict, webhook_verdict::refused);
    keys_.wavespeed_secret = "whsec_";
    const auto o = verify(wavespeed_delivery(body, v3(body, "msg_d"), "msg_d"));
    EXPECT_EQ(o.verdict, webhook_verdict::refused);
    EXPECT_EQ(o.http_status, 500u);
    EXPECT_NE(o.reason.find("no webhook secret"), std::string::npos);
}

TEST_F(WavespeedWebhook, ReplayAndRedeliveryAreDuplicates) {
    const auto body = wavespeed_body("pred_7c1");
    const auto first = wavespeed_delivery(body, v3(body));
    ASSERT_EQ(verify(first).verdict, webhook_verdict::event);
    EXPECT_EQ(verify(first, now + 30s).verdict, webhook_verdict::duplicate);
    // WaveSpeed's own retry: the same id, a new timestamp and signature.
    const auto retry =
        wavespeed_delivery(body, v3(body, "msg_2fa1", now + 60s), "msg_2fa1", now + 60s);
    const auto o = verify(retry, now + 60s);
    EXPECT_EQ(o.verdict, webhook_verdict::duplicate);
    EXPECT_EQ(o.http_status, 200u);
    EXPECT_FALSE(o.event);
    // Another id about the same job is a new delivery (the pipeline is idempotent by job id).
    EXPECT_EQ(
        verify(wavespeed_delivery(body, v3(body, "msg_new"), "msg_new")).verdict,
        webhook_verdict::event
    );
}

TEST_F(WavespeedWebhook, StaleOrMissingHeadersAreRefused) {
    const auto body = wavespeed_body("pred_7c1");
    const auto stale = now - 301s;
    auto o = verify(wavespeed_delivery(body, v3(body, "msg_2fa1", stale), "msg_2fa1", stale));
    EXPECT_EQ(o.verdict, webhook_verdict::refused);
    EXPECT_NE(o.reason.find("301 s in the past"), std::string::npos) << o.reason;
    for (const char* name : {"webhook-id", "webhook-timestamp", "webhook-signature"}) {
        auto r = wavespeed_delivery(body, v3(body));
        r.headers.erase(name);
        o = verify(r);
        EXPECT_EQ(o.verdict, webhook_verdict::refused);
        EXPECT_EQ(o.reason, std::string("missing header ") + name);
    }
}

TEST_F(WavespeedWebhook, TheEnvelopeOfAPollIsNotAWebhookBody) {
    const std::string wrapped =
        R"({"code":200,"message":"success","data":)" + wavespeed_body("pred_7c1") + "}";
    const auto o = verify(wavespeed_delivery(wrapped, v3(wrapped)));
    EXPECT_EQ(o.verdict, webhook_verdict::refused);
    EXPECT_EQ(o.reason, "id is missing, not a string");
}

TEST_F(WavespeedWebhook, TheSecretIsNeverEchoed) {
    auto body = json::parse(wavespeed_body("pred_9", "failed")).as_object();
    body["error"] = "bad secret " + hmac_key + " and " + wavespeed_secret;
    const auto text = json::serialize(body);
    const auto o = verify(wavespeed_delivery(text, v3(text)));
    ASSERT_EQ(o.verdict, webhook_verdict::event) << o.reason;
    EXPECT_EQ(o.event->result.message.find(hmac_key), std::string::npos) << o.event->result.message;
}

// --- MiniMax: unsigned; a challenge is echoed, anything else is a hint to poll.

webhook_request minimax_delivery(const std::string& body) {
    webhook_request r;
    r.provider = "minimax";
    r.body = body;
    return r;
}

webhook_outcome verify_minimax(const std::string& body) {
    replay_guard guard;
    return verify_webhook(minimax_delivery(body), webhook_keys{}, guard, now);
}

TEST(MinimaxWebhook, ChallengeIsEchoed) {
    const auto o = verify_minimax(R"({"challenge":"1a2b-\"quoted\""})");
    ASSERT_EQ(o.verdict, webhook_verdict::challenge) << o.reason;
    EXPECT_EQ(o.http_status, 200u);
    EXPECT_EQ(o.challenge, "1a2b-\"quoted\"");
    EXPECT_EQ(
        json::parse(challenge_reply(o.challenge)), json::parse(R"({"challenge":"1a2b-\"quoted\""})")
    );
    for (const char* bad :
         {R"({"challenge":42})",
          R"({"challenge":["x"]})",
          R"({"challenge":""})",
          R"({"challenge":"a\nb"})"}) {
        EXPECT_EQ(verify_minimax(bad).verdict, webhook_verdict::refused) << bad;
    }
}

TEST(MinimaxWebhook, APushIsAnUnverifiedHint) {
    auto o = verify_minimax(
        R"({"task_id":"115334141465231360","status":"success","file_id":"205258526306433","base_resp":{"status_code":0,"status_msg":"success"}})"
    );
    ASSERT_EQ(o.verdict, webhook_verdict::event) << o.reason;
    EXPECT_EQ(o.event->provider_job_id, "115334141465231360");
    EXPECT_TRUE(o.event->unverified);
    EXPECT_TRUE(o.event->webhook_id.empty());
    EXPECT_TRUE(o.event->confirm_by_poll());
    // "Succeeded, URL unknown": the poll retrieves the file.
    EXPECT_EQ(o.event->result.cls, outcome_class::ok);
    EXPECT_EQ(o.event->result.state, remote_state::succeeded);
    EXPECT_TRUE(o.event->result.video_url.empty());

    o = verify_minimax(R"({"task_id":"1","status":"processing","base_resp":{"status_code":0}})");
    ASSERT_EQ(o.verdict, webhook_verdict::event) << o.reason;
    EXPECT_EQ(o.event->result.state, remote_state::pending);

    o = verify_minimax(
        R"({"task_id":"2","status":"Fail","base_resp":{"status_code":1026,"status_msg":"sensitive"}})"
    );
    ASSERT_EQ(o.verdict, webhook_verdict::event) << o.reason;
    EXPECT_EQ(o.event->result.state, remote_state::failed);
    EXPECT_EQ(o.event->result.cls, outcome_class::rejected_input);
    EXPECT_TRUE(o.event->confirm_by_poll()) << "unsigned: even a failure is only a hint";

    // The same push twice is two hints (nothing to remember it by); both only ask for a poll.
    replay_guard guard;
    const auto push = minimax_delivery(R"({"task_id":"3","status":"processing"})");
    EXPECT_EQ(verify_webhook(push, {}, guard, now).verdict, webhook_verdict::event);
    EXPECT_EQ(verify_webhook(push, {}, guard, now).verdict, webhook_verdict::event);
    EXPECT_EQ(guard.size(), 0u);
}

// --- Hostile deliveries: refused with a reason, bounded, and nothing thrown.

TEST_F(AtlasWebhook, HostileBodiesAreRefusedWithAReason) {
    std::string huge(60'000, 'x');
    const std::pair<std::string, std::string> cases[] = {
        {atlas_body("../../../admin/delete?x=1"), "session_id is unusable: it holds a path"},
        {atlas_body("..\\..\\windows"), "session_id is unusable: it holds a path"},
        {atlas_body(".."), "session_id is unusable"},
        {atlas_body(std::string(300, 'a')), "session_id is unusable"},
        {atlas_body("pred\x01"), "session_id is unusable"},
        {R"({"session_id":12345,"payload":{"status":"completed"}})",
         "session_id is a number, not a string"},
        {R"({"session_id":"p","payload":["completed"]})", "payload is an array, not an object"},
        {R"({"session_id":"p"})", "payload is missing, not an object"},
        {R"({"session_id":"p","event_type":7,"payload":{}})", "event_type is a number"},
        {R"({"session_id":"p","payload":{"status":")" + huge + R"("}})", "does not document"},
        {R"({"session_id":"p","payload":{"status":"completed","outputs":"x.mp4"}})",
         "without an output URL"},
        {R"({"session_id":"p","payload":{"status":"completed","outputs":["https://x/a b"]}})",
         "unusable video URL"},
        {"[1,2,3]", "not a JSON object"},
        {"\xff\xfe{garbage", "not a JSON object"},
        {std::string(1000, '[') + std::string(1000, ']'), "not a JSON object"},
        {"", "not a JSON object"},
    };
    for (const auto& [body, why] : cases) {
        webhook_outcome o;
        ASSERT_NO_THROW(o = verify(signed_body(body)));
        EXPECT_EQ(o.verdict, webhook_verdict::refused) << body.substr(0, 80);
        EXPECT_EQ(o.http_status, 400u) << body.substr(0, 80);
        EXPECT_NE(o.reason.find(why), std::string::npos) << o.reason;
        EXPECT_LE(o.reason.size(), 512u);
        EXPECT_FALSE(o.event);
    }
    EXPECT_EQ(guard_.size(), 0u) << "refused deliveries change nothing";

    // A failure message of 60 kB arrives bounded.
    auto body = json::parse(atlas_body("pred_big", "failed")).as_object();
    body["payload"].as_object()["error"] = huge;
    const auto o = verify(signed_body(json::serialize(body)));
    ASSERT_EQ(o.verdict, webhook_verdict::event) << o.reason;
    EXPECT_LE(o.event->result.message.size(), 4096u);

    // Over the body limit: refused before any parsing or signature check.
    const auto over = verify(signed_body(std::string(max_webhook_body_bytes + 1, ' ')));
    EXPECT_EQ(over.verdict, webhook_verdict::refused);
    EXPECT_EQ(over.http_status, 413u);
}

TEST_F(WavespeedWebhook, HostileBodiesAreRefusedWithAReason) {
    const std::pair<std::string, std::string> cases[] = {
        {wavespeed_body("../../etc/passwd"), "id is unusable: it holds a path separator"},
        {R"({"id":{"a":1},"status":"completed"})", "id is an object, not a string"},
        {R"({"id":["x"],"status":"completed"})", "id is an array, not a string"},
        {R"({"id":"p","status":true})", "without a status word"},
        {R"({"id":"p","status":"completed","outputs":[42]})", "without an output URL"},
        {"nul\0byte", "not a JSON object"},
    };
    for (const auto& [body, why] : cases) {
        webhook_outcome o;
        ASSERT_NO_THROW(o = verify(wavespeed_delivery(body, v3(body))));
        EXPECT_EQ(o.verdict, webhook_verdict::refused) << body;
        EXPECT_NE(o.reason.find(why), std::string::npos) << o.reason;
    }
    const std::string huge_id(1000, 'i');
    const auto body = wavespeed_body("p");
    const auto o = verify(wavespeed_delivery(body, v3(body, huge_id), huge_id));
    EXPECT_EQ(o.verdict, webhook_verdict::refused);
    EXPECT_NE(o.reason.find("webhook-id is unusable"), std::string::npos) << o.reason;
    EXPECT_EQ(o.reason.find(huge_id), std::string::npos);
    auto long_header = wavespeed_delivery(body, std::string(5000, 'v') + " " + v3(body));
    EXPECT_EQ(verify(long_header).verdict, webhook_verdict::refused);
}

TEST(MinimaxWebhook, HostileBodiesAreRefusedWithAReason) {
    const std::pair<std::string, std::string> cases[] = {
        {R"({"task_id":"../../v1/files","status":"success"})", "it holds a path separator"},
        {R"({"task_id":115334141465231360,"status":"success"})", "task_id is a number"},
        {R"({"task_id":null,"status":"success"})", "task_id is null"},
        {R"({"status":"success"})", "task_id is missing"},
        {R"({"task_id":"1","status":"Exploded"})", "does not document"},
        {R"({"task_id":"1","status":"success","file_id":".."})", "unusable file_id"},
        {R"({"task_id":"1","status":"processing","base_resp":{"status_code":1004}})",
         "names no state"},
        {R"({"task_id":"1","base_resp":{"status_code":2013}})", "names no state"},
        {"{\"task_id\":\"" + std::string(70'000, '1') + "\"}", "over the 65536-byte limit"},
    };
    for (const auto& [body, why] : cases) {
        webhook_outcome o;
        ASSERT_NO_THROW(o = verify_minimax(body));
        EXPECT_EQ(o.verdict, webhook_verdict::refused) << body.substr(0, 80);
        EXPECT_NE(o.reason.find(why), std::string::npos) << o.reason;
        EXPECT_LE(o.reason.size(), 512u);
    }
}

TEST(Webhook, RandomBodiesNeverThrowAndNeverPassUnsigned) {
    std::mt19937 rng(12);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> length(0, 300);
    const std::string pieces[] = {
        "{",
        "}",
        "[",
        "]",
        "\"",
        ":",
        ",",
        "\"session_id\"",
        "\"payload\"",
        "\"status\"",
        "\"id\"",
        "\"task_id\"",
        "\"challenge\"",
        "\"completed\"",
        "\"success\"",
        "1e999",
        "null",
        "\\u0000",
        "\"outputs\"",
        "\"https://x/y.mp4\""};
    replay_guard guard;
    jwks_cache cache;
    webhook_keys keys;
    keys.wavespeed_secret = wavespeed_secret;
    keys.atlas_keys = &cache;
    for (int i = 0; i < 3000; ++i) {
        std::string body;
        const std::size_t n = length(rng);
        for (std::size_t j = 0; j < n; ++j) {
            body += i % 2 == 0 ? std::string(1, static_cast<char>(byte(rng)))
                               : pieces[static_cast<std::size_t>(byte(rng)) % std::size(pieces)];
        }
        for (const char* provider : {"atlas", "wavespeed", "minimax", "aimlapi", ""}) {
            webhook_request r;
            r.provider = provider;
            r.body = body;
            r.headers["webhook-id"] = "m";
            r.headers["webhook-timestamp"] = unix_seconds(now);
            r.headers["webhook-signature"] = "v3," + std::string(64, 'f');
            webhook_outcome o;
            ASSERT_NO_THROW(o = verify_webhook(r, keys, guard, now));
            if (std::string_view(provider) != "minimax") {
                EXPECT_NE(o.verdict, webhook_verdict::event) << provider;
            }
            EXPECT_LE(o.reason.size(), 512u);
        }
    }
    EXPECT_EQ(guard.size(), 0u);
}

TEST(Webhook, UnknownProvidersAndLimits) {
    replay_guard guard;
    webhook_request r;
    r.provider = "aimlapi";
    r.body = "{}";
    const auto o = verify_webhook(r, {}, guard, now);
    EXPECT_EQ(o.verdict, webhook_verdict::refused);
    EXPECT_EQ(o.http_status, 404u);
    EXPECT_EQ(webhook_body_limit("atlas"), 65536u);
    EXPECT_EQ(webhook_body_limit("minimax"), 65536u);
    // WaveSpeed echoes the submit's input, which holds a 20 MB first frame as base64.
    EXPECT_GT(webhook_body_limit("wavespeed"), 26'666'668u + 65536u);
    EXPECT_LT(webhook_body_limit("wavespeed"), 27'000'000u);
    EXPECT_EQ(to_string(webhook_verdict::need_keys), "need_keys");
}

// --- The replay guard's memory.

TEST(ReplayGuard, ForgetsByTimeAndStaysWithinItsCapacity) {
    replay_guard guard(3);
    EXPECT_TRUE(guard.first_sight("atlas", "a", now + 10s, now));
    EXPECT_FALSE(guard.first_sight("atlas", "a", now + 10s, now + 1s));
    EXPECT_TRUE(guard.first_sight("wavespeed", "a", now + 10s, now)) << "keyed by provider too";
    // Past its expiry the id is forgotten (the timestamp window refuses it by then).
    EXPECT_TRUE(guard.first_sight("atlas", "a", now + 30s, now + 11s));
    EXPECT_EQ(guard.size(), 1u);

    for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(guard.first_sight(
            "atlas", "id" + std::to_string(i), now + 300s + std::chrono::seconds(i), now + 12s
        ));
        EXPECT_LE(guard.size(), 3u);
    }
    // The newest are kept; the soonest to expire went first.
    EXPECT_FALSE(guard.first_sight("atlas", "id99", now + 400s, now + 12s));
    EXPECT_FALSE(guard.first_sight("atlas", "id98", now + 400s, now + 12s));
    EXPECT_TRUE(guard.first_sight("atlas", "id0", now + 400s, now + 12s));
}

TEST(ReplayGuard, AnIdJustSeenSurvivesEviction) {
    replay_guard guard(2);
    EXPECT_TRUE(guard.first_sight("atlas", "late", now + 900s, now));
    EXPECT_TRUE(guard.first_sight("atlas", "later", now + 901s, now));
    // Expires soonest of all, yet is the one just seen: the others make room.
    EXPECT_TRUE(guard.first_sight("atlas", "soon", now + 1s, now));
    EXPECT_FALSE(guard.first_sight("atlas", "soon", now + 1s, now));
    EXPECT_EQ(guard.size(), 2u);
}

// --- base64url and hex, against RFC 4648's vectors.

TEST(WebhookCrypto, Base64urlAndHex) {
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""},
        {"f", "Zg"},
        {"fo", "Zm8"},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg"},
        {"fooba", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy"},
        {"\xfb\xff", "-_8"}};
    for (const auto& [raw, text] : vectors) {
        EXPECT_EQ(base64url_encode(raw), text);
        EXPECT_EQ(base64url_decode(text), raw) << text;
    }
    EXPECT_EQ(base64url_decode("Zm8="), "fo") << "padding is tolerated";
    for (const char* bad : {"Zm9v+", "Zm/v", "Z", "Zm9vY", "Zh", "Zm=8", "Zm9v\n"}) {
        EXPECT_EQ(base64url_decode(bad), std::nullopt) << bad;
    }
    EXPECT_EQ(hex_decode("00ffAb"), std::string("\x00\xff\xab", 3));
    EXPECT_EQ(hex_decode("abc"), std::nullopt);
    EXPECT_EQ(hex_decode("zz"), std::nullopt);
    EXPECT_TRUE(equal_constant_time("abc", "abc"));
    EXPECT_FALSE(equal_constant_time("abc", "abd"));
    EXPECT_FALSE(equal_constant_time("abc", "ab"));
    // RFC 4231 test case 2.
    EXPECT_EQ(
        hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

}  // namespace
}  // namespace shotfarm::providers
