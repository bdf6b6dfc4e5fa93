#include "jobs/output.hpp"

#include <array>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

#include <openssl/evp.h>

namespace shotfarm::jobs {

namespace fs = std::filesystem;

output_paths paths_for(
    const fs::path& output_dir, const std::string& project, const std::string& shot, int take
) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "_t%02d", take);
    output_paths p;
    p.dir = output_dir / project / shot;
    const std::string stem = shot + suffix;
    p.video = p.dir / (stem + ".mp4");
    p.sidecar = p.dir / (stem + ".json");
    // The process id in the name: a daemon fenced out of the job (its lease taken over) may
    // still be writing its own temp file; two writers never share one.
    p.temp = p.dir / ("." + stem + ".mp4." + std::to_string(::getpid()) + ".part");
    p.temp_prefix = "." + stem + ".";
    return p;
}

int remove_stale_temps(const output_paths& p) {
    int removed = 0;
    std::error_code ec;
    if (!fs::is_directory(p.dir, ec)) {
        return 0;
    }
    for (const auto& entry : fs::directory_iterator(p.dir, ec)) {
        const std::string name = entry.path().filename().string();
        // ".<stem>.mp4.<pid>.part" and the sidecar's ".<stem>.json.<pid>.part".
        if (name.rfind(p.temp_prefix, 0) != 0 || name.size() < 5 ||
            name.compare(name.size() - 5, 5, ".part") != 0 || entry.path() == p.temp) {
            continue;
        }
        std::error_code rm;
        if (fs::remove(entry.path(), rm)) {
            ++removed;
        }
    }
    return removed;
}

bool looks_like_mp4(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::array<char, 8> head{};
    if (!in.read(head.data(), head.size())) {
        return false;
    }
    return std::string_view(head.data() + 4, 4) == "ftyp";
}

namespace {

struct md_ctx_deleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

class sha256 {
public:
    sha256() : ctx_(EVP_MD_CTX_new()) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
            throw std::runtime_error("EVP sha256 init failed");
        }
    }
    void update(const void* data, std::size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
    std::string hex() {
        std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
        unsigned len = 0;
        EVP_DigestFinal_ex(ctx_.get(), md.data(), &len);
        static constexpr char digits[] = "0123456789abcdef";
        std::string out;
        for (unsigned i = 0; i < len; ++i) {
            out += digits[md[i] >> 4];
            out += digits[md[i] & 0xf];
        }
        return out;
    }

private:
    std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx_;
};

void fsync_path(const fs::path& p, int flags) {
    int fd = ::open(p.c_str(), flags | O_CLOEXEC);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "open " + p.string());
    }
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) {
        throw std::system_error(err, std::generic_category(), "fsync " + p.string());
    }
}

}  // namespace

std::string sha256_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw std::system_error(errno, std::generic_category(), "open " + file.string());
    }
    sha256 h;
    std::array<char, 64 * 1024> buf{};
    while (in) {
        in.read(buf.data(), buf.size());
        h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
    }
    return h.hex();
}

std::string sha256_hex(std::string_view bytes) {
    sha256 h;
    h.update(bytes.data(), bytes.size());
    return h.hex();
}

void publish_file(const fs::path& temp, const fs::path& final_path) {
    fsync_path(temp, O_RDONLY);
    std::error_code ec;
    fs::rename(temp, final_path, ec);
    if (ec) {
        throw std::system_error(ec, "rename " + temp.string() + " -> " + final_path.string());
    }
    // rename is atomic but not durable until the directory entry is on disk.
    fsync_path(final_path.parent_path(), O_RDONLY | O_DIRECTORY);
}

void write_file_durably(const fs::path& path, std::string_view content) {
    fs::path temp = path.parent_path() /
                    ("." + path.filename().string() + "." + std::to_string(::getpid()) + ".part");
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        if (!out.flush()) {
            throw std::system_error(errno, std::generic_category(), "write " + temp.string());
        }
    }
    publish_file(temp, path);
}

}  // namespace shotfarm::jobs
