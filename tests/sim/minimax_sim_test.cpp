// shotfarm-sim's MiniMax emulation (docs/simulator.md, "MiniMax routes") over loopback against the
// real process.
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

std::string yaml(const std::string& extra = "", const std::string& key_extra = "") {
    return "time_scale: 0.01\n"
           "seed: 9\n"
           "created_fraction: 0.4\n"
           "default_timing: {median_s: 150, sigma: 0}\n"
           "keys:\n"
           "  - {key: mm-a, provider: minimax" +
           key_extra +
           "}\n"
           "  - {key: mm-b, provider: minimax}\n" +
           extra;
}

http_reply create(const sim_process& sim, const std::string& key, const json::object& body) {
    return http_call(
        sim.port(), http::verb::post, "/v1/video_generation", json::serialize(body), bearer(key)
    );
}

http_reply query(const sim_process& sim, const std::string& key, const std::string& id) {
    return http_call(
        sim.port(), http::verb::get, "/v1/query/video_generation?task_id=" + id, {}, bearer(key)
    );
}

http_reply retrieve(const sim_process& sim, const std::string& key, const std::string& file_id) {
    return http_call(
        sim.port(), http::verb::get, "/v1/files/retrieve?file_id=" + file_id, {}, bearer(key)
    );
}

// HTTP 200 with base_resp.status_code == code.
void expect_code(const http_reply& reply, int code) {
    EXPECT_EQ(reply.status, 200U) << reply.body;
    auto body = as_object(reply);
    ASSERT_TRUE(body.contains("base_resp")) << reply.body;
    EXPECT_EQ(body["base_resp"].as_object()["status_code"], code) << reply.body;
    EXPECT_FALSE(str(body["base_resp"].as_object()["status_msg"]).empty());
}

std::string task_id(const http_reply& reply) {
    EXPECT_EQ(reply.status, 200U);
    auto body = as_object(reply);
    EXPECT_EQ(body["base_resp"].as_object()["status_code"], 0) << reply.body;
    return str(body["task_id"]);
}

std::vector<std::string> run(const sim_process& sim, const std::string& id, json::object& last) {
    std::vector<std::string> seen;
    poll_until([&] {
        auto r = query(sim, "mm-a", id);
        EXPECT_EQ(r.status, 200U) << r.body;
        last = as_object(r);
        const auto s = str(last["status"]);
        if (seen.empty() || seen.back() != s) {
            seen.push_back(s);
        }
        return s == "Success" || s == "Fail" || s == "Failed";
    });
    return seen;
}

TEST(sim_minimax, create_query_retrieve_download_and_ledger) {
    sim_process sim(yaml());
    const std::string prompt = "a kite over the dunes [Pan left]";
    auto reply = create(
        sim,
        "mm-a",
        json::object{
            {"model", "MiniMax-Hailuo-02"},
            {"prompt", prompt},
            {"resolution", "1080P"},
            {"duration", 6}}
    );
    ASSERT_EQ(reply.headers.count("Trace-Id"), 1U);
    const auto id = task_id(reply);
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(id.find_first_not_of("0123456789"), std::string::npos) << id;

    json::object last;
    const auto seen = run(sim, id, last);
    EXPECT_EQ(seen, (std::vector<std::string>{"Preparing", "Queueing", "Processing", "Success"}));
    EXPECT_EQ(last["video_width"], 1920);
    EXPECT_EQ(last["video_height"], 1080);
    EXPECT_EQ(last["base_resp"].as_object()["status_code"], 0);
    const auto file_id = str(last["file_id"]);
    ASSERT_FALSE(file_id.empty());

    auto file_reply = retrieve(sim, "mm-a", file_id);
    expect_code(file_reply, 0);
    auto file = as_object(file_reply)["file"].as_object();
    EXPECT_EQ(str(file["file_id"]), file_id);
    EXPECT_EQ(str(file["purpose"]), "video_generation");
    auto video = fetch(str(file["download_url"]));
    ASSERT_EQ(video.status, 200U);
    EXPECT_EQ(file["bytes"], video.body.size());

    auto ledger = sim.ledger();
    const auto* entry = ledger_entry(ledger, id);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(str(entry->at("provider")), "minimax");
    EXPECT_EQ(str(entry->at("model")), "MiniMax-Hailuo-02");
    EXPECT_EQ(entry->at("price_usd").to_number<double>(), 0.49);
    EXPECT_EQ(str(entry->at("prompt_sha256")), sha256_hex(prompt));
    EXPECT_EQ(str(entry->at("outcome")), "completed");
    EXPECT_EQ(str(entry->at("sha256")), sha256_hex(video.body));

    // Another key cannot see the task or its file.
    expect_code(query(sim, "mm-b", id), 2013);
    expect_code(retrieve(sim, "mm-b", file_id), 2013);
}

TEST(sim_minimax, download_url_expires) {
    // 100 provider seconds at time_scale 0.01: the link lives 1 s.
    sim_process sim(yaml("minimax_url_ttl_s: 100\n"));
    const auto id = task_id(create(
        sim,
        "mm-a",
        json::object{
            {"model", "MiniMax-Hailuo-2.3-Fast"},
            {"prompt", "p"},
            {"first_frame_image", data_url("image/webp", webp(1080, 1920))}}
    ));
    json::object last;
    run(sim, id, last);
    ASSERT_EQ(str(last["status"]), "Success");
    const auto url = str(as_object(retrieve(sim, "mm-a", str(last["file_id"])))["file"].as_object(
    )["download_url"]);
    EXPECT_EQ(fetch(url).status, 200U);
    poll_until([&] { return fetch(url).status == 403U; }, std::chrono::seconds{10});
    // A fresh retrieve gives a fresh, working link.
    const auto fresh = str(as_object(retrieve(sim, "mm-a", str(last["file_id"])))["file"].as_object(
    )["download_url"]);
    EXPECT_NE(fresh, url);
    EXPECT_EQ(fetch(fresh).status, 200U);
}

