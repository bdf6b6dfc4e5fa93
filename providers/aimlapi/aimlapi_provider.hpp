// AI/ML API adapter (documented in the aimlapi/api-docs repository): POST /v2/video/generations →
// GET ?generation_id= → video.url. Images go inline as data: URIs.
#pragma once

#include "providers/provider.hpp"

namespace shotfarm::providers::aimlapi {

/// One AI/ML API account. Holds a reference to the shared HTTP client, which must outlive it.
class aimlapi_provider final : public provider {
public:
    aimlapi_provider(account acct, net::http_client& http);

    std::string_view name() const noexcept override { return "aimlapi"; }
    boost::asio::awaitable<upload_result> upload_image(std::filesystem::path file) override;
    boost::asio::awaitable<submit_result> submit(submit_request req) override;
    boost::asio::awaitable<poll_result> poll(std::string provider_job_id) override;

private:
    account acct_;
    net::http_client& http_;
};

}  // namespace shotfarm::providers::aimlapi
