#include "daemon/commands.hpp"

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <malloc.h>
#include <random>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "daemon/database.hpp"
#include "daemon/endpoints.hpp"
#include "daemon/webhooks.hpp"
#include "jobs/config.hpp"
#include "jobs/engine/pipeline.hpp"
#include "jobs/engine/run_metrics.hpp"
#include "jobs/engine/store.hpp"
#include "jobs/log.hpp"
#include "jobs/shotlist.hpp"
#include "metrics/registry.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "pg/pool.hpp"
#include "providers/catalog.hpp"

namespace shotfarm::daemon {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using jobs::job_state;
using jobs::log;
using jobs::log_level;

namespace {

void print_errors(const jobs::diagnostics& errors) {
    for (const auto& d : errors) {
        std::cerr << d.str() << "\n";
    }
}

std::string money(double usd) {
    std::ostringstream s;
    s << "$" << std::fixed << std::setprecision(2) << usd;
    return s.str();
}

void print_summary(
    const jobs::run_summary& s, const jobs::app_config& cfg, const std::string& project
) {
    int total = 0;
    for (auto [st, n] : s.counts) {
        total += n;
    }
    std::ostringstream out;
    out << "\n== shotfarm: project " << project << " ==\n";
    out << "jobs: " << total;
    for (job_state st : jobs::all_job_states) {
        if (s.counts.count(st) && s.counts.at(st) > 0) {
            out << " · " << to_string(st) << " " << s.counts.at(st);
        }
    }
    out << "\nspent (all projects in this database): " << money(s.spend_usd) << "\n";
    out << "videos: " << fs::absolute(cfg.output_dir / project).string() << "\n";
    bool header = false;
    for (const auto& j : s.jobs) {
        if (j.state == job_state::succeeded ||
            (!jobs::is_terminal(j.state) && j.state != job_state::held)) {
            continue;
        }
        if (!header) {
            out << "not rendered:\n";
            header = true;
        }
        out << "  " << j.ref() << " [" << to_string(j.state) << "] " << j.error.value_or("")
            << "\n";
    }
    if (s.stopped) {
        out << "stopped before the end: run the same command again to resume.\n";
    }
    if (s.budget_waiting > 0) {
        out << s.budget_waiting << " job(s) wait for budget — " << s.budget_reason
            << "; raise the cap (shot list budget_usd, config budget_usd or "
               "budget_usd_per_day) and run again.\n";
    }
    if (s.no_usable_account) {
        out << "no usable account is left (see the account.paused log lines); fix the accounts "
               "and run again to resume.\n";
    }
    std::cout << out.str() << std::flush;
}

/// One process working on the database: `shotfarm run` (one shot list, until it is done) or
/// `shotfarm daemon` (every batch, until SIGTERM). Signals: SIGINT/SIGTERM stop (a second one
/// exits at once), SIGHUP reloads the config.
struct serve_args {
    std::filesystem::path config_file;
    std::shared_ptr<const jobs::app_config> cfg;
    jobs::shot_list* list = nullptr;  ///< run: ingested first, then emptied; daemon: none
    bool quiet = false;
};

struct serve_context {
    serve_args& args;
    database& db;
    jobs::job_store& store;
    net::http_client& http;
    jobs::run_metrics& metrics;
    endpoint_state& endpoints;
    webhook_route& webhooks;
    net::http_server& server;
    pg::pool& pool;
    metrics::family<metrics::counter>& reloads;
    int exit_code = 1;
    jobs::run_summary summary;
    std::string project;
};

/// What a reload may not change without a restart.
std::string restart_only_change(const jobs::app_config& a, const jobs::app_config& b) {
    if (a.database_url != b.database_url || a.state_dir != b.state_dir) {
        return "database";
    }
    if (a.listen_host != b.listen_host || a.listen_port != b.listen_port ||
        a.listen_max_connections != b.listen_max_connections) {
        return "listen";
    }
    if (a.output_dir != b.output_dir) {
        return "output_dir";
    }
    return "";
}

asio::awaitable<void> serve(serve_context& ctx) {
    auto ex = co_await asio::this_coro::executor;
    const bool daemon_mode = ctx.args.list == nullptr;
    if (!daemon_mode) {
        jobs::ingest_result ingested;
        try {
            ingested = co_await ctx.store.ingest(*ctx.args.list);
        } catch (const pg::error& e) {
            // The database refused a value validation let through: say which shot, in plain
            // words, never the server's raw message.
            if (!jobs::is_data_refusal(e.sqlstate())) {
                throw;
            }
            ingested.conflicts = jobs::explain_ingest_refusal(*ctx.args.list, e.sqlstate());
        }
        if (!ingested.conflicts.empty()) {
            print_errors(ingested.conflicts);
            ctx.exit_code = 2;
            ctx.server.stop();
            ctx.pool.close();
            co_return;
        }
        // The list is in the database now; keep nothing of it but its name, and give the
        // memory back (a 100,000-shot list costs some 300 MB to parse; the queue must not).
        ctx.project = ctx.args.list->project;
        jobs::shot_list{}.shots.swap(ctx.args.list->shots);
        ::malloc_trim(0);
        std::cout << "shotfarm: project " << ctx.project << ": " << ingested.shots_added
                  << " new shots, " << ingested.jobs_added << " new jobs ("
                  << ingested.shots_unchanged << " shots already known)" << std::endl;
    }

    auto opts = jobs::options_from(*ctx.args.cfg, ctx.project);
    opts.progress = ctx.args.quiet || daemon_mode ? nullptr : &std::cout;
    opts.keep_running = daemon_mode;
    opts.on_ready = [&ctx](bool ready) { ctx.endpoints.ready = ready; };
    if (ctx.db.embedded()) {
        opts.on_outage = [&ctx] { ctx.db.ensure_running(); };
    }
    jobs::pipeline pipe(ex, ctx.args.cfg, ctx.store, ctx.http, ctx.metrics, opts);
    ctx.webhooks.set_sink([&pipe](const std::string& account, providers::webhook_event ev) {
        pipe.push(account, std::move(ev));
    });

    asio::signal_set signals(ex, SIGINT, SIGTERM, SIGHUP);
    bool reloading = false;
    std::function<void(const boost::system::error_code&, int)> on_signal;
    on_signal = [&](const boost::system::error_code& ec, int sig) {
        if (ec) {
            return;
        }
        signals.async_wait(on_signal);
        if (sig == SIGHUP) {
            if (reloading || pipe.stopping()) {
                return;
            }
            auto loaded = jobs::load_config(ctx.args.config_file);
            std::string refused;
            if (!loaded.errors.empty()) {
                for (const auto& d : loaded.errors) {
                    refused += (refused.empty() ? "" : "; ") + d.str();
                }
            } else if (auto what = restart_only_change(*ctx.args.cfg, *loaded.config);
                       !what.empty()) {
                refused = "'" + what + "' changed: that takes a restart";
            }
            if (!refused.empty()) {
                ctx.reloads.with({"error"}).inc();
                log(log_level::error,
                    "config.reload_failed",
                    {{"file", ctx.args.config_file.string()},
                     {"error", refused},
                     {"detail", "the running config stays in force"}});
                return;
            }
            auto fresh = std::make_shared<const jobs::app_config>(std::move(*loaded.config));
            reloading = true;
            asio::co_spawn(
                ex,
                [&pipe, &ctx, fresh]() -> asio::awaitable<void> {
                    co_await pipe.reload(fresh);
                    ctx.webhooks.configure(*fresh);
                    ctx.args.cfg = fresh;
                },
                [&ctx, &reloading](std::exception_ptr e) {
                    reloading = false;
                    if (!e) {
                        ctx.reloads.with({"ok"}).inc();
                        return;
                    }
                    ctx.reloads.with({"error"}).inc();
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& err) {
                        log(log_level::error,
                            "config.reload_failed",
                            {{"error", err.what()}, {"detail", "try again: kill -HUP"}});
                    }
                }
            );
            return;
        }
        if (pipe.stopping()) {
            std::cerr << "shotfarm: second signal, exiting now (start again to resume)\n";
            std::_Exit(daemon_mode ? 0 : 1);
        }
        log(log_level::info, "signal", {{"signal", sig}});
        if (!daemon_mode) {
            std::cout << "shotfarm: stopping (waiting for requests in flight; signal again to "
                         "exit at once)"
                      << std::endl;
        }
        pipe.request_stop();
    };
    signals.async_wait(on_signal);

