// The operator's commands: submit, status, retry, cancel, history. Each opens the database the
// config names (adopting the embedded cluster a daemon runs, if any), does one thing in a
// short transaction, prints what it did and exits. They work whether or not a daemon runs;
// a running daemon sees the change at its next claim or heartbeat.
#include <cstdio>
#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "daemon/commands.hpp"
#include "daemon/database.hpp"
#include "jobs/config.hpp"
#include "jobs/engine/store.hpp"
#include "jobs/json_text.hpp"
#include "jobs/shotlist.hpp"
#include "pg/pool.hpp"

namespace shotfarm::daemon {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using jobs::job_state;

namespace {

std::optional<jobs::app_config> config_or_errors(const fs::path& file, bool read_keys = false) {
    auto cr = jobs::load_config(file, read_keys);
    if (!cr.errors.empty()) {
        for (const auto& d : cr.errors) {
            std::cerr << d.str() << "\n";
        }
        return std::nullopt;
    }
    return std::move(cr.config);
}

/// Runs `body(store)` on the config's database, as the operator.
template <class T, class F>
T with_store(const jobs::app_config& cfg, F body) {
    database db(cfg, operator_actor());
    asio::io_context ioc;
    pg::pool pool(ioc.get_executor(), db.conninfo(), 2);
    jobs::job_store store(pool, operator_actor(), std::chrono::seconds(cfg.lease_ttl_s));
    std::optional<T> value;
    std::exception_ptr failure;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> { value.emplace(co_await body(store)); },
        [&](std::exception_ptr e) {
            failure = e;
            pool.close();
        }
    );
    ioc.run();
    if (failure) {
        std::rethrow_exception(failure);
    }
    return std::move(*value);
}

/// TARGET → selector: digits = a job id; PROJECT/SHOT/tNN = one take; PROJECT/SHOT = its
/// takes; PROJECT = the batch. Empty optional (and a message) when it does not parse.
std::optional<jobs::job_selector> parse_target(const std::string& target) {
    jobs::job_selector sel;
    if (target.empty()) {
        return std::nullopt;
    }
    if (target.find_first_not_of("0123456789") == std::string::npos) {
        if (target.size() > 18) {
            return std::nullopt;
        }
        sel.job_id = std::stoll(target);
        return sel;
    }
    std::vector<std::string> parts;
    std::stringstream in(target);
    for (std::string p; std::getline(in, p, '/');) {
        parts.push_back(p);
    }
    if (parts.empty() || parts.size() > 3 || target.back() == '/') {
        return std::nullopt;
    }
    for (const auto& p : parts) {
        if (p.empty()) {
            return std::nullopt;
        }
    }
    sel.project = parts[0];
    if (parts.size() >= 2) {
        sel.shot = parts[1];
    }
    if (parts.size() == 3) {
        const std::string& t = parts[2];
        const std::string digits = t.size() > 1 && (t[0] == 't' || t[0] == 'T') ? t.substr(1) : t;
        if (digits.empty() || digits.size() > 4 ||
            digits.find_first_not_of("0123456789") != std::string::npos) {
            return std::nullopt;
        }
        sel.take = std::stoi(digits);
    }
    return sel;
}

constexpr const char* target_help =
    "TARGET is a job id, PROJECT/SHOT/tNN (one take), PROJECT/SHOT (its takes) or PROJECT "
    "(the whole batch)";

std::string money(double usd) {
    char out[32];
    std::snprintf(out, sizeof out, "$%.2f", usd);
    return out;
}

json::object counts_json(const std::map<job_state, int>& counts) {
    json::object o;
    for (job_state s : jobs::all_job_states) {
        const auto it = counts.find(s);
        o[std::string(to_string(s))] = it == counts.end() ? 0 : it->second;
    }
    return o;
}

std::string counts_line(const std::map<job_state, int>& counts) {
    std::ostringstream out;
    int total = 0;
    for (auto [st, n] : counts) {
        total += n;
    }
    out << total << " jobs";
    for (job_state s : jobs::all_job_states) {
        const auto it = counts.find(s);
        if (it != counts.end() && it->second > 0) {
            out << " · " << to_string(s) << " " << it->second;
        }
    }
    return out.str();
}

json::value opt_number(const std::optional<double>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}

}  // namespace

