#include "providers/aimlapi/aimlapi_provider.hpp"

#include "net/http_client.hpp"
#include "providers/aimlapi/aimlapi_wire.hpp"
#include "providers/wavespeed/inline_image.hpp"

namespace shotfarm::providers::aimlapi {

namespace http = boost::beast::http;

aimlapi_provider::aimlapi_provider(account acct, net::http_client& http)
    : acct_(std::move(acct)), http_(http) {
    while (!acct_.base_url.empty() && acct_.base_url.back() == '/') {
        acct_.base_url.pop_back();
    }
}

boost::asio::awaitable<upload_result> aimlapi_provider::upload_image(std::filesystem::path file) {
    co_return inline_image(file, false);
}

boost::asio::awaitable<submit_result> aimlapi_provider::submit(submit_request sreq) {
    net::http_request req;
    req.method = http::verb::post;
    req.url = acct_.base_url + std::string(submit_path);
    req.headers = {
        {"Authorization", "Bearer " + acct_.api_key}, {"Content-Type", "application/json"}};
    req.body = submit_body(sreq);
    req.timeout = acct_.submit_timeout;
    auto ex = co_await http_.send(std::move(req));
    if (ex.ec) {
        submit_result r;
        // Once a byte may have left, AI/ML API may have created (and charged for) the generation.
        r.cls = ex.request_sent ? outcome_class::ambiguous : outcome_class::retryable;
        r.message = ex.error_message();
        co_return r;
    }
    co_return parse_submit(ex.response.status, ex.response.body);
}

boost::asio::awaitable<poll_result> aimlapi_provider::poll(std::string provider_job_id) {
    net::http_request req;
    req.method = http::verb::get;
    req.url = acct_.base_url + poll_path(provider_job_id);
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

}  // namespace shotfarm::providers::aimlapi
