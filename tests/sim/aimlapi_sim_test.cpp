// shotfarm-sim's AI/ML API emulation (docs/simulator.md, "AI/ML API routes") over loopback against
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

constexpr auto current = "/v2/video/generations";
constexpr auto legacy = "/v2/generate/video/minimax/generation";

std::string yaml(const std::string& key_extra = "") {
    return "time_scale: 0.01\n"
           "seed: 5\n"
           "created_fraction: 0.4\n"
           "default_timing: {median_s: 200, sigma: 0}\n"
           "keys:\n"
           "  - {key: ai-a, provider: aimlapi" +
           key_extra +
           "}\n"
           "  - {key: ai-b, provider: aimlapi}\n";
}

http_reply submit(
    const sim_process& sim,
    const std::string& key,
    const json::object& body,
    const std::string& path = current
) {
    return http_call(sim.port(), http::verb::post, path, json::serialize(body), bearer(key));
}

http_reply poll(
    const sim_process& sim,
    const std::string& key,
    const std::string& id,
    const std::string& path = current
) {
    return http_call(sim.port(), http::verb::get, path + "?generation_id=" + id, {}, bearer(key));
}

void expect_error(const http_reply& reply, unsigned status, const std::string& path = current) {
    EXPECT_EQ(reply.status, status) << reply.body;
    auto body = as_object(reply);
    EXPECT_FALSE(str(body["message"]).empty()) << reply.body;
    EXPECT_EQ(str(body["path"]), path);
    EXPECT_FALSE(str(body["requestId"]).empty());
    EXPECT_EQ(body["statusCode"], status);
    EXPECT_FALSE(str(body["timestamp"]).empty());
    EXPECT_EQ(body.count("code"), 0U);  // bare objects, no envelope
}

// Polls to a terminal status, returning every status seen (runs collapsed) and the last body.
std::vector<std::string> run(
    const sim_process& sim,
    const std::string& id,
    json::object& last,
    const std::string& path = current
) {
    std::vector<std::string> seen;
    poll_until([&] {
        auto r = poll(sim, "ai-a", id, path);
        EXPECT_EQ(r.status, 200U) << r.body;
        last = as_object(r);
        const auto s = str(last["status"]);
        if (seen.empty() || seen.back() != s) {
            seen.push_back(s);
        }
        return s == "completed" || s == "error";
    });
    return seen;
}

TEST(sim_aimlapi, current_endpoint_statuses_video_url_and_ledger) {
    sim_process sim(yaml());
    const std::string prompt = "a paper boat on a river";
    auto reply = submit(
        sim,
        "ai-a",
        json::object{
            {"model", "minimax/hailuo-2.3"},
            {"prompt", prompt},
            {"resolution", "1080P"},
            {"duration", 6},
            {"enhance_prompt", false}}
    );
    ASSERT_EQ(reply.status, 200U) << reply.body;
    auto body = as_object(reply);
    const auto id = str(body["generation_id"]);
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(str(body["status"]), "queued");
    EXPECT_EQ(body["meta"].as_object()["usage"].as_object()["credits_used"], 980000);

    json::object last;
    const auto seen = run(sim, id, last);
    EXPECT_EQ(
        seen, (std::vector<std::string>{"queued", "waiting", "active", "generating", "completed"})
    );
    EXPECT_EQ(str(last["id"]), id);
    EXPECT_TRUE(last["error"].is_null());
    auto video = fetch(str(last["video"].as_object()["url"]));
    EXPECT_EQ(video.status, 200U);

    auto ledger = sim.ledger();
    const auto* entry = ledger_entry(ledger, id);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(str(entry->at("provider")), "aimlapi");
    EXPECT_EQ(str(entry->at("model")), "minimax/hailuo-2.3");
    EXPECT_EQ(entry->at("price_usd").to_number<double>(), 0.49);
    EXPECT_EQ(str(entry->at("prompt_sha256")), sha256_hex(prompt));
    EXPECT_EQ(str(entry->at("outcome")), "completed");
    EXPECT_EQ(str(entry->at("sha256")), sha256_hex(video.body));
}

