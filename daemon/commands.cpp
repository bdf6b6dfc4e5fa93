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

#include "daemon/endpoints.hpp"
#include "jobs/config.hpp"
#include "jobs/engine/migrations.hpp"
#include "jobs/engine/pipeline.hpp"
#include "jobs/engine/run_metrics.hpp"
#include "jobs/engine/store.hpp"
#include "jobs/log.hpp"
#include "jobs/shotlist.hpp"
#include "metrics/registry.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "pg/embedded.hpp"
#include "pg/migrate.hpp"
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

/// host:pid:random — the lease owner name of this process (see job_store::recover).
std::string make_owner_id() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::random_device rd;
    char token[17];
    std::snprintf(token, sizeof token, "%08x%08x", rd(), rd());
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + token;
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

struct run_context {
    const jobs::app_config& cfg;
    jobs::shot_list& list;  ///< emptied once ingested: the jobs live in the database
    const run_args& args;
    jobs::job_store& store;
    net::http_client& http;
    jobs::run_metrics& metrics;
    endpoint_state& endpoints;
    net::http_server& server;
    pg::pool& pool;
    int exit_code = 1;
};

asio::awaitable<void> run_pipeline(run_context& ctx) {
    auto ex = co_await asio::this_coro::executor;
    auto ingested = co_await ctx.store.ingest(ctx.list);
    if (!ingested.conflicts.empty()) {
        print_errors(ingested.conflicts);
        ctx.exit_code = 2;
        ctx.server.stop();
        ctx.pool.close();
        co_return;
    }
    // The list is in the database now; keep nothing of it but its name, and give the memory
    // back (a 100,000-shot list costs some 300 MB to parse; the waiting queue must not).
    const std::string project = ctx.list.project;
    jobs::shot_list{}.shots.swap(ctx.list.shots);
    ::malloc_trim(0);
    std::cout << "shotfarm: project " << project << ": " << ingested.shots_added << " new shots, "
              << ingested.jobs_added << " new jobs (" << ingested.shots_unchanged
              << " shots already known)" << std::endl;

    auto opts = jobs::options_from(ctx.cfg, project);
    opts.progress = ctx.args.quiet ? nullptr : &std::cout;
    jobs::pipeline pipe(ex, ctx.cfg, ctx.store, ctx.http, ctx.metrics, opts);

    asio::signal_set signals(ex, SIGINT, SIGTERM);
    std::function<void(const boost::system::error_code&, int)> on_signal;
    on_signal = [&](const boost::system::error_code& ec, int sig) {
        if (ec) {
            return;
        }
        if (pipe.stopping()) {
            std::cerr << "shotfarm: second signal, exiting now (run again to resume)\n";
            std::_Exit(1);
        }
        log(log_level::info, "signal", {{"signal", sig}});
        std::cout << "shotfarm: stopping (waiting for requests in flight; signal again to "
                     "exit at once)"
                  << std::endl;
        pipe.request_stop();
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    ctx.endpoints.ready = true;
    auto summary = co_await pipe.run();
    ctx.endpoints.ready = false;
    signals.cancel();
    ctx.server.stop();
    ctx.pool.close();

    print_summary(summary, ctx.cfg, project);
    int total = 0;
    for (auto [st, n] : summary.counts) {
        total += n;
    }
    ctx.exit_code = summary.budget_waiting > 0                      ? 3
                    : summary.counts[job_state::succeeded] == total ? 0
                                                                    : 1;
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
    const jobs::app_config& cfg = *cr.config;
    auto sr = jobs::load_shotlist(args.shotlist, &cfg);
    if (!sr.errors.empty()) {
        print_errors(sr.errors);
        return 2;
    }

    std::optional<pg::embedded_cluster> cluster;
    std::string conninfo;
    if (cfg.database_url) {
        conninfo = *cfg.database_url;
    } else {
        fs::create_directories(cfg.state_dir);
        cluster.emplace(pg::embedded_cluster::start(cfg.state_dir / "pg"));
        conninfo = cluster->conninfo();
        log(log_level::info, "database.embedded", {{"dir", (cfg.state_dir / "pg").string()}});
    }
    const int applied = pg::migrate(conninfo, jobs::schema_migrations());
    if (applied > 0) {
        log(log_level::info, "database.migrated", {{"applied", applied}});
    }

    asio::io_context ioc;
    metrics::registry registry;
    jobs::run_metrics run_metrics(registry);
    endpoint_state endpoints;
    net::http_server server(
        ioc.get_executor(), cfg.listen_host, cfg.listen_port, make_endpoints(registry, endpoints)
    );
    server.start();
    std::cout << "shotfarm: metrics on http://" << cfg.listen_host << ":" << server.port()
              << "/metrics" << std::endl;
    log(log_level::info, "http.listening", {{"host", cfg.listen_host}, {"port", server.port()}});

    pg::pool pool(ioc.get_executor(), conninfo, 4);
    net::http_client http(ioc.get_executor());
    jobs::job_store store(pool, make_owner_id(), std::chrono::seconds(30));
    run_context ctx{cfg, *sr.list, args, store, http, run_metrics, endpoints, server, pool};

    std::exception_ptr failure;
    asio::co_spawn(ioc, run_pipeline(ctx), [&](std::exception_ptr e) {
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
    return ctx.exit_code;
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
