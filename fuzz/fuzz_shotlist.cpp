// load_shotlist over hostile YAML, with and without a config: never throws, never crashes,
// and what it accepts is what the later steps (the database, the providers) accept too.
//
// The loader reads the images a list names. The list is written into a private scratch
// folder holding a few images (good, truncated, misnamed, empty, a folder), and an input whose
// scalars could name a file outside that folder (absolute, "..", cut by a NUL) is not run: the
// fuzzer never reads /dev/zero or anything else on the machine.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "fuzz/fuzz_support.hpp"
#include "jobs/config.hpp"
#include "jobs/shotlist.hpp"

namespace {

namespace fs = std::filesystem;
using namespace shotfarm;

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
        fuzz::fail("cannot read a seed image", p.string());
    }
    return s;
}

// The images a list may name: the demo's frames under their own names, and broken ones.
void stock_images() {
    const fs::path frames = SHOTFARM_DEMO_FRAMES;
    for (const char* name : {"dusk_harbour.png", "desert_road.jpg", "street_block.png"}) {
        fuzz::write_scratch(name, read_file(frames / name));
    }
    const std::string png = read_file(frames / "street_block.png");
    fuzz::write_scratch("truncated.png", std::string_view{png}.substr(0, png.size() / 2));
    fuzz::write_scratch("misnamed.jpg", png);
    fuzz::write_scratch("empty.png", "");
    fuzz::write_scratch("text.png", "not an image\n");
    // A 640x360 WebP header (VP8X): accepted only for a shot pinned to MiniMax.
    fuzz::write_scratch(
        "frame.webp",
        std::string_view{
            "RIFF\x16\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\x7f\x02\x00\x67\x01\x00",
            30}
    );
    fs::create_directories(fuzz::scratch_dir() / "folder.png");
}

// Two accounts per provider family the catalog knows, so pins can match.
jobs::app_config make_config() {
    jobs::app_config c;
    c.file = fuzz::scratch_dir() / "shotfarm.yaml";
    for (const char* provider : {"atlas", "wavespeed", "aimlapi", "minimax"}) {
        jobs::account_config a;
        a.name = std::string{provider} + "-a";
        a.provider = provider;
        a.base_url = std::string{jobs::default_base_url(provider)};
        c.accounts.push_back(a);
    }
    return c;
}

void check_result(const jobs::shotlist_result& r) {
    using jobs::text_problem;
    fuzz::require(r.list.has_value() == r.errors.empty(), "a list exactly when no errors");
    for (std::size_t i = 1; i < r.errors.size(); ++i) {
        const auto& a = r.errors[i - 1];
        const auto& b = r.errors[i];
        fuzz::require(
            a.line < b.line || (a.line == b.line && a.col <= b.col),
            "errors sorted by position",
            b.str()
        );
    }
    for (const auto& e : r.errors) {
        fuzz::require(!e.message.empty(), "an error says what is wrong", e.str());
        // Printed to a terminal: a raw control character (ESC, NUL) from the input must be
        // escaped, never echoed.
        fuzz::require(!fuzz::has_control(e.message), "an error message is printable", e.str());
    }
    if (!r.list) {
        return;
    }
    // Whatever passed validation must be storable (PostgreSQL UTF8 text, no NUL) and sendable.
    fuzz::require(!text_problem(r.list->project, false), "project storable", r.list->project);
    fuzz::require(jobs::is_valid_id(r.list->project, 128), "project is an id", r.list->project);
    for (const auto& s : r.list->shots) {
        fuzz::require(jobs::is_valid_id(s.id, 128), "shot id is an id", s.id);
        fuzz::require(!text_problem(s.prompt, true), "prompt storable", s.prompt);
        fuzz::require(!text_problem(s.model, false), "model storable", s.model);
        for (const auto* t : {&s.image, &s.resolution, &s.provider, &s.account}) {
            if (*t) {
                fuzz::require(!text_problem(**t, false), "shot text storable", **t);
            }
        }
        fuzz::require(s.takes >= 1 && s.takes <= jobs::max_takes, "takes in range");
        fuzz::require(s.duration >= 1 && s.duration <= 600, "duration in range");
        fuzz::require(s.spec_hash.size() == 64, "spec hash is SHA-256 hex", s.spec_hash);
        if (s.image_path) {
            const auto rel = s.image_path->lexically_relative(fuzz::scratch_dir());
            fuzz::require(
                !rel.empty() && *rel.begin() != "..", "image inside", s.image_path->string()
            );
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    shotfarm::fuzz::check_path_guard();
    stock_images();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const jobs::app_config config = make_config();
    const auto text = fuzz::as_text(data, size);
    if (!fuzz::paths_stay_inside(text)) {
        return -1;  // could read a file outside the scratch folder: not run, not kept
    }
    const auto file = fuzz::write_scratch("shots.yaml", text);
    check_result(jobs::load_shotlist(file, nullptr));
    check_result(jobs::load_shotlist(file, &config));
    return 0;
}
