// The adapters' I/O over real loopback HTTP: the requests they
// send (method, path, query, auth, body) and how they chain them (MiniMax query → retrieve).
// A scripted net::http_server plays the provider; the wire mapping itself is in *_wire_test.
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "providers/image_limits.hpp"
#include "providers/provider.hpp"
#include "tests/support/run_coro.hpp"

namespace shotfarm::providers {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

struct seen_request {
    http::verb method;
    std::string target;
    std::string authorization;
    std::string body;
};

struct script {
    std::deque<std::pair<unsigned, std::string>> answers;  // status, JSON body
    std::vector<seen_request> seen;
};

asio::awaitable<net::http_response_t> serve(std::shared_ptr<script> s, net::http_request_t req) {
    s->seen.push_back(
        {req.method(),
         std::string(req.target()),
         std::string(req[http::field::authorization]),
         req.body()}
    );
    net::http_response_t res;
    res.version(11);
    if (s->answers.empty()) {
        res.result(http::status::internal_server_error);
    } else {
        res.result(s->answers.front().first);
        res.body() = s->answers.front().second;
        s->answers.pop_front();
    }
    res.set(http::field::content_type, "application/json");
    res.prepare_payload();
    co_return res;
}

// One provider account against a scripted loopback server.
class AdapterHttp : public ::testing::Test {
protected:
    void SetUp() override {
        script_ = std::make_shared<script>();
        auto s = script_;
        server_ = std::make_unique<net::http_server>(
            ioc_.get_executor(),
            "127.0.0.1",
            0,
            [s](net::http_request_t r) { return serve(s, std::move(r)); }
        );
        server_->start();
        client_ = std::make_unique<net::http_client>(ioc_.get_executor());
    }

    std::unique_ptr<provider> make(const std::string& name) {
        account acct;
        acct.name = name + "-1";
        acct.provider = name;
        acct.base_url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/";
        acct.api_key = "sk-test";
        acct.submit_timeout = std::chrono::seconds(10);
        acct.poll_timeout = std::chrono::seconds(10);
        return make_provider(acct, *client_);
    }

    // Runs one adapter call to completion, then stops the server so the loop ends.
    template <class T>
    T run(asio::awaitable<T> call) {
        auto* server = server_.get();
        auto wrapped = [](asio::awaitable<T> c, net::http_server* srv) -> asio::awaitable<T> {
            T result = co_await std::move(c);
            srv->stop();
            co_return result;
        };
        return shotfarm::testing::run_coro(ioc_, wrapped(std::move(call), server));
    }

    void answer(unsigned status, std::string body) {
        script_->answers.emplace_back(status, std::move(body));
    }

