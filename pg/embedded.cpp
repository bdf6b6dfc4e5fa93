#include "pg/embedded.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <iostream>
#include <memory>
#include <pwd.h>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>

#include <libpq-fe.h>

#include "pg/error.hpp"

namespace shotfarm::pg {

namespace fs = std::filesystem;

namespace {

constexpr int port = 5432;
constexpr const char* socket_name = ".s.PGSQL.5432";

using os_user = embedded_cluster::os_user;

[[noreturn]] void fail(const std::string& message) {
    throw std::runtime_error("embedded PostgreSQL: " + message);
}

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

bool is_executable(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

bool has_server_binaries(const fs::path& dir) {
    return is_executable(dir / "initdb") && is_executable(dir / "pg_ctl") &&
           is_executable(dir / "postgres");
}

// --- users and permissions ----------------------------------------------------------------

os_user lookup_user(bool by_name, const char* name, uid_t uid) {
    long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
    passwd pw{};
    passwd* found = nullptr;
    int rc = by_name ? ::getpwnam_r(name, &pw, buffer.data(), buffer.size(), &found)
                     : ::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found);
    if (rc != 0 || found == nullptr) {
        if (by_name) {
            fail(
                std::string("running as root, but there is no '") + name +
                "' system user to run the server as (PostgreSQL refuses to run as root); create "
                "it (the Debian postgresql package does) or run shotfarm as an ordinary user"
            );
        }
        fail("cannot look up the current user (uid " + std::to_string(uid) + ")");
    }
    os_user u;
    u.name = pw.pw_name;
    u.uid = pw.pw_uid;
    u.gid = pw.pw_gid;
    int count = 32;
    u.groups.resize(static_cast<std::size_t>(count));
    if (::getgrouplist(pw.pw_name, pw.pw_gid, u.groups.data(), &count) < 0) {
        u.groups.resize(static_cast<std::size_t>(count));
        ::getgrouplist(pw.pw_name, pw.pw_gid, u.groups.data(), &count);
    }
    u.groups.resize(static_cast<std::size_t>(std::max(count, 0)));
    return u;
}

os_user cluster_user() {
    if (::geteuid() == 0) {
        os_user u = lookup_user(true, "postgres", 0);
        u.switch_to = true;
        return u;
    }
    return lookup_user(false, nullptr, ::geteuid());
}

void chown_tree(const fs::path& dir, const os_user& u) {
    auto chown_one = [&](const fs::path& p) {
        if (::lchown(p.c_str(), u.uid, u.gid) != 0) {
            fail("cannot chown " + p.string() + " to " + u.name + ": " + errno_text(errno));
        }
    };
    chown_one(dir);
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        chown_one(entry.path());
    }
}

// The server user must be able to traverse every ancestor of the data directory.
void ensure_reachable(const fs::path& dir, const os_user& u) {
    for (fs::path p = dir.parent_path(); !p.empty(); p = p.parent_path()) {
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) {
            fail("cannot stat " + p.string() + ": " + errno_text(errno));
        }
        mode_t need = S_IXOTH;
        const char* who = "others";
        if (st.st_uid == u.uid) {
            need = S_IXUSR;
            who = "its owner";
        } else if (std::find(u.groups.begin(), u.groups.end(), st.st_gid) != u.groups.end()) {
            need = S_IXGRP;
            who = "its group";
        }
        if ((st.st_mode & need) == 0) {
            if (::chmod(p.c_str(), (st.st_mode & 07777) | need) != 0) {
                fail(
                    "user " + u.name + " cannot reach " + dir.string() + " and chmod of " +
                    p.string() + " failed: " + errno_text(errno)
                );
            }
            std::cerr << "shotfarm: made " << p.string() << " searchable by " << who
                      << " so that user '" << u.name << "' can reach " << dir.string() << '\n';
        }
        if (p == p.root_path()) {
            break;
        }
    }
}

// --- child processes ----------------------------------------------------------------------

struct process_result {
    int status = -1;  // exit code, or -1 if it did not exit normally
    std::string output;
};

