#include "providers/atlas/atlas_provider.hpp"

#include <algorithm>

#include "net/http_client.hpp"
#include "net/multipart.hpp"
#include "providers/api_request.hpp"
#include "providers/atlas/atlas_wire.hpp"
#include "providers/inline_image.hpp"

namespace shotfarm::providers::atlas {

namespace http = boost::beast::http;

namespace {

// The name the upload carries: the file's own when it is plain printable ASCII (it ends up in a
// multipart header, which refuses quotes and line breaks), else a neutral one of its type.
std::string upload_name(const std::filesystem::path& file, std::string_view mime) {
    std::string name = file.filename().string();
    const bool plain =
        !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
            return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
        });
    if (plain) {
        return name;
    }
    return mime == "image/png" ? "frame.png" : "frame.jpg";
}

}  // namespace

atlas_provider::atlas_provider(account acct, net::http_client& http)
    : acct_(std::move(acct)), http_(http) {
    while (!acct_.base_url.empty() && acct_.base_url.back() == '/') {
        acct_.base_url.pop_back();
    }
}

boost::asio::awaitable<upload_result> atlas_provider::upload_image(std::filesystem::path file) {
    // Read again, capped, typed by its bytes (a PNG called .jpg is still a PNG): the file may
    // have changed since validation, and a refused one is never sent.
    image_read image = read_image_file(file, false);
    if (image.mime.empty()) {
        co_return upload_result{outcome_class::rejected_input, {}, std::move(image.problem)};
    }
    auto form =
        net::make_multipart_file("file", upload_name(file, image.mime), image.mime, image.bytes);
    auto ex = co_await api_request(
        http_,
        acct_,
        http::verb::post,
        "/api/v1/model/uploadMedia",
        std::move(form.body),
        std::move(form.content_type),
        acct_.submit_timeout
    );
    if (ex.ec) {
        co_return upload_result{outcome_class::retryable, {}, ex.error_message()};
    }
    co_return parse_upload(ex.response.status, ex.response.body);
}

boost::asio::awaitable<submit_result> atlas_provider::submit(submit_request sreq) {
    auto ex = co_await api_request(
        http_,
        acct_,
        http::verb::post,
        "/api/v1/model/generateVideo",
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

boost::asio::awaitable<poll_result> atlas_provider::poll(std::string provider_job_id) {
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

}  // namespace shotfarm::providers::atlas
