// shotfarm-sim's speed changes (SIM.yaml `speed_changes`, POST /_sim/speed) and its per-key
// request accounting (the ledger's peak_requests_per_window / peak_submits_per_window), over
// loopback against the real process; and the SIM.yaml checks of the new knobs.
#include <chrono>
#include <ctime>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "simulator/config.hpp"
#include "tests/sim/sim_test_util.hpp"

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace shotfarm::testing::sim;
using namespace std::chrono_literals;
using shotfarm::testing::bearer;
using shotfarm::testing::http_call;
using shotfarm::testing::http_reply;
using shotfarm::testing::sim_process;

std::string yaml(const std::string& extra = "") {
    return "time_scale: 0.01\n"
           "seed: 5\n"
           "visibility_lag_s: 0\n"
           "default_timing: {median_s: 100, sigma: 0}\n"  // 1 s of wall time
           "keys:\n"
           "  - {key: at-a, provider: atlas}\n"
           "  - {key: ws-a, provider: wavespeed}\n"
           "  - {key: mm-a, provider: minimax}\n"
           "  - {key: idle, provider: atlas}\n" +
           extra;
}

std::string atlas_submit(const sim_process& sim) {
    const auto r = http_call(
        sim.port(),
        http::verb::post,
        "/api/v1/model/generateVideo",
        R"({"model":"minimax/hailuo-02/standard","prompt":"a harbour at dawn"})",
        bearer("at-a")
    );
    EXPECT_EQ(r.status, 200U) << r.body;
    return str(as_object(r)["data"].as_object()["id"]);
}

std::string wavespeed_submit(const sim_process& sim) {
    const auto r = http_call(
        sim.port(),
        http::verb::post,
        "/api/v3/minimax/hailuo-02/standard",
        R"({"prompt":"a harbour at dawn"})",
        bearer("ws-a")
    );
    EXPECT_EQ(r.status, 200U) << r.body;
    return str(as_object(r)["data"].as_object()["id"]);
}

std::string minimax_submit(const sim_process& sim) {
    const auto r = http_call(
        sim.port(),
        http::verb::post,
        "/v1/video_generation",
        R"({"model":"MiniMax-Hailuo-2.3","prompt":"a harbour at dawn"})",
        bearer("mm-a")
    );
    return str(as_object(r)["task_id"]);
}

http_reply set_speed(const sim_process& sim, const std::string& body) {
    return http_call(sim.port(), http::verb::post, "/_sim/speed", body);
}

// Milliseconds since the epoch of "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::int64_t epoch_ms(const std::string& iso) {
    std::tm tm{};
    tm.tm_year = std::stoi(iso.substr(0, 4)) - 1900;
    tm.tm_mon = std::stoi(iso.substr(5, 2)) - 1;
    tm.tm_mday = std::stoi(iso.substr(8, 2));
    tm.tm_hour = std::stoi(iso.substr(11, 2));
    tm.tm_min = std::stoi(iso.substr(14, 2));
    tm.tm_sec = std::stoi(iso.substr(17, 2));
    return static_cast<std::int64_t>(timegm(&tm)) * 1000 + std::stoi(iso.substr(20, 3));
}

// ready_at − at of each job, in ms, once all of them are ready.
std::vector<std::int64_t> generation_ms(
    const sim_process& sim, const std::vector<std::string>& ids
) {
    std::vector<std::int64_t> out;
    poll_until([&] {
        const auto ledger = sim.ledger();
        out.clear();
        for (const auto& id : ids) {
            const auto* e = ledger_entry(ledger, id);
            if (e == nullptr || !e->at("ready_at").is_string()) {
                return false;
            }
            out.push_back(epoch_ms(str(e->at("ready_at"))) - epoch_ms(str(e->at("at"))));
        }
        return true;
    });
    return out;
}

double speed_factor_of(const sim_process& sim, const std::string& id) {
    const auto ledger = sim.ledger();
    const auto* e = ledger_entry(ledger, id);
    return e != nullptr ? e->at("speed_factor").to_number<double>() : -1;
}

