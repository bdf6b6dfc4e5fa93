// Atlas Cloud adapter (endpoints: https://atlascloud.ai/docs/zh/models/overview): generateVideo →
// prediction/{id} → outputs[0].
#pragma once

#include "providers/provider.hpp"

namespace shotfarm::providers::atlas {

/// One Atlas account. Holds a reference to the shared HTTP client, which must outlive it.
class atlas_provider final : public provider {
public:
    atlas_provider(account acct, net::http_client& http);

    std::string_view name() const noexcept override { return "atlas"; }
    boost::asio::awaitable<upload_result> upload_image(std::filesystem::path file) override;
    boost::asio::awaitable<submit_result> submit(submit_request req) override;
    boost::asio::awaitable<poll_result> poll(std::string provider_job_id) override;

private:
    account acct_;
    net::http_client& http_;
};

}  // namespace shotfarm::providers::atlas
