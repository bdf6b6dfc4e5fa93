// WaveSpeedAI adapter (https://www.wavespeed.ai/docs/submit-task): POST /api/v3/<model> →
// predictions/{id}/result → data.outputs[0]. Images go inline as data: URIs.
#pragma once

#include "providers/provider.hpp"

namespace shotfarm::providers::wavespeed {

/// One WaveSpeed account. Holds a reference to the shared HTTP client, which must outlive it.
class wavespeed_provider final : public provider {
public:
    wavespeed_provider(account acct, net::http_client& http);

    std::string_view name() const noexcept override { return "wavespeed"; }
    boost::asio::awaitable<upload_result> upload_image(std::filesystem::path file) override;
    boost::asio::awaitable<submit_result> submit(submit_request req) override;
    boost::asio::awaitable<poll_result> poll(std::string provider_job_id) override;

private:
    account acct_;
    net::http_client& http_;
};

}  // namespace shotfarm::providers::wavespeed
