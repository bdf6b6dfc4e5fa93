#include "daemon/estimate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "providers/catalog.hpp"

namespace shotfarm::daemon {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

/// An account that may get a shot, with the price of the offer it would use.
struct eligible {
    const jobs::account_config* account;
    double price_usd;
};

/// What the scheduler may use for one shot: every configured account its pins allow whose
/// provider sells (model, mode, duration) — and takes an empty prompt if the prompt is empty.
std::vector<eligible> eligible_accounts(
    const jobs::app_config& config, const providers::catalog& cat, const jobs::shot& s
) {
    const auto m = s.image ? providers::mode::i2v : providers::mode::t2v;
    std::vector<eligible> out;
    for (const auto& a : config.accounts) {
        if ((s.account && *s.account != a.name) || (s.provider && *s.provider != a.provider)) {
            continue;
        }
        for (const auto& o : cat.find(s.model, m, s.duration, a.provider)) {
            if (s.prompt.empty() && o.prompt_required) {
                continue;
            }
            out.push_back({&a, o.price_usd});
            break;
        }
    }
    return out;
}

/// Money in JSON: rounded to a millionth of a dollar, so sums print as people expect.
double round6(double v) {
    return std::round(v * 1e6) / 1e6;
}

/// "$1.20", "$0.1995": at least two decimals, up to four when the cents do not say it all.
std::string usd(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    std::string s = buf;
    while (s.size() > 3 && s.back() == '0' && s[s.size() - 3] != '.') {
        s.pop_back();
    }
    return "$" + s;
}

/// "3", "2.5", "0.33".
std::string count(double v) {
    char buf[64];
    if (std::abs(v - std::round(v)) < 1e-9) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.2f", v);
    }
    return buf;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) {
        out += (out.empty() ? "" : ", ") + i;
    }
    return out;
}

/// Jobs that fit under `cap`, in render order, at their expected prices.
int jobs_covered(const std::vector<double>& expected_in_order, double cap) {
    double spent = 0;
    int n = 0;
    for (double p : expected_in_order) {
        if (spent + p > cap + 1e-9) {
            break;
        }
        spent += p;
        ++n;
    }
    return n;
}

/// JSON text with plain decimals ("0.48", not Boost.JSON 1.81's "4.8E-1"): the money values are
/// already rounded to a millionth, so 15 significant digits print them exactly.
void write_json(std::ostream& out, const json::value& v) {
    switch (v.kind()) {
        case json::kind::double_: {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.15g", v.get_double());
            out << buf;
            return;
        }
        case json::kind::array: {
            out << "[";
            const char* sep = "";
            for (const auto& item : v.get_array()) {
                out << sep;
                write_json(out, item);
                sep = ",";
            }
            out << "]";
            return;
        }
        case json::kind::object: {
            out << "{";
            const char* sep = "";
            for (const auto& [key, item] : v.get_object()) {
                out << sep << json::serialize(json::string_view{key}) << ":";
                write_json(out, item);
                sep = ",";
            }
            out << "}";
            return;
        }
        default:
            out << json::serialize(v);
    }
}

}  // namespace

