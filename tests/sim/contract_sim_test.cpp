// shotfarm-sim's issue-4 contract over loopback against the real process: keys[]
// submits_per_minute on all four providers, the ledger's `at` / `ready_at` timestamps and
// per-key `requests` counts, and the documented per-provider default generation times.
#include <cmath>
#include <ctime>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/sim/sim_test_util.hpp"

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace shotfarm::testing::sim;
using shotfarm::testing::bearer;
using shotfarm::testing::http_call;
using shotfarm::testing::http_reply;
using shotfarm::testing::sim_process;

// One generation submit per provider, valid for the model named.
http_reply atlas_submit(const sim_process& sim, const std::string& key, const std::string& prompt) {
    const json::object body{
        {"model", "minimax/hailuo-02/standard"}, {"prompt", prompt}, {"duration", 6}};
    return http_call(
        sim.port(),
        http::verb::post,
        "/api/v1/model/generateVideo",
        json::serialize(body),
        bearer(key)
    );
}

http_reply wavespeed_submit(
    const sim_process& sim, const std::string& key, const std::string& model = "hailuo-2.3/fast"
) {
    const json::object body{{"prompt", "p"}, {"image", "https://example.com/a.jpg"}};
    return http_call(
        sim.port(), http::verb::post, "/api/v3/minimax/" + model, json::serialize(body), bearer(key)
    );
}

http_reply aimlapi_submit(const sim_process& sim, const std::string& key, int duration = 6) {
    const json::object body{
        {"model", "minimax/hailuo-02"}, {"prompt", "p"}, {"duration", duration}};
    return http_call(
        sim.port(), http::verb::post, "/v2/video/generations", json::serialize(body), bearer(key)
    );
}

http_reply minimax_submit(const sim_process& sim, const std::string& key) {
    const json::object body{{"model", "MiniMax-Hailuo-02"}, {"prompt", "p"}};
    return http_call(
        sim.port(), http::verb::post, "/v1/video_generation", json::serialize(body), bearer(key)
    );
}

int minimax_code(const http_reply& reply) {
    auto body = as_object(reply);
    return body.contains("base_resp")
               ? static_cast<int>(body["base_resp"].as_object()["status_code"].to_number<int>())
               : -1;
}

