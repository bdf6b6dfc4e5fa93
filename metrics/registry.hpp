// registry: owns every metric family of a process and writes them in Prometheus text format.
//
//   metrics::registry reg;
//   auto& submits = reg.add_counter("shotfarm_submits_total", "Submits sent.", {"provider"});
//   submits.with({"atlas"}).inc();
//   std::string body = reg.text();   // for GET /metrics, Content-Type text/plain; version=0.0.4
#pragma once

#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "metrics/family.hpp"
#include "metrics/metric_types.hpp"

namespace shotfarm::metrics {

// Content-Type of text() output.
inline constexpr std::string_view text_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Families are registered once at wiring time; the returned references stay valid for the
// registry's lifetime. Registration throws std::invalid_argument for an invalid metric or label
// name (label names must not start with "__"; a histogram may not use "le"), a duplicate label
// name, a name already registered, or help text that is not UTF-8. Counter names are taken as
// given: name them `..._total` yourself. Thread-safe: registration, updates and scrapes may run
// concurrently.
class registry {
public:
    registry() = default;
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    family<counter>& add_counter(
        std::string name, std::string help, std::vector<std::string> label_names = {}
    );
    family<gauge>& add_gauge(
        std::string name, std::string help, std::vector<std::string> label_names = {}
    );
    family<histogram>& add_histogram(
        std::string name,
        std::string help,
        std::vector<std::string> label_names,
        std::vector<double> buckets
    );

    // Prometheus text format 0.0.4, families in registration order, C locale whatever the
    // stream's or the global locale.
    void write_text(std::ostream& out) const;
    std::string text() const;

private:
    void check_new(
        const std::string& name,
        const std::string& help,
        const std::vector<std::string>& label_names,
        bool is_histogram
    ) const;

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<detail::family_base>> families_;
};

}  // namespace shotfarm::metrics
