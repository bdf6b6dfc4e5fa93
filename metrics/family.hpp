// family<T>: one metric name with a fixed list of label names, and one child per label-value set.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metric_types.hpp"
#include "metrics/text_format.hpp"

namespace shotfarm::metrics {

namespace detail {

// What every family can do for the registry: write its HELP/TYPE lines and samples.
class family_base {
public:
    family_base(std::string name, std::string help, std::vector<std::string> label_names)
        : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
    virtual ~family_base() = default;
    family_base(const family_base&) = delete;
    family_base& operator=(const family_base&) = delete;

    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    const std::vector<std::string>& label_names() const { return label_names_; }

    // Appends the family in text format 0.0.4 (HELP, TYPE, then samples in label-value order).
    virtual void write(std::string& out) const = 0;

protected:
    // Throws std::invalid_argument unless the arity matches and every value is UTF-8.
    void check_label_values(const std::vector<std::string>& values) const;
    void write_header(std::string& out, std::string_view type) const;

private:
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
};

void write_samples(
    std::string& out, const family_base& f, const std::vector<std::string>& values, const counter& c
);
void write_samples(
    std::string& out, const family_base& f, const std::vector<std::string>& values, const gauge& g
);
void write_samples(
    std::string& out,
    const family_base& f,
    const std::vector<std::string>& values,
    const histogram& h
);

template <class T>
constexpr std::string_view type_name();
template <>
constexpr std::string_view type_name<counter>() {
    return "counter";
}
template <>
constexpr std::string_view type_name<gauge>() {
    return "gauge";
}
template <>
constexpr std::string_view type_name<histogram>() {
    return "histogram";
}

}  // namespace detail

// Made by registry::add_*; lives as long as the registry. Thread-safe: with() may be called
// from any thread while a scrape runs (one mutex per family, held only to find/insert a child;
// the child's value itself is atomic). Keep the returned reference instead of calling with()
// on a hot path.
template <class T>
class family final : public detail::family_base {
public:
    family(
        std::string name,
        std::string help,
        std::vector<std::string> label_names,
        std::function<std::unique_ptr<T>()> make
    )
        : family_base(std::move(name), std::move(help), std::move(label_names)),
          make_(std::move(make)) {
        if (this->label_names().empty()) {
            children_.emplace(std::vector<std::string>{}, make_());  // exposed as 0 from the start
        }
    }

    // Child for these label values (same order as the family's label names); created on first
    // use, stable address afterwards. Throws std::invalid_argument on wrong arity or a value
    // that is not UTF-8.
    T& with(const std::vector<std::string>& label_values) {
        std::lock_guard lock(mutex_);
        if (auto it = children_.find(label_values); it != children_.end()) {
            return *it->second;
        }
        check_label_values(label_values);
        return *children_.emplace(label_values, make_()).first->second;
    }

    void write(std::string& out) const override {
        write_header(out, detail::type_name<T>());
        std::lock_guard lock(mutex_);
        for (const auto& [values, child] : children_) {
            detail::write_samples(out, *this, values, *child);
        }
    }

private:
    std::function<std::unique_ptr<T>()> make_;
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

}  // namespace shotfarm::metrics