int submit_command(const fs::path& config, const fs::path& shotlist) {
    auto cfg = config_or_errors(config);
    if (!cfg) {
        return 2;
    }
    auto sr = jobs::load_shotlist(shotlist, &*cfg);
    if (!sr.errors.empty()) {
        for (const auto& d : sr.errors) {
            std::cerr << d.str() << "\n";
        }
        return 2;
    }
    jobs::ingest_result result;
    try {
        result = with_store<jobs::ingest_result>(*cfg, [&](jobs::job_store& store) {
            return store.ingest(*sr.list);
        });
    } catch (const pg::error& e) {
        // The database refused a value validation let through: say which shot, in plain words,
        // never the server's raw message.
        if (!jobs::is_data_refusal(e.sqlstate())) {
            throw;
        }
        result.conflicts = jobs::explain_ingest_refusal(*sr.list, e.sqlstate());
    }
    if (!result.conflicts.empty()) {
        for (const auto& d : result.conflicts) {
            std::cerr << d.str() << "\n";
        }
        return 2;
    }
    std::cout << "shotfarm: batch " << sr.list->project << " stored: " << result.shots_added
              << " new shots, " << result.jobs_added << " new jobs (" << result.shots_unchanged
              << " shots already known); a running daemon picks them up (shotfarm status)\n";
    return 0;
}

int status_command(const fs::path& config, bool as_json) {
    auto cfg = config_or_errors(config);
    if (!cfg) {
        return 2;
    }
    auto st = with_store<jobs::status_report>(*cfg, [](jobs::job_store& store) {
        return store.status();
    });
    if (as_json) {
        json::object o;
        o["jobs"] = counts_json(st.jobs);
        o["spent_usd"] = st.spent_usd;
        json::array batches;
        for (const auto& b : st.batches) {
            json::object bo;
            bo["project"] = b.project;
            bo["priority"] = b.priority;
            bo["budget_usd"] = opt_number(b.budget_usd);
            bo["spent_usd"] = b.spent_usd;
            bo["source_file"] = b.source_file;
            bo["created_at"] = b.created_at;
            bo["jobs"] = counts_json(b.jobs);
            batches.push_back(std::move(bo));
        }
        o["batches"] = std::move(batches);
        json::array budgets;
        for (const auto& b : st.budgets) {
            json::object bo;
            bo["scope"] = b.scope;
            bo["cap_usd"] = opt_number(b.cap_usd);
            bo["spent_usd"] = b.spent_usd;
            bo["reserved_usd"] = b.reserved_usd;
            bo["remaining_usd"] = opt_number(
                b.cap_usd ? std::optional<double>(*b.cap_usd - b.spent_usd - b.reserved_usd)
                          : std::nullopt
            );
            budgets.push_back(std::move(bo));
        }
        o["budgets"] = std::move(budgets);
        json::array accounts;
        for (const auto& a : st.accounts) {
            json::object ao;
            ao["name"] = a.name;
            ao["provider"] = a.provider;
            ao["max_concurrency"] = a.max_concurrency;
            ao["effective_concurrency"] = a.effective_concurrency;
            ao["inflight"] = a.inflight;
            ao["paused_s"] = a.paused_s;
            ao["breaker_open"] = a.breaker_tripped;
            ao["disabled_reason"] =
                a.disabled_reason ? json::value(*a.disabled_reason) : json::value(nullptr);
            ao["spent_today_usd"] = a.spent_today_usd;
            ao["budget_usd_per_day"] = opt_number(a.budget_usd_per_day);
            accounts.push_back(std::move(ao));
        }
        o["accounts"] = std::move(accounts);
        json::array daemons;
        for (const auto& d : st.daemons) {
            json::object dobj;
            dobj["owner"] = d.owner;
            dobj["host"] = d.host;
            dobj["pid"] = d.pid;
            dobj["started_at"] = d.started_at;
            dobj["seen_s_ago"] = d.seen_s_ago;
            dobj["alive"] = d.alive;
            dobj["stopped"] = d.stopped;
            dobj["leased_jobs"] = d.leased_jobs;
            daemons.push_back(std::move(dobj));
        }
        o["daemons"] = std::move(daemons);
        std::cout << jobs::to_json_text(o) << "\n";
        return 0;
    }
    std::ostringstream out;
    out << "jobs: " << counts_line(st.jobs) << "\n";
    out << "spent: " << money(st.spent_usd) << " (accepted, ambiguous and reserved submits)\n";
    out << "\nbatches:\n";
    if (st.batches.empty()) {
        out << "  (none: shotfarm submit --config C SHOTLIST)\n";
    }
    for (const auto& b : st.batches) {
        out << "  " << std::left << std::setw(24) << b.project << " priority " << b.priority
            << " · spent " << money(b.spent_usd);
        if (b.budget_usd) {
            out << " of " << money(*b.budget_usd);
        }
        out << " · " << counts_line(b.jobs) << "\n";
    }
    out << "\nbudgets:\n";
    for (const auto& b : st.budgets) {
        if (!b.cap_usd && b.scope != "global") {
            continue;
        }
        out << "  " << std::left << std::setw(32) << b.scope << " spent " << money(b.spent_usd)
            << " · reserved " << money(b.reserved_usd);
        if (b.cap_usd) {
            out << " · cap " << money(*b.cap_usd) << " · left "
                << money(*b.cap_usd - b.spent_usd - b.reserved_usd);
        } else {
            out << " · no cap";
        }
        out << "\n";
    }
    out << "\naccounts:\n";
    for (const auto& a : st.accounts) {
        out << "  " << std::left << std::setw(16) << a.name << std::setw(11) << a.provider
            << " in flight " << a.inflight << "/" << a.max_concurrency;
        if (a.disabled_reason) {
            out << " · DISABLED: " << *a.disabled_reason;
        } else if (a.breaker_tripped) {
            out << " · breaker open";
        } else if (a.paused_s > 0) {
            out << " · paused " << static_cast<int>(a.paused_s + 0.5) << " s (rate limited)";
        }
        out << "\n";
    }
    out << "\ndaemons:\n";
    int shown = 0;
    for (const auto& d : st.daemons) {
        if (d.stopped) {
            continue;
        }
        ++shown;
        out << "  " << d.owner << " · " << (d.alive ? "alive" : "NOT HEARD FROM") << " (seen "
            << static_cast<int>(d.seen_s_ago) << " s ago) · " << d.leased_jobs
            << " jobs leased · since " << d.started_at << "\n";
    }
    if (shown == 0) {
        out << "  (none running)\n";
    }
    if (st.jobs[job_state::held] > 0) {
        out << "\n"
            << st.jobs[job_state::held]
            << " job(s) held for an operator: see `shotfarm history JOB`; `shotfarm retry "
               "TARGET` releases them\n";
    }
    std::cout << out.str();
    return 0;
}

