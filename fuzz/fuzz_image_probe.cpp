// probe_image and truncation over arbitrary bytes: never read past the input, never report a
// zero size, and agree with themselves (a probed format's truncation check must not crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "jobs/image_probe.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace shotfarm::jobs;
    // libFuzzer hands a heap buffer of exactly `size` bytes: ASan sees any read past the end.
    const std::string_view bytes{reinterpret_cast<const char*>(data), size};
    const auto info = probe_image(bytes);
    if (info) {
        if (info->width == 0 || info->height == 0) {
            std::abort();  // documented: nullopt for a zero size
        }
        (void)truncation(bytes, info->format);
        (void)to_string(info->format);
        (void)mime_type(info->format);
    }
    // Every format's completeness check must survive bytes of any other format.
    for (const auto f : {image_format::png, image_format::jpeg, image_format::webp}) {
        (void)truncation(bytes, f);
    }
    return 0;
}