// Runs argv (argv[0] an absolute path) with stdin /dev/null and stdout+stderr captured, in a
// new session (terminal signals must not reach the postmaster it may leave behind), as `u`
// when switching user. Only async-signal-safe calls between fork and exec.
process_result run(const std::vector<std::string>& args, const os_user& u) {
    std::vector<char*> argv;
    for (const std::string& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));  // NOLINT: execv's signature
    }
    argv.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        fail("pipe: " + errno_text(errno));
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        fail("fork: " + errno_text(err));
    }
    if (pid == 0) {
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        ::close_range(3, ~0U, 0);  // nothing of ours may leak into a long-lived postmaster
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::setsid();
        if (u.switch_to) {
            if (::setgroups(u.groups.size(), u.groups.data()) != 0 || ::setgid(u.gid) != 0 ||
                ::setuid(u.uid) != 0) {
                static const char msg[] = "cannot switch to the server user\n";
                (void)!::write(2, msg, sizeof msg - 1);
                ::_exit(126);
            }
        }
        if (::chdir("/") != 0) {
            ::_exit(126);
        }
        ::execv(argv[0], argv.data());
        static const char msg[] = "exec failed\n";
        (void)!::write(2, msg, sizeof msg - 1);
        ::_exit(127);
    }
    ::close(fds[1]);
    process_result r;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n > 0) {
            r.output.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno == ECHILD) {  // SIGCHLD ignored elsewhere: the child was reaped for us
            r.status = 0;
            return r;
        }
        if (errno != EINTR) {
            fail("waitpid: " + errno_text(errno));
        }
    }
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::string last_lines(const std::string& text, std::size_t n) {
    std::deque<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
        if (lines.size() > n) {
            lines.pop_front();
        }
    }
    std::string out;
    for (const std::string& line : lines) {
        out += "\n    " + line;
    }
    return out;
}

std::string file_tail(const fs::path& p, std::size_t n) {
    std::ifstream in(p);
    if (!in) {
        return "\n    (no " + p.string() + ")";
    }
    std::stringstream s;
    s << in.rdbuf();
    return last_lines(s.str(), n);
}

// pg_ctl pastes -D and -o into a /bin/sh command line inside double quotes, so refuse
// characters that would need escaping there rather than half-quote them.
void check_dir_name(const fs::path& dir) {
    for (char ch : dir.string()) {
        if (ch == '"' || ch == '\'' || ch == '\\' || ch == '$' || ch == '`' ||
            static_cast<unsigned char>(ch) < 0x20) {
            fail(
                "the data directory path " + dir.string() +
                " contains a quote, backslash, $, backtick or control character; choose another"
            );
        }
    }
    std::string socket = (dir / socket_name).string();
    if (socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
        fail(
            "the socket path " + socket + " is " + std::to_string(socket.size()) +
            " bytes; Unix sockets allow at most " +
            std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + ". Use a shorter state directory."
        );
    }
}

std::string conninfo_for(const fs::path& dir, std::string_view dbname, const std::string& user) {
    auto quote = [](std::string_view v) {
        std::string q = "'";
        for (char ch : v) {
            if (ch == '\'' || ch == '\\') {
                q += '\\';
            }
            q += ch;
        }
        return q + "'";
    };
    return "host=" + quote(dir.string()) + " port=" + std::to_string(port) +
           " dbname=" + quote(dbname) + " user=" + quote(user);
}

PGPing ping(const std::string& conninfo) {
    return PQping((conninfo + " connect_timeout=5").c_str());
}

// Exists and is not a zombie (a kill -9'd postmaster stays a zombie until its new parent reaps
// it, and kill(pid, 0) still succeeds on it).
bool process_running(long pid) {
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        return false;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) {
        return true;  // no procfs: trust kill()
    }
    auto paren = line.rfind(')');  // "pid (comm) S ..."; comm may contain spaces
    return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

// A postmaster.pid whose process is gone — or whose PID now belongs to some other process (a
// reused PID after a reboot or container restart) — would make the new postmaster refuse to
// start. PostgreSQL handles the first case itself; handle the second.
void remove_stale_lock_files(const fs::path& dir) {
    fs::path pidfile = dir / "postmaster.pid";
    std::ifstream in(pidfile);
    if (!in) {
        return;
    }
    long pid = 0;
    in >> pid;
    in.close();
    bool stale = pid <= 0;
    if (!stale) {
        if (!process_running(pid)) {
            stale = true;
        } else {
            std::error_code ec;
            fs::path cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
            // A postmaster's working directory is its data directory.
            stale = !ec && !fs::equivalent(cwd, dir, ec);
        }
    }
    if (stale) {
        std::error_code ec;
        fs::remove(pidfile, ec);
        fs::remove(dir / (std::string(socket_name) + ".lock"), ec);
        std::cerr << "shotfarm: removed stale " << pidfile.string() << " (PID " << pid
                  << " is not a server for this directory)\n";
    }
}

}  // namespace

// --- find_server_bindir -------------------------------------------------------------------