TEST(sim_minimax, expire_first_urls_per_task) {
    // The first two download_urls of each task are expired from the start; the third works
    // (and lives the normal TTL); another task counts its own.
    sim_process sim(yaml("minimax_expire_first_urls: 2\n"));
    auto url_of = [&](const std::string& file_id) {
        auto reply = retrieve(sim, "mm-a", file_id);
        expect_code(reply, 0);
        return str(as_object(reply)["file"].as_object()["download_url"]);
    };
    std::vector<std::string> file_ids;
    for (const char* prompt : {"first", "second"}) {
        const auto id = task_id(
            create(sim, "mm-a", json::object{{"model", "MiniMax-Hailuo-2.3"}, {"prompt", prompt}})
        );
        json::object last;
        run(sim, id, last);
        ASSERT_EQ(str(last["status"]), "Success");
        file_ids.push_back(str(last["file_id"]));
    }
    for (const auto& file_id : file_ids) {
        const auto first = url_of(file_id);
        const auto second = url_of(file_id);
        EXPECT_NE(first, second);
        for (const auto& url : {first, second}) {
            const auto reply = fetch(url);
            EXPECT_EQ(reply.status, 403U) << url;
            EXPECT_NE(reply.body.find("Request has expired"), std::string::npos) << reply.body;
        }
        const auto third = url_of(file_id);
        const auto video = fetch(third);
        EXPECT_EQ(video.status, 200U) << third;
        EXPECT_EQ(
            video.body.size(),
            as_object(retrieve(sim, "mm-a", file_id))["file"].as_object()["bytes"]
        );
        EXPECT_EQ(fetch(first).status, 403U);  // an expired link stays expired
    }
}

TEST(sim_minimax, failures_and_fail_spelling) {
    sim_process sim(yaml("minimax_fail_status: Failed\n"));
    const auto mod = task_id(create(
        sim, "mm-a", json::object{{"model", "MiniMax-Hailuo-2.3"}, {"prompt", "x [sim:moderate]"}}
    ));
    const auto fail = task_id(create(
        sim, "mm-a", json::object{{"model", "MiniMax-Hailuo-2.3"}, {"prompt", "x [sim:fail]"}}
    ));
    json::object last;
    EXPECT_EQ(run(sim, mod, last).back(), "Failed");
    EXPECT_EQ(last["base_resp"].as_object()["status_code"], 1027);
    EXPECT_EQ(run(sim, fail, last).back(), "Failed");
    EXPECT_NE(last["base_resp"].as_object()["status_code"], 0);
    EXPECT_EQ(str(last["file_id"]), "");
    auto ledger = sim.ledger();
    EXPECT_EQ(str(ledger_entry(ledger, mod)->at("outcome")), "moderated");
    EXPECT_EQ(str(ledger_entry(ledger, fail)->at("outcome")), "failed");
}

TEST(sim_minimax, business_errors_are_http_200_with_base_resp) {
    sim_process sim(yaml("", ", balance_usd: 0.3, requests_per_minute: 3"));
    const json::object t2v{{"model", "MiniMax-Hailuo-2.3"}, {"prompt", "p"}};
    expect_code(
        http_call(sim.port(), http::verb::post, "/v1/video_generation", json::serialize(t2v)), 1004
    );
    expect_code(create(sim, "bad-key", t2v), 2049);
    // Combination rules (docs/simulator.md, "MiniMax routes").
    auto with = [](json::object o, const char* k, json::value v) {
        o[k] = std::move(v);
        return o;
    };
    expect_code(create(sim, "mm-a", with(t2v, "model", "MiniMax-Hailuo-9")), 2013);
    expect_code(create(sim, "mm-a", with(with(t2v, "resolution", "1080P"), "duration", 10)), 2013);
    expect_code(create(sim, "mm-a", with(t2v, "resolution", "512P")), 2013);  // 02 only
    expect_code(create(sim, "mm-a", with(t2v, "model", "MiniMax-Hailuo-2.3-Fast")), 2013);  // i2v
    expect_code(
        create(
            sim,
            "mm-a",
            json::object{
                {"model", "MiniMax-Hailuo-02"}, {"resolution", "512P"}, {"prompt", "t2v at 512P"}}
        ),
        2013
    );
    expect_code(
        create(
            sim,
            "mm-a",
            with(t2v, "first_frame_image", json::value(data_url("image/png", png(250, 600))))
        ),
        2013
    );
    expect_code(create(sim, "mm-a", with(t2v, "prompt", "bad [sim:reject]")), 1026);
    EXPECT_EQ(submission_count(sim), 0U);

    // 512P 10 s with an image on Hailuo-02 is fine ($0.15); then 0.25 would exceed 0.3: 1008.
    task_id(create(
        sim,
        "mm-a",
        json::object{
            {"model", "MiniMax-Hailuo-02"},
            {"resolution", "512P"},
            {"duration", 10},
            {"first_frame_image", "https://example.com/a.jpg"}}
    ));
    expect_code(create(sim, "mm-a", t2v), 1008);
    expect_code(create(sim, "mm-a", t2v), 1008);
    expect_code(create(sim, "mm-a", t2v), 1002);  // the fourth admitted request in the window
    EXPECT_EQ(submission_count(sim), 1U);
    expect_code(query(sim, "mm-a", "123"), 2013);
}

}  // namespace