namespace {

/// What an operator's change command found and did.
struct change_outcome {
    std::vector<jobs::job_id_ref> matched;
    std::vector<jobs::operator_change> changed;
};

/// Reads the config and TARGET, runs `change` on the selected jobs; nullopt (after saying why)
/// when the config or the target is bad or nothing matches.
std::optional<change_outcome> change_jobs(
    const fs::path& config,
    const std::string& target,
    const char* verb,
    const std::function<asio::awaitable<
        std::vector<jobs::operator_change>>(jobs::job_store&, const jobs::job_selector&)>& change
) {
    auto cfg = config_or_errors(config);
    if (!cfg) {
        return std::nullopt;
    }
    auto sel = parse_target(target);
    if (!sel) {
        std::cerr << "shotfarm " << verb << ": cannot read '" << target << "': " << target_help
                  << "\n";
        return std::nullopt;
    }
    auto res = with_store<change_outcome>(
        *cfg,
        [&](jobs::job_store& store) -> asio::awaitable<change_outcome> {
            change_outcome o;
            o.matched = co_await store.find_jobs(*sel);
            o.changed = co_await change(store, *sel);
            co_return o;
        }
    );
    if (res.matched.empty()) {
        std::cerr << "shotfarm " << verb << ": no job matches " << sel->describe() << "\n";
        return std::nullopt;
    }
    return res;
}

}  // namespace

