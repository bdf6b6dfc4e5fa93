// shotfarm-sim's Atlas Cloud emulation, exercised over loopback against the real process.
// Each test starts its own simulator (sim_process) with a SIM.yaml made for it.
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "tests/support/http_call.hpp"
#include "tests/support/sim_process.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;
using shotfarm::testing::bearer;
using shotfarm::testing::http_call;
using shotfarm::testing::http_reply;
using shotfarm::testing::sim_process;

constexpr auto standard = "minimax/hailuo-02/standard";
constexpr auto fast = "minimax/hailuo-02/fast";

struct yaml_options {
    std::string extra;  // appended verbatim (top-level knobs)
    int max_concurrency = 10;
    int rpm = 1000;
    std::string key_extra;  // appended inside each key's map
    int median_s = 100;     // 1 s of wall time at time_scale 0.01
};

// A SIM.yaml with two Atlas keys and sigma-0 timings, so tests know when jobs finish.
std::string sim_yaml(const yaml_options& o = {}) {
    const std::string limits = "max_concurrency: " + std::to_string(o.max_concurrency) +
                               ", requests_per_minute: " + std::to_string(o.rpm) + o.key_extra;
    const std::string timing = "{median_s: " + std::to_string(o.median_s) + ", sigma: 0}";
    return "time_scale: 0.01\n"
           "seed: 7\n"
           "visibility_lag_s: 10\n"   // 0.1 s after scaling
           "created_fraction: 0.3\n"  // created for 30% of the generation, then processing
           "succeeded_fraction: 0\n"
           "keys:\n"
           "  - {key: key-a, provider: atlas, " +
           limits +
           "}\n"
           "  - {key: key-b, provider: atlas, " +
           limits +
           "}\n"
           "models:\n"
           "  minimax/hailuo-02/standard: " +
           timing +
           "\n"
           "  minimax/hailuo-02/fast: " +
           timing + "\n" + o.extra;
}

json::object as_object(const http_reply& reply) {
    auto v = json::parse(reply.body);
    EXPECT_TRUE(v.is_object()) << reply.body;
    return v.is_object() ? v.as_object() : json::object{};
}

std::string str(const json::value& v) {
    return v.is_string() ? std::string(v.as_string()) : std::string();
}

http_reply submit(const sim_process& sim, const std::string& key, const json::object& body) {
    return http_call(
        sim.port(),
        http::verb::post,
        "/api/v1/model/generateVideo",
        json::serialize(body),
        bearer(key)
    );
}

json::object t2v(const std::string& prompt, int duration = 6) {
    return json::object{{"model", standard}, {"prompt", prompt}, {"duration", duration}};
}

http_reply poll(const sim_process& sim, const std::string& key, const std::string& id) {
    return http_call(
        sim.port(), http::verb::get, "/api/v1/model/prediction/" + id, {}, bearer(key)
    );
}

std::string submit_ok(const sim_process& sim, const std::string& key, const json::object& body) {
    auto reply = submit(sim, key, body);
    EXPECT_EQ(reply.status, 200U) << reply.body;
    auto obj = as_object(reply);
    return str(obj["data"].as_object()["id"]);
}

struct poll_history {
    std::vector<std::string> seen;  // "404" or data.status, in order, deduplicated runs
    json::object last_data;
};

// Polls every 20 ms until a terminal status or the deadline.
poll_history poll_until_terminal(
    const sim_process& sim,
    const std::string& key,
    const std::string& id,
    std::chrono::seconds deadline = 20s
) {
    poll_history h;
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        auto reply = poll(sim, key, id);
        std::string status;
        if (reply.status == 404) {
            status = "404";
        } else {
            EXPECT_EQ(reply.status, 200U) << reply.body;
            auto obj = as_object(reply);
            EXPECT_EQ(obj["code"], 200);
            h.last_data = obj["data"].as_object();
            status = str(h.last_data["status"]);
        }
        if (h.seen.empty() || h.seen.back() != status) {
            h.seen.push_back(status);
        }
        if (status == "completed" || status == "succeeded" || status == "failed") {
            return h;
        }
        std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "prediction " << id << " did not finish within the deadline";
    return h;
}