estimate make_estimate(const jobs::app_config& config, const jobs::shot_list& list) {
    const auto cat = jobs::make_catalog(config);
    estimate e;
    e.project = list.project;
    e.strategy = config.strategy;
    e.max_attempts = config.max_attempts;
    e.shots = static_cast<int>(list.shots.size());
    const bool cheapest = config.strategy == "cheapest";

    std::map<std::pair<std::string, std::string>, estimate_row> rows;
    // Each priced shot's priority, expected price of one job and takes, for the caps.
    struct priced {
        int priority;
        double expected;
        int takes;
    };
    std::vector<priced> order;
    std::vector<std::string> unpriced;
    for (std::size_t i = 0; i < list.shots.size(); ++i) {
        const auto& s = list.shots[i];
        const auto accounts = eligible_accounts(config, cat, s);
        if (accounts.empty()) {
            // load_shotlist with a config refuses such a shot; kept for a caller that did not.
            unpriced.push_back(s.id);
            continue;
        }
        const auto [lo, hi] = std::minmax_element(
            accounts.begin(),
            accounts.end(),
            [](const eligible& a, const eligible& b) { return a.price_usd < b.price_usd; }
        );
        const double min_price = lo->price_usd;
        const double max_price = hi->price_usd;
        // Where one job goes: under `cheapest` the accounts at the lowest price (spread evenly
        // when several tie); under `fastest` every eligible account alike.
        std::vector<const eligible*> takers;
        for (const auto& a : accounts) {
            if (!cheapest || a.price_usd <= min_price) {
                takers.push_back(&a);
            }
        }
        const double share = 1.0 / static_cast<double>(takers.size());
        double expected = 0;
        for (const auto* t : takers) {
            auto& row = rows[{s.model, t->account->provider}];
            row.model = s.model;
            row.provider = t->account->provider;
            row.jobs += share * s.takes;
            row.usd += share * s.takes * t->price_usd;
            expected += share * t->price_usd;
        }
        e.jobs += s.takes;
        e.total_usd += expected * s.takes;
        e.min_usd += min_price * s.takes;
        e.max_usd += max_price * config.max_attempts * s.takes;
        order.push_back({s.priority, expected, s.takes});
    }
    for (auto& [key, row] : rows) {
        e.by_model.push_back(std::move(row));
    }
    if (!unpriced.empty()) {
        e.warnings.push_back("no configured account can render " + join(unpriced) + "; not priced");
    }

    // The render order: higher priority first, then the list's order.
    std::stable_sort(order.begin(), order.end(), [](const priced& a, const priced& b) {
        return a.priority > b.priority;
    });
    std::vector<double> per_job;
    for (const auto& p : order) {
        per_job.insert(per_job.end(), static_cast<std::size_t>(p.takes), p.expected);
    }

    auto add_cap = [&](std::string scope, std::string key, double cap_usd) {
        estimate_cap c;
        c.scope = std::move(scope);
        c.key = std::move(key);
        c.usd = cap_usd;
        c.jobs_covered = jobs_covered(per_job, cap_usd);
        c.total_exceeds = e.total_usd > cap_usd + 1e-9;
        c.max_exceeds = e.max_usd > cap_usd + 1e-9;
        e.caps.push_back(std::move(c));
    };
    if (list.budget_usd) {
        add_cap("batch", "budget_usd (shot list)", *list.budget_usd);
    }
    if (config.budget_usd) {
        add_cap("global", "budget_usd (config, all batches)", *config.budget_usd);
    }
    double per_day = 0;
    int capped = 0;
    std::vector<std::string> uncapped;
    for (const auto& a : config.accounts) {
        if (a.budget_usd_per_day) {
            per_day += *a.budget_usd_per_day;
            ++capped;
        } else {
            uncapped.push_back(a.name);
        }
    }
    if (capped > 0) {
        add_cap(
            "accounts_per_day",
            "budget_usd_per_day (sum of " + std::to_string(capped) + " account" +
                (capped == 1 ? "" : "s") + ")",
            per_day
        );
        e.caps.back().uncapped_accounts = std::move(uncapped);
    }

    const std::string of_jobs = " of " + std::to_string(e.jobs) + " jobs";
    for (const auto& c : e.caps) {
        if (!c.uncapped_accounts.empty() || !(c.total_exceeds || c.max_exceeds)) {
            continue;
        }
        const bool daily = c.scope == "accounts_per_day";
        const std::string cap_text = c.key + " " + usd(c.usd) + (daily ? " per UTC day" : "");
        if (c.total_exceeds) {
            e.warnings.push_back(
                "total_usd " + usd(e.total_usd) + " exceeds " + cap_text + ": it covers " +
                std::to_string(c.jobs_covered) + of_jobs + " at expected prices" +
                (daily ? " per day; the batch needs more than one UTC day" : "")
            );
        } else {
            e.warnings.push_back(
                "max_usd " + usd(e.max_usd) + " (worst case, " + std::to_string(e.max_attempts) +
                " paid attempts per job) exceeds " + cap_text +
                "; at expected prices it covers all " + std::to_string(e.jobs) + " jobs"
            );
        }
    }
    return e;
}