int retry_command(const fs::path& config, const std::string& target) {
    auto res = change_jobs(
        config,
        target,
        "retry",
        [](jobs::job_store& store, const jobs::job_selector& sel) { return store.retry(sel); }
    );
    if (!res) {
        return 2;
    }
    for (const auto& c : res->changed) {
        std::cout << c.ref << " (job " << c.job_id << "): " << to_string(c.from) << " -> "
                  << to_string(c.to);
        if (c.to == job_state::running) {
            std::cout << " · polling generation " << c.provider_job_id.value_or("?") << " on "
                      << c.provider << " account '" << c.account << "' again (not paid again)";
        } else if (c.from != job_state::retry_wait) {
            std::cout << " · a new generation will be submitted (paid)";
        }
        std::cout << "\n";
    }
    if (const auto untouched = res->matched.size() - res->changed.size(); untouched > 0) {
        std::cout << untouched
                  << " matching job(s) left as they are (queued, in flight or succeeded)\n";
    }
    return res->changed.empty() ? 1 : 0;
}

int cancel_command(const fs::path& config, const std::string& target, const std::string& reason) {
    auto res = change_jobs(
        config,
        target,
        "cancel",
        [&reason](jobs::job_store& store, const jobs::job_selector& sel) {
            return store.cancel(sel, reason);
        }
    );
    if (!res) {
        return 2;
    }
    int may_bill = 0;
    for (const auto& c : res->changed) {
        std::cout << c.ref << " (job " << c.job_id << "): " << to_string(c.from) << " -> canceled";
        if (c.may_bill) {
            ++may_bill;
            std::cout << " · it had reached " << c.provider << " (account '" << c.account << "'"
                      << (c.provider_job_id ? ", generation " + *c.provider_job_id : "")
                      << "): polling stops, but the provider may still bill for it";
        }
        std::cout << "\n";
    }
    if (const auto untouched = res->matched.size() - res->changed.size(); untouched > 0) {
        std::cout << untouched << " matching job(s) already finished, left as they are\n";
    }
    if (may_bill > 0) {
        std::cout << may_bill
                  << " canceled job(s) may still be billed by their provider (no provider "
                     "offers a cancel for a generation in progress)\n";
    }
    return res->changed.empty() ? 1 : 0;
}

int history_command(const fs::path& config, const std::string& target) {
    auto cfg = config_or_errors(config);
    if (!cfg) {
        return 2;
    }
    auto sel = parse_target(target);
    if (!sel) {
        std::cerr << "shotfarm history: cannot read '" << target
                  << "': JOB is a job id or PROJECT/SHOT/tNN\n";
        return 2;
    }
    struct outcome {
        std::vector<jobs::job_id_ref> matched;
        std::vector<jobs::job_event_row> events;
        std::optional<jobs::job_record> job;
    };
    auto res = with_store<outcome>(*cfg, [&](jobs::job_store& store) -> asio::awaitable<outcome> {
        outcome o;
        o.matched = co_await store.find_jobs(*sel);
        if (o.matched.size() == 1) {
            o.events = co_await store.history(o.matched[0].id);
            o.job = co_await store.get_job(o.matched[0].id);
        }
        co_return o;
    });
    if (res.matched.empty()) {
        std::cerr << "shotfarm history: no job matches " << sel->describe() << "\n";
        return 2;
    }
    if (res.matched.size() > 1) {
        std::cerr << "shotfarm history: " << sel->describe() << " matches " << res.matched.size()
                  << " jobs; name one:\n";
        for (const auto& m : res.matched) {
            std::cerr << "  " << m.ref << " (job " << m.id << ", " << to_string(m.state) << ")\n";
        }
        return 2;
    }
    const auto& j = *res.job;
    std::cout << j.ref() << " (job " << j.id << "): " << to_string(j.state);
    if (j.provider_job_id) {
        std::cout << " · " << j.provider.value_or("?") << " account '" << j.account.value_or("?")
                  << "' generation " << *j.provider_job_id;
    }
    if (j.error) {
        std::cout << " · " << *j.error;
    }
    std::cout << "\n";
    for (const auto& e : res.events) {
        std::cout << e.at << "  " << std::left << std::setw(11)
                  << (e.from ? std::string(to_string(*e.from)) : std::string("-")) << " -> "
                  << std::setw(11) << to_string(e.to) << " by " << e.actor;
        if (e.lease_epoch) {
            std::cout << " (epoch " << *e.lease_epoch << ")";
        }
        if (!e.detail.empty()) {
            std::cout << ": " << e.detail;
        }
        std::cout << "\n";
    }
    return 0;
}

}  // namespace shotfarm::daemon
