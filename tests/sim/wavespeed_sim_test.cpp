// shotfarm-sim's WaveSpeed emulation (docs/simulator.md, "WaveSpeed routes") over loopback against
// the real process.
#include <set>
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

std::string yaml(const std::string& key_extra = "") {
    return "time_scale: 0.01\n"
           "seed: 3\n"
           "created_fraction: 0.3\n"
           "default_timing: {median_s: 100, sigma: 0}\n"
           "keys:\n"
           "  - {key: ws-a, provider: wavespeed" +
           key_extra +
           "}\n"
           "  - {key: ws-b, provider: wavespeed}\n"
           "  - {key: at-a, provider: atlascloud}\n";
}

http_reply submit(
    const sim_process& sim,
    const std::string& key,
    const std::string& model,
    const json::object& body
) {
    return http_call(
        sim.port(), http::verb::post, "/api/v3/" + model, json::serialize(body), bearer(key)
    );
}

http_reply result(
    const sim_process& sim, const std::string& key, const std::string& id, bool with_suffix = true
) {
    return http_call(
        sim.port(),
        http::verb::get,
        "/api/v3/predictions/" + id + (with_suffix ? "/result" : ""),
        {},
        bearer(key)
    );
}

void expect_error(const http_reply& reply, unsigned status) {
    EXPECT_EQ(reply.status, status) << reply.body;
    auto body = as_object(reply);
    EXPECT_EQ(body["code"], status) << reply.body;
    EXPECT_FALSE(str(body["message"]).empty()) << reply.body;
}

TEST(sim_wavespeed, happy_path_envelope_statuses_output_and_ledger) {
    sim_process sim(yaml());
    const std::string prompt = "a lighthouse at dusk";
    auto reply = submit(
        sim,
        "ws-a",
        "minimax/hailuo-02/standard",
        json::object{{"prompt", prompt}, {"duration", 10}}
    );
    ASSERT_EQ(reply.status, 200U) << reply.body;
    auto body = as_object(reply);
    EXPECT_EQ(body["code"], 200);
    EXPECT_EQ(str(body["message"]), "success");
    auto data = body["data"].as_object();
    const auto id = str(data["id"]);
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(str(data["status"]), "created");
    EXPECT_EQ(str(data["model"]), "minimax/hailuo-02/standard");
    EXPECT_TRUE(data["outputs"].as_array().empty());
    EXPECT_EQ(
        str(data["urls"].as_object()["get"]),
        sim.base_url() + "/api/v3/predictions/" + id + "/result"
    );
    EXPECT_TRUE(data["has_nsfw_contents"].is_array());
    EXPECT_EQ(str(data["error"]), "");

    std::vector<std::string> seen;
    json::object last;
    poll_until([&] {
        auto r = result(sim, "ws-a", id);
        EXPECT_EQ(r.status, 200U) << r.body;
        auto o = as_object(r);
        EXPECT_EQ(o["code"], 200);
        last = o["data"].as_object();
        const auto s = str(last["status"]);
        if (seen.empty() || seen.back() != s) {
            seen.push_back(s);
        }
        return s == "completed" || s == "failed";
    });
    EXPECT_EQ(seen, (std::vector<std::string>{"created", "processing", "completed"}));
    ASSERT_EQ(last["outputs"].as_array().size(), 1U);
    EXPECT_EQ(last["has_nsfw_contents"].as_array(), json::array{false});
    EXPECT_GT(last["timings"].as_object()["inference"].to_number<double>(), 0);
    auto video = fetch(str(last["outputs"].as_array()[0]));
    EXPECT_EQ(video.status, 200U);

    // The bare /predictions/{id} answers the same.
    auto bare = result(sim, "ws-a", id, false);
    EXPECT_EQ(str(as_object(bare)["data"].as_object()["status"]), "completed");

    auto ledger = sim.ledger();
    const auto* entry = ledger_entry(ledger, id);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(str(entry->at("provider")), "wavespeed");
    EXPECT_EQ(str(entry->at("key")), "ws-a");
    EXPECT_EQ(entry->at("price_usd").to_number<double>(), 0.56);
    EXPECT_EQ(str(entry->at("prompt_sha256")), sha256_hex(prompt));
    EXPECT_EQ(str(entry->at("outcome")), "completed");
    EXPECT_EQ(str(entry->at("sha256")), sha256_hex(video.body));
}

