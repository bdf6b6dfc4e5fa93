#include "providers/provider.hpp"

#include <stdexcept>

#include "providers/aimlapi/aimlapi_provider.hpp"
#include "providers/atlas/atlas_provider.hpp"
#include "providers/minimax/minimax_provider.hpp"
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

std::unique_ptr<provider> make_provider(const account& acct, net::http_client& http) {
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

}  // namespace shotfarm::providers
