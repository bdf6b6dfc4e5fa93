// shotfarm-sim's injected faults (SIM.yaml `faults:`), for every provider, over loopback.
#include <string>
#include <vector>

#include <gtest/gtest.h>

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

std::string yaml(const std::string& faults, std::uint64_t seed = 11) {
    return "time_scale: 0.01\n"
           "seed: " +
           std::to_string(seed) +
           "\n"
           "visibility_lag_s: 0\n"
           "default_timing: {median_s: 50, sigma: 0}\n"
           "keys:\n"
           "  - {key: at, provider: atlas}\n"
           "  - {key: ws, provider: wavespeed}\n"
           "  - {key: ai, provider: aimlapi}\n"
           "  - {key: mm, provider: minimax}\n"
           "faults: {" +
           faults + "}\n";
}

// One valid submit and one poll target per provider.
struct provider_case {
    std::string name;
    std::string key;
    std::string submit_path;
    json::object body;
    std::string poll_prefix;  // + id
};

std::vector<provider_case> cases() {
    return {
        {"atlas",
         "at",
         "/api/v1/model/generateVideo",
         json::object{{"model", "minimax/hailuo-02/standard"}, {"prompt", "p"}},
         "/api/v1/model/prediction/"},
        {"wavespeed",
         "ws",
         "/api/v3/minimax/hailuo-02/standard",
         json::object{{"prompt", "p"}},
         "/api/v3/predictions/"},
        {"aimlapi",
         "ai",
         "/v2/video/generations",
         json::object{{"model", "minimax/hailuo-02"}, {"prompt", "p"}},
         "/v2/video/generations?generation_id="},
        {"minimax",
         "mm",
         "/v1/video_generation",
         json::object{{"model", "MiniMax-Hailuo-02"}, {"prompt", "p"}},
         "/v1/query/video_generation?task_id="},
    };
}

http_reply submit(
    const sim_process& sim, const provider_case& c, std::chrono::seconds timeout = 30s
) {
    return http_call(
        sim.port(), http::verb::post, c.submit_path, json::serialize(c.body), bearer(c.key), timeout
    );
}

http_reply poll(const sim_process& sim, const provider_case& c, const std::string& id) {
    return http_call(sim.port(), http::verb::get, c.poll_prefix + id, {}, bearer(c.key));
}

std::string id_of(const provider_case& c, const http_reply& reply) {
    auto body = as_object(reply);
    if (c.name == "aimlapi") {
        return str(body["generation_id"]);
    }
    if (c.name == "minimax") {
        return str(body["task_id"]);
    }
    return str(body["data"].as_object()["id"]);
}

std::int64_t fault_count(const sim_process& sim, const char* name) {
    const auto faults = sim.ledger().at("faults").as_object();
    const auto* n = faults.if_contains(name);
    return n != nullptr ? n->to_number<std::int64_t>() : 0;
}

TEST(sim_faults, zero_probabilities_never_fire) {
    sim_process sim(
        yaml("http_429: 0, http_5xx: 0, reset: 0, slow: 0, slow_s: 5, malformed_json: 0, "
             "generation_failed: 0, moderated: 0, stuck: 0, lost_response: 0")
    );
    for (const auto& c : cases()) {
        for (int i = 0; i < 5; ++i) {
            auto reply = submit(sim, c);
            ASSERT_EQ(reply.status, 200U) << c.name << reply.body;
            const auto id = id_of(c, reply);
            ASSERT_FALSE(id.empty()) << c.name << reply.body;
            EXPECT_EQ(poll(sim, c, id).status, 200U) << c.name;
        }
    }
    auto ledger = sim.ledger();
    EXPECT_EQ(ledger.at("submissions").as_array().size(), 20U);
    EXPECT_TRUE(ledger.at("faults").as_object().empty());
    poll_until([&] {
        const auto now = sim.ledger();
        for (const auto& s : now.at("submissions").as_array()) {
            if (str(s.at("outcome")) != "completed") {
                return false;
            }
        }
        return true;
    });
}

TEST(sim_faults, http_429_in_each_providers_shape_on_submit_and_poll) {
    sim_process sim(yaml("http_429: 1"));
    for (const auto& c : cases()) {
        for (const auto& reply : {submit(sim, c), poll(sim, c, "123")}) {
            auto body = as_object(reply);
            if (c.name == "minimax") {
                EXPECT_EQ(reply.status, 200U);
                EXPECT_EQ(body["base_resp"].as_object()["status_code"], 1002);
            } else {
                EXPECT_EQ(reply.status, 429U) << c.name;
                if (c.name == "aimlapi") {
                    EXPECT_EQ(body["statusCode"], 429);
                } else {
                    EXPECT_EQ(body["code"], 429);
                }
            }
        }
    }
    EXPECT_EQ(submission_count(sim), 0U);
    EXPECT_EQ(fault_count(sim, "http_429"), 8);
}

