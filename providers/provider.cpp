#include "providers/provider.hpp"

#include <stdexcept>

#include "providers/aimlapi/aimlapi_provider.hpp"
#include "providers/answer_checks.hpp"
#include "providers/atlas/atlas_provider.hpp"
#include "providers/minimax/minimax_provider.hpp"
#include "providers/provider_id.hpp"
#include "providers/wavespeed/wavespeed_provider.hpp"

namespace shotfarm::providers {

std::string_view to_string(outcome_class c) noexcept {
    switch (c) {
        case outcome_class::ok:
            return "ok";
        case outcome_class::retryable:
            return "retryable";
        case outcome_class::rejected_input:
            return "rejected_input";
        case outcome_class::account_problem:
            return "account_problem";
        case outcome_class::ambiguous:
            return "ambiguous";
        case outcome_class::bad_answer:
            return "bad_answer";
    }
    return "unknown";
}

namespace {

// Every adapter's answers pass the same checks (answer_checks.hpp) on their way out, and no id
// that fails provider_id_problem is ever put in a request: whatever an adapter's wire code
// does, a hostile or broken answer reaches the pipeline bounded and classed.
class checked_provider final : public provider {
public:
    checked_provider(std::unique_ptr<provider> inner, std::string api_key)
        : inner_(std::move(inner)), api_key_(std::move(api_key)) {}

    std::string_view name() const noexcept override { return inner_->name(); }

    boost::asio::awaitable<upload_result> upload_image(std::filesystem::path file) override {
        co_return checked_upload(name(), api_key_, co_await inner_->upload_image(std::move(file)));
    }

    boost::asio::awaitable<submit_result> submit(submit_request req) override {
        co_return checked_submit(name(), api_key_, co_await inner_->submit(std::move(req)));
    }

    boost::asio::awaitable<poll_result> poll(std::string provider_job_id) override {
        if (auto why = provider_id_problem(provider_job_id)) {
            poll_result refused;
            refused.cls = outcome_class::bad_answer;
            refused.message =
                std::string(name()) + " job id is unusable (" + *why + "); not polled";
            co_return checked_poll(name(), api_key_, std::move(refused));
        }
        co_return checked_poll(name(), api_key_, co_await inner_->poll(std::move(provider_job_id)));
    }

private:
    std::unique_ptr<provider> inner_;
    std::string api_key_;
};

std::unique_ptr<provider> make_adapter(const account& acct, net::http_client& http) {
    if (acct.provider == "atlas") {
        return std::make_unique<atlas::atlas_provider>(acct, http);
    }
    if (acct.provider == "wavespeed") {
        return std::make_unique<wavespeed::wavespeed_provider>(acct, http);
    }
    if (acct.provider == "aimlapi") {
        return std::make_unique<aimlapi::aimlapi_provider>(acct, http);
    }
    if (acct.provider == "minimax") {
        return std::make_unique<minimax::minimax_provider>(acct, http);
    }
    throw std::invalid_argument("unknown provider '" + acct.provider + "'");
}

}  // namespace

std::unique_ptr<provider> make_provider(const account& acct, net::http_client& http) {
    return std::make_unique<checked_provider>(make_adapter(acct, http), acct.api_key);
}

}  // namespace shotfarm::providers