fs::path find_server_bindir() {
    if (const char* env = std::getenv("SHOTFARM_PG_BINDIR"); env != nullptr && *env != '\0') {
        if (!has_server_binaries(env)) {
            fail(
                std::string("SHOTFARM_PG_BINDIR=") + env +
                " does not contain initdb, pg_ctl and postgres"
            );
        }
        return env;
    }
    if (const char* path = std::getenv("PATH"); path != nullptr) {
        std::string_view rest = path;
        while (!rest.empty()) {
            auto colon = rest.find(':');
            fs::path entry(rest.substr(0, colon));
            rest = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
            if (entry.empty() || !is_executable(entry / "initdb") ||
                !is_executable(entry / "pg_ctl")) {
                continue;
            }
            std::error_code ec;
            fs::path real = fs::canonical(entry / "initdb", ec).parent_path();
            if (!ec && has_server_binaries(real)) {
                return real;
            }
            if (has_server_binaries(entry)) {
                return entry;
            }
        }
    }
    fs::path best;
    std::vector<int> best_version;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        fs::path bin = entry.path() / "bin";
        if (!has_server_binaries(bin)) {
            continue;
        }
        std::vector<int> version;  // "15" or "9.6"
        std::istringstream parts(entry.path().filename().string());
        for (std::string part; std::getline(parts, part, '.');) {
            version.push_back(std::atoi(part.c_str()));
        }
        if (best.empty() || version > best_version) {
            best = bin;
            best_version = version;
        }
    }
    if (best.empty()) {
        fail(
            "no PostgreSQL server binaries found: no initdb/pg_ctl on PATH and no "
            "/usr/lib/postgresql/<version>/bin. Install the server (Debian: package "
            "postgresql), set SHOTFARM_PG_BINDIR, or configure an external database URL."
        );
    }
    return best;
}

// --- embedded_cluster ---------------------------------------------------------------------

embedded_cluster embedded_cluster::start(fs::path dir, std::string dbname, embedded_options opts) {
    embedded_cluster c;
    c.bindir_ = find_server_bindir();
    c.dir_ = fs::absolute(dir).lexically_normal();
    if (!c.dir_.has_filename()) {
        c.dir_ = c.dir_.parent_path();  // drop a trailing '/'
    }
    c.dbname_ = std::move(dbname);
    check_dir_name(c.dir_);
    c.user_ = cluster_user();

    fs::create_directories(c.dir_);
    if (c.user_.switch_to) {
        struct stat st {};
        if (::stat(c.dir_.c_str(), &st) == 0 && st.st_uid != c.user_.uid) {
            chown_tree(c.dir_, c.user_);
        }
        ensure_reachable(c.dir_, c.user_);
    }

    if (!fs::exists(c.dir_ / "PG_VERSION")) {
        std::vector<std::string> args{
            (c.bindir_ / "initdb").string(),
            "-D",
            c.dir_.string(),
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "-U",
            c.user_.name,
        };
        if (!opts.durable) {
            args.emplace_back("--no-sync");
        }
        process_result r = run(args, c.user_);
        if (r.status != 0) {
            fail("initdb of " + c.dir_.string() + " failed:" + last_lines(r.output, 20));
        }
    }

    std::string admin = c.conninfo("postgres");
    PGPing state = ping(admin);
    // Starting up, shutting down or recovering: wait a while for it to settle either way.
    for (int i = 0; i < 600 && state == PQPING_REJECT; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        state = ping(admin);
    }
    if (state == PQPING_OK) {
        c.adopted_ = true;
    } else if (state == PQPING_REJECT) {
        fail(
            "a server on " + c.dir_.string() +
            " kept refusing connections; its log ends:" + file_tail(c.log_file(), 20)
        );
    } else {
        std::string options = "-c listen_addresses= -c 'unix_socket_directories=\"" +
                              c.dir_.string() + "\"' -c port=" + std::to_string(port);
        if (!opts.durable) {
            options += " -c fsync=off -c full_page_writes=off";
        }
        std::vector<std::string> args{
            (c.bindir_ / "pg_ctl").string(),
            "start",
            "-w",
            "-t",
            "120",
            "-s",
            "-D",
            c.dir_.string(),
            "-l",
            c.log_file().string(),
            "-o",
            options,
        };
        for (int attempt = 1;; ++attempt) {
            remove_stale_lock_files(c.dir_);
            process_result r = run(args, c.user_);
            if (r.status == 0) {
                break;
            }
            std::string log = file_tail(c.log_file(), 20);
            // After a kill -9 of the postmaster its children take a moment to detach from
            // shared memory; the new postmaster refuses until they have.
            if (attempt < 20 && log.find("pre-existing shared memory block") != std::string::npos) {
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
                continue;
            }
            fail(
                "pg_ctl start on " + c.dir_.string() + " failed:" + last_lines(r.output, 10) +
                "\n  " + c.log_file().string() + " ends:" + log
            );
        }
    }
    c.running_ = true;
    c.create_database(c.dbname_);
    return c;
}