// GET of a full URL served by the simulator ("http://127.0.0.1:PORT/path").
http_reply fetch(const std::string& url) {
    const std::string prefix = "http://127.0.0.1:";
    EXPECT_EQ(url.rfind(prefix, 0), 0U) << url;
    const auto slash = url.find('/', prefix.size());
    const auto port = static_cast<std::uint16_t>(std::stoul(url.substr(prefix.size(), slash)));
    return http_call(port, http::verb::get, url.substr(slash));
}

std::string sha256_hex(const std::string& bytes) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr);
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
        std::array<char, 3> b{};
        std::snprintf(b.data(), b.size(), "%02x", md[i]);
        hex += b.data();
    }
    return hex;
}

std::string base64(const std::string& in) {
    static constexpr char table[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const auto n = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
        out += {table[(n >> 18) & 63], table[(n >> 12) & 63], table[(n >> 6) & 63], table[n & 63]};
    }
    if (i + 1 == in.size()) {
        const auto n = static_cast<unsigned char>(in[i]) << 16;
        out += {table[(n >> 18) & 63], table[(n >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        const auto n = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8);
        out += {table[(n >> 18) & 63], table[(n >> 12) & 63], table[(n >> 6) & 63], '='};
    }
    return out;
}

// The head of a PNG of the given size (signature + IHDR + IEND): all the simulator reads.
std::string png(std::uint32_t width, std::uint32_t height) {
    std::string p("\x89PNG\r\n\x1a\n", 8);
    auto u32 = [&p](std::uint32_t v) {
        for (int s = 24; s >= 0; s -= 8) {
            p.push_back(static_cast<char>((v >> s) & 0xff));
        }
    };
    u32(13);
    p += "IHDR";
    u32(width);
    u32(height);
    p += std::string("\x08\x02\x00\x00\x00", 5);
    u32(0);  // CRC (not checked)
    u32(0);
    p += "IEND";
    u32(0xae426082);
    return p;
}

http_reply upload(
    const sim_process& sim,
    const std::string& key,
    const std::string& bytes,
    const std::string& filename
) {
    const std::string boundary = "----shotfarmtestboundary";
    std::string body = "--" + boundary +
                       "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename +
                       "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + bytes + "\r\n--" +
                       boundary + "--\r\n";
    auto headers = bearer(key);
    headers.emplace_back("Content-Type", "multipart/form-data; boundary=" + boundary);
    return http_call(sim.port(), http::verb::post, "/api/v1/model/uploadMedia", body, headers);
}

const json::object* ledger_entry(const json::value& ledger, const std::string& id) {
    for (const auto& s : ledger.at("submissions").as_array()) {
        if (s.at("id") == id.c_str()) {
            return &s.as_object();
        }
    }
    return nullptr;
}

std::size_t submission_count(const sim_process& sim) {
    return sim.ledger().at("submissions").as_array().size();
}

bool have_ffprobe() {
    return std::system("command -v ffprobe >/dev/null 2>&1") == 0;
}

// Runs ffprobe on the bytes; returns the container duration, or -1 when ffprobe reported an
// error (anything on stderr with -v error, or a non-zero exit).
double ffprobe_duration(const std::string& bytes, const std::string& name) {
    const auto path = std::filesystem::temp_directory_path() / (name + ".mp4");
    std::ofstream(path, std::ios::binary) << bytes;
    const std::string cmd =
        "ffprobe -v error -show_entries format=duration -of "
        "default=noprint_wrappers=1:nokey=1 " +
        path.string() + " 2>&1";
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        std::array<char, 256> buf{};
        while (std::fgets(buf.data(), buf.size(), p) != nullptr) {
            out += buf.data();
        }
        const int rc = ::pclose(p);
        std::filesystem::remove(path);
        if (rc != 0) {
            ADD_FAILURE() << "ffprobe failed: " << out;
            return -1;
        }
    }
    try {
        return std::stod(out);
    } catch (const std::exception&) {
        ADD_FAILURE() << "ffprobe output: " << out;
        return -1;
    }
}

void expect_error_shape(const http_reply& reply, unsigned status) {
    EXPECT_EQ(reply.status, status) << reply.body;
    auto body = as_object(reply);
    EXPECT_EQ(body["code"], status);
    EXPECT_TRUE(body["msg"].is_string());
    EXPECT_FALSE(str(body["msg"]).empty());
    EXPECT_TRUE(body["data"].is_null());
    ASSERT_EQ(reply.headers.count("X-Request-ID"), 1U);
    EXPECT_EQ(str(body["request_id"]), std::string(reply.headers["X-Request-ID"]));
}

TEST(sim_atlas, happy_path_submit_lag_poll_complete_download) {
    sim_process sim(sim_yaml());
    auto reply = submit(sim, "key-a", t2v("a red fox in the snow", 10));
    ASSERT_EQ(reply.status, 200U) << reply.body;
    EXPECT_FALSE(std::string(reply.headers["X-Request-ID"]).empty());
    auto body = as_object(reply);
    EXPECT_EQ(body["code"], 200);
    auto data = body["data"].as_object();
    const auto id = str(data["id"]);
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(data["status"], "created");
    EXPECT_TRUE(data["outputs"].is_null());
    EXPECT_EQ(data["model"], standard);
    EXPECT_EQ(
        str(data["urls"].as_object()["get"]), sim.base_url() + "/api/v1/model/prediction/" + id
    );

    // Right after submit the prediction is not visible yet (Atlas's transient 404).
    auto early = poll(sim, "key-a", id);
    expect_error_shape(early, 404);

    const auto h = poll_until_terminal(sim, "key-a", id);
    ASSERT_GE(h.seen.size(), 3U);
    EXPECT_EQ(h.seen.front(), "404");
    EXPECT_EQ(h.seen.back(), "completed");
    const std::set<std::string> seen(h.seen.begin(), h.seen.end());
    EXPECT_TRUE(seen.count("created") == 1 && seen.count("processing") == 1)
        << "expected created and processing before completion";
    auto last = h.last_data;
    ASSERT_TRUE(last["outputs"].is_array());
    ASSERT_EQ(last["outputs"].as_array().size(), 1U);
    EXPECT_EQ(last["has_nsfw_contents"], json::array{false});
    EXPECT_TRUE(last["metrics"].as_object()["predict_time"].is_number());
    EXPECT_TRUE(last["completed_at"].is_string());
    EXPECT_TRUE(last["created_at"].is_string());
    const auto url = str(last["outputs"].as_array()[0]);
    EXPECT_EQ(url, sim.base_url() + "/_sim/files/" + id + ".mp4");

    auto video = fetch(url);
    ASSERT_EQ(video.status, 200U);
    EXPECT_EQ(video.headers["Content-Type"], "video/mp4");
    ASSERT_GT(video.body.size(), 1000U);
    EXPECT_LT(video.body.size(), 64U * 1024);
    EXPECT_EQ(video.body.substr(4, 4), "ftyp");
    EXPECT_NE(video.body.find("moov"), std::string::npos);
    EXPECT_NE(video.body.find("mdat"), std::string::npos);

    // A second job's video differs.
    const auto id2 = submit_ok(sim, "key-a", t2v("a blue fox", 6));
    ASSERT_EQ(poll_until_terminal(sim, "key-a", id2).seen.back(), "completed");
    auto video2 = fetch(sim.base_url() + "/_sim/files/" + id2 + ".mp4");
    ASSERT_EQ(video2.status, 200U);
    EXPECT_NE(video.body, video2.body);

    if (have_ffprobe()) {
        EXPECT_NEAR(ffprobe_duration(video.body, "sim-" + id), 10.0, 0.05);
        EXPECT_NEAR(ffprobe_duration(video2.body, "sim-" + id2), 6.0, 0.05);
    } else {
        std::fprintf(stderr, "note: ffprobe not installed; MP4 checked structurally only\n");
    }

    const auto ledger = sim.ledger();
    const auto* entry = ledger_entry(ledger, id);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->at("provider"), "atlas");
    EXPECT_EQ(entry->at("key"), "key-a");
    EXPECT_EQ(entry->at("model"), standard);
    EXPECT_EQ(entry->at("prompt"), "a red fox in the snow");
    EXPECT_EQ(entry->at("duration"), 10);
    EXPECT_DOUBLE_EQ(entry->at("price_usd").to_number<double>(), 0.56);
    EXPECT_TRUE(entry->at("submitted_at_ms").is_int64());
    EXPECT_EQ(entry->at("status"), "completed");
    EXPECT_EQ(str(entry->at("sha256")), sha256_hex(video.body));
    EXPECT_GE(ledger.at("lag_404").to_number<std::uint64_t>(), 1U);
    EXPECT_EQ(sim.stop(), 0) << "SIGTERM must stop the simulator cleanly";
}

