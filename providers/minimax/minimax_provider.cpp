#include "providers/minimax/minimax_provider.hpp"

#include "net/http_client.hpp"
#include "providers/minimax/minimax_wire.hpp"
#include "providers/wavespeed/inline_image.hpp"

namespace shotfarm::providers::minimax {

namespace http = boost::beast::http;

minimax_provider::minimax_provider(account acct, net::http_client& http)
    : acct_(std::move(acct)), http_(http) {
    while (!acct_.base_url.empty() && acct_.base_url.back() == '/') {
        acct_.base_url.pop_back();
    }
}

boost::asio::awaitable<upload_result> minimax_provider::upload_image(std::filesystem::path file) {
    co_return inline_image(file, true);  // MiniMax also takes WebP
}

boost::asio::awaitable<submit_result> minimax_provider::submit(submit_request sreq) {
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
        // Once a byte may have left, MiniMax may have created (and billed) the task.
        r.cls = ex.request_sent ? outcome_class::ambiguous : outcome_class::retryable;
        r.message = ex.error_message();
        co_return r;
    }
    co_return parse_submit(ex.response.status, ex.response.body);
}

boost::asio::awaitable<poll_result> minimax_provider::poll(std::string provider_job_id) {
    net::http_request req;
    req.method = http::verb::get;
    req.url = acct_.base_url + query_path(provider_job_id);
    req.headers = {{"Authorization", "Bearer " + acct_.api_key}};
    req.timeout = acct_.poll_timeout;
    auto ex = co_await http_.send(std::move(req));
    if (ex.ec) {
        poll_result r;
        r.cls = outcome_class::retryable;
        r.message = ex.error_message();
        co_return r;
    }
    query_result query = parse_query(ex.response.status, ex.response.body);
    if (query.poll.state != remote_state::succeeded) {
        co_return std::move(query.poll);
    }

    net::http_request fetch;
    fetch.method = http::verb::get;
    fetch.url = acct_.base_url + retrieve_path(query.file_id);
    fetch.headers = {{"Authorization", "Bearer " + acct_.api_key}};
    fetch.timeout = acct_.poll_timeout;
    auto got = co_await http_.send(std::move(fetch));
    upload_result retrieved;
    if (got.ec) {
        retrieved.cls = outcome_class::retryable;
        retrieved.message = got.error_message();
    } else {
        retrieved = parse_retrieve(got.response.status, got.response.body);
    }
    co_return finish_poll(std::move(query), retrieved);
}

}  // namespace shotfarm::providers::minimax
