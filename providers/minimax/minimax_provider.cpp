#include "providers/minimax/minimax_provider.hpp"

#include "net/http_client.hpp"
#include "providers/api_request.hpp"
#include "providers/inline_image.hpp"
#include "providers/minimax/minimax_wire.hpp"

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
    auto ex = co_await api_request(
        http_,
        acct_,
        http::verb::post,
        std::string(submit_path),
        submit_body(sreq),
        "application/json",
        acct_.submit_timeout,
        request_kind::submit,
        sreq.before_send
    );
    if (ex.ec) {
        co_return submit_transport_failure(ex);
    }
    co_return with_retry_after(parse_submit(ex.response.status, ex.response.body), ex.response);
}

boost::asio::awaitable<poll_result> minimax_provider::poll(std::string provider_job_id) {
    auto ex = co_await api_request(
        http_,
        acct_,
        http::verb::get,
        query_path(provider_job_id),
        std::string(),
        std::string(),
        acct_.poll_timeout
    );
    if (ex.ec) {
        co_return poll_transport_failure(ex);
    }
    query_result query = parse_query(ex.response.status, ex.response.body);
    if (query.poll.state != remote_state::succeeded) {
        co_return std::move(query.poll);
    }

    auto got = co_await api_request(
        http_,
        acct_,
        http::verb::get,
        retrieve_path(query.file_id),
        std::string(),
        std::string(),
        acct_.poll_timeout
    );
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
