// One text-format rule per test (after prometheus-cpp's text_serializer_test), plus
// registration rules and thread safety.
#include "metrics/registry.hpp"

#include <cmath>
#include <limits>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "metrics/text_format.hpp"

namespace shotfarm::metrics {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

TEST(metrics_text, counter_has_help_type_and_sample) {
    registry reg;
    reg.add_counter("shotfarm_x_total", "Things done.").with({}).inc(3);
    EXPECT_EQ(
        reg.text(),
        "# HELP shotfarm_x_total Things done.\n"
        "# TYPE shotfarm_x_total counter\n"
        "shotfarm_x_total 3\n"
    );
}

TEST(metrics_text, counter_name_is_not_suffixed) {
    registry reg;
    reg.add_counter("shotfarm_events", "No suffix added.");
    EXPECT_TRUE(contains(reg.text(), "\nshotfarm_events 0\n"));
    EXPECT_FALSE(contains(reg.text(), "_total"));
}

TEST(metrics_text, unlabelled_family_is_exposed_before_first_use) {
    registry reg;
    reg.add_gauge("shotfarm_g", "g");
    EXPECT_TRUE(contains(reg.text(), "\nshotfarm_g 0\n"));
}

TEST(metrics_text, labelled_family_has_no_samples_before_first_use) {
    registry reg;
    reg.add_gauge("shotfarm_g", "g", {"provider"});
    EXPECT_EQ(reg.text(), "# HELP shotfarm_g g\n# TYPE shotfarm_g gauge\n");
}

TEST(metrics_text, labels_in_declared_order) {
    registry reg;
    reg.add_gauge("shotfarm_g", "g", {"zeta", "alpha"}).with({"1", "2"}).set(5);
    EXPECT_TRUE(contains(reg.text(), "shotfarm_g{zeta=\"1\",alpha=\"2\"} 5\n"));
}

TEST(metrics_text, help_escapes_backslash) {
    registry reg;
    reg.add_gauge("shotfarm_g", "a\\b");
    EXPECT_TRUE(contains(reg.text(), "# HELP shotfarm_g a\\\\b\n"));
}

TEST(metrics_text, help_escapes_newline) {
    registry reg;
    reg.add_gauge("shotfarm_g", "line1\nline2");
    EXPECT_TRUE(contains(reg.text(), "# HELP shotfarm_g line1\\nline2\n"));
}

TEST(metrics_text, help_keeps_double_quote) {
    registry reg;
    reg.add_gauge("shotfarm_g", "say \"hi\"");
    EXPECT_TRUE(contains(reg.text(), "# HELP shotfarm_g say \"hi\"\n"));
}

TEST(metrics_text, label_value_escapes_backslash) {
    registry reg;
    reg.add_gauge("shotfarm_g", "g", {"l"}).with({"a\\b"}).set(1);
    EXPECT_TRUE(contains(reg.text(), "shotfarm_g{l=\"a\\\\b\"} 1\n"));
}

TEST(metrics_text, label_value_escapes_double_quote) {
    registry reg;
    reg.add_gauge("shotfarm_g", "g", {"l"}).with({"a\"b"}).set(1);
    EXPECT_TRUE(contains(reg.text(), "shotfarm_g{l=\"a\\\"b\"} 1\n"));
}

TEST(metrics_text, label_value_escapes_newline) {
    registry reg;
    reg.add_gauge("shotfarm_g", "g", {"l"}).with({"a\nb"}).set(1);
    EXPECT_TRUE(contains(reg.text(), "shotfarm_g{l=\"a\\nb\"} 1\n"));
}

TEST(metrics_text, positive_infinity) {
    registry reg;
    reg.add_gauge("shotfarm_g", "g").with({}).set(inf);
    EXPECT_TRUE(contains(reg.text(), "\nshotfarm_g +Inf\n"));
}

TEST(metrics_text, negative_infinity) {
    registry reg;
    reg.add_gauge("shotfarm_g", "g").with({}).set(-inf);
    EXPECT_TRUE(contains(reg.text(), "\nshotfarm_g -Inf\n"));
}

TEST(metrics_text, nan_spelled_nan) {
    registry reg;
    reg.add_gauge("shotfarm_g", "g").with({}).set(std::numeric_limits<double>::quiet_NaN());
    EXPECT_TRUE(contains(reg.text(), "\nshotfarm_g NaN\n"));
}

TEST(metrics_text, values_round_trip) {
    for (const double v : {0.1, 1.0 / 3.0, 1e300, -2.5e-310, 123456789.123456789, 0.0}) {
        const std::string s = text::format_value(v);
        EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
    }
    EXPECT_EQ(text::format_value(3), "3");
    EXPECT_EQ(text::format_value(0.1), "0.1");
}

// A locale whose decimal point is a comma and which groups thousands.
struct comma_numpunct : std::numpunct<char> {
    char do_decimal_point() const override { return ','; }
    char do_thousands_sep() const override { return '.'; }
    std::string do_grouping() const override { return "\3"; }
};

TEST(metrics_text, c_locale_regardless_of_global_and_stream_locale) {
    const std::locale hostile(std::locale::classic(), new comma_numpunct);
    const std::locale previous = std::locale::global(hostile);
    registry reg;
    reg.add_gauge("shotfarm_g", "g").with({}).set(1234567.5);
    std::ostringstream out;
    out.imbue(hostile);
    reg.write_text(out);
    std::locale::global(previous);
    EXPECT_TRUE(contains(out.str(), "\nshotfarm_g 1234567.5\n")) << out.str();
}

TEST(metrics_text, histogram_buckets_cumulative_then_sum_and_count) {
    registry reg;
    const std::vector<double> buckets{0.5, 1, 2};
    auto& h = reg.add_histogram("shotfarm_h_seconds", "h", {}, buckets).with({});
    for (const double v : {0.1, 0.5, 0.7, 1.5, 9.0}) {
        h.observe(v);
    }
    EXPECT_EQ(
        reg.text(),
        "# HELP shotfarm_h_seconds h\n"
        "# TYPE shotfarm_h_seconds histogram\n"
        "shotfarm_h_seconds_bucket{le=\"0.5\"} 2\n"
        "shotfarm_h_seconds_bucket{le=\"1\"} 3\n"
        "shotfarm_h_seconds_bucket{le=\"2\"} 4\n"
        "shotfarm_h_seconds_bucket{le=\"+Inf\"} 5\n"
        "shotfarm_h_seconds_sum 11.8\n"
        "shotfarm_h_seconds_count 5\n"
    );
    EXPECT_EQ(h.count(), 5u);
    EXPECT_DOUBLE_EQ(h.sum(), 11.8);
}

TEST(metrics_text, histogram_le_label_comes_last) {
    registry reg;
    const std::vector<double> buckets{1};
    reg.add_histogram("shotfarm_h", "h", {"provider"}, buckets).with({"atlas"}).observe(1);
    const auto t = reg.text();
    EXPECT_TRUE(contains(t, "shotfarm_h_bucket{provider=\"atlas\",le=\"1\"} 1\n")) << t;
    EXPECT_TRUE(contains(t, "shotfarm_h_bucket{provider=\"atlas\",le=\"+Inf\"} 1\n")) << t;
    EXPECT_TRUE(contains(t, "shotfarm_h_sum{provider=\"atlas\"} 1\n")) << t;
    EXPECT_TRUE(contains(t, "shotfarm_h_count{provider=\"atlas\"} 1\n")) << t;
}

TEST(metrics_text, histogram_trailing_inf_bucket_not_doubled) {
    registry reg;
    const std::vector<double> buckets{1, inf};
    reg.add_histogram("shotfarm_h", "h", {}, buckets);
    const auto t = reg.text();
    EXPECT_EQ(t.find("le=\"+Inf\""), t.rfind("le=\"+Inf\""));
}

TEST(metrics_text, families_in_registration_order) {
    registry reg;
    reg.add_gauge("shotfarm_b", "b");
    reg.add_gauge("shotfarm_a", "a");
    const auto t = reg.text();
    EXPECT_LT(t.find("shotfarm_b"), t.find("shotfarm_a"));
}

TEST(metrics_registry, counter_ignores_negative_and_nan) {
    counter c;
    c.inc(2);
    c.inc(-1);
    c.inc(std::numeric_limits<double>::quiet_NaN());
    EXPECT_EQ(c.value(), 2);
}

TEST(metrics_registry, gauge_set_inc_dec) {
    gauge g;
    g.set(10);
    g.inc(2.5);
    g.dec();
    EXPECT_EQ(g.value(), 11.5);
}

TEST(metrics_registry, with_returns_stable_child) {
    registry reg;
    auto& fam = reg.add_counter("shotfarm_x_total", "x", {"a"});
    counter& first = fam.with({"1"});
    for (int i = 0; i < 100; ++i) {
        fam.with({std::to_string(i + 2)});
    }
    EXPECT_EQ(&first, &fam.with({"1"}));
}

TEST(metrics_registry, with_wrong_arity_throws) {
    registry reg;
    auto& fam = reg.add_counter("shotfarm_x_total", "x", {"a", "b"});
    EXPECT_THROW(fam.with({"1"}), std::invalid_argument);
    EXPECT_THROW(fam.with({"1", "2", "3"}), std::invalid_argument);
    EXPECT_NO_THROW(fam.with({"1", "2"}));
}

TEST(metrics_registry, with_invalid_utf8_throws) {
    registry reg;
    auto& fam = reg.add_counter("shotfarm_x_total", "x", {"a"});
    EXPECT_THROW(fam.with({std::string("\xff")}), std::invalid_argument);
    EXPECT_NO_THROW(fam.with({std::string("caf\xc3\xa9")}));
}

TEST(metrics_registry, invalid_metric_names_throw) {
    registry reg;
    for (const char* bad : {"", "1abc", "a-b", "a b", "é"}) {
        EXPECT_THROW(reg.add_gauge(bad, "h"), std::invalid_argument) << bad;
    }
    EXPECT_NO_THROW(reg.add_gauge("a:b_c9", "h"));
    EXPECT_NO_THROW(reg.add_gauge("_x", "h"));
}

TEST(metrics_registry, invalid_label_names_throw) {
    registry reg;
    for (const char* bad : {"", "1a", "a:b", "__reserved", "a-b"}) {
        const std::vector<std::string> labels{bad};
        EXPECT_THROW(reg.add_gauge("shotfarm_g", "h", labels), std::invalid_argument) << bad;
    }
    const std::vector<std::string> dup{"a", "a"};
    EXPECT_THROW(reg.add_gauge("shotfarm_g", "h", dup), std::invalid_argument);
    const std::vector<std::string> le{"le"};
    const std::vector<double> buckets{1};
    EXPECT_THROW(reg.add_histogram("shotfarm_h", "h", le, buckets), std::invalid_argument);
    EXPECT_NO_THROW(reg.add_gauge("shotfarm_g", "h", le));
}

TEST(metrics_registry, duplicate_name_throws) {
    registry reg;
    reg.add_counter("shotfarm_x_total", "x");
    EXPECT_THROW(reg.add_gauge("shotfarm_x_total", "x"), std::invalid_argument);
}

TEST(metrics_registry, bad_buckets_throw) {
    registry reg;
    const std::vector<double> unsorted{2, 1};
    const std::vector<double> repeated{1, 1};
    const std::vector<double> nan{std::numeric_limits<double>::quiet_NaN()};
    EXPECT_THROW(reg.add_histogram("shotfarm_h1", "h", {}, unsorted), std::invalid_argument);
    EXPECT_THROW(reg.add_histogram("shotfarm_h2", "h", {}, repeated), std::invalid_argument);
    EXPECT_THROW(reg.add_histogram("shotfarm_h3", "h", {}, nan), std::invalid_argument);
}

TEST(metrics_registry, exponential_buckets_values) {
    EXPECT_EQ(exponential_buckets(0.5, 2, 4), (std::vector<double>{0.5, 1, 2, 4}));
    EXPECT_THROW(exponential_buckets(0, 2, 3), std::invalid_argument);
    EXPECT_THROW(exponential_buckets(1, 1, 3), std::invalid_argument);
    EXPECT_THROW(exponential_buckets(1, 2, 0), std::invalid_argument);
}

TEST(metrics_registry, histogram_nan_goes_to_inf_bucket) {
    histogram h(std::vector<double>{1});
    h.observe(std::numeric_limits<double>::quiet_NaN());
    EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{0, 1}));
    EXPECT_TRUE(std::isnan(h.sum()));
}

TEST(metrics_registry, concurrent_updates_and_scrapes) {
    registry reg;
    auto& fam = reg.add_counter("shotfarm_x_total", "x", {"worker"});
    const std::vector<double> buckets{1, 10};
    auto& hist = reg.add_histogram("shotfarm_h", "h", {}, buckets).with({});
    constexpr int per_thread = 20000;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                fam.with({std::to_string(t % 2)}).inc();
                hist.observe(i % 20);
            }
        });
    }
    std::size_t scrapes = 0;
    threads.emplace_back([&] {
        for (int i = 0; i < 50; ++i) {
            scrapes += reg.text().empty() ? 0 : 1;
        }
    });
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(scrapes, 50u);
    EXPECT_EQ(fam.with({"0"}).value() + fam.with({"1"}).value(), 4.0 * per_thread);
    EXPECT_EQ(hist.count(), 4u * per_thread);
}

}  // namespace
}  // namespace shotfarm::metrics