TEST(sim_atlas, output_is_not_served_before_completion) {
    sim_process sim(sim_yaml());
    const auto id = submit_ok(sim, "key-a", t2v("slow"));
    EXPECT_EQ(fetch(sim.base_url() + "/_sim/files/" + id + ".mp4").status, 404U);
    EXPECT_TRUE(ledger_entry(sim.ledger(), id)->at("sha256").is_null());
}

TEST(sim_atlas, succeeded_fraction_reports_succeeded) {
    sim_process sim(sim_yaml({"succeeded_fraction: 1\n", 10, 1000, "", 100}));
    const auto id = submit_ok(sim, "key-a", t2v("x"));
    const auto h = poll_until_terminal(sim, "key-a", id);
    EXPECT_EQ(h.seen.back(), "succeeded");
    EXPECT_EQ(ledger_entry(sim.ledger(), id)->at("status"), "succeeded");
}

TEST(sim_atlas, failure_is_reported_inside_http_200_and_billed) {
    sim_process sim(sim_yaml());
    const auto id = submit_ok(sim, "key-a", t2v("a dog [sim:fail]"));
    const auto h = poll_until_terminal(sim, "key-a", id);
    ASSERT_EQ(h.seen.back(), "failed");
    auto data = h.last_data;
    EXPECT_FALSE(str(data["error"]).empty());
    EXPECT_EQ(data.count("error_code"), 0U);
    EXPECT_TRUE(data["outputs"].is_null());
    const auto ledger = sim.ledger();
    const auto* entry = ledger_entry(ledger, id);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->at("status"), "failed");
    EXPECT_TRUE(entry->at("sha256").is_null());
    EXPECT_DOUBLE_EQ(entry->at("price_usd").to_number<double>(), 0.23);
    EXPECT_DOUBLE_EQ(ledger.at("spent_usd").at("key-a").to_number<double>(), 0.23);
}