    asio::io_context ioc_;
    std::shared_ptr<script> script_;
    std::unique_ptr<net::http_server> server_;
    std::unique_ptr<net::http_client> client_;
};

submit_request sample_request(std::string model) {
    submit_request r;
    r.provider_model = std::move(model);
    r.prompt = "a lighthouse at dusk";
    r.image_url = "data:image/png;base64,iVBORw0KGgo=";
    r.duration = 6;
    r.extra_params["resolution"] = "768P";
    return r;
}

TEST(MakeProvider, KnowsAllFourNames) {
    asio::io_context ioc;
    net::http_client client(ioc.get_executor());
    for (const std::string name : {"atlas", "wavespeed", "aimlapi", "minimax"}) {
        account acct;
        acct.provider = name;
        acct.base_url = "http://127.0.0.1:9";
        auto p = make_provider(acct, client);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(p->name(), name);
    }
    account other;
    other.provider = "fal";
    EXPECT_THROW(make_provider(other, client), std::invalid_argument);
}

TEST_F(AdapterHttp, WavespeedSubmitsToTheModelPath) {
    auto p = make("wavespeed");
    answer(200, R"({"code":200,"message":"success","data":{"id":"pred_1","status":"created"}})");
    auto sub = run(p->submit(sample_request("minimax/hailuo-02/fast")));
    ASSERT_EQ(sub.cls, outcome_class::ok) << sub.message;
    EXPECT_EQ(sub.provider_job_id, "pred_1");
    ASSERT_EQ(script_->seen.size(), 1u);
    EXPECT_EQ(script_->seen[0].method, http::verb::post);
    EXPECT_EQ(script_->seen[0].target, "/api/v3/minimax/hailuo-02/fast");
    EXPECT_EQ(script_->seen[0].authorization, "Bearer sk-test");
    auto body = json::parse(script_->seen[0].body).as_object();
    EXPECT_EQ(body.at("image").as_string(), "data:image/png;base64,iVBORw0KGgo=");
    EXPECT_FALSE(body.contains("model"));
}

TEST_F(AdapterHttp, WavespeedPollReadsOutputs) {
    auto p = make("wavespeed");
    answer(
        200,
        R"({"code":200,"data":{"id":"pred_1","status":"completed","outputs":["https://cdn/x.mp4"]}})"
    );
    auto polled = run(p->poll("pred_1"));
    EXPECT_EQ(polled.state, remote_state::succeeded);
    EXPECT_EQ(polled.video_url, "https://cdn/x.mp4");
    ASSERT_EQ(script_->seen.size(), 1u);
    EXPECT_EQ(script_->seen[0].method, http::verb::get);
    EXPECT_EQ(script_->seen[0].target, "/api/v3/predictions/pred_1/result");
}

TEST_F(AdapterHttp, AimlapiPollsWithAnEncodedGenerationId) {
    auto p = make("aimlapi");
    answer(200, R"({"id":"1:minimax/hailuo-2.3","status":"generating"})");
    auto polled = run(p->poll("1:minimax/hailuo-2.3"));
    EXPECT_EQ(polled.cls, outcome_class::ok);
    EXPECT_EQ(polled.state, remote_state::pending);
    ASSERT_EQ(script_->seen.size(), 1u);
    EXPECT_EQ(
        script_->seen[0].target, "/v2/video/generations?generation_id=1%3Aminimax%2Fhailuo-2.3"
    );
    EXPECT_EQ(script_->seen[0].authorization, "Bearer sk-test");
}

TEST_F(AdapterHttp, AimlapiSubmitOutOfCredits) {
    auto p = make("aimlapi");
    answer(403, R"({"message":"You've run out of credits.","statusCode":403})");
    auto sub = run(p->submit(sample_request("minimax/hailuo-2.3")));
    EXPECT_EQ(sub.cls, outcome_class::account_problem);
    EXPECT_EQ(sub.http_status, 403u);
    ASSERT_EQ(script_->seen.size(), 1u);
    EXPECT_EQ(script_->seen[0].target, "/v2/video/generations");
    auto body = json::parse(script_->seen[0].body).as_object();
    EXPECT_EQ(body.at("image_url").as_string(), "data:image/png;base64,iVBORw0KGgo=");
    EXPECT_EQ(body.at("resolution").as_string(), "768P");
}

TEST_F(AdapterHttp, MinimaxSuccessRetrievesTheDownloadUrl) {
    auto p = make("minimax");
    answer(
        200,
        R"({"task_id":"t1","status":"Success","file_id":"f 1","base_resp":{"status_code":0,"status_msg":"success"}})"
    );
    answer(
        200,
        R"({"file":{"file_id":"f 1","download_url":"https://cdn.minimax/out.mp4"},"base_resp":{"status_code":0}})"
    );
    auto polled = run(p->poll("t1"));
    EXPECT_EQ(polled.cls, outcome_class::ok) << polled.message;
    EXPECT_EQ(polled.state, remote_state::succeeded);
    EXPECT_EQ(polled.video_url, "https://cdn.minimax/out.mp4");
    ASSERT_EQ(script_->seen.size(), 2u);
    EXPECT_EQ(script_->seen[0].target, "/v1/query/video_generation?task_id=t1");
    EXPECT_EQ(script_->seen[1].method, http::verb::get);
    EXPECT_EQ(script_->seen[1].target, "/v1/files/retrieve?file_id=f%201");
    EXPECT_EQ(script_->seen[1].authorization, "Bearer sk-test");
}

TEST_F(AdapterHttp, MinimaxFailedRetrieveIsAPendingRetryablePoll) {
    auto p = make("minimax");
    answer(
        200, R"({"task_id":"t1","status":"Success","file_id":"f1","base_resp":{"status_code":0}})"
    );
    answer(502, "");
    auto polled = run(p->poll("t1"));
    EXPECT_EQ(polled.cls, outcome_class::retryable);
    EXPECT_EQ(polled.state, remote_state::pending);
    EXPECT_TRUE(polled.video_url.empty());
    EXPECT_EQ(script_->seen.size(), 2u);
}

TEST_F(AdapterHttp, MinimaxPendingDoesNotRetrieve) {
    auto p = make("minimax");
    answer(
        200, R"({"task_id":"t1","status":"Queueing","file_id":"","base_resp":{"status_code":0}})"
    );
    auto polled = run(p->poll("t1"));
    EXPECT_EQ(polled.state, remote_state::pending);
    EXPECT_EQ(script_->seen.size(), 1u);
}

TEST_F(AdapterHttp, MinimaxBusinessErrorInA200) {
    auto p = make("minimax");
    answer(
        200,
        R"({"task_id":"","base_resp":{"status_code":1008,"status_msg":"insufficient balance"}})"
    );
    auto sub = run(p->submit(sample_request("MiniMax-Hailuo-02")));
    EXPECT_EQ(sub.cls, outcome_class::account_problem);
    EXPECT_NE(sub.message.find("insufficient balance"), std::string::npos);
    ASSERT_EQ(script_->seen.size(), 1u);
    EXPECT_EQ(script_->seen[0].target, "/v1/video_generation");
    auto body = json::parse(script_->seen[0].body).as_object();
    EXPECT_EQ(body.at("first_frame_image").as_string(), "data:image/png;base64,iVBORw0KGgo=");
}

TEST_F(AdapterHttp, RefusedConnectionBeforeSendingIsRetryable) {
    const std::string names[] = {"wavespeed", "aimlapi", "minimax"};
    server_->stop();
    ioc_.restart();
    ioc_.run();  // let the server close its acceptor
    for (const auto& name : names) {
        account acct;
        acct.provider = name;
        acct.base_url = "http://127.0.0.1:" + std::to_string(server_->port());
        acct.api_key = "k";
        auto p = make_provider(acct, *client_);
        auto sub = shotfarm::testing::run_coro(ioc_, p->submit(sample_request("m")));
        EXPECT_EQ(sub.cls, outcome_class::retryable) << name << ": " << sub.message;
        auto polled = shotfarm::testing::run_coro(ioc_, p->poll("x"));
        EXPECT_EQ(polled.cls, outcome_class::retryable) << name;
    }
}

// --- Hostile answers (issue 11): ids stay data, words stay bounded, nothing is sent that
// should not be. The provider here is a scripted loopback server, the client the real one.

const std::string climbing_id = "../../../admin/delete?x=1";

TEST_F(AdapterHttp, ProviderIdThatClimbsIsOneEncodedSegmentForEveryAdapter) {
    const std::pair<const char*, const char*> expected[] = {
        {"atlas", "/api/v1/model/prediction/..%2F..%2F..%2Fadmin%2Fdelete%3Fx%3D1"},
        {"wavespeed", "/api/v3/predictions/..%2F..%2F..%2Fadmin%2Fdelete%3Fx%3D1/result"},
        {"aimlapi", "/v2/video/generations?generation_id=..%2F..%2F..%2Fadmin%2Fdelete%3Fx%3D1"},
        {"minimax", "/v1/query/video_generation?task_id=..%2F..%2F..%2Fadmin%2Fdelete%3Fx%3D1"},
    };
    for (const auto& [name, target] : expected) {
        SetUp();  // a fresh server and script per adapter
        auto p = make(name);
        answer(404, "{}");
        auto polled = run(p->poll(climbing_id));
        ASSERT_EQ(script_->seen.size(), 1u) << name;
        EXPECT_EQ(script_->seen[0].target, target) << name;
        EXPECT_EQ(polled.cls, outcome_class::ok) << name << ": " << polled.message;
        EXPECT_EQ(polled.state, remote_state::not_found) << name;
    }
}

TEST_F(AdapterHttp, ProviderMinimaxFileIdThatClimbsIsOneEncodedQueryValue) {
    auto p = make("minimax");
    answer(
        200,
        R"({"task_id":"t1","status":"Success","file_id":"../../../admin/delete?x=1","base_resp":{"status_code":0}})"
    );
    answer(
        200,
        R"({"file":{"download_url":"https://cdn.minimax/out.mp4"},"base_resp":{"status_code":0}})"
    );
    auto polled = run(p->poll("t1"));
    EXPECT_EQ(polled.cls, outcome_class::ok) << polled.message;
    ASSERT_EQ(script_->seen.size(), 2u);
    EXPECT_EQ(
        script_->seen[1].target, "/v1/files/retrieve?file_id=..%2F..%2F..%2Fadmin%2Fdelete%3Fx%3D1"
    );
}

// An accepted submit's id as each provider would carry it.
std::string accepted_with_id(const std::string& provider, const std::string& json_id) {
    if (provider == "atlas") {
        return R"({"code":200,"data":{"id":")" + json_id + R"(","status":"created"}})";
    }
    if (provider == "wavespeed") {
        return R"({"code":200,"message":"success","data":{"id":")" + json_id + R"("}})";
    }
    if (provider == "aimlapi") {
        return R"({"generation_id":")" + json_id + R"(","status":"queued"})";
    }
    return R"({"task_id":")" + json_id +
           R"(","base_resp":{"status_code":0,"status_msg":"success"}})";
}

