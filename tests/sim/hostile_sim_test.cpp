// shotfarm-sim's hostile answers (docs/simulator.md "Hostile answers"): prompt triggers that
// make one shot's answers unusable — download URLs on a forbidden scheme or host, redirect
// chains, job ids that climb out of a path, undocumented status words — on every provider, and
// the ledger entries that let an end-to-end test prove the farm touched nothing it should not
// (escaped requests, media fetches per job, credentials sent to a media route).
#include <cctype>
#include <ostream>
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

constexpr int foreign_port = 45999;  // nothing listens there; the sim only names it

std::string yaml() {
    return "time_scale: 0.01\n"
           "seed: 5\n"
           "visibility_lag_s: 0\n"
           "succeeded_fraction: 0\n"
           "default_timing: {median_s: 30, sigma: 0}\n"
           "foreign_url_port: " +
           std::to_string(foreign_port) +
           "\n"
           "keys:\n"
           "  - {key: at, provider: atlas}\n"
           "  - {key: ws, provider: wavespeed}\n"
           "  - {key: ai, provider: aimlapi}\n"
           "  - {key: mm, provider: minimax}\n";
}

// The test's own percent-encoding of an id (what a correct client sends).
std::string encode(const std::string& s) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(ch);
        } else {
            out += {'%', digits[c >> 4], digits[c & 0xf]};
        }
    }
    return out;
}

struct provider_case {
    std::string name;
    std::string key;
    std::string submit_path;
    json::object body;  // without the prompt
};

// gtest names and prints a case by its provider.
void PrintTo(const provider_case& c, std::ostream* os) {
    *os << c.name;
}

std::vector<provider_case> cases() {
    return {
        {"atlas",
         "at",
         "/api/v1/model/generateVideo",
         json::object{{"model", "minimax/hailuo-02/standard"}}},
        {"wavespeed", "ws", "/api/v3/minimax/hailuo-02/standard", json::object{}},
        {"aimlapi", "ai", "/v2/video/generations", json::object{{"model", "minimax/hailuo-02"}}},
        {"minimax", "mm", "/v1/video_generation", json::object{{"model", "MiniMax-Hailuo-02"}}},
    };
}

class sim_hostile_answers : public ::testing::TestWithParam<provider_case> {
protected:
    static void SetUpTestSuite() { sim_ = new sim_process(yaml()); }
    static void TearDownTestSuite() {
        delete sim_;
        sim_ = nullptr;
    }
    const sim_process& sim() const { return *sim_; }
    const provider_case& c() const { return GetParam(); }

    // Submits a shot with `prompt`; returns the provider's job id as answered.
    std::string submit(const std::string& prompt) const {
        auto body = c().body;
        body["prompt"] = prompt;
        const auto reply = http_call(
            sim().port(), http::verb::post, c().submit_path, json::serialize(body), bearer(c().key)
        );
        EXPECT_EQ(reply.status, 200U) << c().name << ": " << reply.body;
        auto o = as_object(reply);
        if (c().name == "aimlapi") {
            return str(o["generation_id"]);
        }
        if (c().name == "minimax") {
            EXPECT_EQ(o["base_resp"].as_object()["status_code"], 0) << reply.body;
            return str(o["task_id"]);
        }
        return str(o["data"].as_object()["id"]);
    }

    // The poll target for an id as given (a correct client passes encode(id)).
    std::string poll_target(const std::string& id_in_url) const {
        if (c().name == "atlas") {
            return "/api/v1/model/prediction/" + id_in_url;
        }
        if (c().name == "wavespeed") {
            return "/api/v3/predictions/" + id_in_url + "/result";
        }
        if (c().name == "aimlapi") {
            return "/v2/video/generations?generation_id=" + id_in_url;
        }
        return "/v1/query/video_generation?task_id=" + id_in_url;
    }

    http_reply poll_raw(const std::string& id_in_url) const {
        return http_call(
            sim().port(), http::verb::get, poll_target(id_in_url), {}, bearer(c().key)
        );
    }

    // One poll with the id percent-encoded: {status word, the answer}. Fails the test unless
    // the provider found the job.
    std::pair<std::string, json::object> poll(const std::string& id) const {
        const auto reply = poll_raw(encode(id));
        EXPECT_EQ(reply.status, 200U) << c().name << ": " << reply.body;
        auto o = as_object(reply);
        if (c().name == "minimax") {
            EXPECT_EQ(o["base_resp"].as_object()["status_code"], 0) << reply.body;
            return {str(o["status"]), o};
        }
        if (c().name == "aimlapi") {
            return {str(o["status"]), o};
        }
        auto data = o["data"].as_object();
        return {str(data["status"]), data};
    }

    static bool done(const std::string& status) {
        return status == "completed" || status == "succeeded" || status == "Success";
    }