TEST(sim_atlas, moderation_fails_with_error_code_1039) {
    sim_process sim(sim_yaml());
    const auto id = submit_ok(sim, "key-a", t2v("something [sim:moderate]"));
    const auto h = poll_until_terminal(sim, "key-a", id);
    ASSERT_EQ(h.seen.back(), "failed");
    auto data = h.last_data;
    EXPECT_EQ(data["error_code"], 1039);
    EXPECT_NE(str(data["error"]).find("content policy"), std::string::npos);
    EXPECT_EQ(ledger_entry(sim.ledger(), id)->at("status"), "failed");
}

TEST(sim_atlas, bad_key_and_unknown_path_answer_401_before_routing) {
    sim_process sim(sim_yaml());
    auto no_key = http_call(
        sim.port(), http::verb::post, "/api/v1/model/generateVideo", json::serialize(t2v("x"))
    );
    expect_error_shape(no_key, 401);
    expect_error_shape(submit(sim, "wrong-key", t2v("x")), 401);
    // An unknown path with a bad key is 401 too (auth before routing); with a good key, 404.
    expect_error_shape(
        http_call(sim.port(), http::verb::get, "/api/v1/nope", {}, bearer("wrong")), 401
    );
    expect_error_shape(http_call(sim.port(), http::verb::get, "/nope"), 401);
    expect_error_shape(
        http_call(sim.port(), http::verb::get, "/api/v1/nope", {}, bearer("key-a")), 404
    );
    // Another account cannot see the prediction.
    const auto id = submit_ok(sim, "key-a", t2v("x"));
    std::this_thread::sleep_for(150ms
    );  // past the visibility lag (0.1 s), so only ownership matters
    EXPECT_EQ(poll(sim, "key-a", id).status, 200U);
    expect_error_shape(poll(sim, "key-b", id), 404);

    const auto ledger = sim.ledger();
    EXPECT_EQ(ledger.at("rejected").at("401").to_number<std::uint64_t>(), 4U);
    EXPECT_EQ(ledger.at("rejected_reasons").at("auth").to_number<std::uint64_t>(), 4U);
    EXPECT_EQ(ledger.at("submissions").as_array().size(), 1U);
}