TEST(SimSpeed, ConfiguredChangesApplyPerProviderFromTheirMoment) {
    sim_process sim(yaml(
        "speed_changes:\n"
        "  - {after_s: 0, factor: 2, provider: wavespeed}\n"
        "  - {after_s: 0, factor: 0.5, provider: atlascloud}\n"
        "  - {after_s: 100000, factor: 10}\n"  // not yet: applies to nobody in this test
    ));
    const auto atlas = atlas_submit(sim);
    const auto ws = wavespeed_submit(sim);
    const auto mm = minimax_submit(sim);
    const auto ms = generation_ms(sim, {atlas, ws, mm});
    ASSERT_EQ(ms.size(), 3U);
    EXPECT_NEAR(ms[0], 500, 2);
    EXPECT_NEAR(ms[1], 2000, 2);
    EXPECT_NEAR(ms[2], 1000, 2);
    EXPECT_EQ(speed_factor_of(sim, atlas), 0.5);
    EXPECT_EQ(speed_factor_of(sim, ws), 2.0);
    EXPECT_EQ(speed_factor_of(sim, mm), 1.0);
    const auto ledger = sim.ledger();
    EXPECT_EQ(ledger_entry(ledger, atlas)->at("generation_s"), 50.0);
    EXPECT_EQ(ledger_entry(ledger, ws)->at("generation_s"), 200.0);
}

TEST(SimSpeed, PostSpeedChangesGenerationTimeAtOnceAndTheLatestWins) {
    sim_process sim(yaml());
    const auto before = atlas_submit(sim);

    const auto halve = set_speed(sim, R"({"factor":0.5})");
    ASSERT_EQ(halve.status, 200U) << halve.body;
    auto answer = as_object(halve);
    EXPECT_EQ(answer["factor"], 0.5);
    EXPECT_TRUE(answer["provider"].is_null());
    EXPECT_GE(answer["after_s"].to_number<double>(), 0.0);
    const auto halved = atlas_submit(sim);

    // Only WaveSpeed slows down; Atlas keeps the global half speed.
    ASSERT_EQ(set_speed(sim, R"({"factor":3,"provider":"wavespeed"})").status, 200U);
    const auto atlas_still_halved = atlas_submit(sim);
    const auto ws_tripled = wavespeed_submit(sim);

    // A later global entry wins over the earlier WaveSpeed one.
    ASSERT_EQ(set_speed(sim, R"({"factor":2})").status, 200U);
    const auto ws_doubled = wavespeed_submit(sim);

    const auto ms =
        generation_ms(sim, {before, halved, atlas_still_halved, ws_tripled, ws_doubled});
    ASSERT_EQ(ms.size(), 5U);
    EXPECT_NEAR(ms[0], 1000, 2);
    EXPECT_NEAR(ms[1], 500, 2);
    EXPECT_NEAR(ms[2], 500, 2);
    EXPECT_NEAR(ms[3], 3000, 2);
    EXPECT_NEAR(ms[4], 2000, 2);

    for (const auto* bad :
         {R"({"factor":0})",
          R"({"factor":-1})",
          R"({"factor":"2"})",
          R"({})",
          R"({"factor":2,"provider":"replicate"})",
          "not json"}) {
        EXPECT_EQ(set_speed(sim, bad).status, 400U) << bad;
    }
    EXPECT_EQ(http_call(sim.port(), http::verb::get, "/_sim/speed").status, 404U);
}

TEST(SimRequestAccounting, PeakRequestsPerWindowCountsEveryApiRequestOfTheKey) {
    sim_process sim(yaml());
    const auto id = atlas_submit(sim);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(
            http_call(
                sim.port(), http::verb::get, "/api/v1/model/prediction/" + id, {}, bearer("at-a")
            )
                .status,
            200U
        );
    }
    // A JWKS fetch presenting the key counts; a refused submit counts as a submit.
    EXPECT_EQ(
        http_call(sim.port(), http::verb::get, "/api/v1/webhooks/jwks.json", {}, bearer("at-a"))
            .status,
        200U
    );
    EXPECT_EQ(
        http_call(
            sim.port(),
            http::verb::post,
            "/api/v1/model/generateVideo",
            R"({"model":"minimax/hailuo-02/standard"})",
            bearer("at-a")
        )
            .status,
        400U
    );
    EXPECT_EQ(
        http_call(sim.port(), http::verb::get, "/api/v3/webhook/secret", {}, bearer("ws-a")).status,
        200U
    );
    // Downloads are not API requests: once ready, fetching the video changes no peak.
    std::string url;
    poll_until([&] {
        auto r = as_object(http_call(
            sim.port(), http::verb::get, "/api/v1/model/prediction/" + id, {}, bearer("at-a")
        ));
        const auto& outputs = r["data"].as_object()["outputs"];
        if (outputs.is_array() && !outputs.as_array().empty()) {
            url = str(outputs.as_array()[0]);
            return true;
        }
        return false;
    });
    const auto polls = sim.ledger().at("requests").at("at-a").at("poll").to_number<std::int64_t>();
    EXPECT_EQ(fetch(url).status, 200U);

    const auto ledger = sim.ledger();
    const auto& peak = ledger.at("peak_requests_per_window").as_object();
    const auto& submits = ledger.at("peak_submits_per_window").as_object();
    // 2 submits + every poll + the JWKS fetch, all within one 60 s window.
    EXPECT_EQ(peak.at("at-a"), 2 + polls + 1);
    EXPECT_EQ(submits.at("at-a"), 2);
    EXPECT_EQ(peak.at("ws-a"), 1);
    EXPECT_EQ(submits.at("ws-a"), 0);
    EXPECT_EQ(peak.at("idle"), 0);
    EXPECT_EQ(peak.size(), 4U);
    EXPECT_EQ(ledger.at("rate_window_s"), 60.0);
    EXPECT_EQ(ledger.at("requests").at("at-a").at("download"), 1);
}

