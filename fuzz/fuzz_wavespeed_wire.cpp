// WaveSpeedAI's answers (submit, result GET) as a hostile provider could send them:
// "<status>\n<body>" (fuzz_support.hpp). An accepted id goes into the poll path, where it must
// stay one path segment.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "fuzz/wire_checks.hpp"
#include "providers/wavespeed/wavespeed_wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace shotfarm;
    namespace ws = providers::wavespeed;
    const auto in = fuzz::split_answer(fuzz::as_text(data, size));
    const auto submitted = fuzz::check_submit("wavespeed", ws::parse_submit(in.status, in.body));
    if (submitted.cls == providers::outcome_class::ok) {
        const auto path = ws::poll_path(submitted.provider_job_id);
        fuzz::require_one_segment(
            fuzz::between(path, "/api/v3/predictions/", "/result"), "poll path id segment"
        );
    }
    fuzz::check_poll("wavespeed", ws::parse_poll(in.status, in.body));
    (void)ws::classify_status(in.status);
    return 0;
}
