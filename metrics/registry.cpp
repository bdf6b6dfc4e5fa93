#include "metrics/registry.hpp"

#include <algorithm>
#include <stdexcept>

#include "metrics/text_format.hpp"

namespace shotfarm::metrics {
namespace detail {

void family_base::check_label_values(const std::vector<std::string>& values) const {
    if (values.size() != label_names_.size()) {
        throw std::invalid_argument(
            "metric " + name_ + " has " + std::to_string(label_names_.size()) + " label(s), got " +
            std::to_string(values.size()) + " value(s)"
        );
    }
    for (const auto& v : values) {
        if (!text::valid_utf8(v)) {
            throw std::invalid_argument("metric " + name_ + ": label value is not UTF-8");
        }
    }
}

void family_base::write_header(std::string& out, std::string_view type) const {
    out += "# HELP ";
    out += name_;
    out += ' ';
    text::append_escaped_help(out, help_);
    out += "\n# TYPE ";
    out += name_;
    out += ' ';
    out += type;
    out += '\n';
}

namespace {

// `name{a="x",b="y"}` (or bare `name` without labels), plus an optional trailing `le` label.
void append_series(
    std::string& out,
    const family_base& f,
    std::string_view suffix,
    const std::vector<std::string>& values,
    const std::string* le = nullptr
) {
    out += f.name();
    out += suffix;
    if (values.empty() && le == nullptr) {
        return;
    }
    out += '{';
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        out += f.label_names()[i];
        out += "=\"";
        text::append_escaped_label_value(out, values[i]);
        out += '"';
    }
    if (le != nullptr) {
        if (!values.empty()) {
            out += ',';
        }
        out += "le=\"";
        out += *le;
        out += '"';
    }
    out += '}';
}

void append_sample(
    std::string& out,
    const family_base& f,
    std::string_view suffix,
    const std::vector<std::string>& values,
    double v
) {
    append_series(out, f, suffix, values);
    out += ' ';
    text::append_value(out, v);
    out += '\n';
}

}  // namespace

void write_samples(
    std::string& out, const family_base& f, const std::vector<std::string>& values, const counter& c
) {
    append_sample(out, f, "", values, c.value());
}

void write_samples(
    std::string& out, const family_base& f, const std::vector<std::string>& values, const gauge& g
) {
    append_sample(out, f, "", values, g.value());
}

void write_samples(
    std::string& out,
    const family_base& f,
    const std::vector<std::string>& values,
    const histogram& h
) {
    // Read the buckets once; _count is the +Inf bucket of the same read, so they always agree.
    const auto cumulative = h.cumulative_counts();
    const double sum = h.sum();
    const auto& bounds = h.upper_bounds();
    for (std::size_t i = 0; i < cumulative.size(); ++i) {
        const std::string le = i < bounds.size() ? text::format_value(bounds[i]) : "+Inf";
        append_series(out, f, "_bucket", values, &le);
        out += ' ';
        out += std::to_string(cumulative[i]);
        out += '\n';
    }
    append_sample(out, f, "_sum", values, sum);
    append_series(out, f, "_count", values);
    out += ' ';
    out += std::to_string(cumulative.back());
    out += '\n';
}

}  // namespace detail

void registry::check_new(
    const std::string& name,
    const std::string& help,
    const std::vector<std::string>& label_names,
    bool is_histogram
) const {
    if (!text::valid_metric_name(name)) {
        throw std::invalid_argument("invalid metric name: \"" + name + "\"");
    }
    if (!text::valid_utf8(help)) {
        throw std::invalid_argument("metric " + name + ": help text is not UTF-8");
    }
    for (std::size_t i = 0; i < label_names.size(); ++i) {
        const auto& l = label_names[i];
        if (!text::valid_label_name(l)) {
            throw std::invalid_argument("metric " + name + ": invalid label name \"" + l + "\"");
        }
        if (is_histogram && l == "le") {
            throw std::invalid_argument("metric " + name + ": label \"le\" is reserved");
        }
        if (std::find(
                label_names.begin(), label_names.begin() + static_cast<std::ptrdiff_t>(i), l
            ) != label_names.begin() + static_cast<std::ptrdiff_t>(i)) {
            throw std::invalid_argument("metric " + name + ": duplicate label name \"" + l + "\"");
        }
    }
    for (const auto& f : families_) {
        if (f->name() == name) {
            throw std::invalid_argument("metric " + name + " is already registered");
        }
    }
}

family<counter>& registry::add_counter(
    std::string name, std::string help, std::vector<std::string> label_names
) {
    std::lock_guard lock(mutex_);
    check_new(name, help, label_names, false);
    auto f = std::make_unique<family<counter>>(
        std::move(name),
        std::move(help),
        std::move(label_names),
        [] { return std::make_unique<counter>(); }
    );
    auto& ref = *f;
    families_.push_back(std::move(f));
    return ref;
}

family<gauge>& registry::add_gauge(
    std::string name, std::string help, std::vector<std::string> label_names
) {
    std::lock_guard lock(mutex_);
    check_new(name, help, label_names, false);
    auto f = std::make_unique<family<gauge>>(
        std::move(name),
        std::move(help),
        std::move(label_names),
        [] { return std::make_unique<gauge>(); }
    );
    auto& ref = *f;
    families_.push_back(std::move(f));
    return ref;
}

family<histogram>& registry::add_histogram(
    std::string name,
    std::string help,
    std::vector<std::string> label_names,
    std::vector<double> buckets
) {
    std::lock_guard lock(mutex_);
    check_new(name, help, label_names, true);
    auto bounds = histogram::validate_bounds(std::move(buckets));
    auto f = std::make_unique<family<histogram>>(
        std::move(name),
        std::move(help),
        std::move(label_names),
        [bounds = std::move(bounds)] { return std::make_unique<histogram>(bounds); }
    );
    auto& ref = *f;
    families_.push_back(std::move(f));
    return ref;
}

std::string registry::text() const {
    std::string out;
    std::lock_guard lock(mutex_);
    for (const auto& f : families_) {
        f->write(out);
    }
    return out;
}

void registry::write_text(std::ostream& out) const {
    const std::string s = text();  // formatted without iostreams, so no locale applies
    out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

}  // namespace shotfarm::metrics
