#include "fuzz/wire_checks.hpp"

#include <string>

#include "fuzz/fuzz_support.hpp"
#include "providers/provider_id.hpp"

namespace shotfarm::fuzz {

namespace p = providers;

namespace {

// A message goes to logs and the database: bounded, printable, never the key.
void check_message(const std::string& message) {
    require(message.size() <= p::max_message_bytes, "message is bounded", message);
    require(!has_control(message), "message has no control characters", message);
    require(message.find(fuzz_api_key) == std::string::npos, "message never holds the key");
}

}  // namespace

p::submit_result check_submit(std::string_view provider, p::submit_result raw) {
    auto r = p::checked_submit(provider, fuzz_api_key, std::move(raw));
    check_message(r.message);
    if (r.cls == p::outcome_class::ok) {
        const auto why = p::provider_id_problem(r.provider_job_id);
        require(!why, "an accepted submit has a usable id", r.provider_job_id);
        require_one_segment(p::encode_path_segment(r.provider_job_id), "an id is one segment");
    }
    return r;
}

p::poll_result check_poll(std::string_view provider, p::poll_result raw) {
    auto r = p::checked_poll(provider, fuzz_api_key, std::move(raw));
    check_message(r.message);
    require(r.status.size() <= p::max_status_bytes, "status word is bounded", r.status);
    require(!has_control(r.status), "status word has no control characters", r.status);
    if (r.state == p::remote_state::succeeded) {
        require(r.cls == p::outcome_class::ok, "a succeeded poll is ok");
        require(
            !p::answer_url_problem(r.video_url), "a succeeded poll has a usable URL", r.video_url
        );
    }
    if (r.cls == p::outcome_class::bad_answer) {
        require(
            r.state == p::remote_state::pending && r.video_url.empty(),
            "a bad_answer poll is pending without a URL"
        );
    }
    return r;
}

p::upload_result check_upload(std::string_view provider, p::upload_result raw) {
    auto r = p::checked_upload(provider, fuzz_api_key, std::move(raw));
    check_message(r.message);
    if (r.cls == p::outcome_class::ok) {
        // A data: URL is one we made ourselves (inline images); any other must be usable.
        require(
            r.url.starts_with("data:") || !p::answer_url_problem(r.url),
            "an ok upload has a usable URL",
            r.url
        );
    }
    return r;
}

}  // namespace shotfarm::fuzz
