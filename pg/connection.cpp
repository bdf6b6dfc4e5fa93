#include "pg/connection.hpp"

#include <poll.h>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <libpq-fe.h>

namespace shotfarm::pg {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using wait_type = asio::posix::stream_descriptor::wait_type;

namespace {

std::string trimmed(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.remove_suffix(1);
    }
    return std::string(s);
}

void ignore_notice(void* /*arg*/, const char* /*message*/) {}

// Server errors after which the session is gone (connection exception class, admin/crash
// shutdown, cannot-connect-now).
bool kills_session(std::string_view state) {
    return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03";
}

}  // namespace

void connection::deleter::operator()(pg_conn* c) const noexcept {
    PQfinish(c);
}

connection::connection(asio::any_io_executor ex) : socket_(std::move(ex)) {}

connection::~connection() {
    release_socket();
}

bool connection::broken() const noexcept {
    return broken_ || in_flight_ || !conn_ || PQstatus(conn_.get()) != CONNECTION_OK;
}

int connection::backend_pid() const noexcept {
    return conn_ ? PQbackendPID(conn_.get()) : 0;
}

void connection::release_socket() noexcept {
    // Deregister from the reactor without closing: the fd belongs to libpq.
    if (socket_.is_open()) {
        (void)socket_.release();
    }
}

void connection::assign_socket() {
    int fd = PQsocket(conn_.get());
    if (fd < 0) {
        fail("no socket");
    }
    // libpq may close and reopen the socket between PQconnectPoll calls (possibly reusing the
    // number), so register afresh every time rather than comparing descriptors.
    release_socket();
    boost::system::error_code ec;
    socket_.assign(fd, ec);
    if (ec) {
        broken_ = true;
        throw error("pg: cannot watch the libpq socket: " + ec.message(), {}, true);
    }
}

void connection::fail(const std::string& what) {
    broken_ = true;
    std::string detail = conn_ ? trimmed(PQerrorMessage(conn_.get())) : std::string();
    throw error("pg: " + what + (detail.empty() ? "" : ": " + detail), {}, true);
}

asio::awaitable<void> connection::connect(std::string conninfo) {
    release_socket();
    broken_ = true;
    in_flight_ = false;
    conn_.reset(PQconnectStart(conninfo.c_str()));
    if (!conn_) {
        throw error("pg: out of memory starting a connection", {}, true);
    }
    if (PQstatus(conn_.get()) == CONNECTION_BAD) {
        fail("connect failed");
    }
    PQsetNoticeProcessor(conn_.get(), ignore_notice, nullptr);

    in_flight_ = true;
    // libpq: behave as if PQconnectPoll last returned PGRES_POLLING_WRITING.
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    while (poll != PGRES_POLLING_OK) {
        if (poll == PGRES_POLLING_FAILED) {
            fail("connect failed");
        }
        assign_socket();
        co_await socket_.async_wait(
            poll == PGRES_POLLING_READING ? wait_type::wait_read : wait_type::wait_write,
            asio::use_awaitable
        );
        poll = PQconnectPoll(conn_.get());
    }
    assign_socket();
    if (PQsetnonblocking(conn_.get(), 1) != 0) {
        fail("cannot make the connection non-blocking");
    }
    in_flight_ = false;
    broken_ = false;
}

asio::awaitable<void> connection::flush() {
    for (;;) {
        int rc = PQflush(conn_.get());
        if (rc == 0) {
            co_return;
        }
        if (rc < 0) {
            fail("send failed");
        }
        // libpq: while output is pending, also read, or a server blocked on sending to us (e.g.
        // notices) could never drain our large request.
        auto ready = co_await (
            socket_.async_wait(wait_type::wait_write, asio::use_awaitable) ||
            socket_.async_wait(wait_type::wait_read, asio::use_awaitable)
        );
        if (ready.index() == 1 && !PQconsumeInput(conn_.get())) {
            fail("receive failed");
        }
    }
}

asio::awaitable<void> connection::wait_readable() {
    co_await socket_.async_wait(wait_type::wait_read, asio::use_awaitable);
}

asio::awaitable<result> connection::exec(std::string sql, params p) {
    if (broken()) {
        throw error("pg: connection is broken", {}, true);
    }
    std::vector<const char*> values;
    values.reserve(p.size());
    for (const param& v : p) {
        if (v && v->find('\0') != std::string::npos) {
            throw error("pg: a text parameter contains a NUL byte");
        }
        values.push_back(v ? v->c_str() : nullptr);
    }

    in_flight_ = true;  // stays set if this coroutine is abandoned: the protocol state is unknown
    if (!PQsendQueryParams(
            conn_.get(),
            sql.c_str(),
            static_cast<int>(values.size()),
            nullptr,
            values.data(),
            nullptr,
            nullptr,
            0
        )) {
        fail("send failed");
    }
    co_await flush();

    result last;
    result failure;
    for (;;) {
        while (PQisBusy(conn_.get())) {
            co_await wait_readable();
            if (!PQconsumeInput(conn_.get())) {
                fail("receive failed");
            }
        }
        result r{PQgetResult(conn_.get())};
        if (!r) {
            break;  // command complete; the connection is ready for the next one
        }
        switch (PQresultStatus(r.native())) {
            case PGRES_COMMAND_OK:
            case PGRES_TUPLES_OK:
            case PGRES_EMPTY_QUERY:
                last = std::move(r);
                break;
            case PGRES_COPY_IN:
            case PGRES_COPY_OUT:
            case PGRES_COPY_BOTH:
                broken_ = true;
                throw error("pg: COPY is not supported by pg::connection::exec", {}, true);
            default:
                if (!failure) {
                    failure = std::move(r);
                }
                break;
        }
    }
    in_flight_ = false;

    if (failure) {
        const char* field = PQresultErrorField(failure.native(), PG_DIAG_SQLSTATE);
        std::string state = field ? field : "";
        if (kills_session(state) || PQstatus(conn_.get()) != CONNECTION_OK) {
            broken_ = true;
        }
        std::string message = trimmed(PQresultErrorMessage(failure.native()));
        if (message.empty()) {
            message = trimmed(PQerrorMessage(conn_.get()));
        }
        throw error(std::move(message), std::move(state), broken_);
    }
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
        broken_ = true;
    }
    co_return last;
}

bool connection::check_idle() noexcept {
    for (int i = 0; i < 4 && !broken(); ++i) {
        pollfd pfd{};
        pfd.fd = PQsocket(conn_.get());
        pfd.events = POLLIN;
        if (::poll(&pfd, 1, 0) <= 0) {
            break;  // nothing pending: healthy as far as we can tell
        }
        // Anything readable on an idle connection is a notice, a termination message or EOF.
        if (!PQconsumeInput(conn_.get())) {
            broken_ = true;
        }
        while (PGnotify* n = PQnotifies(conn_.get())) {
            PQfreemem(n);
        }
    }
    return broken();
}

}  // namespace shotfarm::pg