json::object to_json(const estimate& e) {
    json::object o;
    o["project"] = e.project;
    o["strategy"] = e.strategy;
    o["max_attempts"] = e.max_attempts;
    o["shots"] = e.shots;
    o["jobs"] = e.jobs;
    o["total_usd"] = round6(e.total_usd);
    o["min_usd"] = round6(e.min_usd);
    o["max_usd"] = round6(e.max_usd);
    json::array rows;
    for (const auto& r : e.by_model) {
        rows.push_back(json::object{
            {"model", r.model},
            {"provider", r.provider},
            {"jobs", round6(r.jobs)},
            {"usd", round6(r.usd)}});
    }
    o["by_model"] = std::move(rows);
    json::array caps;
    for (const auto& c : e.caps) {
        json::object j{
            {"scope", c.scope},
            {"key", c.key},
            {"usd", round6(c.usd)},
            {"jobs_covered", c.jobs_covered},
            {"total_exceeds", c.total_exceeds},
            {"max_exceeds", c.max_exceeds}};
        if (c.scope == "accounts_per_day") {
            json::array names;
            for (const auto& n : c.uncapped_accounts) {
                names.push_back(json::value(n));
            }
            j["uncapped_accounts"] = std::move(names);
        }
        caps.push_back(std::move(j));
    }
    o["caps"] = std::move(caps);
    json::array warnings;
    for (const auto& w : e.warnings) {
        warnings.push_back(json::value(w));
    }
    o["warnings"] = std::move(warnings);
    return o;
}

void print_estimate(std::ostream& out, const estimate& e) {
    std::ostringstream s;
    s << "project " << e.project << ": " << e.jobs << " jobs from " << e.shots
      << " shots · strategy " << e.strategy << " · max_attempts " << e.max_attempts << "\n\n";
    std::size_t model_w = 5;
    for (const auto& r : e.by_model) {
        model_w = std::max(model_w, r.model.size());
    }
    model_w += 2;
    s << std::left << std::setw(static_cast<int>(model_w)) << "MODEL" << std::setw(11) << "PROVIDER"
      << std::right << std::setw(8) << "JOBS" << std::setw(12) << "USD"
      << "\n";
    for (const auto& r : e.by_model) {
        s << std::left << std::setw(static_cast<int>(model_w)) << r.model << std::setw(11)
          << r.provider << std::right << std::setw(8) << count(r.jobs) << std::setw(12)
          << usd(r.usd) << "\n";
    }
    s << std::left << std::setw(static_cast<int>(model_w)) << "" << std::setw(11) << "all"
      << std::right << std::setw(8) << e.jobs << std::setw(12) << usd(e.total_usd) << "\n\n";

    const std::string spread =
        e.strategy == "cheapest"
            ? "expected: each job at its cheapest eligible offer (strategy cheapest)"
            : "expected: each job at the mean price of its eligible accounts (strategy fastest)";
    const std::pair<std::string, std::string> totals[] = {
        {"total_usd", spread},
        {"min_usd", "every job at its cheapest eligible offer"},
        {"max_usd",
         "worst case: every job at its most expensive eligible offer, " +
             std::to_string(e.max_attempts) + " paid attempts each"}};
    const double values[] = {e.total_usd, e.min_usd, e.max_usd};
    for (std::size_t i = 0; i < 3; ++i) {
        s << std::left << std::setw(11) << totals[i].first << std::right << std::setw(12)
          << usd(values[i]) << "  " << totals[i].second << "\n";
    }

    if (!e.caps.empty()) {
        std::size_t key_w = 0;
        for (const auto& c : e.caps) {
            key_w = std::max(key_w, c.key.size());
        }
        s << "\ncaps:\n";
        for (const auto& c : e.caps) {
            s << "  " << std::left << std::setw(static_cast<int>(key_w + 2)) << c.key << std::right
              << std::setw(12) << usd(c.usd) << "  ";
            if (c.scope == "accounts_per_day") {
                s << "per UTC day, ";
            }
            s << "covers " << c.jobs_covered << " of " << e.jobs << " jobs at expected prices";
            if (!c.uncapped_accounts.empty()) {
                s << " (not a bound: no daily cap on " << join(c.uncapped_accounts) << ")";
            }
            s << "\n";
        }
    }
    for (const auto& w : e.warnings) {
        s << "warning: " << w << "\n";
    }
    out << s.str() << std::flush;
}

int estimate_command(const fs::path& config, const fs::path& shotlist, bool json) {
    auto cr = jobs::load_config(config);
    if (!cr.errors.empty()) {
        for (const auto& d : cr.errors) {
            std::cerr << d.str() << "\n";
        }
        return 2;
    }
    auto sr = jobs::load_shotlist(shotlist, &*cr.config);
    if (!sr.errors.empty()) {
        for (const auto& d : sr.errors) {
            std::cerr << d.str() << "\n";
        }
        return 2;
    }
    const auto e = make_estimate(*cr.config, *sr.list);
    if (json) {
        write_json(std::cout, to_json(e));
        std::cout << "\n" << std::flush;
    } else {
        print_estimate(std::cout, e);
    }
    return 0;
}

}  // namespace shotfarm::daemon
