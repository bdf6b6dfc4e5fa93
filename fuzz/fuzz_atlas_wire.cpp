// Atlas Cloud's answers (generateVideo, prediction GET, uploadMedia) as a hostile provider
// could send them: "<status>\n<body>" (fuzz_support.hpp), every parser on every input.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "fuzz/wire_checks.hpp"
#include "providers/atlas/atlas_wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace shotfarm;
    namespace atlas = providers::atlas;
    const auto in = fuzz::split_answer(fuzz::as_text(data, size));
    fuzz::check_submit("atlas", atlas::parse_submit(in.status, in.body));
    fuzz::check_poll("atlas", atlas::parse_poll(in.status, in.body));
    fuzz::check_upload("atlas", atlas::parse_upload(in.status, in.body));
    (void)atlas::classify_status(in.status);
    return 0;
}
