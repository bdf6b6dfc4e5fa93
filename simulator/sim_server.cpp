#pragma GCC diagnostic ignored "-Wnull-dereference"  // GCC 12 false positive inside Asio

#include "simulator/sim_server.hpp"

#include <cmath>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "simulator/aimlapi.hpp"
#include "simulator/atlas.hpp"
#include "simulator/common.hpp"
#include "simulator/minimax.hpp"
#include "simulator/wavespeed.hpp"

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

// `/_sim/redirect/<hop>/<job id>.mp4`: a `[sim:redirect...]` job's video URL. <hop> is the
// number of 302s still to come (the last one points at the file), or `foreign` / `private`
// for a single 302 to a host the simulator does not own.
net::http_response_t redirect_route(sim_state& state, std::string_view rest) {
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || !rest.ends_with(".mp4")) {
        return not_found(state);
    }
    const auto hop = rest.substr(0, slash);
    auto* j = state.find_job(decode_segment(rest.substr(slash + 1, rest.size() - slash - 5)));
    if (j == nullptr || state.phase(*j) != job_phase::completed) {
        return not_found(state);
    }
    std::string location;
    if (hop == "foreign") {
        location =
            "http://127.0.0.1:" + std::to_string(state.config().foreign_url_port) + "/metrics";
    } else if (hop == "private") {
        location = std::string(private_video_url);
    } else if (hop.size() == 1 && hop[0] >= '1' && hop[0] <= '5') {
        location = hop[0] == '1' ? output_url(state, *j)
                                 : state.base_url() + "/_sim/redirect/" +
                                       std::string(1, static_cast<char>(hop[0] - 1)) + "/" +
                                       encode_segment(j->id) + ".mp4";
    } else {
        return not_found(state);
    }
    ++j->redirect_fetches;
    state.count_request(j->key, sim_state::request_kind::download);
    auto res = answer(state, http::status::found, "text/plain", "moved\n");
    res.set(http::field::location, location);
    return res;
}

// POST /_sim/speed {"factor": F, "provider": P?}: from now on, jobs (of P) take F times their
// drawn generation time.
net::http_response_t speed_route(sim_state& state, const net::http_request_t& req) {
    const auto bad = [&state](std::string msg) {
        return answer(
            state,
            http::status::bad_request,
            "application/json",
            json::serialize(json::object{{"error", std::move(msg)}})
        );
    };
    boost::system::error_code ec;
    const auto parsed = json::parse(req.body(), ec);
    if (ec || !parsed.is_object()) {
        return bad("body must be a JSON object {factor, provider?}");
    }
    const auto& body = parsed.as_object();
    const auto* f = body.if_contains("factor");
    const double factor = f == nullptr     ? 0
                          : f->is_double() ? f->as_double()
                          : f->is_int64()  ? static_cast<double>(f->as_int64())
                          : f->is_uint64() ? static_cast<double>(f->as_uint64())
                                           : 0;
    if (!(factor > 0) || !std::isfinite(factor)) {
        return bad("factor must be a positive number");
    }
    std::string provider;
    if (const auto* p = body.if_contains("provider"); p != nullptr && !p->is_null()) {
        provider = p->is_string() ? std::string(p->as_string()) : std::string("?");
        if (provider == "atlascloud") {
            provider = "atlas";
        }
        if (!is_provider(provider)) {
            return bad("provider must be atlas, wavespeed, aimlapi or minimax");
        }
    }
    const double after_s = state.set_speed(factor, provider);
    json::object out;
    out["factor"] = factor;
    out["provider"] = provider.empty() ? json::value(nullptr) : json::value(provider);
    out["after_s"] = after_s;
    return answer(state, http::status::ok, "application/json", json::serialize(out));
}

