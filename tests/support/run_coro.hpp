// run_coro: run one coroutine to completion on a fresh io_context, so TEST bodies stay plain.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace shotfarm::testing {

template <class T>
T run_coro(boost::asio::io_context& ioc, boost::asio::awaitable<T> aw) {
    auto fut = boost::asio::co_spawn(ioc, std::move(aw), boost::asio::use_future);
    ioc.restart();
    ioc.run();
    return fut.get();
}

template <class T>
T run_coro(boost::asio::awaitable<T> aw) {
    boost::asio::io_context ioc;
    return run_coro(ioc, std::move(aw));
}

}  // namespace shotfarm::testing