TEST(SimRequestAccounting, ThePeakIsOverASlidingWindow) {
    sim_process sim(yaml("rate_window_s: 1\n"));
    const auto poll = [&] {
        http_call(sim.port(), http::verb::get, "/api/v1/model/prediction/nope", {}, bearer("at-a"));
    };
    for (int i = 0; i < 3; ++i) {
        poll();
    }
    // What is tested is the window's end: wall time has to pass (there is no event to await).
    std::this_thread::sleep_for(1200ms);
    for (int i = 0; i < 2; ++i) {
        poll();
    }
    auto ledger = sim.ledger();
    EXPECT_EQ(ledger.at("peak_requests_per_window").at("at-a"), 3);
    EXPECT_EQ(ledger.at("requests").at("at-a").at("poll"), 5);
    for (int i = 0; i < 3; ++i) {
        poll();
    }
    // 2 + 3 within a second: the new peak.
    EXPECT_EQ(sim.ledger().at("peak_requests_per_window").at("at-a"), 5);
}

TEST(SimSpeedConfig, NewKnobsParseAndBadValuesNameTheKey) {
    using shotfarm::simulator::parse_config;
    const auto cfg = parse_config(
        "keys:\n"
        "  - {key: w, provider: wavespeed, webhook_secret: whsec_abc}\n"
        "webhooks: {loss: 0.05, duplicate: 0.1, delay_s: 3, delay_jitter_s: 2, retries: 5,\n"
        "           timeout_s: 4, atlas_rotate_after: 50}\n"
        "speed_changes:\n"
        "  - {after_s: 30, factor: 0.5}\n"
        "  - {after_s: 60, factor: 2, provider: atlascloud}\n"
    );
    EXPECT_EQ(cfg.keys.at(0).webhook_secret.value_or(""), "whsec_abc");
    EXPECT_EQ(cfg.webhooks.loss, 0.05);
    EXPECT_EQ(cfg.webhooks.duplicate, 0.1);
    EXPECT_EQ(cfg.webhooks.delay_s, 3.0);
    EXPECT_EQ(cfg.webhooks.delay_jitter_s, 2.0);
    EXPECT_EQ(cfg.webhooks.retries, 5);
    EXPECT_EQ(cfg.webhooks.timeout_s, 4.0);
    EXPECT_EQ(cfg.webhooks.atlas_rotate_after, 50);
    ASSERT_EQ(cfg.speed_changes.size(), 2U);
    EXPECT_EQ(cfg.speed_changes[1].provider, "atlas");
    EXPECT_EQ(cfg.speed_changes[1].factor, 2.0);
    EXPECT_EQ(parse_config("").webhooks.retries, 3);

    const auto refused = [](const std::string& text, const std::string& names) {
        try {
            parse_config(text);
            ADD_FAILURE() << "accepted: " << text;
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
            return std::string(e.what());
        }
        return std::string();
    };
    refused("webhooks: {loss: 2}\n", "webhooks.loss");
    refused("webhooks: {lose: 0.1}\n", "webhooks.lose");
    refused("webhooks: {retries: -1}\n", "webhooks.retries");
    refused("speed_changes: [{after_s: 1}]\n", "factor");
    refused("speed_changes: [{after_s: 1, factor: 0}]\n", "speed_changes[0].factor");
    refused("speed_changes: [{factor: 2, provider: fal}]\n", "speed_changes[0].provider");
    refused("speed_changes: {after_s: 1}\n", "speed_changes");
    refused(
        "keys: [{key: a, provider: atlas, webhook_secret: whsec_x}]\n", "keys[0].webhook_secret"
    );
    // A malformed secret is refused without being repeated.
    const auto msg = refused(
        "keys: [{key: w, provider: wavespeed, webhook_secret: s3cr3t-value}]\n",
        "keys[0].webhook_secret"
    );
    EXPECT_EQ(msg.find("s3cr3t-value"), std::string::npos) << msg;
}

}  // namespace
