// The invariants every provider target checks on an adapter's answer after the same checks
// make_provider() applies (providers/answer_checks.hpp): what the pipeline may rely on,
// whatever the provider sent.
#pragma once

#include <string_view>

#include "providers/answer_checks.hpp"
#include "providers/provider.hpp"

namespace shotfarm::fuzz {

/// A key the answers never contain: it must never come back in a message.
inline constexpr std::string_view fuzz_api_key = "sk-fuzz-0d1b7e0c5a9f4e21";

/// checked_submit over a parsed submit; an accepted one has a usable id.
providers::submit_result check_submit(std::string_view provider, providers::submit_result raw);

/// checked_poll over a parsed poll; a succeeded one has a usable video URL.
providers::poll_result check_poll(std::string_view provider, providers::poll_result raw);

/// checked_upload over a parsed upload; an ok one has a usable URL.
providers::upload_result check_upload(std::string_view provider, providers::upload_result raw);

}  // namespace shotfarm::fuzz