// "2026-11-25T17:20:01.123Z" -> Unix ms; -1 when the text is not exactly that shape.
std::int64_t rfc3339_ms(const json::value& v) {
    static const std::regex shape(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
    const auto s = str(v);
    if (!std::regex_match(s, shape)) {
        return -1;
    }
    std::tm tm{};
    tm.tm_year = std::stoi(s.substr(0, 4)) - 1900;
    tm.tm_mon = std::stoi(s.substr(5, 2)) - 1;
    tm.tm_mday = std::stoi(s.substr(8, 2));
    tm.tm_hour = std::stoi(s.substr(11, 2));
    tm.tm_min = std::stoi(s.substr(14, 2));
    tm.tm_sec = std::stoi(s.substr(17, 2));
    return static_cast<std::int64_t>(timegm(&tm)) * 1000 + std::stoi(s.substr(20, 3));
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

TEST(sim_contract, submits_per_minute_refuses_in_each_providers_shape_unbilled) {
    // A 2 s wall-clock window, 2 accepted submits per window and key.
    sim_process sim(
        "time_scale: 0.01\nrate_window_s: 2\nkeys:\n"
        "  - {key: a, provider: atlas, submits_per_minute: 2}\n"
        "  - {key: w, provider: wavespeed, submits_per_minute: 2}\n"
        "  - {key: i, provider: aimlapi, submits_per_minute: 2}\n"
        "  - {key: m, provider: minimax, submits_per_minute: 2}\n"
        "  - {key: free, provider: atlas}\n"
    );
    // An invalid submit is not an accepted one: it does not use the quota.
    EXPECT_EQ(
        http_call(
            sim.port(),
            http::verb::post,
            "/api/v1/model/generateVideo",
            R"({"model":"minimax/hailuo-02/standard"})",
            bearer("a")
        )
            .status,
        400U
    );
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(atlas_submit(sim, "a", "ok").status, 200U);
        EXPECT_EQ(wavespeed_submit(sim, "w").status, 200U);
        EXPECT_EQ(aimlapi_submit(sim, "i").status, 200U);
        EXPECT_EQ(minimax_code(minimax_submit(sim, "m")), 0);
    }
    const auto atlas = atlas_submit(sim, "a", "third");
    EXPECT_EQ(atlas.status, 429U) << atlas.body;
    EXPECT_EQ(atlas.headers.count("Retry-After"), 0U);
    auto atlas_body = as_object(atlas);
    EXPECT_EQ(atlas_body["code"], 429);
    EXPECT_TRUE(atlas_body["data"].is_null());
    const auto ws = wavespeed_submit(sim, "w");
    EXPECT_EQ(ws.status, 429U) << ws.body;
    EXPECT_EQ(as_object(ws)["code"], 429);
    const auto aiml = aimlapi_submit(sim, "i");
    EXPECT_EQ(aiml.status, 429U) << aiml.body;
    EXPECT_EQ(as_object(aiml)["statusCode"], 429);
    const auto mm = minimax_submit(sim, "m");
    EXPECT_EQ(mm.status, 200U);
    EXPECT_EQ(minimax_code(mm), 1002);
    // Another key is not affected.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(atlas_submit(sim, "free", "unlimited").status, 200U);
    }

    auto ledger = sim.ledger();
    EXPECT_EQ(ledger.at("submissions").as_array().size(), 11U);
    EXPECT_EQ(ledger.at("rejected_reasons").at("submit_rate"), 4);
    EXPECT_DOUBLE_EQ(ledger.at("spent_usd").at("a").to_number<double>(), 2 * 0.23);
    EXPECT_DOUBLE_EQ(ledger.at("spent_usd").at("w").to_number<double>(), 2 * 0.19);

    // Once the window has slid past the two accepted submits, the key submits again.
    poll_until(
        [&] {
            const auto r = atlas_submit(sim, "a", "later");
            EXPECT_TRUE(r.status == 200U || r.status == 429U) << r.body;
            return r.status == 200U;
        },
        std::chrono::seconds{10}
    );
    EXPECT_EQ(submission_count(sim), 12U);
}

TEST(sim_contract, at_and_ready_at_come_from_the_timeline) {
    // 100 s at time_scale 0.01: ready 1 s after acceptance. Nobody polls the provider.
    sim_process sim(
        "time_scale: 0.01\nvisibility_lag_s: 0\n"
        "keys:\n  - {key: a, provider: atlas}\n"
        "models:\n  minimax/hailuo-02/standard: {median_s: 100, sigma: 0}\n"
    );
    const auto before = now_ms();
    const auto ok = str(as_object(atlas_submit(sim, "a", "ok"))["data"].as_object()["id"]);
    const auto failed =
        str(as_object(atlas_submit(sim, "a", "x [sim:fail]"))["data"].as_object()["id"]);
    const auto stuck =
        str(as_object(atlas_submit(sim, "a", "x [sim:stuck]"))["data"].as_object()["id"]);
    const auto after = now_ms();

    auto ledger = sim.ledger();
    const auto* entry = ledger_entry(ledger, ok);
    ASSERT_NE(entry, nullptr);
    const auto at = rfc3339_ms(entry->at("at"));
    EXPECT_GE(at, before) << entry->at("at");
    EXPECT_LE(at, after);
    EXPECT_EQ(at, entry->at("submitted_at_ms").to_number<std::int64_t>());
    EXPECT_TRUE(entry->at("ready_at").is_null()) << "not ready yet";

    json::value done;
    poll_until(
        [&] {
            done = sim.ledger();
            return !ledger_entry(done, ok)->at("ready_at").is_null();
        },
        std::chrono::seconds{10}
    );
    const auto seen_ms = now_ms();
    const auto* finished = ledger_entry(done, ok);
    const auto ready = rfc3339_ms(finished->at("ready_at"));
    ASSERT_GT(ready, 0) << finished->at("ready_at");
    EXPECT_NEAR(static_cast<double>(ready - at), 1000.0, 1.0);
    EXPECT_LE(ready, seen_ms);
    EXPECT_EQ(str(finished->at("outcome")), "completed");
    // A failed job has no ready_at once it has failed; a stuck one never.
    EXPECT_EQ(str(ledger_entry(done, failed)->at("outcome")), "failed");
    EXPECT_TRUE(ledger_entry(done, failed)->at("ready_at").is_null());
    EXPECT_EQ(str(ledger_entry(done, stuck)->at("outcome")), "stuck");
    EXPECT_TRUE(ledger_entry(done, stuck)->at("ready_at").is_null());
    EXPECT_GT(rfc3339_ms(ledger_entry(done, stuck)->at("at")), 0);
}