    if (daemon_mode) {
        std::cout << "shotfarm: daemon working on every batch in the database (SIGTERM stops, "
                     "SIGHUP reloads the config)"
                  << std::endl;
    }
    ctx.summary = co_await pipe.run();
    ctx.webhooks.set_sink({});
    ctx.endpoints.ready = false;
    signals.cancel();
    ctx.server.stop();
    ctx.pool.close();

    if (daemon_mode) {
        ctx.exit_code = 0;  // stopped as asked; every job is where a restart carries on
        co_return;
    }
    print_summary(ctx.summary, *ctx.args.cfg, ctx.project);
    int total = 0;
    for (auto [st, n] : ctx.summary.counts) {
        total += n;
    }
    ctx.exit_code = ctx.summary.budget_waiting > 0                      ? 3
                    : ctx.summary.counts[job_state::succeeded] == total ? 0
                                                                        : 1;
}

int serve_command(serve_args& args, const std::string& owner) {
    std::optional<database> db;
    db.emplace(*args.cfg, owner);

    asio::io_context ioc;
    metrics::registry registry;
    jobs::run_metrics run_metrics(registry);
    auto& reloads = registry.add_counter(
        "shotfarm_config_reloads_total",
        "SIGHUP config reloads, by outcome (ok, error)",
        {"outcome"}
    );
    endpoint_state endpoints;
    net::http_client http(ioc.get_executor());
    webhook_route webhooks(http, registry);
    webhooks.configure(*args.cfg);
    net::http_server server(
        ioc.get_executor(),
        args.cfg->listen_host,
        args.cfg->listen_port,
        make_endpoints(
            registry,
            endpoints,
            [&webhooks](net::http_request_t req) { return webhooks.handle(std::move(req)); }
        ),
        endpoint_server_options(
            args.cfg->listen_host,
            static_cast<std::size_t>(args.cfg->listen_max_connections),
            [&webhooks](std::string_view path) { return webhooks.body_limit(path); },
            webhook_route::max_body_bytes()
        )
    );
    server.start();
    std::cout << "shotfarm: metrics on http://" << args.cfg->listen_host << ":" << server.port()
              << "/metrics" << std::endl;
    log(log_level::info,
        "http.listening",
        {{"host", args.cfg->listen_host}, {"port", server.port()}});

    pg::pool pool(ioc.get_executor(), db->conninfo(), 4);
    jobs::job_store store(pool, owner, std::chrono::seconds(args.cfg->lease_ttl_s));
    serve_context ctx{
        args, *db, store, http, run_metrics, endpoints, webhooks, server, pool, reloads, 1, {}, {}};

    std::exception_ptr failure;
    asio::co_spawn(ioc, serve(ctx), [&](std::exception_ptr e) {
        failure = e;
        if (e) {
            server.stop();
            pool.close();
        }
    });
    ioc.run();
    if (failure) {
        std::rethrow_exception(failure);
    }
    if (ctx.summary.abandoned > 0) {
        // Requests still in flight past the grace: their jobs are recorded as they stand; exit
        // without unwinding the tasks that still wait on them.
        std::cout << std::flush;
        std::cerr << std::flush;
        db.reset();
        std::_Exit(ctx.exit_code);
    }
    return ctx.exit_code;
}

}  // namespace

