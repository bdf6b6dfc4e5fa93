// pg::pool — up to max_size pg::connection objects shared by coroutines; acquire() hands out an
// RAII lease and waits (asynchronously, first come first served) when all are in use.
// pg::in_transaction — BEGIN ... COMMIT around a coroutine, with retry on serialization failure.
//
// Threading: a pool and its leases are used from one thread (the io thread that runs its
// executor). Leases may outlive the pool object (they then just close their connection).
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pg/connection.hpp"
#include "pg/error.hpp"
#include "pg/result.hpp"

namespace shotfarm::pg {

namespace detail {
struct pool_state;
}

class pool {
public:
    // Connections are opened lazily by acquire(); none is opened by the constructor.
    pool(boost::asio::any_io_executor ex, std::string conninfo, std::size_t max_size);
    ~pool();  // close()
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    // Exclusive use of one connection. On destruction the connection goes back to the pool,
    // unless it is broken (or the pool closed): then it is closed and its slot freed.
    class lease {
    public:
        lease() = default;
        lease(lease&& other) noexcept = default;
        lease& operator=(lease&& other) noexcept;
        ~lease();
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;

        connection& operator*() const noexcept { return *conn_; }
        connection* operator->() const noexcept { return conn_.get(); }
        explicit operator bool() const noexcept { return conn_ != nullptr; }
        void release() noexcept;  // give the connection back now

    private:
        friend class pool;
        lease(std::shared_ptr<detail::pool_state> state, std::unique_ptr<connection> conn) noexcept;

        std::shared_ptr<detail::pool_state> state_;
        std::unique_ptr<connection> conn_;
    };

    // An idle healthy connection, else a new one (connect timeout 10 s) while fewer than
    // max_size exist, else waits for one to be returned. Throws pg::error if the pool is closed
    // or connecting fails; cancellable (e.g. `co_await (p.acquire() || timer)`).
    boost::asio::awaitable<lease> acquire();

    // Closes idle connections, fails current and future acquire() calls; leased connections
    // are closed when their lease ends. Idempotent.
    void close();

    std::size_t size() const noexcept;  // open connections, idle + leased
    std::size_t idle() const noexcept;
    std::size_t waiting() const noexcept;  // coroutines parked in acquire()
    std::size_t max_size() const noexcept;
    const boost::asio::any_io_executor& get_executor() const noexcept;

private:
    std::shared_ptr<detail::pool_state> state_;
};

namespace detail {

template <class T>
struct awaitable_value;
template <class T>
struct awaitable_value<boost::asio::awaitable<T>> {
    using type = T;
};

inline constexpr int transaction_attempts = 5;

// What one attempt yields: the value of f, or `true` when f returns awaitable<void>.
template <class T>
using attempt_value = std::conditional_t<std::is_void_v<T>, bool, T>;

// One attempt: BEGIN, f, COMMIT on `conn`. Returns nullopt if the attempt hit a serialization
// failure or deadlock that is worth retrying (the transaction was rolled back).
template <class T, class F>
boost::asio::awaitable<std::optional<attempt_value<T>>> transaction_attempt(
    connection& conn, F& f, bool last_attempt
) {
    std::optional<attempt_value<T>> value;
    std::exception_ptr failure;
    try {
        co_await conn.exec("BEGIN");
    } catch (const error& e) {
        if (e.connection_broken() && !last_attempt) {
            co_return std::nullopt;  // nothing ran yet: safe to try on another connection
        }
        throw;
    }
    try {
        if constexpr (std::is_void_v<T>) {
            co_await f(conn);
        } else {
            value.emplace(co_await f(conn));
        }
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        if (!conn.broken()) {
            try {
                co_await conn.exec("ROLLBACK");
            } catch (...) {
                // The original failure is what the caller needs; a broken connection is
                // dropped by the lease anyway.
            }
        }
        if (!last_attempt) {
            try {
                std::rethrow_exception(failure);
            } catch (const error& e) {
                if (e.retryable() && !conn.broken()) {
                    co_return std::nullopt;
                }
            } catch (...) {
            }
        }
        std::rethrow_exception(failure);
    }

    std::exception_ptr commit_failure;
    std::string commit_tag;
    try {
        result r = co_await conn.exec("COMMIT");
        commit_tag = std::string(r.command_tag());
    } catch (const error& e) {
        if (e.connection_broken()) {
            throw error(std::string("pg: COMMIT outcome unknown: ") + e.what(), e.sqlstate(), true);
        }
        if (e.retryable() && !last_attempt) {
            co_return std::nullopt;  // e.g. SERIALIZABLE conflict detected at commit
        }
        throw;  // definitive failure (e.g. deferred constraint): the transaction rolled back
    } catch (...) {
        // Abandoned (cancelled) while COMMIT was in flight: it may or may not have committed.
        commit_failure = std::current_exception();
    }
    if (commit_failure) {
        std::string what = "pg: COMMIT outcome unknown (interrupted)";
        try {
            std::rethrow_exception(commit_failure);
        } catch (const std::exception& e) {
            what += std::string(": ") + e.what();
        } catch (...) {
        }
        throw error(std::move(what), {}, true);
    }
    // COMMIT of a transaction that already failed (an error swallowed inside f) rolls back.
    if (commit_tag == "ROLLBACK") {
        throw error("pg: transaction was aborted by an earlier error; COMMIT rolled back", "25P02");
    }
    if constexpr (std::is_void_v<T>) {
        co_return true;
    } else {
        co_return std::move(value);
    }
}

}  // namespace detail

// Runs f(connection&) -> awaitable<T> inside BEGIN ... COMMIT on one leased connection.
// ROLLBACK on exception (rethrown). SQLSTATE 40001/40P01 (from f or from COMMIT) re-runs the
// whole of f on a fresh transaction, up to 5 attempts in all, with a short growing pause; so
// does a connection found dead at BEGIN. f must therefore be safe to run again.
// If COMMIT's outcome is unknown (connection lost or the wait abandoned), throws pg::error with
// connection_broken() true: the caller must re-read to learn what happened.
// f is stored in this coroutine's frame for its whole run, so a lambda capturing locals of the
// awaiting coroutine by reference is fine.
template <class F>
auto in_transaction(pool& p, F f) -> std::invoke_result_t<F&, connection&> {
    using awaitable_t = std::invoke_result_t<F&, connection&>;
    using T = typename detail::awaitable_value<awaitable_t>::type;
    for (int attempt = 1;; ++attempt) {
        std::optional<detail::attempt_value<T>> outcome;
        {
            pool::lease conn = co_await p.acquire();
            outcome = co_await detail::transaction_attempt<T>(
                *conn, f, attempt == detail::transaction_attempts
            );
        }
        if (outcome) {
            if constexpr (std::is_void_v<T>) {
                co_return;
            } else {
                co_return std::move(*outcome);
            }
        }
        boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
        pause.expires_after(std::chrono::milliseconds(5 * attempt * attempt));
        co_await pause.async_wait(boost::asio::use_awaitable);
    }
}

}  // namespace shotfarm::pg