embedded_cluster::embedded_cluster(embedded_cluster&& other) noexcept
    : dir_(std::move(other.dir_)),
      bindir_(std::move(other.bindir_)),
      dbname_(std::move(other.dbname_)),
      user_(std::move(other.user_)),
      running_(std::exchange(other.running_, false)),
      adopted_(other.adopted_) {}

embedded_cluster& embedded_cluster::operator=(embedded_cluster&& other) noexcept {
    if (this != &other) {
        try {
            stop();
        } catch (const std::exception& e) {
            std::cerr << "shotfarm: " << e.what() << '\n';
        }
        dir_ = std::move(other.dir_);
        bindir_ = std::move(other.bindir_);
        dbname_ = std::move(other.dbname_);
        user_ = std::move(other.user_);
        running_ = std::exchange(other.running_, false);
        adopted_ = other.adopted_;
    }
    return *this;
}

embedded_cluster::~embedded_cluster() {
    try {
        stop();
    } catch (const std::exception& e) {
        std::cerr << "shotfarm: " << e.what() << '\n';
    }
}

std::string embedded_cluster::conninfo() const {
    return conninfo(dbname_);
}

std::string embedded_cluster::conninfo(std::string_view dbname) const {
    return conninfo_for(dir_, dbname, user_.name);
}

void embedded_cluster::create_database(std::string_view name) const {
    std::unique_ptr<PGconn, void (*)(PGconn*)> conn(
        PQconnectdb(conninfo("postgres").c_str()), PQfinish
    );
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        throw error(
            "embedded PostgreSQL: cannot connect to create database " + std::string(name) + ": " +
                (conn ? PQerrorMessage(conn.get()) : "out of memory"),
            {},
            true
        );
    }
    std::unique_ptr<char, void (*)(void*)> ident(
        PQescapeIdentifier(conn.get(), name.data(), name.size()), PQfreemem
    );
    if (!ident) {
        throw error("embedded PostgreSQL: bad database name " + std::string(name));
    }
    std::string name_text(name);
    const char* values[] = {name_text.c_str()};
    std::unique_ptr<PGresult, void (*)(PGresult*)> exists(
        PQexecParams(
            conn.get(),
            "SELECT 1 FROM pg_database WHERE datname = $1",
            1,
            nullptr,
            values,
            nullptr,
            nullptr,
            0
        ),
        PQclear
    );
    if (PQresultStatus(exists.get()) == PGRES_TUPLES_OK && PQntuples(exists.get()) > 0) {
        return;
    }
    std::string sql = "CREATE DATABASE " + std::string(ident.get());
    std::unique_ptr<PGresult, void (*)(PGresult*)> created(
        PQexec(conn.get(), sql.c_str()), PQclear
    );
    if (PQresultStatus(created.get()) != PGRES_COMMAND_OK) {
        const char* state = PQresultErrorField(created.get(), PG_DIAG_SQLSTATE);
        if (state != nullptr && std::string_view(state) == "42P04") {
            return;  // duplicate_database: someone else created it meanwhile
        }
        throw error(
            "embedded PostgreSQL: " + sql + ": " + PQresultErrorMessage(created.get()),
            state ? state : ""
        );
    }
}

void embedded_cluster::stop() {
    if (!running_) {
        return;
    }
    running_ = false;
    std::vector<std::string> args{
        (bindir_ / "pg_ctl").string(),
        "stop",
        "-w",
        "-t",
        "60",
        "-s",
        "-m",
        "fast",
        "-D",
        dir_.string(),
    };
    process_result r = run(args, user_);
    if (r.status != 0 && ping(conninfo("postgres")) != PQPING_NO_RESPONSE) {
        fail("pg_ctl stop on " + dir_.string() + " failed:" + last_lines(r.output, 10));
    }
}

bool embedded_cluster::stop_unless_in_use() {
    if (!running_) {
        return false;
    }
    std::unique_ptr<PGconn, void (*)(PGconn*)> conn(
        PQconnectdb((conninfo("postgres") + " connect_timeout=5").c_str()), PQfinish
    );
    if (conn && PQstatus(conn.get()) == CONNECTION_OK) {
        std::unique_ptr<PGresult, void (*)(PGresult*)> others(
            PQexec(
                conn.get(),
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()"
            ),
            PQclear
        );
        if (PQresultStatus(others.get()) == PGRES_TUPLES_OK && PQntuples(others.get()) == 1 &&
            std::string_view(PQgetvalue(others.get(), 0, 0)) != "0") {
            running_ = false;  // theirs now: whoever stops last stops it
            return false;
        }
    }
    conn.reset();
    stop();
    return true;
}

}  // namespace shotfarm::pg
