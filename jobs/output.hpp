// Where a take's video goes and how it gets there durably: temp file → MP4 check → SHA-256 →
// fsync → rename → fsync(dir). Paths are built only from validated ids, never from anything a
// provider returned, so no answer, hostile or broken, can make us write outside the output folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <boost/json/object.hpp>

namespace shotfarm::jobs {

struct output_paths {
    std::filesystem::path dir;      ///< <output_dir>/<project>/<shot>
    std::filesystem::path video;    ///< <dir>/<shot>_t<NN>.mp4
    std::filesystem::path sidecar;  ///< <dir>/<shot>_t<NN>.json
    std::filesystem::path temp;     ///< <dir>/.<shot>_t<NN>.mp4.<pid>.part
    std::string temp_prefix;        ///< ".<shot>_t<NN>." — every process's temp files of it
};

/// Removes temp files of this take left by other processes (killed, or fenced out of the job
/// while downloading); the job's owner is the only one that may publish it. Returns how many.
int remove_stale_temps(const output_paths& p);

output_paths paths_for(
    const std::filesystem::path& output_dir,
    const std::string& project,
    const std::string& shot,
    int take
);

/// True if the file starts like an ISO-BMFF/MP4 file: a box whose type at offset 4 is `ftyp`.
bool looks_like_mp4(const std::filesystem::path& file);

/// Lower-case hex SHA-256 of a file's bytes.
std::string sha256_file(const std::filesystem::path& file);
std::string sha256_hex(std::string_view bytes);

/// fsync(file), rename(temp → final), fsync(dir). Throws std::system_error.
void publish_file(const std::filesystem::path& temp, const std::filesystem::path& final_path);

/// Writes `content` to `path` durably (temp + fsync + rename + fsync dir).
void write_file_durably(const std::filesystem::path& path, std::string_view content);

}  // namespace shotfarm::jobs