// --- Webhooks (issue 12): each adapter registers the account's webhook URL its own way.

const std::string hook = "https://studio.example/farm/webhooks/acct-1?x=a&b=c d";

TEST_F(AdapterHttp, AtlasAndMinimaxSendTheWebhookUrlInTheBodyFieldTheyName) {
    const std::tuple<const char*, const char*, const char*> cases[] = {
        {"atlas", "/api/v1/model/generateVideo", "webhook_url"},
        {"minimax", "/v1/video_generation", "callback_url"}};
    for (const auto& [name, target, field] : cases) {
        SetUp();
        auto p = make(name);
        answer(200, accepted_with_id(name, "job-1"));
        auto req = sample_request("minimax/hailuo-02/fast");
        req.webhook_url = hook;
        auto sub = run(p->submit(std::move(req)));
        ASSERT_EQ(sub.cls, outcome_class::ok) << name << ": " << sub.message;
        ASSERT_EQ(script_->seen.size(), 1u);
        EXPECT_EQ(script_->seen[0].target, target);
        auto body = json::parse(script_->seen[0].body).as_object();
        EXPECT_EQ(body.at(field).as_string(), hook) << name;
    }
}

TEST_F(AdapterHttp, WavespeedSendsTheWebhookUrlAsAnEncodedQueryParameter) {
    auto p = make("wavespeed");
    answer(200, R"({"code":200,"message":"success","data":{"id":"pred_1","status":"created"}})");
    auto req = sample_request("minimax/hailuo-02/fast");
    req.webhook_url = hook;
    auto sub = run(p->submit(std::move(req)));
    ASSERT_EQ(sub.cls, outcome_class::ok) << sub.message;
    ASSERT_EQ(script_->seen.size(), 1u);
    // One query value: its own '?', '&', '=' and space cannot add parameters of their own.
    EXPECT_EQ(
        script_->seen[0].target,
        "/api/v3/minimax/hailuo-02/fast?webhook=https%3A%2F%2Fstudio.example%2Ffarm%2Fwebhooks%"
        "2Facct-1%3Fx%3Da%26b%3Dc%20d"
    );
    auto body = json::parse(script_->seen[0].body).as_object();
    EXPECT_FALSE(body.contains("webhook"));
    EXPECT_FALSE(body.contains("webhook_url"));
}

