// MiniMax adapter (https://platform.minimax.io/docs/api-reference/video-generation-i2v and the
// query and download pages beside it): POST /v1/video_generation → query → files/retrieve.
// A poll that finds Success retrieves the download URL itself (valid ~1 h); when a download
// later answers 403/404/410 the pipeline polls again, which retrieves a fresh one.
#pragma once

#include "providers/provider.hpp"

namespace shotfarm::providers::minimax {

/// One MiniMax account (api.minimax.io or api.minimaxi.com). Holds a reference to the shared
/// HTTP client, which must outlive it.
class minimax_provider final : public provider {
public:
    minimax_provider(account acct, net::http_client& http);

    std::string_view name() const noexcept override { return "minimax"; }
    boost::asio::awaitable<upload_result> upload_image(std::filesystem::path file) override;
    boost::asio::awaitable<submit_result> submit(submit_request req) override;
    boost::asio::awaitable<poll_result> poll(std::string provider_job_id) override;

private:
    account acct_;
    net::http_client& http_;
};

}  // namespace shotfarm::providers::minimax
