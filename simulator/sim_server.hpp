// sim_server: shotfarm-sim's HTTP front. One port serves every emulated provider (routes in
// one file per provider: atlas.cpp, ...) plus the simulator's own endpoints under /_sim/:
// GET /_sim/ledger, POST /_sim/speed, GET /_sim/files/<id>.mp4 (outputs), GET /_sim/media/<name>
// (uploads). Provider push (webhooks) goes out through a webhook_sender on the same executor.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "net/http_server.hpp"
#include "simulator/config.hpp"
#include "simulator/sim_state.hpp"
#include "simulator/webhooks.hpp"

namespace shotfarm::simulator {

// Binds on construction (port 0 = any free port). Single-threaded executor, like http_server.
class sim_server {
public:
    sim_server(
        boost::asio::any_io_executor ex,
        sim_config config,
        const std::string& host,
        std::uint16_t port
    );

    std::uint16_t port() const { return server_.port(); }
    const std::string& base_url() const { return state_->base_url(); }
    void start() { server_.start(); }
    void stop() { server_.stop(); }

private:
    std::shared_ptr<sim_state> state_;
    std::shared_ptr<webhook_sender> hooks_;
    net::http_server server_;
};

}  // namespace shotfarm::simulator