TEST_F(AdapterHttp, AimlapiHasNoWebhooksAndSendsNone) {
    auto p = make("aimlapi");
    answer(200, R"({"generation_id":"1:minimax/hailuo-2.3","status":"queued"})");
    auto req = sample_request("minimax/hailuo-2.3");
    req.webhook_url = hook;
    auto sub = run(p->submit(std::move(req)));
    ASSERT_EQ(sub.cls, outcome_class::ok) << sub.message;
    ASSERT_EQ(script_->seen.size(), 1u);
    EXPECT_EQ(script_->seen[0].target, "/v2/video/generations");
    EXPECT_EQ(script_->seen[0].body.find("studio.example"), std::string::npos)
        << script_->seen[0].body;
}

TEST_F(AdapterHttp, NoWebhookUrlMeansNoWebhookField) {
    const std::pair<const char*, const char*> cases[] = {
        {"atlas", "webhook_url"}, {"minimax", "callback_url"}, {"wavespeed", "webhook"}};
    for (const auto& [name, field] : cases) {
        SetUp();
        auto p = make(name);
        answer(200, accepted_with_id(name, "job-1"));
        auto sub = run(p->submit(sample_request("minimax/hailuo-02/fast")));
        ASSERT_EQ(sub.cls, outcome_class::ok) << name << ": " << sub.message;
        ASSERT_EQ(script_->seen.size(), 1u);
        EXPECT_EQ(script_->seen[0].target.find('?'), std::string::npos) << name;
        EXPECT_FALSE(json::parse(script_->seen[0].body).as_object().contains(field)) << name;
    }
}

