#include "daemon/database.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <pwd.h>
#include <random>
#include <unistd.h>
#include <vector>

#include "jobs/engine/migrations.hpp"
#include "jobs/log.hpp"
#include "pg/migrate.hpp"

namespace shotfarm::daemon {

namespace fs = std::filesystem;
using jobs::log;
using jobs::log_level;

namespace {

std::string host_name() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return host;
}

/// Only characters that need no quoting in a libpq options string or a URI.
std::string plain(const std::string& s) {
    std::string out;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == ':' || c == '@' || c == '.' || c == '_' ||
                        c == '-';
        out += ok ? c : '_';
    }
    return out;
}

}  // namespace

std::string make_owner_id() {
    std::random_device rd;
    char token[17];
    std::snprintf(token, sizeof token, "%08x%08x", rd(), rd());
    return host_name() + ":" + std::to_string(::getpid()) + ":" + token;
}

std::string operator_actor() {
    std::string user;
    if (const passwd* pw = ::getpwuid(::geteuid())) {
        user = pw->pw_name;
    } else {
        user = std::to_string(::geteuid());
    }
    return "operator:" + user + "@" + host_name();
}

std::string with_actor(const std::string& conninfo, const std::string& actor) {
    // Session settings: who writes (job_events.actor), and no transaction may sit idle holding
    // locks for long — a daemon paused mid-transaction (a VM stall, SIGSTOP) would otherwise
    // block every claim of the fleet on the rows it locked; ours last milliseconds.
    const std::vector<std::string> settings = {
        "shotfarm.actor=" + plain(actor), "idle_in_transaction_session_timeout=5000"};
    if (conninfo.rfind("postgres://", 0) == 0 || conninfo.rfind("postgresql://", 0) == 0) {
        std::string options;
        for (const auto& kv : settings) {
            options += (options.empty() ? "-c%20" : "%20-c%20") + kv.substr(0, kv.find('=')) +
                       "%3D" + kv.substr(kv.find('=') + 1);
        }
        const char sep = conninfo.find('?') == std::string::npos ? '?' : '&';
        return conninfo + sep + "options=" + options;
    }
    std::string options;
    for (const auto& kv : settings) {
        options += (options.empty() ? "-c " : " -c ") + kv;
    }
    return conninfo + " options='" + options + "'";
}

database::database(const jobs::app_config& cfg, const std::string& actor) {
    std::string base;
    if (cfg.database_url) {
        base = *cfg.database_url;
    } else {
        fs::create_directories(cfg.state_dir);
        dir_ = cfg.state_dir / "pg";
        cluster_.emplace(pg::embedded_cluster::start(*dir_));
        base = cluster_->conninfo();
        log(log_level::info,
            "database.embedded",
            {{"dir", dir_->string()}, {"adopted", cluster_->adopted()}});
    }
    conninfo_ = with_actor(base, actor);
    const int applied = pg::migrate(conninfo_, jobs::schema_migrations());
    if (applied > 0) {
        log(log_level::info, "database.migrated", {{"applied", applied}});
    }
}

database::~database() {
    if (!cluster_) {
        return;
    }
    try {
        if (!cluster_->stop_unless_in_use()) {
            log(log_level::info,
                "database.embedded_left_running",
                {{"detail", "other clients (a daemon?) use it"}});
        }
    } catch (const std::exception& e) {
        std::cerr << "shotfarm: stopping the embedded PostgreSQL: " << e.what() << "\n";
    }
}

bool database::ensure_running() {
    if (!dir_) {
        return false;
    }
    try {
        auto again = pg::embedded_cluster::start(*dir_);
        if (!again.adopted()) {
            log(log_level::warn,
                "database.embedded_restarted",
                {{"detail", "its server had stopped; started it again"}});
        }
        if (cluster_) {
            cluster_->forget();  // the new handle owns the server now
        }
        cluster_.emplace(std::move(again));
        return true;
    } catch (const std::exception& e) {
        log(log_level::error, "database.embedded_start_failed", {{"error", e.what()}});
        return false;
    }
}

}  // namespace shotfarm::daemon
