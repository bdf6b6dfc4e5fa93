#include "tests/support/sim_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <random>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/json/parse.hpp>

#include "tests/support/http_call.hpp"

namespace shotfarm::testing {

namespace {

// Parses the port out of "... listening on 127.0.0.1:40123".
std::uint16_t port_from_line(const std::string& line) {
    const auto colon = line.rfind(':');
    if (colon == std::string::npos) {
        throw std::runtime_error("shotfarm-sim: no port in line: " + line);
    }
    return static_cast<std::uint16_t>(std::stoul(line.substr(colon + 1)));
}

int decode_status(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

}  // namespace

std::filesystem::path sim_process::binary() {
    const char* dir = std::getenv("SHOTFARM_BUILD_DIR");
    return std::filesystem::path(
               dir != nullptr && *dir != '\0' ? dir : SHOTFARM_BUILD_DIR_DEFAULT
           ) /
           "shotfarm-sim";
}

sim_process::sim_process(const std::string& sim_yaml, std::chrono::seconds start_deadline) {
    std::random_device rd;
    config_path_ =
        std::filesystem::temp_directory_path() /
        ("shotfarm-sim-" + std::to_string(::getpid()) + "-" + std::to_string(rd()) + ".yaml");
    {
        std::ofstream out(config_path_);
        out << sim_yaml;
        if (!out) {
            throw std::runtime_error("cannot write " + config_path_.string());
        }
    }

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    const std::string bin = binary().string();
    const std::string config = config_path_.string();
    std::vector<std::string> args_storage{bin, "--listen", "127.0.0.1:0", "--config", config};
    std::vector<char*> argv;
    for (auto& a : args_storage) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
        // Child: only async-signal-safe calls until exec. If the test process dies (crash,
        // ctest timeout), the simulator is told to stop instead of lingering.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) {
            ::_exit(127);
        }
        ::dup2(fds[1], STDOUT_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    const int fork_errno = errno;
    ::close(fds[1]);
    if (pid_ < 0) {
        ::close(fds[0]);
        std::filesystem::remove(config_path_);
        throw std::runtime_error("cannot start " + bin + ": " + std::strerror(fork_errno));
    }

    // Read stdout until the `listening` line, the child's exit, or the deadline.
    const auto deadline = std::chrono::steady_clock::now() + start_deadline;
    std::string pending;
    std::string error;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()
        );
        if (left.count() <= 0) {
            error = "shotfarm-sim did not print `listening` within the deadline";
            break;
        }
        pollfd pfd{fds[0], POLLIN, 0};
        const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            continue;
        }
        char buf[512];
        const auto got = ::read(fds[0], buf, sizeof buf);
        if (got <= 0) {
            error = "shotfarm-sim (" + binary().string() +
                    ") exited before listening (see its stderr above)";
            break;
        }
        pending.append(buf, static_cast<std::size_t>(got));
        std::size_t eol = 0;
        while ((eol = pending.find('\n')) != std::string::npos) {
            std::string line = pending.substr(0, eol);
            pending.erase(0, eol + 1);
            if (line.find("listening") != std::string::npos) {
                port_ = port_from_line(line);
                break;
            }
        }
        if (port_ != 0) {
            break;
        }
    }
    // The simulator writes nothing else to stdout (it ignores SIGPIPE).
    ::close(fds[0]);
    if (port_ == 0) {
        stop(std::chrono::seconds{2});
        throw std::runtime_error(error);
    }
}

sim_process::~sim_process() {
    stop();
}

std::string sim_process::base_url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
}

boost::json::value sim_process::ledger() const {
    auto reply = http_call(port_, boost::beast::http::verb::get, "/_sim/ledger");
    if (reply.status != 200) {
        throw std::runtime_error("GET /_sim/ledger answered " + std::to_string(reply.status));
    }
    return boost::json::parse(reply.body);
}

int sim_process::stop(std::chrono::seconds grace) {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + grace;
        int status = 0;
        for (;;) {
            const pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                exit_status_ = decode_status(status);
                break;
            }
            if (r < 0 && errno != EINTR) {
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(pid_, SIGKILL);
                if (::waitpid(pid_, &status, 0) == pid_) {
                    exit_status_ = decode_status(status);
                }
                break;
            }
            // Polling the child's exit with a deadline; there is no fd to wait on.
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
        pid_ = -1;
    }
    if (!config_path_.empty()) {
        std::error_code ec;
        std::filesystem::remove(config_path_, ec);
        config_path_.clear();
    }
    return exit_status_;
}

}  // namespace shotfarm::testing
