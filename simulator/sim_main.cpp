// shotfarm-sim: the paid providers' APIs on loopback, for tests and the demo.
//   shotfarm-sim --listen 127.0.0.1:PORT --config SIM.yaml
#pragma GCC diagnostic ignored "-Wnull-dereference"  // GCC 12 false positive inside Asio

#include <csignal>
#include <exception>
#include <iostream>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>

#include "simulator/config.hpp"
#include "simulator/sim_server.hpp"

namespace asio = boost::asio;
namespace po = boost::program_options;

int main(int argc, char** argv) {
    std::string listen = "127.0.0.1:0";
    std::string config_path;
    po::options_description options("shotfarm-sim options");
    options.add_options()("help,h", "show this help")(
        "listen", po::value(&listen), "HOST:PORT to listen on (port 0 = any free port)"
    )("config", po::value(&config_path), "SIM.yaml (see docs/simulator.md)");
    try {
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, options), vm);
        po::notify(vm);
        if (vm.count("help") != 0U) {
            std::cout << options << "\n";
            return 0;
        }
    } catch (const std::exception& e) {
        std::cerr << "shotfarm-sim: " << e.what() << "\n" << options << "\n";
        return 2;
    }

    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        std::cerr << "shotfarm-sim: --listen must be HOST:PORT\n";
        return 2;
    }
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    unsigned long port = 0;
    try {
        port = std::stoul(listen.substr(colon + 1));
    } catch (const std::exception&) {
        port = 65536;
    }
    if (port > 65535) {
        std::cerr << "shotfarm-sim: invalid port in --listen " << listen << "\n";
        return 2;
    }

    shotfarm::simulator::sim_config config;
    if (!config_path.empty()) {
        try {
            config = shotfarm::simulator::load_config(config_path);
        } catch (const std::exception& e) {
            std::cerr << "shotfarm-sim: " << config_path << ": " << e.what() << "\n";
            return 2;
        }
    }

    // Clients that hang up mid-answer must not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    try {
        asio::io_context ioc;
        shotfarm::simulator::sim_server server(
            ioc.get_executor(), std::move(config), host, static_cast<std::uint16_t>(port)
        );
        server.start();
        asio::signal_set signals(ioc, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code&, int) {
            server.stop();
            ioc.stop();
        });
        std::cout << "shotfarm-sim listening on " << server.base_url().substr(7) << std::endl;
        ioc.run();
    } catch (const std::exception& e) {
        std::cerr << "shotfarm-sim: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
