#include "pg/pool.hpp"

#include <deque>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace shotfarm::pg {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace detail {

constexpr std::chrono::seconds connect_timeout{10};

// One coroutine parked in acquire(). give_back() either hands it a connection directly (FIFO
// fairness: a newcomer cannot overtake) or, when a slot was freed, wakes it to open one.
struct waiter {
    explicit waiter(const asio::any_io_executor& ex)
        : timer(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer timer;
    std::unique_ptr<connection> handed;
    bool woken = false;
};

struct pool_state {
    pool_state(asio::any_io_executor executor, std::string info, std::size_t max)
        : ex(std::move(executor)), conninfo(std::move(info)), max_size(max) {}

    asio::any_io_executor ex;
    std::string conninfo;
    std::size_t max_size;
    std::size_t open = 0;  // idle + leased + being connected
    bool closed = false;
    std::vector<std::unique_ptr<connection>> idle;
    std::deque<std::shared_ptr<waiter>> waiters;

    void wake_one() {
        if (waiters.empty()) {
            return;
        }
        auto w = std::move(waiters.front());
        waiters.pop_front();
        w->woken = true;
        w->timer.cancel();
    }

    void give_back(std::unique_ptr<connection> conn) {
        if (closed || conn->broken() || conn->check_idle()) {
            conn.reset();
            --open;
            wake_one();  // a slot is free: the next waiter may open a connection
            return;
        }
        if (!waiters.empty()) {
            auto w = std::move(waiters.front());
            waiters.pop_front();
            w->handed = std::move(conn);
            w->woken = true;
            w->timer.cancel();
            return;
        }
        idle.push_back(std::move(conn));
    }
};

}  // namespace detail

pool::pool(asio::any_io_executor ex, std::string conninfo, std::size_t max_size)
    : state_(std::make_shared<detail::pool_state>(
          std::move(ex), std::move(conninfo), max_size == 0 ? 1 : max_size
      )) {}

pool::~pool() {
    close();
}

void pool::close() {
    if (state_->closed) {
        return;
    }
    state_->closed = true;
    state_->open -= state_->idle.size();
    state_->idle.clear();
    while (!state_->waiters.empty()) {
        state_->wake_one();
    }
}

std::size_t pool::size() const noexcept {
    return state_->open;
}
std::size_t pool::idle() const noexcept {
    return state_->idle.size();
}
std::size_t pool::waiting() const noexcept {
    return state_->waiters.size();
}
std::size_t pool::max_size() const noexcept {
    return state_->max_size;
}
const asio::any_io_executor& pool::get_executor() const noexcept {
    return state_->ex;
}

pool::lease::lease(
    std::shared_ptr<detail::pool_state> state, std::unique_ptr<connection> conn
) noexcept
    : state_(std::move(state)), conn_(std::move(conn)) {}

pool::lease& pool::lease::operator=(lease&& other) noexcept {
    if (this != &other) {
        release();
        state_ = std::move(other.state_);
        conn_ = std::move(other.conn_);
    }
    return *this;
}

pool::lease::~lease() {
    release();
}

void pool::lease::release() noexcept {
    if (conn_ && state_) {
        state_->give_back(std::move(conn_));
    }
    conn_.reset();
    state_.reset();
}

asio::awaitable<pool::lease> pool::acquire() {
    // Keep the state alive across suspensions even if the pool object goes away meanwhile.
    std::shared_ptr<detail::pool_state> state = state_;
    for (;;) {
        if (state->closed) {
            throw error("pg::pool: closed");
        }
        while (!state->idle.empty()) {
            std::unique_ptr<connection> conn = std::move(state->idle.back());
            state->idle.pop_back();
            if (!conn->check_idle()) {
                co_return lease(state, std::move(conn));
            }
            --state->open;  // died while idle (server restart, terminated backend)
        }
        if (state->open < state->max_size) {
            ++state->open;
            auto conn = std::make_unique<connection>(state->ex);
            std::exception_ptr failure;
            try {
                asio::steady_timer timeout(state->ex, detail::connect_timeout);
                auto outcome = co_await (
                    conn->connect(state->conninfo) || timeout.async_wait(asio::use_awaitable)
                );
                if (outcome.index() == 1) {
                    throw error("pg::pool: connect timed out", {}, true);
                }
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) {
                --state->open;
                state->wake_one();
                std::rethrow_exception(failure);
            }
            if (state->closed) {
                --state->open;
                throw error("pg::pool: closed");
            }
            co_return lease(state, std::move(conn));
        }

        auto w = std::make_shared<detail::waiter>(state->ex);
        state->waiters.push_back(w);
        co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!w->woken) {
            // Cancelled by our caller (e.g. lost an `acquire() || timer` race).
            std::erase(state->waiters, w);
            throw boost::system::system_error(asio::error::operation_aborted, "pg::pool::acquire");
        }
        if (w->handed) {
            co_return lease(state, std::move(w->handed));
        }
        // Woken because a slot was freed or the pool closed: go round again.
    }
}

}  // namespace shotfarm::pg