    // Polls until the job is done; returns its video URL (MiniMax: from files/retrieve).
    std::string video_url_of(const std::string& id) const {
        json::object last;
        poll_until([&] {
            auto [status, answer] = poll(id);
            last = answer;
            return done(status);
        });
        if (c().name == "atlas" || c().name == "wavespeed") {
            const auto& outputs = last["outputs"].as_array();
            return outputs.empty() ? std::string() : str(outputs[0]);
        }
        if (c().name == "aimlapi") {
            return str(last["video"].as_object()["url"]);
        }
        const auto reply = http_call(
            sim().port(),
            http::verb::get,
            "/v1/files/retrieve?file_id=" + str(last["file_id"]),
            {},
            bearer(c().key)
        );
        auto o = as_object(reply);
        return str(o["file"].as_object()["download_url"]);
    }

    json::object entry(const std::string& id) const {
        const auto ledger = sim().ledger();
        const auto* e = ledger_entry(ledger, id);
        EXPECT_NE(e, nullptr) << id;
        return e != nullptr ? *e : json::object{};
    }

    std::int64_t escaped() const {
        return sim().ledger().at("escaped_requests").to_number<std::int64_t>();
    }

private:
    static sim_process* sim_;
};

sim_process* sim_hostile_answers::sim_ = nullptr;

TEST_P(sim_hostile_answers, url_ftp_names_the_sims_own_host_on_the_ftp_scheme) {
    const auto id = submit("a harbour at dusk [sim:url_ftp]");
    const auto url = video_url_of(id);
    EXPECT_EQ(url.rfind("ftp://127.0.0.1:" + std::to_string(sim().port()) + "/_sim/", 0), 0U)
        << url;
}

TEST_P(sim_hostile_answers, url_foreign_names_a_loopback_port_the_sim_does_not_own) {
    const auto id = submit("a harbour at dusk [sim:url_foreign]");
    EXPECT_EQ(video_url_of(id), "http://127.0.0.1:" + std::to_string(foreign_port) + "/metrics");
}

TEST_P(sim_hostile_answers, url_private_names_the_cloud_metadata_address) {
    const auto id = submit("a harbour at dusk [sim:url_private]");
    EXPECT_EQ(video_url_of(id), "http://169.254.169.254/latest/meta-data/");
}

TEST_P(sim_hostile_answers, a_healthy_job_has_a_plain_url_and_its_fetch_is_counted) {
    const auto id = submit("a harbour at dusk");
    const auto url = video_url_of(id);
    ASSERT_EQ(url.rfind(sim().base_url() + "/_sim/", 0), 0U) << url;
    const auto reply = fetch(url);
    ASSERT_EQ(reply.status, 200U);
    const auto e = entry(id);
    EXPECT_EQ(sha256_hex(reply.body), str(e.at("sha256")));
    EXPECT_EQ(e.at("fetches").at("file"), 1);
    EXPECT_EQ(e.at("fetches").at("redirect"), 0);
}

// `[sim:redirect:N]`: N 302s on the sim's own origin, then the file, for N = 1..5.
TEST_P(sim_hostile_answers, redirect_n_answers_n_302s_on_its_own_origin_then_the_file) {
    for (int n = 1; n <= 5; ++n) {
        const auto id = submit("a harbour at dusk [sim:redirect:" + std::to_string(n) + "]");
        auto url = video_url_of(id);
        int hops = 0;
        http_reply reply;
        for (int guard = 0; guard < 10; ++guard) {
            ASSERT_EQ(url.rfind(sim().base_url() + "/", 0), 0U) << "hop " << hops << ": " << url;
            reply = fetch(url);
            if (reply.status != 302U) {
                break;
            }
            ++hops;
            url = std::string(reply.headers["Location"]);
        }
        EXPECT_EQ(hops, n) << c().name;
        ASSERT_EQ(reply.status, 200U) << reply.body;
        EXPECT_EQ(reply.headers["Content-Type"], "video/mp4");
        const auto e = entry(id);
        EXPECT_EQ(sha256_hex(reply.body), str(e.at("sha256")));
        EXPECT_EQ(e.at("fetches").at("redirect"), n);
        EXPECT_EQ(e.at("fetches").at("file"), 1);
    }
}

TEST_P(sim_hostile_answers, redirect_foreign_and_private_send_one_302_off_the_sims_origin) {
    const std::vector<std::pair<std::string, std::string>> traps = {
        {"[sim:redirect_foreign]", "http://127.0.0.1:" + std::to_string(foreign_port) + "/metrics"},
        {"[sim:redirect_private]", "http://169.254.169.254/latest/meta-data/"},
    };
    for (const auto& [trigger, target] : traps) {
        const auto id = submit("a harbour at dusk " + trigger);
        const auto url = video_url_of(id);
        ASSERT_EQ(url.rfind(sim().base_url() + "/_sim/redirect/", 0), 0U) << url;
        const auto reply = fetch(url);
        EXPECT_EQ(reply.status, 302U) << trigger;
        EXPECT_EQ(reply.headers["Location"], target) << trigger;
        const auto e = entry(id);
        EXPECT_EQ(e.at("fetches").at("redirect"), 1);
        EXPECT_EQ(e.at("fetches").at("file"), 0);
    }
}

