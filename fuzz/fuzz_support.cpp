#include "fuzz/fuzz_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace shotfarm::fuzz {

namespace fs = std::filesystem;

namespace {

std::string escaped(std::string_view s) {
    std::string out;
    for (const char c : s.substr(0, 2000)) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f || c == '\\') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    if (s.size() > 2000) {
        out += "... (" + std::to_string(s.size()) + " bytes)";
    }
    return out;
}

bool unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

bool hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

// A path the loaders resolve against their file's folder (folder / p, lexically normal) stays
// under that folder: it is relative and does not climb out.
bool inside(std::string_view p) {
    const fs::path path{std::string{p}};
    if (path.is_absolute() || path.has_root_name() || path.has_root_directory()) {
        return false;
    }
    const fs::path rel = path.lexically_normal();
    return rel.empty() || *rel.begin() != "..";
}

// Collects every scalar (keys, values, tags and anchors' names do not matter: the loaders
// refuse tags and anchors before reading any file).
class scalar_check final : public YAML::EventHandler {
public:
    bool ok = true;

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string& value)
        override {
        // c_str() ends the name at a NUL: the cut name must stay inside as well.
        const std::string_view v{value};
        if (!inside(v) || !inside(v.substr(0, v.find('\0')))) {
            ok = false;
        }
    }
    void OnSequenceStart(
        const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value
    ) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(
        const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value
    ) override {}
    void OnMapEnd() override {}
};

struct scratch_folder {
    fs::path path;
    scratch_folder() {
        std::string pattern = (fs::temp_directory_path() / "shotfarm-fuzz-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::perror("fuzz: mkdtemp");
            std::abort();
        }
        path = pattern;
    }
    ~scratch_folder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

void fail(std::string_view what, std::string_view detail) {
    std::fprintf(
        stderr,
        "fuzz invariant broken: %.*s\n  %s\n",
        static_cast<int>(what.size()),
        what.data(),
        escaped(detail).c_str()
    );
    std::abort();
}

http_answer split_answer(std::string_view input) {
    const auto eol = input.find('\n');
    if (eol == std::string_view::npos || eol == 0 || eol > 3) {
        return {200, input};
    }
    unsigned status = 0;
    for (const char c : input.substr(0, eol)) {
        if (c < '0' || c > '9') {
            return {200, input};
        }
        status = status * 10 + static_cast<unsigned>(c - '0');
    }
    return {status, input.substr(eol + 1)};
}

bool has_control(std::string_view s) {
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            return true;
        }
    }
    return false;
}

void require_one_segment(std::string_view encoded, std::string_view what) {
    require(!encoded.empty(), what, "empty segment");
    require(encoded != "." && encoded != "..", what, encoded);
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        const char c = encoded[i];
        if (c == '%') {
            require(
                i + 2 < encoded.size() && hex_digit(encoded[i + 1]) && hex_digit(encoded[i + 2]),
                what,
                encoded
            );
            i += 2;
        } else {
            require(unreserved(c), what, encoded);
        }
    }
}

std::string_view between(std::string_view s, std::string_view prefix, std::string_view suffix) {
    require(
        s.size() >= prefix.size() + suffix.size() && s.starts_with(prefix) && s.ends_with(suffix),
        "path keeps its fixed prefix and suffix",
        s
    );
    return s.substr(prefix.size(), s.size() - prefix.size() - suffix.size());
}

const fs::path& scratch_dir() {
    static const scratch_folder folder;
    return folder.path;
}

fs::path write_scratch(const std::string& name, std::string_view bytes) {
    const fs::path p = scratch_dir() / name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
        fail("cannot write the scratch file", p.string());
    }
    return p;
}

bool paths_stay_inside(std::string_view text) {
    scalar_check check;
    try {
        std::istringstream stream{std::string{text}};
        YAML::Parser parser(stream);
        // Only the first document: the loaders refuse a second one before using any value
        // (and yaml-cpp 0.7 reports a document forever after some stray directives).
        parser.HandleNextDocument(check);
    } catch (const std::exception&) {
        // The loaders use the same parser: they stop at the same error, before any file.
    }
    return check.ok;
}

void check_path_guard() {
    for (const std::string_view outside :
         {"image: /etc/passwd",
          "shots: [{image: ../secret.png}]",
          "image: frames/../../x.png",
          "api_key_file: \"a\\0/../../../etc/shadow\"",
          "{a: [b, {c: \"\\x2fdev/zero\"}]}",
          "image: \"..\\0x\""}) {
        require(!paths_stay_inside(outside), "the path guard refuses", outside);
    }
    for (const std::string_view inside :
         {"image: dusk_harbour.png",
          "image: frames/a.png",
          "base_url: https://api.example.com/v1",
          "prompt: \"a\\0b\"",
          "not: [valid"}) {
        require(paths_stay_inside(inside), "the path guard lets through", inside);
    }
}

}  // namespace shotfarm::fuzz
