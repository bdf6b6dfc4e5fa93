// MiniMax's answers (create, query, files/retrieve) as a hostile provider could send them:
// "<status>\n<body>" (fuzz_support.hpp). Ids go into query strings, where they must stay one
// query value; a Success query combined with a retrieve must still pass the answer checks.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "fuzz/wire_checks.hpp"
#include "providers/minimax/minimax_wire.hpp"
#include "providers/provider_id.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace shotfarm;
    namespace mm = providers::minimax;
    using providers::outcome_class;
    const auto in = fuzz::split_answer(fuzz::as_text(data, size));

    const auto submitted = fuzz::check_submit("minimax", mm::parse_submit(in.status, in.body));
    if (submitted.cls == outcome_class::ok) {
        fuzz::require_one_segment(
            fuzz::between(
                mm::query_path(submitted.provider_job_id), "/v1/query/video_generation?task_id=", ""
            ),
            "query task_id"
        );
    }

    auto query = mm::parse_query(in.status, in.body);
    if (query.poll.state == providers::remote_state::succeeded) {
        fuzz::require(
            !providers::provider_id_problem(query.file_id),
            "a Success query has a usable file_id",
            query.file_id
        );
        fuzz::require_one_segment(
            fuzz::between(mm::retrieve_path(query.file_id), "/v1/files/retrieve?file_id=", ""),
            "retrieve file_id"
        );
    } else {
        // A Success query reaches the pipeline only through finish_poll (below).
        fuzz::check_poll("minimax", query.poll);
    }

    fuzz::check_upload("minimax", mm::parse_retrieve(in.status, in.body));
    // The same body as the retrieve of a Success query: the combined poll is what the pipeline
    // sees.
    mm::query_result success;
    success.poll.cls = outcome_class::ok;
    success.poll.state = providers::remote_state::succeeded;
    success.poll.status = "Success";
    success.file_id = "fuzz-file";
    fuzz::check_poll("minimax", mm::finish_poll(success, mm::parse_retrieve(in.status, in.body)));
    (void)mm::classify_status(in.status);
    return 0;
}
