// Helpers shared by the fuzz targets: the "<status>\n<body>" input form of the provider
// targets, invariant checks that abort with a message (libFuzzer then saves the input), and a
// private temp folder for the loaders, which read files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace shotfarm::fuzz {

/// The fuzzer's bytes as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

/// Prints "fuzz invariant broken: <what>" and `detail` (escaped), then aborts: libFuzzer
/// reports the crash and writes the input that caused it.
[[noreturn]] void fail(std::string_view what, std::string_view detail = {});

/// fail(what, detail) unless `ok`.
inline void require(bool ok, std::string_view what, std::string_view detail = {}) {
    if (!ok) {
        fail(what, detail);
    }
}

/// An HTTP answer as the provider targets read their input: a first line with the status
/// ("200", "429", ...) and the body after it. Without a valid first line the whole input is
/// the body of a 200 (so plain JSON seeds work too).
struct http_answer {
    unsigned status = 200;
    std::string_view body;
};
http_answer split_answer(std::string_view input);

/// True when `s` holds a C0 control character or DEL.
bool has_control(std::string_view s);

/// Requires that `encoded` is one percent-encoded path segment or query value: non-empty, only
/// RFC 3986 unreserved characters and %XX, and not "." or ".." (a dot segment would climb).
void require_one_segment(std::string_view encoded, std::string_view what);

/// Requires that `s` starts with `prefix` (and ends with `suffix`) and returns what is between.
std::string_view between(std::string_view s, std::string_view prefix, std::string_view suffix);

/// A folder of its own under $TMPDIR, made once per process and removed at exit; the loaders'
/// files are written here and every path they may follow is kept inside it.
const std::filesystem::path& scratch_dir();

/// Writes `bytes` to scratch_dir()/name (replacing it) and returns the path.
std::filesystem::path write_scratch(const std::string& name, std::string_view bytes);

/// Whether every scalar of the first YAML document in `text`, read as a path relative to
/// scratch_dir() the way the loaders resolve paths (absolute, "..", a NUL cutting the name),
/// stays inside scratch_dir(). YAML that does not parse is "inside": the loaders stop at the
/// parse error before they touch any file. Inputs that fail this are not run (a shot list's
/// `image: /dev/zero` or a config's `api_key_file: ../../etc/shadow` would read the real
/// filesystem).
bool paths_stay_inside(std::string_view text);

/// Aborts unless paths_stay_inside() refuses the escapes it is there for and lets ordinary
/// lists through; the loader targets call it once at start, so every run proves the guard.
void check_path_guard();

}  // namespace shotfarm::fuzz