TEST_F(AdapterHttp, ProviderSubmitWithUnusableIdIsABadAnswerForEveryAdapter) {
    for (const std::string name : {"atlas", "wavespeed", "aimlapi", "minimax"}) {
        for (const std::string& id : {std::string(300, 'a'), std::string("pred\\n\\u001b[0m")}) {
            SetUp();
            auto p = make(name);
            answer(200, accepted_with_id(name, id));
            auto sub = run(p->submit(sample_request("minimax/hailuo-02/fast")));
            EXPECT_EQ(sub.cls, outcome_class::bad_answer) << name << ": " << sub.message;
            EXPECT_TRUE(sub.provider_job_id.empty()) << name;
            EXPECT_TRUE(sub.message.starts_with(name + " returned an unusable job id: "))
                << sub.message;
            EXPECT_EQ(sub.message.find('\n'), std::string::npos) << sub.message;
            EXPECT_EQ(sub.message.find('\x1b'), std::string::npos) << sub.message;
            EXPECT_LT(sub.message.size(), 300u) << "the id is shown cut short";
        }
    }
}

TEST_F(AdapterHttp, ProviderPollOfAnUnusableIdSendsNothing) {
    for (const std::string name : {"atlas", "wavespeed", "aimlapi", "minimax"}) {
        SetUp();
        auto p = make(name);
        for (const std::string& id : {std::string(257, 'x'), std::string("a\rb"), std::string()}) {
            auto polled = run(p->poll(id));
            EXPECT_EQ(polled.cls, outcome_class::bad_answer) << name;
            EXPECT_NE(polled.message.find("not polled"), std::string::npos) << polled.message;
        }
        EXPECT_TRUE(script_->seen.empty()) << name << " sent a request for an unusable id";
    }
}

TEST_F(AdapterHttp, ProviderErrorOfOneMebibyteIsCutToFourKibibytes) {
    std::string words(1u << 20, 'e');
    words.replace(10, 6, "\\u0001");  // a control character, JSON-escaped
    const std::string bodies[] = {
        R"({"code":400,"msg":")" + words + R"(","data":null})",
        R"({"code":400,"message":")" + words + R"("})",
        R"({"message":")" + words + R"(","statusCode":400})",
        R"({"base_resp":{"status_code":2013,"status_msg":")" + words + R"("}})",
    };
    int i = 0;
    for (const std::string name : {"atlas", "wavespeed", "aimlapi", "minimax"}) {
        SetUp();
        auto p = make(name);
        const auto& body = bodies[i++];
        answer(name == "minimax" ? 200 : 400, body);
        auto sub = run(p->submit(sample_request("minimax/hailuo-02/fast")));
        EXPECT_EQ(sub.cls, outcome_class::rejected_input) << name;
        EXPECT_LE(sub.message.size(), 4096u) << name;
        EXPECT_NE(sub.message.find("(truncated, "), std::string::npos) << name;
        EXPECT_EQ(sub.message.find('\x01'), std::string::npos) << name;

        SetUp();
        p = make(name);
        answer(name == "minimax" ? 200 : 403, body);  // a poll's error words, the same way
        auto polled = run(p->poll("job-1"));
        EXPECT_LE(polled.message.size(), 4096u) << name;
    }
}

TEST_F(AdapterHttp, ProviderKeyIsNeverEchoedInAMessage) {
    auto p = make("aimlapi");
    answer(401, R"({"message":"Invalid key sk-test. Check sk-test and retry","statusCode":401})");
    auto sub = run(p->submit(sample_request("minimax/hailuo-2.3")));
    EXPECT_EQ(sub.cls, outcome_class::account_problem);
    EXPECT_EQ(sub.message.find("sk-test"), std::string::npos) << sub.message;
}