TEST(sim_contract, requests_counts_every_request_per_key) {
    sim_process sim(
        "time_scale: 0.01\nvisibility_lag_s: 0\ndefault_timing: {median_s: 10, sigma: 0}\n"
        "keys:\n"
        "  - {key: a, provider: atlas}\n"
        "  - {key: m, provider: minimax}\n"
        "  - {key: idle, provider: wavespeed}\n"
    );
    // Atlas key a: 2 submits (one rejected), polls until done + 1 of an unknown id, 1 upload and
    // 1 catalog read (other), 2 downloads of its output (which carry no key).
    EXPECT_EQ(
        http_call(sim.port(), http::verb::post, "/api/v1/model/generateVideo", "{}", bearer("a"))
            .status,
        400U
    );
    const auto id = str(as_object(atlas_submit(sim, "a", "p"))["data"].as_object()["id"]);
    int polls = 0;
    std::string url;
    poll_until([&] {
        ++polls;
        auto data = as_object(http_call(
            sim.port(), http::verb::get, "/api/v1/model/prediction/" + id, {}, bearer("a")
        ))["data"]
                        .as_object();
        const auto s = str(data["status"]);
        if (s == "completed" || s == "succeeded") {
            url = str(data["outputs"].as_array()[0]);
            return true;
        }
        return false;
    });
    EXPECT_EQ(
        http_call(sim.port(), http::verb::get, "/api/v1/model/prediction/nope", {}, bearer("a"))
            .status,
        404U
    );
    const std::string boundary = "sfb";
    const std::string multipart = "--" + boundary +
                                  "\r\nContent-Disposition: form-data; name=\"file\"; "
                                  "filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n" +
                                  png(640, 480) + "\r\n--" + boundary + "--\r\n";
    auto headers = bearer("a");
    headers.emplace_back("Content-Type", "multipart/form-data; boundary=" + boundary);
    EXPECT_EQ(
        http_call(sim.port(), http::verb::post, "/api/v1/model/uploadMedia", multipart, headers)
            .status,
        200U
    );
    EXPECT_EQ(
        http_call(sim.port(), http::verb::get, "/api/v1/models", {}, bearer("a")).status, 200U
    );
    EXPECT_EQ(fetch(url).status, 200U);
    EXPECT_EQ(fetch(url).status, 200U);
    // Unknown keys are nobody's.
    EXPECT_EQ(atlas_submit(sim, "stranger", "p").status, 401U);

    // MiniMax key m: 1 submit, polls, 2 retrieves (polls too: provider GETs), 1 download.
    const auto task = str(as_object(minimax_submit(sim, "m"))["task_id"]);
    int mm_polls = 0;
    std::string file_id;
    poll_until([&] {
        ++mm_polls;
        auto body = as_object(http_call(
            sim.port(),
            http::verb::get,
            "/v1/query/video_generation?task_id=" + task,
            {},
            bearer("m")
        ));
        file_id = str(body["file_id"]);
        return !file_id.empty();
    });
    std::string dl;
    for (int i = 0; i < 2; ++i) {
        dl = str(as_object(http_call(
            sim.port(), http::verb::get, "/v1/files/retrieve?file_id=" + file_id, {}, bearer("m")
        ))["file"]
                     .as_object()["download_url"]);
    }
    EXPECT_EQ(fetch(dl).status, 200U);

    const auto requests = sim.ledger().at("requests").as_object();
    EXPECT_EQ(requests.size(), 3U);
    const json::object want_a{
        {"total", 2 + polls + 1 + 2 + 2},
        {"submit", 2},
        {"poll", polls + 1},
        {"download", 2},
        {"other", 2}};
    EXPECT_EQ(requests.at("a"), want_a);
    const json::object want_m{
        {"total", 1 + mm_polls + 2 + 1},
        {"submit", 1},
        {"poll", mm_polls + 2},
        {"download", 1},
        {"other", 0}};
    EXPECT_EQ(requests.at("m"), want_m);
    const json::object zeros{
        {"total", 0}, {"submit", 0}, {"poll", 0}, {"download", 0}, {"other", 0}};
    EXPECT_EQ(requests.at("idle"), zeros);
}