TEST(sim_aimlapi, legacy_endpoint_first_frame_image_and_error_status) {
    sim_process sim(yaml());
    auto reply = submit(
        sim,
        "ai-a",
        json::object{
            {"model", "minimax/hailuo-2.3-fast"},
            {"prompt", "waves [sim:fail]"},
            {"first_frame_image", data_url("image/png", png(1024, 768))},
            {"prompt_optimizer", true}},
        legacy
    );
    ASSERT_EQ(reply.status, 200U) << reply.body;
    const auto id = str(as_object(reply)["generation_id"]);
    json::object last;
    const auto seen = run(sim, id, last, legacy);
    EXPECT_EQ(seen.back(), "error");
    EXPECT_FALSE(str(last["error"].as_object()["message"]).empty());
    EXPECT_FALSE(str(last["error"].as_object()["name"]).empty());
    EXPECT_TRUE(last["video"].is_null());
    const auto ledger = sim.ledger();
    EXPECT_EQ(str(ledger_entry(ledger, id)->at("outcome")), "failed");
    EXPECT_EQ(ledger_entry(ledger, id)->at("price_usd").to_number<double>(), 0.1995);

    // The legacy endpoint wants first_frame_image, not image_url.
    expect_error(
        submit(
            sim,
            "ai-a",
            json::object{
                {"model", "minimax/hailuo-2.3-fast"},
                {"prompt", "p"},
                {"image_url", data_url("image/png", png(1024, 768))}},
            legacy
        ),
        400,
        legacy
    );
}

TEST(sim_aimlapi, error_shapes_validation_auth_not_found_balance) {
    sim_process sim(yaml(", balance_usd: 0.3"));
    expect_error(
        submit(sim, "wrong", json::object{{"model", "minimax/hailuo-02"}, {"prompt", "p"}}), 401
    );
    expect_error(
        submit(sim, "ai-a", json::object{{"model", "minimax/hailuo-9"}, {"prompt", "p"}}), 400
    );
    expect_error(submit(sim, "ai-a", json::object{{"model", "minimax/hailuo-02"}}), 400);
    expect_error(
        submit(
            sim,
            "ai-a",
            json::object{{"model", "minimax/hailuo-02"}, {"prompt", "p"}, {"duration", "5"}}
        ),
        400
    );
    expect_error(
        submit(
            sim,
            "ai-a",
            json::object{
                {"model", "minimax/hailuo-02"},
                {"prompt", "p"},
                {"duration", 10},
                {"resolution", "1080P"}}
        ),
        400
    );
    expect_error(
        submit(sim, "ai-a", json::object{{"model", "minimax/hailuo-2.3-fast"}, {"prompt", "t2v"}}),
        400
    );
    expect_error(
        submit(
            sim,
            "ai-a",
            json::object{
                {"model", "minimax/hailuo-02"},
                {"prompt", "p"},
                {"image_url", data_url("image/png", png(300, 900))}}
        ),
        400
    );
    auto ok = submit(sim, "ai-a", json::object{{"model", "minimax/hailuo-02"}, {"prompt", "p"}});
    ASSERT_EQ(ok.status, 200U) << ok.body;
    const auto id = str(as_object(ok)["generation_id"]);
    // 0.294 spent of 0.3: the next one is refused with 403, never billed.
    expect_error(
        submit(sim, "ai-a", json::object{{"model", "minimax/hailuo-02"}, {"prompt", "p"}}), 403
    );
    expect_error(poll(sim, "ai-b", id), 404);
    EXPECT_EQ(submission_count(sim), 1U);
    EXPECT_EQ(sim.ledger().at("rejected").at("403"), 1);
}

}  // namespace