TEST(sim_atlas, validation_errors) {
    sim_process sim(sim_yaml());
    auto unknown = submit(sim, "key-a", json::object{{"model", "minimax/nope"}, {"prompt", "x"}});
    expect_error_shape(unknown, 404);
    EXPECT_NE(str(as_object(unknown)["msg"]).find("not available"), std::string::npos);

    auto no_model = submit(sim, "key-a", json::object{{"prompt", "x"}});
    expect_error_shape(no_model, 400);
    EXPECT_NE(str(as_object(no_model)["msg"]).find("model"), std::string::npos);

    auto no_prompt = submit(sim, "key-a", json::object{{"model", standard}});
    expect_error_shape(no_prompt, 400);
    EXPECT_NE(str(as_object(no_prompt)["msg"]).find("prompt"), std::string::npos);

    auto no_image = submit(sim, "key-a", json::object{{"model", fast}, {"prompt", "x"}});
    expect_error_shape(no_image, 400);
    EXPECT_NE(str(as_object(no_image)["msg"]).find("image"), std::string::npos);

    auto bad_duration = submit(sim, "key-a", t2v("x", 8));
    expect_error_shape(bad_duration, 400);
    EXPECT_NE(str(as_object(bad_duration)["msg"]).find("duration"), std::string::npos);
    auto pro_10 = submit(
        sim,
        "key-a",
        json::object{{"model", "minimax/hailuo-02/pro"}, {"prompt", "x"}, {"duration", 10}}
    );
    expect_error_shape(pro_10, 400);
    EXPECT_NE(str(as_object(pro_10)["msg"]).find("duration"), std::string::npos);

    auto long_prompt = submit(sim, "key-a", t2v(std::string(2001, 'p')));
    expect_error_shape(long_prompt, 400);
    EXPECT_NE(str(as_object(long_prompt)["msg"]).find("2000"), std::string::npos);
    EXPECT_EQ(submit(sim, "key-a", t2v(std::string(2000, 'p'))).status, 200U);

    auto not_json = http_call(
        sim.port(), http::verb::post, "/api/v1/model/generateVideo", "{nope", bearer("key-a")
    );
    expect_error_shape(not_json, 400);
    auto headers = bearer("key-a");
    headers.emplace_back("Content-Type", "text/plain");
    auto wrong_type = http_call(
        sim.port(),
        http::verb::post,
        "/api/v1/model/generateVideo",
        json::serialize(t2v("x")),
        headers
    );
    expect_error_shape(wrong_type, 400);

    // Rejected submissions are neither billed nor in the ledger.
    const auto ledger = sim.ledger();
    EXPECT_EQ(ledger.at("submissions").as_array().size(), 1U);
    EXPECT_EQ(ledger.at("rejected").at("400").to_number<std::uint64_t>(), 8U);
    EXPECT_EQ(ledger.at("rejected").at("404").to_number<std::uint64_t>(), 1U);
}

TEST(sim_atlas, body_over_50_mb_answers_413_in_atlas_shape) {
    sim_process sim(sim_yaml());
    // Only the header is sent: the limit applies to the declared length.
    asio::io_context ioc;
    asio::ip::tcp::socket socket(ioc);
    socket.connect({asio::ip::make_address("127.0.0.1"), sim.port()});
    const std::string head =
        "POST /api/v1/model/generateVideo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer key-a\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(50 * 1024 * 1024 + 1) + "\r\n\r\n";
    asio::write(socket, asio::buffer(head));
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    http_reply reply;
    reply.status = res.result_int();
    for (const auto& f : res.base()) {
        reply.headers.insert(f.name_string(), f.value());
    }
    reply.body = res.body();
    expect_error_shape(reply, 413);
    EXPECT_EQ(submission_count(sim), 0U);
}

