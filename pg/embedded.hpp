// pg::embedded_cluster — a private PostgreSQL cluster run from the system's server binaries:
// initdb once into a directory, pg_ctl start on a Unix socket in that same directory (no TCP),
// pg_ctl stop at the end. Blocking; use before the io loop runs and after it has stopped.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace shotfarm::pg {

// Directory holding initdb, pg_ctl and postgres: $SHOTFARM_PG_BINDIR if set, else initdb/pg_ctl
// found on PATH (symlinks resolved), else the highest /usr/lib/postgresql/<version>/bin.
// Throws std::runtime_error with an actionable message if there is none.
std::filesystem::path find_server_bindir();

struct embedded_options {
    // false: initdb --no-sync, fsync=off, full_page_writes=off — for throw-away test clusters.
    // Commits still reach the kernel before COMMIT returns, so they survive a kill -9 of any
    // process; only an OS crash or power loss can lose or corrupt data.
    bool durable = true;
};

class embedded_cluster {
public:
    // dir = the data directory (e.g. <state_dir>/pg). initdb once (if dir/PG_VERSION is
    // missing; auth trust on the socket, UTF8, C locale), then pg_ctl start with
    // listen_addresses='' and unix_socket_directories=dir, so the socket is
    // dir/.s.PGSQL.5432 (the path must fit in 107 bytes, else this throws). A server already
    // running on dir (say, left by a kill -9'd process) is adopted: reused, and stopped by
    // stop(). A stale postmaster.pid does not block the start. Creates database `dbname` if
    // missing. Server log: dir/server.log (startup errors quote its tail).
    // As root, the server runs as the `postgres` system user (PostgreSQL refuses root): dir is
    // chowned to it and any ancestor it cannot search gets the missing x bit (said on stderr).
    static embedded_cluster start(
        std::filesystem::path dir, std::string dbname = "shotfarm", embedded_options opts = {}
    );

    embedded_cluster(embedded_cluster&& other) noexcept;
    embedded_cluster& operator=(embedded_cluster&& other) noexcept;
    embedded_cluster(const embedded_cluster&) = delete;
    embedded_cluster& operator=(const embedded_cluster&) = delete;
    ~embedded_cluster();  // stop(); errors are reported on stderr

    // "host=<dir> port=5432 dbname=<dbname> user=<superuser>" (values quoted as needed).
    std::string conninfo() const;
    std::string conninfo(std::string_view dbname) const;

    // CREATE DATABASE name unless it exists (safe against a concurrent creator).
    void create_database(std::string_view name) const;

    // pg_ctl stop -m fast; idempotent.
    void stop();

    // stop(), unless another client is connected to the server (a daemon, say, that adopted
    // it meanwhile): then it is left running for them. Returns true if it stopped it.
    bool stop_unless_in_use();

    // This handle no longer stops the server (another handle, or nobody, owns it now).
    void forget() noexcept { running_ = false; }

    bool running() const noexcept { return running_; }
    bool adopted() const noexcept { return adopted_; }  // start() found it already running
    const std::filesystem::path& dir() const noexcept { return dir_; }
    const std::string& user() const noexcept { return user_.name; }
    std::filesystem::path log_file() const { return dir_ / "server.log"; }

    // The OS user the server runs as (and the database superuser role of the same name).
    struct os_user {
        std::string name;
        uid_t uid = 0;
        gid_t gid = 0;
        std::vector<gid_t> groups;
        bool switch_to = false;  // we are root: run server binaries as this user
    };

private:
    embedded_cluster() = default;

    std::filesystem::path dir_;
    std::filesystem::path bindir_;
    std::string dbname_;
    os_user user_;
    bool running_ = false;
    bool adopted_ = false;
};

}  // namespace shotfarm::pg