// The simulator's own endpoints: no auth, not part of any provider.
net::http_response_t sim_route(sim_state& state, const net::http_request_t& req) {
    std::string_view path = req.target();
    path = path.substr(0, path.find('?'));
    if (path == "/_sim/speed" && req.method() == http::verb::post) {
        return speed_route(state, req);
    }
    if (req.method() != http::verb::get) {
        return not_found(state);
    }
    if (path == "/_sim/ledger") {
        return answer(
            state, http::status::ok, "application/json", json::serialize(state.ledger_json())
        );
    }
    // Media routes: a download host never needs the client's credentials.
    if (req.find(http::field::authorization) != req.end()) {
        state.count_media_authorized();
    }
    constexpr std::string_view files = "/_sim/files/";
    if (path.starts_with(files) && path.ends_with(".mp4")) {
        const auto id = path.substr(files.size(), path.size() - files.size() - 4);
        auto* j = state.find_job(decode_segment(id));
        if (j != nullptr) {
            state.count_request(j->key, sim_state::request_kind::download);
        }
        if (j == nullptr || state.phase(*j) != job_phase::completed) {
            return not_found(state);
        }
        ++j->file_fetches;
        return answer(state, http::status::ok, "video/mp4", j->output);
    }
    constexpr std::string_view redirects = "/_sim/redirect/";
    if (path.starts_with(redirects)) {
        return redirect_route(state, path.substr(redirects.size()));
    }
    constexpr std::string_view downloads = "/_sim/dl/";
    if (path.starts_with(downloads)) {
        // MiniMax's expiring download_url: /_sim/dl/<token>/output.mp4.
        auto token = path.substr(downloads.size());
        token = token.substr(0, token.find('/'));
        const job* j = nullptr;
        const auto found = state.find_download(token, j);
        if (j != nullptr) {
            state.count_request(j->key, sim_state::request_kind::download);
        }
        switch (found) {
            case sim_state::download_lookup::ok:
                ++state.find_job(j->id)->file_fetches;
                return answer(state, http::status::ok, "video/mp4", j->output);
            case sim_state::download_lookup::expired:
                return answer(
                    state,
                    http::status::forbidden,
                    "application/xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                    "<Message>Request has expired</Message></Error>\n"
                );
            case sim_state::download_lookup::unknown:
                return not_found(state);
        }
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

// Thrown to drop a connection without answering (the `reset` and `lost_response` faults). Not
// a std::exception on purpose: net::http_server answers those with a 500, while anything else
// ends the session coroutine, which closes the socket with nothing written.
struct drop_connection {};

enum class provider { atlas, wavespeed, aimlapi, minimax };

provider provider_of(std::string_view target) {
    if (target.starts_with("/api/v3/")) {
        return provider::wavespeed;
    }
    if (target.starts_with("/v2/")) {
        return provider::aimlapi;
    }
    if (target.starts_with("/v1/")) {
        return provider::minimax;
    }
    return provider::atlas;  // Atlas owns the rest (its auth-before-routing 401 included)
}

asio::awaitable<net::http_response_t> route(
    provider p,
    std::shared_ptr<sim_state> state,
    std::shared_ptr<webhook_sender> hooks,
    net::http_request_t req
) {
    switch (p) {
        case provider::wavespeed:
            co_return co_await wavespeed::handle(std::move(state), std::move(req));
        case provider::aimlapi:
            co_return co_await aimlapi::handle(std::move(state), std::move(req));
        case provider::minimax:
            co_return co_await minimax::handle(std::move(state), std::move(hooks), std::move(req));
        case provider::atlas:
            break;
    }
    co_return co_await atlas::handle(std::move(state), std::move(req));
}

net::http_response_t fault_answer(
    provider p, sim_state& state, http::status status, std::string_view target
) {
    switch (p) {
        case provider::wavespeed:
            return wavespeed::fault_answer(state, status);
        case provider::aimlapi:
            return aimlapi::fault_answer(state, status, target.substr(0, target.find('?')));
        case provider::minimax:
            return minimax::fault_answer(state, status);
        case provider::atlas:
            break;
    }
    return atlas::fault_answer(state, status);
}

// Generation submits (not Atlas's uploadMedia) and polls (every provider GET but the Atlas
// catalog) are what faults apply to.
bool is_submit(provider p, const net::http_request_t& req) {
    return req.method() == http::verb::post &&
           !(p == provider::atlas && req.target().starts_with("/api/v1/model/uploadMedia"));
}

constexpr std::string_view atlas_jwks_path = "/api/v1/webhooks/jwks.json";
constexpr std::string_view wavespeed_secret_path = "/api/v3/webhook/secret";

// Every provider GET but Atlas's catalog and JWKS and WaveSpeed's webhook secret.
bool is_poll(provider p, const net::http_request_t& req) {
    const auto path = path_of(req.target());
    return req.method() == http::verb::get &&
           !(p == provider::atlas &&
             (req.target().starts_with("/api/v1/models") || path == atlas_jwks_path)) &&
           !(p == provider::wavespeed && path == wavespeed_secret_path);
}

// The job the request just handled created, handed to the webhook sender.
job* take_created(sim_state& state, webhook_sender& hooks) {
    auto* created = state.take_just_accepted();
    if (created != nullptr) {
        hooks.accepted(*created);
    }
    return created;
}

asio::awaitable<net::http_response_t> dispatch(
    std::shared_ptr<sim_state> state, std::shared_ptr<webhook_sender> hooks, net::http_request_t req
) {
    // An authenticated request outside its provider's documented routes is an escape (a job id
    // pasted into a path unencoded): recorded whatever is answered.
    if (const auto token = bearer_token(req)) {
        const auto* key = state->find_any_key(*token);
        if (key != nullptr && !is_documented_route(key->provider, req.target())) {
            state->record_escaped(req.target());
        }
    }
    if (req.target().starts_with("/_sim/")) {
        co_return sim_route(*state, req);
    }
    const auto p = provider_of(req.target());
    const bool submit = is_submit(p, req);
    const bool poll = !submit && is_poll(p, req);
    // Every request presenting a configured key is counted, whatever its answer (faults too).
    if (const auto key = bearer_token(req)) {
        state->count_request(
            *key,
            submit ? sim_state::request_kind::submit
            : poll ? sim_state::request_kind::poll
                   : sim_state::request_kind::other
        );
    }
    if (p == provider::atlas && req.method() == http::verb::get &&
        path_of(req.target()) == atlas_jwks_path) {
        // Atlas's webhook signing keys: public, no auth.
        co_return answer(
            *state, http::status::ok, "application/json", json::serialize(hooks->jwks())
        );
    }
    if (!submit && !poll) {
        auto res = co_await route(p, state, hooks, std::move(req));
        take_created(*state, *hooks);
        co_return res;
    }
    // Transport faults, one seeded draw each in a fixed order; the first that fires wins.
    const auto& faults = state->config().faults;
    if (state->draw_fault("reset", faults.reset)) {
        throw drop_connection{};
    }
    if (state->draw_fault("http_429", faults.http_429)) {
        co_return fault_answer(p, *state, http::status::too_many_requests, req.target());
    }
    if (state->draw_fault("http_5xx", faults.http_5xx)) {
        const auto status = state->draw_fault("http_5xx_503", 0.5)
                                ? http::status::service_unavailable
                                : http::status::internal_server_error;
        co_return fault_answer(p, *state, status, req.target());
    }
    if (state->draw_fault("slow", faults.slow)) {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_after(std::chrono::duration_cast<asio::steady_timer::duration>(
            std::chrono::duration<double>(faults.slow_s)
        ));
        co_await timer.async_wait(asio::use_awaitable);
    }
    const bool malformed = state->draw_fault("malformed_json", faults.malformed_json);
    auto res = co_await route(p, state, hooks, std::move(req));
    const auto* created = take_created(*state, *hooks);
    // Drawn only for submits that created a job, so refused ones do not consume draws.
    if (submit && created != nullptr && state->draw_fault("lost_response", faults.lost_response)) {
        throw drop_connection{};  // created and billed; the client never hears of it
    }
    if (malformed) {
        auto& body = res.body();
        body = body.substr(0, body.size() / 2) + "<html><body>502 Bad Gateway</body></html>";
        res.result(http::status::ok);
    }
    co_return res;
}

}  // namespace

sim_server::sim_server(
    asio::any_io_executor ex, sim_config config, const std::string& host, std::uint16_t port
)
    : state_(std::make_shared<sim_state>(std::move(config))),
      hooks_(std::make_shared<webhook_sender>(ex, state_)),
      server_(
          ex,
          host,
          port,
          [state = state_, hooks = hooks_](net::http_request_t req) {
              return dispatch(state, hooks, std::move(req));
          },
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