TEST(sim_atlas, upload_media_and_images) {
    sim_process sim(sim_yaml());
    const auto image = png(1280, 720);
    auto up = upload(sim, "key-a", image, "first.png");
    ASSERT_EQ(up.status, 200U) << up.body;
    auto body = as_object(up);
    EXPECT_EQ(body["code"], 200);
    EXPECT_EQ(body["message"], "success");
    auto data = body["data"].as_object();
    EXPECT_EQ(data["type"], "image/png");
    EXPECT_EQ(data["filename"], "first.png");
    EXPECT_EQ(data["size"], image.size());
    const auto url = str(data["download_url"]);
    auto served = fetch(url);
    ASSERT_EQ(served.status, 200U);
    EXPECT_EQ(served.body, image);

    // The upload URL is a valid `image` for an I2V model.
    const auto id = submit_ok(sim, "key-a", json::object{{"model", fast}, {"image", url}});
    // So is a base64 data URL and a public https URL.
    const auto id2 = submit_ok(
        sim,
        "key-a",
        json::object{{"model", fast}, {"image", "data:image/png;base64," + base64(png(720, 1280))}}
    );
    const auto id3 = submit_ok(
        sim, "key-a", json::object{{"model", fast}, {"image", "https://example.com/a.jpg"}}
    );
    const auto ledger = sim.ledger();
    EXPECT_EQ(str(ledger_entry(ledger, id)->at("image_sha256")), sha256_hex(image));
    EXPECT_EQ(str(ledger_entry(ledger, id2)->at("image_sha256")), sha256_hex(png(720, 1280)));
    EXPECT_EQ(ledger_entry(ledger, id3)->at("image"), "https://example.com/a.jpg");
    EXPECT_EQ(ledger.at("uploads").to_number<std::uint64_t>(), 1U);

    // Not an image: 400. Images breaking Atlas's size rules: 400.
    expect_error_shape(upload(sim, "key-a", "GIF89a not really", "x.gif"), 400);
    expect_error_shape(upload(sim, "wrong", image, "first.png"), 401);
    auto tiny = submit(
        sim,
        "key-a",
        json::object{{"model", fast}, {"image", "data:image/png;base64," + base64(png(200, 200))}}
    );
    expect_error_shape(tiny, 400);
    EXPECT_NE(str(as_object(tiny)["msg"]).find("300"), std::string::npos);
    auto wide = submit(
        sim,
        "key-a",
        json::object{{"model", fast}, {"image", "data:image/png;base64," + base64(png(2000, 400))}}
    );
    expect_error_shape(wide, 400);
    EXPECT_NE(str(as_object(wide)["msg"]).find("aspect"), std::string::npos);
    auto not_png = submit(
        sim,
        "key-a",
        json::object{{"model", fast}, {"image", "data:image/png;base64," + base64("hello world")}}
    );
    expect_error_shape(not_png, 400);
    auto missing = submit(
        sim,
        "key-a",
        json::object{{"model", fast}, {"image", sim.base_url() + "/_sim/media/none.png"}}
    );
    expect_error_shape(missing, 400);
    EXPECT_EQ(submission_count(sim), 3U);
}

TEST(sim_atlas, max_concurrency_answers_429_without_retry_after) {
    // Jobs take 0.5 s of wall time.
    sim_process sim(sim_yaml({"", 2, 1000, "", 50}));
    const auto a = submit_ok(sim, "key-a", t2v("one"));
    const auto b = submit_ok(sim, "key-a", t2v("two"));
    auto third = submit(sim, "key-a", t2v("three"));
    expect_error_shape(third, 429);
    EXPECT_EQ(third.headers.count("Retry-After"), 0U) << "Atlas never sends Retry-After";
    // Another key has its own limit.
    submit_ok(sim, "key-b", t2v("other key"));

    auto ledger = sim.ledger();
    EXPECT_EQ(ledger.at("submissions").as_array().size(), 3U);
    EXPECT_EQ(ledger.at("rejected").at("429").to_number<std::uint64_t>(), 1U);
    EXPECT_EQ(ledger.at("rejected_reasons").at("concurrency").to_number<std::uint64_t>(), 1U);

    // Once both finish, the key may submit again.
    poll_until_terminal(sim, "key-a", a);
    poll_until_terminal(sim, "key-a", b);
    submit_ok(sim, "key-a", t2v("four"));
    ledger = sim.ledger();
    EXPECT_EQ(ledger.at("max_inflight").at("key-a").to_number<std::int64_t>(), 2);
    EXPECT_EQ(ledger.at("max_inflight").at("key-b").to_number<std::int64_t>(), 1);
}