// Submits one job per case to a sim with the given timing config; returns generation_s in
// submission order.
std::vector<double> generation_times(const std::string& timing_yaml) {
    sim_process sim(
        "time_scale: 0.001\nseed: 11\n" + timing_yaml +
        "keys:\n"
        "  - {key: a, provider: atlas}\n"
        "  - {key: w, provider: wavespeed}\n"
        "  - {key: i, provider: aimlapi}\n"
        "  - {key: m, provider: minimax}\n"
    );
    EXPECT_EQ(atlas_submit(sim, "a", "p").status, 200U);
    EXPECT_EQ(wavespeed_submit(sim, "w", "hailuo-2.3/fast").status, 200U);
    EXPECT_EQ(wavespeed_submit(sim, "w", "hailuo-02/pro").status, 200U);
    EXPECT_EQ(aimlapi_submit(sim, "i", 6).status, 200U);
    EXPECT_EQ(aimlapi_submit(sim, "i", 10).status, 200U);
    EXPECT_EQ(minimax_code(minimax_submit(sim, "m")), 0);
    std::vector<double> out;
    const auto ledger = sim.ledger();
    for (const auto& s : ledger.at("submissions").as_array()) {
        out.push_back(s.at("generation_s").to_number<double>());
    }
    return out;
}

TEST(sim_contract, default_timing_per_provider_model_follows_providers_md) {
    // Same seed and submit order: each job draws the same N(0,1) z in both runs. The reference
    // run (median 100, sigma 1) reveals z; the documented run must be median * exp(sigma * z).
    const auto reference = generation_times("default_timing: {median_s: 100, sigma: 1}\n");
    const auto documented = generation_times("");
    ASSERT_EQ(reference.size(), 6U);
    ASSERT_EQ(documented.size(), 6U);
    struct expected {
        double median_s, sigma;
    };
    auto range = [](double low, double high) {
        return expected{std::sqrt(low * high), std::log(high / low) / 4};
    };
    // The documented figures; their sources: docs/simulator.md, "Default generation times".
    const std::vector<expected> table{
        range(60, 300),   // Atlas, "1-5 minutes"
        range(20, 50),    // WaveSpeed, 2.3 fast "20-50 seconds"
        {90, 0.3},        // WaveSpeed 02 pro: no figure, the fallback
        range(240, 300),  // AI/ML API, hailuo-02 6 s "4-5 minutes"
        range(480, 540),  // AI/ML API, hailuo-02 10 s "8-9 minutes"
        {90, 0.3},        // MiniMax: not documented, the fallback
    };
    for (std::size_t i = 0; i < table.size(); ++i) {
        const double z = std::log(reference[i] / 100.0);
        EXPECT_NEAR(documented[i], table[i].median_s * std::exp(table[i].sigma * z), 0.02)
            << "job " << i << " z " << z;
    }

    // An explicit default_timing wins over the documented table; `models` wins over both.
    for (double g : generation_times("default_timing: {median_s: 50, sigma: 0}\n")) {
        EXPECT_DOUBLE_EQ(g, 50.0);
    }
    const auto per_model = generation_times(
        "default_timing: {median_s: 50, sigma: 0}\n"
        "models:\n  minimax/hailuo-02: {median_s: 7, sigma: 0}\n"
    );
    EXPECT_EQ(per_model, (std::vector<double>{50, 50, 50, 7, 7, 50}));
}

}  // namespace