int validate_command(const fs::path& shotlist, const std::optional<fs::path>& config_file) {
    std::optional<jobs::app_config> cfg;
    if (config_file) {
        auto cr = jobs::load_config(*config_file);
        if (!cr.errors.empty()) {
            print_errors(cr.errors);
            return 2;
        }
        cfg = std::move(cr.config);
    }
    auto sr = jobs::load_shotlist(shotlist, cfg ? &*cfg : nullptr);
    if (!sr.errors.empty()) {
        print_errors(sr.errors);
        return 2;
    }
    int takes = 0;
    for (const auto& s : sr.list->shots) {
        takes += s.takes;
    }
    std::cout << shotlist.string() << ": ok (project " << sr.list->project << ", "
              << sr.list->shots.size() << " shots, " << takes << " takes)\n";
    return 0;
}

int run_command(const run_args& args) {
    auto cr = jobs::load_config(args.config);
    if (!cr.errors.empty()) {
        print_errors(cr.errors);
        return 2;
    }
    auto sr = jobs::load_shotlist(args.shotlist, &*cr.config);
    if (!sr.errors.empty()) {
        print_errors(sr.errors);
        return 2;
    }
    serve_args sa;
    sa.config_file = args.config;
    sa.cfg = std::make_shared<const jobs::app_config>(std::move(*cr.config));
    sa.list = &*sr.list;
    sa.quiet = args.quiet;
    return serve_command(sa, make_owner_id());
}

int daemon_command(const std::filesystem::path& config) {
    auto cr = jobs::load_config(config);
    if (!cr.errors.empty()) {
        print_errors(cr.errors);
        return 2;
    }
    serve_args sa;
    sa.config_file = config;
    sa.cfg = std::make_shared<const jobs::app_config>(std::move(*cr.config));
    return serve_command(sa, make_owner_id());
}

int models_command() {
    const auto& cat = providers::catalog::builtin();
    std::cout << std::left << std::setw(22) << "MODEL" << std::setw(5) << "MODE" << std::setw(6)
              << "SECS" << std::setw(7) << "RES" << std::setw(11) << "PROVIDER" << std::setw(9)
              << "USD"
              << "PRICE KEY (config prices:)\n";
    for (const auto& o : cat.all()) {
        char usd[32];
        std::snprintf(usd, sizeof usd, "%.4g", o.price_usd);
        std::cout << std::left << std::setw(22) << o.model << std::setw(5) << to_string(o.m)
                  << std::setw(6) << o.duration << std::setw(7) << o.resolution << std::setw(11)
                  << o.provider << std::setw(9) << usd << providers::catalog::price_key(o) << "\n";
    }
    return 0;
}

}  // namespace shotfarm::daemon
