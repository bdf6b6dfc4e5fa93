// One account's base_url (and a download host) through load_config: the input's first line
// is the base_url, the rest (if any) one download_hosts entry, both written into a fixed
// config as YAML double-quoted strings with every control character escaped, so each byte
// reaches the URL checks rather than the YAML parser. config_checks.hpp says what is checked.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz/config_checks.hpp"
#include "fuzz/fuzz_support.hpp"

namespace {

std::string yaml_quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    shotfarm::fuzz::stock_keys();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace shotfarm::fuzz;
    const auto text = as_text(data, size);
    const auto eol = text.find('\n');
    std::string yaml =
        "accounts:\n"
        "  - name: fuzz-a\n"
        "    provider: atlas\n"
        "    api_key_env: SHOTFARM_FUZZ_KEY\n"
        "    base_url: " +
        yaml_quoted(text.substr(0, eol)) + "\n";
    if (eol != std::string_view::npos) {
        yaml += "    download_hosts: [" + yaml_quoted(text.substr(eol + 1)) + "]\n";
    }
    load_and_check_config(write_scratch("shotfarm.yaml", yaml));
    return 0;
}