TEST(sim_wavespeed, failures_are_200_with_error_and_nsfw_flag) {
    sim_process sim(yaml());
    auto mod = str(as_object(submit(
        sim, "ws-a", "minimax/hailuo-2.3/t2v-standard", json::object{{"prompt", "x [sim:moderate]"}}
    ))["data"]
                       .as_object()["id"]);
    auto fail = str(as_object(submit(
        sim, "ws-a", "minimax/hailuo-2.3/t2v-standard", json::object{{"prompt", "x [sim:fail]"}}
    ))["data"]
                        .as_object()["id"]);
    for (const auto& [id, nsfw] : {std::pair{mod, true}, std::pair{fail, false}}) {
        json::object data;
        poll_until([&] {
            auto r = result(sim, "ws-a", id);
            EXPECT_EQ(r.status, 200U);
            data = as_object(r)["data"].as_object();
            return str(data["status"]) == "failed";
        });
        EXPECT_FALSE(str(data["error"]).empty());
        EXPECT_TRUE(data["outputs"].as_array().empty());
        EXPECT_EQ(!data["has_nsfw_contents"].as_array().empty(), nsfw);
    }
    auto ledger = sim.ledger();
    EXPECT_EQ(str(ledger_entry(ledger, mod)->at("outcome")), "moderated");
    EXPECT_EQ(str(ledger_entry(ledger, fail)->at("outcome")), "failed");
}

TEST(sim_wavespeed, error_shapes_auth_validation_unknown_model_not_found) {
    sim_process sim(yaml());
    const json::object t2v{{"prompt", "p"}};
    expect_error(submit(sim, "nope", "minimax/hailuo-02/standard", t2v), 401);
    // An Atlas key is not a WaveSpeed key.
    expect_error(submit(sim, "at-a", "minimax/hailuo-02/standard", t2v), 401);
    expect_error(submit(sim, "ws-a", "minimax/hailuo-09/standard", t2v), 404);
    // fast needs an image; standard needs a prompt; pro tiers have no 10 s.
    expect_error(submit(sim, "ws-a", "minimax/hailuo-02/fast", t2v), 400);
    expect_error(submit(sim, "ws-a", "minimax/hailuo-02/standard", json::object{}), 400);
    expect_error(
        submit(
            sim,
            "ws-a",
            "minimax/hailuo-2.3/t2v-pro",
            json::object{{"prompt", "p"}, {"duration", 10}}
        ),
        400
    );
    expect_error(
        submit(
            sim,
            "ws-a",
            "minimax/hailuo-02/fast",
            json::object{{"image", data_url("image/png", png(200, 200))}}
        ),
        400
    );
    expect_error(
        submit(
            sim,
            "ws-a",
            "minimax/hailuo-02/fast",
            json::object{{"image", data_url("image/webp", webp(800, 600))}}
        ),
        400
    );
    auto ok = submit(
        sim,
        "ws-a",
        "minimax/hailuo-02/fast",
        json::object{{"image", data_url("image/png", png(1280, 720))}}
    );
    EXPECT_EQ(ok.status, 200U) << ok.body;
    const auto id = str(as_object(ok)["data"].as_object()["id"]);
    expect_error(result(sim, "ws-b", id), 404);  // another key's prediction
    expect_error(result(sim, "ws-a", "0123"), 404);
    EXPECT_EQ(submission_count(sim), 1U);
    EXPECT_EQ(
        sim.ledger().at("submissions").as_array()[0].at("price_usd").to_number<double>(), 0.10
    );
}

TEST(sim_wavespeed, balance_and_rate_limit) {
    sim_process sim(yaml(", balance_usd: 0.5, requests_per_minute: 3"));
    const json::object t2v{{"prompt", "p"}};
    EXPECT_EQ(submit(sim, "ws-a", "minimax/hailuo-02/t2v-standard", t2v).status, 200U);
    EXPECT_EQ(submit(sim, "ws-a", "minimax/hailuo-02/t2v-standard", t2v).status, 200U);
    expect_error(submit(sim, "ws-a", "minimax/hailuo-02/t2v-standard", t2v), 402);
    expect_error(submit(sim, "ws-a", "minimax/hailuo-02/t2v-standard", t2v), 429);
    EXPECT_EQ(submission_count(sim), 2U);
    EXPECT_EQ(sim.ledger().at("spent_usd").at("ws-a").to_number<double>(), 0.46);
}

}  // namespace