TEST_F(AdapterHttp, ProviderSucceededWithAnUnusableUrlIsABadAnswer) {
    auto p = make("atlas");
    answer(200, R"({"data":{"status":"completed","outputs":["https://cdn/x.mp4\r\nX: 1"]}})");
    auto polled = run(p->poll("pred_1"));
    EXPECT_EQ(polled.cls, outcome_class::bad_answer) << polled.message;
    EXPECT_EQ(polled.state, remote_state::pending);
    EXPECT_TRUE(polled.video_url.empty());
}

class AtlasUploadRecheck : public AdapterHttp {
protected:
    std::filesystem::path file(const std::string& name, const std::string& bytes) {
        const auto dir = std::filesystem::temp_directory_path() /
                         ("shotfarm-upload-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        dirs_.push_back(dir);
        std::ofstream(dir / name, std::ios::binary) << bytes;
        return dir / name;
    }
    void TearDown() override {
        for (const auto& d : dirs_) {
            std::filesystem::remove_all(d);
        }
    }
    std::vector<std::filesystem::path> dirs_;
};

TEST_F(AtlasUploadRecheck, ProviderUploadsAValidImage) {
    auto p = make("atlas");
    answer(200, R"({"code":200,"data":{"download_url":"https://atlas-img.example/a.png"}})");
    auto up = run(p->upload_image(file("a.png", std::string("\x89PNG\r\n\x1a\n....", 12))));
    EXPECT_EQ(up.cls, outcome_class::ok) << up.message;
    ASSERT_EQ(script_->seen.size(), 1u);
    EXPECT_EQ(script_->seen[0].target, "/api/v1/model/uploadMedia");
}

TEST_F(AtlasUploadRecheck, ProviderUploadsAFileWhoseNameCannotBeAHeader) {
    auto p = make("atlas");
    answer(200, R"({"code":200,"data":{"download_url":"https://atlas-img.example/a.png"}})");
    // A quote and a line break are legal in a file name but not in a multipart header: the
    // upload goes out under a neutral name instead of throwing.
    auto up =
        run(p->upload_image(file("we\"ird\nname.png", std::string("\x89PNG\r\n\x1a\n....", 12))));
    EXPECT_EQ(up.cls, outcome_class::ok) << up.message;
    ASSERT_EQ(script_->seen.size(), 1u);
    EXPECT_NE(script_->seen[0].body.find("filename=\"frame.png\""), std::string::npos);
}

TEST_F(AtlasUploadRecheck, ProviderRefusesAFileChangedSinceValidationAndSendsNothing) {
    auto p = make("atlas");
    // Validated as a PNG, then overwritten with text.
    auto changed = run(p->upload_image(file("frame.png", "now a text file")));
    EXPECT_EQ(changed.cls, outcome_class::rejected_input);
    EXPECT_TRUE(changed.message.starts_with("changed since validation: ")) << changed.message;

    // Grown past the cap (sparse: no 20 MB written).
    auto big = file("big.png", std::string("\x89PNG\r\n\x1a\n", 8));
    std::filesystem::resize_file(big, max_image_bytes + 1);
    auto grown = run(p->upload_image(big));
    EXPECT_EQ(grown.cls, outcome_class::rejected_input);
    EXPECT_NE(grown.message.find("20 MB"), std::string::npos) << grown.message;

    // Replaced by a FIFO: refused at once, not read (which would block the event loop).
    auto fifo = file("fifo.png", "");
    std::filesystem::remove(fifo);
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto pipe = run(p->upload_image(fifo));
    EXPECT_EQ(pipe.cls, outcome_class::rejected_input);
    EXPECT_NE(pipe.message.find("not a regular file"), std::string::npos) << pipe.message;

    auto gone = run(p->upload_image(fifo.parent_path() / "deleted.png"));
    EXPECT_EQ(gone.cls, outcome_class::rejected_input);
    EXPECT_TRUE(script_->seen.empty()) << "a refused image is never sent";
}

}  // namespace
}  // namespace shotfarm::providers
