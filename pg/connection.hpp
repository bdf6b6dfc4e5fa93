// pg::connection — one PGconn driven by libpq's asynchronous API on an Asio executor: the socket
// is watched with posix::stream_descriptor::async_wait, so a query never blocks the io thread.
//
// Lifecycle: construct, co_await connect(conninfo), then co_await exec(...) one at a time.
// Threading: not thread-safe; use from the executor it was built with. One command in flight.
// Cancellation: an exec/connect abandoned mid-way (e.g. lost an `op || timer` race) leaves the
// protocol in an unknown state; the connection then reports broken() and must be discarded
// (the pool does so). Set a server-side statement_timeout as well (conninfo
// `options='-c statement_timeout=30s'`): abandoning a query does not stop it on the server.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "pg/error.hpp"
#include "pg/result.hpp"

struct pg_conn;  // libpq's PGconn

namespace shotfarm::pg {

class connection {
public:
    explicit connection(boost::asio::any_io_executor ex);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Non-blocking connect. Use a Unix socket path or `hostaddr=` in conninfo: libpq resolves
    // host names synchronously. Throws pg::error (connection_broken() true) on failure.
    boost::asio::awaitable<void> connect(std::string conninfo);

    // One parameterised statement (PQsendQueryParams, text format). Throws pg::error on SQL
    // errors (sqlstate() set; the connection stays usable) and on connection errors
    // (connection_broken() true).
    boost::asio::awaitable<result> exec(std::string sql, params p = {});

    // True if never connected, the server went away, a connection error occurred, or a command
    // was abandoned mid-flight. A broken connection never becomes usable again.
    bool broken() const noexcept;

    // Cheap liveness check for an idle connection (non-blocking): reads anything the server sent
    // while idle (e.g. a termination notice or EOF) and returns broken().
    bool check_idle() noexcept;

    // The server's backend process id (pg_backend_pid()); 0 if not connected.
    int backend_pid() const noexcept;

    boost::asio::any_io_executor get_executor() { return socket_.get_executor(); }
    pg_conn* native() const noexcept { return conn_.get(); }

private:
    struct deleter {
        void operator()(pg_conn* c) const noexcept;
    };
    void assign_socket();
    void release_socket() noexcept;
    [[noreturn]] void fail(const std::string& what);
    boost::asio::awaitable<void> flush();
    boost::asio::awaitable<void> wait_readable();

    std::unique_ptr<pg_conn, deleter> conn_;
    boost::asio::posix::stream_descriptor socket_;  // never owns the fd: libpq does
    bool in_flight_ = false;
    bool broken_ = true;
};

}  // namespace shotfarm::pg
