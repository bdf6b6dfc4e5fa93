// Output paths and durable publishing of a downloaded video.
#include "jobs/output.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace shotfarm::jobs {
namespace {

namespace fs = std::filesystem;

struct temp_dir {
    fs::path path;
    temp_dir() {
        char tmpl[] = "/tmp/shotfarm-output-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~temp_dir() { fs::remove_all(path); }
};

TEST(Output, PathsFollowTheContract) {
    auto p = paths_for("/out", "proj", "sh010", 3);
    EXPECT_EQ(p.dir, fs::path("/out/proj/sh010"));
    EXPECT_EQ(p.video, fs::path("/out/proj/sh010/sh010_t03.mp4"));
    EXPECT_EQ(p.sidecar, fs::path("/out/proj/sh010/sh010_t03.json"));
    EXPECT_EQ(p.temp.parent_path(), p.dir) << "temp file on the same filesystem: rename is atomic";
    EXPECT_EQ(paths_for("/o", "p", "s", 12).video.filename(), "s_t12.mp4");
}

TEST(Output, Mp4CheckLooksForTheFtypBox) {
    temp_dir d;
    std::ofstream(d.path / "good.mp4", std::ios::binary) << std::string(
                                                                "\0\0\0\x18"
                                                                "ftypisom",
                                                                12
                                                            )
                                                         << "rest";
    std::ofstream(d.path / "html.mp4") << "<html>expired</html>";
    std::ofstream(d.path / "short.mp4") << "ftyp";
    EXPECT_TRUE(looks_like_mp4(d.path / "good.mp4"));
    EXPECT_FALSE(looks_like_mp4(d.path / "html.mp4"));
    EXPECT_FALSE(looks_like_mp4(d.path / "short.mp4"));
    EXPECT_FALSE(looks_like_mp4(d.path / "missing.mp4"));
}

TEST(Output, Sha256MatchesKnownVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(
        sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    temp_dir d;
    std::ofstream(d.path / "f") << "abc";
    EXPECT_EQ(sha256_file(d.path / "f"), sha256_hex("abc"));
}

TEST(Output, PublishMovesTheTempFileIntoPlace) {
    temp_dir d;
    std::ofstream(d.path / ".x.part") << "video";
    publish_file(d.path / ".x.part", d.path / "x.mp4");
    EXPECT_FALSE(fs::exists(d.path / ".x.part"));
    EXPECT_EQ(sha256_file(d.path / "x.mp4"), sha256_hex("video"));
    EXPECT_THROW(publish_file(d.path / ".missing.part", d.path / "y.mp4"), std::system_error);
    write_file_durably(d.path / "meta.json", "{}\n");
    EXPECT_EQ(sha256_file(d.path / "meta.json"), sha256_hex("{}\n"));
}

}  // namespace
}  // namespace shotfarm::jobs