TEST_P(
    sim_hostile_answers, id_climb_is_found_by_its_encoded_id_and_a_raw_one_is_recorded_as_escaped
) {
    const auto before = escaped();
    const auto id = submit("a harbour at dusk [sim:id_climb]");
    EXPECT_EQ(id.rfind("../../../admin/delete?x=", 0), 0U) << id;
    // Properly encoded, the id is data: one path segment (or one query value), found.
    const auto [status, answer] = poll(id);
    EXPECT_FALSE(status.empty()) << json::serialize(answer);
    EXPECT_EQ(escaped(), before) << json::serialize(sim().ledger().at("escaped_paths"));
    EXPECT_EQ(str(entry(id).at("provider")), c().name);

    // Pasted raw, it climbs out of a path: recorded as an escaped request. In a query string it
    // stays inside the documented route (AI/ML API and MiniMax poll by query).
    const auto raw = poll_raw(id);
    const bool in_path = c().name == "atlas" || c().name == "wavespeed";
    if (in_path) {
        EXPECT_NE(raw.status, 200U) << raw.body;
        ASSERT_EQ(escaped(), before + 1);
        const auto paths = sim().ledger().at("escaped_paths").as_array();
        EXPECT_EQ(str(paths.back()), poll_target(id));
    } else {
        EXPECT_EQ(escaped(), before);
    }
}

TEST_P(sim_hostile_answers, id_ctrl_carries_a_space_and_a_control_character_and_is_found_encoded) {
    const auto id = submit("a harbour at dusk [sim:id_ctrl]");
    EXPECT_NE(id.find(' '), std::string::npos) << id;
    EXPECT_NE(id.find('\x01'), std::string::npos) << id;
    EXPECT_FALSE(poll(id).first.empty());
    EXPECT_EQ(entry(id).at("prompt"), "a harbour at dusk [sim:id_ctrl]");
}

TEST_P(sim_hostile_answers, id_long_is_300_bytes_and_is_found) {
    const auto id = submit("a harbour at dusk [sim:id_long]");
    EXPECT_EQ(id.size(), 300U);
    EXPECT_FALSE(poll(id).first.empty());
}

TEST_P(sim_hostile_answers, status_bogus_answers_an_undocumented_word_and_never_an_output) {
    const auto id = submit("a harbour at dusk [sim:status_bogus]");
    // The generation itself completes (the ledger says so); the polls never tell.
    poll_until([&] { return str(entry(id).at("outcome")) == "completed"; });
    const auto [status, answer] = poll(id);
    EXPECT_EQ(status, c().name == "minimax" ? "Teleported" : "teleported");
    const auto text = json::serialize(answer);
    EXPECT_EQ(text.find("/_sim/files/"), std::string::npos) << text;
    if (c().name == "minimax") {
        EXPECT_EQ(answer.at("file_id"), "");
    }
}

TEST_P(
    sim_hostile_answers, documented_requests_escape_nothing_and_media_fetches_carry_no_credentials
) {
    const auto before = escaped();
    const auto id = submit("a quiet road");
    const auto url = video_url_of(id);
    EXPECT_EQ(escaped(), before) << json::serialize(sim().ledger().at("escaped_paths"));
    const auto authorized = sim().ledger().at("media_authorized").to_number<std::int64_t>();
    EXPECT_EQ(fetch(url).status, 200U);
    EXPECT_EQ(sim().ledger().at("media_authorized"), authorized);
    // A client that sends its key to the media route is seen (so the e2e assert can fail).
    const auto path = url.substr(sim().base_url().size());
    EXPECT_EQ(http_call(sim().port(), http::verb::get, path, {}, bearer(c().key)).status, 200U);
    EXPECT_EQ(sim().ledger().at("media_authorized").to_number<std::int64_t>(), authorized + 1);
}

INSTANTIATE_TEST_SUITE_P(
    each_provider,
    sim_hostile_answers,
    ::testing::ValuesIn(cases()),
    [](const ::testing::TestParamInfo<provider_case>& param) { return param.param.name; }
);

TEST(sim_hostile, a_path_outside_a_providers_routes_with_its_key_is_escaped_whatever_the_prefix) {
    sim_process sim(yaml());
    const auto escaped = [&] { return sim.ledger().at("escaped_requests").to_number<int>(); };
    // Normalised by a client: the climb lands on another prefix (routed to Atlas, 401 there).
    EXPECT_NE(
        http_call(sim.port(), http::verb::get, "/admin/delete?x=1", {}, bearer("ws")).status, 200U
    );
    EXPECT_EQ(escaped(), 1);
    // An unknown key is not a client of ours: not counted.
    http_call(sim.port(), http::verb::get, "/admin/delete?x=1", {}, bearer("nobody"));
    EXPECT_EQ(escaped(), 1);
    // The documented routes, with a missing job: answered 404, not escaped.
    http_call(sim.port(), http::verb::get, "/api/v1/model/prediction/abc", {}, bearer("at"));
    http_call(sim.port(), http::verb::get, "/api/v3/predictions/abc/result", {}, bearer("ws"));
    EXPECT_EQ(escaped(), 1);
    const auto paths = sim.ledger().at("escaped_paths").as_array();
    ASSERT_EQ(paths.size(), 1U);
    EXPECT_EQ(paths[0], "/admin/delete?x=1");
}

}  // namespace
