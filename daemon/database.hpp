// The database a shotfarm command works on: the configured server (database.url), or the
// embedded cluster under state_dir — started, or adopted if a daemon already runs it, and on
// exit stopped only if nobody else (a daemon, another command) is connected to it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "jobs/config.hpp"
#include "pg/embedded.hpp"

namespace shotfarm::daemon {

class database {
public:
    /// Starts or adopts the embedded cluster (or takes database.url), applies the migrations.
    /// `actor` names this process in job_events (session setting shotfarm.actor).
    database(const jobs::app_config& cfg, const std::string& actor);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    /// libpq conninfo, with this process's actor.
    const std::string& conninfo() const { return conninfo_; }
    bool embedded() const { return dir_.has_value(); }
    /// Embedded only: starts the cluster again if its server is gone (someone stopped it, or it
    /// crashed). Blocking; returns false if it could not.
    bool ensure_running();

private:
    std::optional<std::filesystem::path> dir_;
    std::optional<pg::embedded_cluster> cluster_;
    std::string conninfo_;
};

/// host:pid:random — the lease owner name of a daemon process (see job_store::recover).
std::string make_owner_id();
/// "operator:<user>@<host>" — the actor of the operator commands.
std::string operator_actor();
/// conninfo (key=value or URI) with `options=-c shotfarm.actor=<actor>` added.
std::string with_actor(const std::string& conninfo, const std::string& actor);

}  // namespace shotfarm::daemon