TEST(sim_faults, http_5xx_gives_500_or_503) {
    sim_process sim(yaml("http_5xx: 1"));
    std::set<unsigned> statuses;
    for (int i = 0; i < 5; ++i) {
        for (const auto& c : cases()) {
            const auto reply = submit(sim, c);
            statuses.insert(reply.status);
            as_object(reply);  // still JSON
        }
    }
    EXPECT_EQ(statuses, (std::set<unsigned>{500, 503}));
    EXPECT_EQ(submission_count(sim), 0U);
}

TEST(sim_faults, reset_closes_without_answer_and_bills_nothing) {
    sim_process sim(yaml("reset: 1"));
    for (const auto& c : cases()) {
        EXPECT_ANY_THROW(submit(sim, c)) << c.name;
        EXPECT_ANY_THROW(poll(sim, c, "1")) << c.name;
    }
    EXPECT_EQ(submission_count(sim), 0U);
    EXPECT_EQ(fault_count(sim, "reset"), 8);
}

TEST(sim_faults, lost_response_creates_and_bills_but_the_client_sees_a_reset) {
    sim_process sim(yaml("lost_response: 1"));
    for (const auto& c : cases()) {
        EXPECT_ANY_THROW(submit(sim, c)) << c.name;
    }
    auto ledger = sim.ledger();
    const auto& subs = ledger.at("submissions").as_array();
    ASSERT_EQ(subs.size(), 4U);
    for (const auto& s : subs) {
        EXPECT_GT(s.at("price_usd").to_number<double>(), 0);
    }
    // Polls are not affected by lost_response.
    const auto c = cases()[1];
    EXPECT_EQ(poll(sim, c, str(subs[1].at("id"))).status, 200U);
}

TEST(sim_faults, slow_answers_after_slow_s) {
    sim_process sim(yaml("slow: 1, slow_s: 3"));
    const auto c = cases()[2];
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_ANY_THROW(submit(sim, c, 1s));  // the client gives up first
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    // ... yet the submit goes through once the delay is over: created and billed.
    poll_until([&] { return submission_count(sim) == 1; }, 10s);
    const auto t1 = std::chrono::steady_clock::now();
    auto reply = submit(sim, c);
    EXPECT_EQ(reply.status, 200U);
    EXPECT_GE(std::chrono::steady_clock::now() - t1, 3s);
}

TEST(sim_faults, malformed_json_is_not_json) {
    sim_process sim(yaml("malformed_json: 1"));
    for (const auto& c : cases()) {
        const auto reply = submit(sim, c);
        EXPECT_EQ(reply.status, 200U);
        boost::system::error_code ec;
        json::parse(reply.body, ec);
        EXPECT_TRUE(ec) << c.name << ": " << reply.body;
    }
    EXPECT_EQ(submission_count(sim), 4U);  // the work was done, only the answer is broken
}

TEST(sim_faults, generation_outcome_faults) {
    for (const auto& [fault, outcome] :
         {std::pair{"generation_failed", "failed"},
          std::pair{"moderated", "moderated"},
          std::pair{"stuck", "stuck"}}) {
        sim_process sim(yaml(std::string(fault) + ": 1"));
        for (const auto& c : cases()) {
            ASSERT_EQ(submit(sim, c).status, 200U);
        }
        poll_until([&] {
            const auto ledger = sim.ledger();
            for (const auto& s : ledger.at("submissions").as_array()) {
                if (str(s.at("outcome")) != outcome) {
                    return false;
                }
            }
            return ledger.at("submissions").as_array().size() == 4U;
        });
        if (std::string(fault) == "stuck") {
            // Still not finished well after a normal job would have (0.5 s).
            std::this_thread::sleep_for(1s);
            const auto later = sim.ledger();
            for (const auto& s : later.at("submissions").as_array()) {
                EXPECT_EQ(str(s.at("status")), "processing");
            }
        }
    }
}

TEST(sim_faults, partial_probability_is_seeded_and_repeatable) {
    auto pattern = [](std::uint64_t seed) {
        sim_process sim(yaml("http_429: 0.5", seed));
        std::string p;
        const auto c = cases()[1];
        for (int i = 0; i < 60; ++i) {
            p += submit(sim, c).status == 429 ? 'x' : '.';
        }
        return p;
    };
    const auto a = pattern(21);
    EXPECT_EQ(a, pattern(21));
    EXPECT_NE(a, pattern(22));
    const auto hits = std::count(a.begin(), a.end(), 'x');
    EXPECT_GT(hits, 15);
    EXPECT_LT(hits, 45);
}

TEST(sim_faults, unknown_fault_key_is_a_config_error) {
    EXPECT_ANY_THROW(sim_process sim(yaml("http_418: 0.5")));
}

}  // namespace
