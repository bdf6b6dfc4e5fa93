#include "providers/wavespeed/wavespeed_provider.hpp"

#include "net/http_client.hpp"
#include "providers/api_request.hpp"
#include "providers/inline_image.hpp"
#include "providers/wavespeed/wavespeed_wire.hpp"

namespace shotfarm::providers::wavespeed {

namespace http = boost::beast::http;

wavespeed_provider::wavespeed_provider(account acct, net::http_client& http)
    : acct_(std::move(acct)), http_(http) {
    while (!acct_.base_url.empty() && acct_.base_url.back() == '/') {
        acct_.base_url.pop_back();
    }
}

boost::asio::awaitable<upload_result> wavespeed_provider::upload_image(std::filesystem::path file) {
    co_return inline_image(file, false);
}

boost::asio::awaitable<submit_result> wavespeed_provider::submit(submit_request sreq) {
    auto ex = co_await api_request(
        http_,
        acct_,
        http::verb::post,
        submit_target(sreq),
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

boost::asio::awaitable<poll_result> wavespeed_provider::poll(std::string provider_job_id) {
    auto ex = co_await api_request(
        http_,
        acct_,
        http::verb::get,
        poll_path(provider_job_id),
        std::string(),
        std::string(),
        acct_.poll_timeout
    );
    if (ex.ec) {
        co_return poll_transport_failure(ex);
    }
    co_return parse_poll(ex.response.status, ex.response.body);
}

}  // namespace shotfarm::providers::wavespeed
