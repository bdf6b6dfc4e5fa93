// AI/ML API's answers (generation POST and GET) as a hostile provider could send them:
// "<status>\n<body>" (fuzz_support.hpp). An accepted id goes into the poll query, where it
// must stay one query value.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "fuzz/wire_checks.hpp"
#include "providers/aimlapi/aimlapi_wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace shotfarm;
    namespace ai = providers::aimlapi;
    const auto in = fuzz::split_answer(fuzz::as_text(data, size));
    const auto submitted = fuzz::check_submit("aimlapi", ai::parse_submit(in.status, in.body));
    if (submitted.cls == providers::outcome_class::ok) {
        const auto path = ai::poll_path(submitted.provider_job_id);
        fuzz::require_one_segment(
            fuzz::between(path, std::string(ai::submit_path) + "?generation_id=", ""),
            "poll query generation_id"
        );
    }
    fuzz::check_poll("aimlapi", ai::parse_poll(in.status, in.body));
    (void)ai::classify_status(in.status);
    return 0;
}
