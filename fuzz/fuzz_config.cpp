// load_config over hostile YAML (config_checks.hpp says what is checked). The config is
// written into the private scratch folder that holds the key files it may name; an input whose
// scalars could name a file outside it (an api_key_file of /etc/shadow) is not run.
#include <cstddef>
#include <cstdint>

#include "fuzz/config_checks.hpp"
#include "fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    shotfarm::fuzz::check_path_guard();
    shotfarm::fuzz::stock_keys();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace shotfarm::fuzz;
    const auto text = as_text(data, size);
    if (!paths_stay_inside(text)) {
        return -1;  // could read a file outside the scratch folder: not run, not kept
    }
    load_and_check_config(write_scratch("shotfarm.yaml", text));
    return 0;
}
