#include "providers/atlas/atlas_provider.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

#include "net/http_client.hpp"
#include "net/multipart.hpp"
#include "providers/atlas/atlas_wire.hpp"

namespace shotfarm::providers::atlas {

namespace http = boost::beast::http;

atlas_provider::atlas_provider(account acct, net::http_client& http)
    : acct_(std::move(acct)), http_(http) {
    while (!acct_.base_url.empty() && acct_.base_url.back() == '/') {
        acct_.base_url.pop_back();
    }
}

std::string atlas_provider::url(std::string_view path) const {
    return acct_.base_url + std::string(path);
}

boost::asio::awaitable<upload_result> atlas_provider::upload_image(std::filesystem::path file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        co_return upload_result{outcome_class::rejected_input, {}, "cannot read " + file.string()};
    }
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::string ext = file.extension().string();
    std::string type = (ext == ".png" || ext == ".PNG") ? "image/png" : "image/jpeg";
    auto form = net::make_multipart_file("file", file.filename().string(), type, bytes);

    net::http_request req;
    req.method = http::verb::post;
    req.url = url("/api/v1/model/uploadMedia");
    req.headers = {
        {"Authorization", "Bearer " + acct_.api_key}, {"Content-Type", form.content_type}};
    req.body = std::move(form.body);
    req.timeout = acct_.submit_timeout;
    auto ex = co_await http_.send(std::move(req));
    if (ex.ec) {
        co_return upload_result{outcome_class::retryable, {}, ex.error_message()};
    }
    co_return parse_upload(ex.response.status, ex.response.body);
}

boost::asio::awaitable<submit_result> atlas_provider::submit(submit_request sreq) {
    net::http_request req;
    req.method = http::verb::post;
    req.url = url("/api/v1/model/generateVideo");
    req.headers = {
        {"Authorization", "Bearer " + acct_.api_key}, {"Content-Type", "application/json"}};
    req.body = submit_body(sreq);
    req.timeout = acct_.submit_timeout;
    auto ex = co_await http_.send(std::move(req));
    if (ex.ec) {
        submit_result r;
        // Once a byte may have left, the provider may have created (and billed) the job.
        r.cls = ex.request_sent ? outcome_class::ambiguous : outcome_class::retryable;
        r.message = ex.error_message();
        co_return r;
    }
    co_return parse_submit(ex.response.status, ex.response.body);
}

boost::asio::awaitable<poll_result> atlas_provider::poll(std::string provider_job_id) {
    net::http_request req;
    req.method = http::verb::get;
    req.url = url("/api/v1/model/prediction/" + provider_job_id);
    req.headers = {{"Authorization", "Bearer " + acct_.api_key}};
    req.timeout = acct_.poll_timeout;
    auto ex = co_await http_.send(std::move(req));
    if (ex.ec) {
        poll_result r;
        r.cls = outcome_class::retryable;
        r.message = ex.error_message();
        co_return r;
    }
    co_return parse_poll(ex.response.status, ex.response.body);
}

}  // namespace shotfarm::providers::atlas