TEST(sim_atlas, requests_per_minute_answers_429_within_the_window) {
    sim_process sim(sim_yaml({"rate_window_s: 0.5\n", 100, 3, "", 100}));
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) {
        submit_ok(sim, "key-a", t2v("r" + std::to_string(i)));
    }
    auto fourth = submit(sim, "key-a", t2v("r3"));
    const auto rejected_at = std::chrono::steady_clock::now();
    expect_error_shape(fourth, 429);
    EXPECT_EQ(fourth.headers.count("Retry-After"), 0U);
    EXPECT_EQ(sim.ledger().at("rejected_reasons").at("rate_limit").to_number<std::uint64_t>(), 1U);
    // The other key is not affected.
    submit_ok(sim, "key-b", t2v("b"));

    // The window slides: retry until accepted (deadline 5 s).
    unsigned status = 0;
    while (std::chrono::steady_clock::now() < start + 5s) {
        status = submit(sim, "key-a", t2v("later")).status;
        if (status == 200) {
            break;
        }
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(status, 200U);
    if (rejected_at - start < 400ms) {
        EXPECT_GE(std::chrono::steady_clock::now() - start, 450ms);
    }
    EXPECT_EQ(submission_count(sim), 5U);
}

TEST(sim_atlas, balance_answers_402) {
    sim_process sim(sim_yaml({"", 10, 1000, ", balance_usd: 0.5", 100}));
    submit_ok(sim, "key-a", t2v("1"));
    submit_ok(sim, "key-a", t2v("2"));
    expect_error_shape(submit(sim, "key-a", t2v("3")), 402);
    EXPECT_EQ(submission_count(sim), 2U);
}

TEST(sim_atlas, same_seed_gives_same_ids_and_generation_times) {
    const std::string yaml =
        "seed: 42\ntime_scale: 0.001\nkeys:\n  - {key: k, provider: atlas}\n"
        "models:\n  minimax/hailuo-02/standard: {median_s: 60, sigma: 0.5}\n";
    auto run = [&](const std::string& config) {
        sim_process sim(config);
        for (int i = 0; i < 4; ++i) {
            submit_ok(sim, "k", t2v("shot " + std::to_string(i)));
        }
        std::vector<std::pair<std::string, double>> out;
        const auto ledger = sim.ledger();
        for (const auto& s : ledger.at("submissions").as_array()) {
            out.emplace_back(str(s.at("id")), s.at("generation_s").to_number<double>());
        }
        return out;
    };
    const auto first = run(yaml);
    const auto second = run(yaml);
    ASSERT_EQ(first.size(), 4U);
    EXPECT_EQ(first, second);
    std::set<double> distinct;
    for (const auto& [id, g] : first) {
        distinct.insert(g);
        EXPECT_GT(g, 0.0);
    }
    EXPECT_GT(distinct.size(), 1U) << "sigma 0.5 should spread the draws";
    auto other = yaml;
    other.replace(other.find("seed: 42"), 8, "seed: 43");
    EXPECT_NE(run(other), first);
}

TEST(sim_atlas, time_scale_compresses_generation_time) {
    // 200 s at time_scale 0.005 = 1 s of wall time.
    sim_process sim(
        "time_scale: 0.005\nvisibility_lag_s: 0\nsucceeded_fraction: 0\n"
        "keys:\n  - {key: k, provider: atlas}\n"
        "models:\n  minimax/hailuo-02/standard: {median_s: 200, sigma: 0}\n"
    );
    const auto start = std::chrono::steady_clock::now();
    const auto id = submit_ok(sim, "k", t2v("timed"));
    const auto h = poll_until_terminal(sim, "k", id);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(h.seen.back(), "completed");
    EXPECT_GE(took, 950ms);
    EXPECT_LT(took, 3s);
    auto data = h.last_data;
    // predict_time is reported in provider seconds (unscaled).
    EXPECT_GT(data["metrics"].as_object()["predict_time"].to_number<double>(), 100.0);
    EXPECT_DOUBLE_EQ(ledger_entry(sim.ledger(), id)->at("generation_s").to_number<double>(), 200.0);
}

TEST(sim_atlas, unknown_config_key_stops_the_simulator) {
    EXPECT_ANY_THROW(sim_process("time_scale: 1\nno_such_knob: 3\n", 10s));
}

TEST(sim_atlas, model_catalog_needs_no_key) {
    sim_process sim(sim_yaml());
    auto reply = http_call(sim.port(), http::verb::get, "/api/v1/models");
    ASSERT_EQ(reply.status, 200U);
    auto body = as_object(reply);
    bool found = false;
    for (const auto& m : body["data"].as_array()) {
        found = found || m.at("model") == standard;
    }
    EXPECT_TRUE(found);
}

}  // namespace
