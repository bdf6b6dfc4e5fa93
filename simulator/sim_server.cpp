#pragma GCC diagnostic ignored "-Wnull-dereference"  // GCC 12 false positive inside Asio

#include "simulator/sim_server.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "simulator/atlas.hpp"

namespace shotfarm::simulator {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::size_t max_request_bytes = 50u * 1024 * 1024;  // Atlas's limit, the largest

net::http_response_t answer(
    sim_state& state, http::status status, std::string content_type, std::string body
) {
    net::http_response_t res{status, 11};
    res.set(http::field::content_type, content_type);
    res.set("X-Request-ID", state.next_request_id());
    res.body() = std::move(body);
    return res;
}

net::http_response_t not_found(sim_state& state) {
    return answer(state, http::status::not_found, "application/json", R"({"error":"not found"})");
}

// The simulator's own endpoints: no auth, not part of any provider.
net::http_response_t sim_route(sim_state& state, const net::http_request_t& req) {
    std::string_view path = req.target();
    path = path.substr(0, path.find('?'));
    if (req.method() != http::verb::get) {
        return not_found(state);
    }
    if (path == "/_sim/ledger") {
        return answer(
            state, http::status::ok, "application/json", json::serialize(state.ledger_json())
        );
    }
    constexpr std::string_view files = "/_sim/files/";
    if (path.starts_with(files) && path.ends_with(".mp4")) {
        const auto id = path.substr(files.size(), path.size() - files.size() - 4);
        const auto* j = state.find_job(id);
        if (j == nullptr || state.phase(*j) != job_phase::completed) {
            return not_found(state);
        }
        return answer(state, http::status::ok, "video/mp4", j->output);
    }
    constexpr std::string_view media = "/_sim/media/";
    if (path.starts_with(media)) {
        const auto* item = state.find_media(path.substr(media.size()));
        if (item == nullptr) {
            return not_found(state);
        }
        return answer(state, http::status::ok, item->mime, item->bytes);
    }
    return not_found(state);
}

asio::awaitable<net::http_response_t> dispatch(
    std::shared_ptr<sim_state> state, net::http_request_t req
) {
    if (req.target().starts_with("/_sim/")) {
        co_return sim_route(*state, req);
    }
    // Providers added later claim their own path prefixes here; Atlas owns the rest.
    co_return co_await atlas::handle(std::move(state), std::move(req));
}

}  // namespace

sim_server::sim_server(
    asio::any_io_executor ex, sim_config config, const std::string& host, std::uint16_t port
)
    : state_(std::make_shared<sim_state>(std::move(config))),
      server_(
          ex,
          host,
          port,
          [state = state_](net::http_request_t req) { return dispatch(state, std::move(req)); },
          net::server_options{
              .max_body_bytes = max_request_bytes,
              .idle_timeout = std::chrono::seconds{60},
              .error_response = [state = state_](http::status status) -> net::http_response_t {
                  if (status == http::status::payload_too_large) {
                      return atlas::payload_too_large(*state);
                  }
                  const auto rid = state->next_request_id();
                  json::object body;
                  body["code"] = static_cast<unsigned>(status);
                  body["msg"] = std::string(http::obsolete_reason(status));
                  body["request_id"] = rid;
                  body["data"] = nullptr;
                  net::http_response_t res{status, 11};
                  res.set(http::field::content_type, "application/json");
                  res.set("X-Request-ID", rid);
                  res.body() = json::serialize(body);
                  return res;
              }}
      ) {
    const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    state_->set_base_url("http://" + shown_host + ":" + std::to_string(server_.port()));
}

}  // namespace shotfarm::simulator
