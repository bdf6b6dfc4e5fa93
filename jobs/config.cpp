#include "jobs/config.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace shotfarm::jobs {
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// YAML plumbing shared with the shot-list loader.

namespace detail {
namespace {

constexpr int max_depth = 64;
constexpr std::size_t max_events = 2'000'000;

struct guard_abort {};  // stops the pre-pass after a fatal finding (already recorded)

// Walks the event stream once before any tree is built. Aliases never expand here (each is one
// event), so an alias bomb or a cycle costs nothing; refusing them keeps the later tree walk
// bounded by the file size.
class guard_handler final : public YAML::EventHandler {
public:
    explicit guard_handler(yaml_reader& reader) : reader_(reader) {}

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        node(mark, anchor, "", nullptr);
    }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
        reader_.error(mark, "", "YAML aliases (*name) are not supported; write the value out");
        node(mark, 0, "", nullptr);
    }
    void OnScalar(
        const YAML::Mark& mark,
        const std::string& tag,
        YAML::anchor_t anchor,
        const std::string& value
    ) override {
        node(mark, anchor, tag, &value);
    }
    void OnSequenceStart(
        const YAML::Mark& mark,
        const std::string& tag,
        YAML::anchor_t anchor,
        YAML::EmitterStyle::value
    ) override {
        node(mark, anchor, tag, nullptr);
        push(mark, false);
    }
    void OnSequenceEnd() override { frames_.pop_back(); }
    void OnMapStart(
        const YAML::Mark& mark,
        const std::string& tag,
        YAML::anchor_t anchor,
        YAML::EmitterStyle::value
    ) override {
        node(mark, anchor, tag, nullptr);
        push(mark, true);
    }
    void OnMapEnd() override { frames_.pop_back(); }

private:
    struct frame {
        bool is_map = false;
        bool expect_key = true;
        std::map<std::string, int> keys;  // key -> 1-based line of its first use
    };

    void push(const YAML::Mark& mark, bool is_map) {
        if (frames_.size() >= max_depth) {
            reader_.error(mark, "", "nesting deeper than " + std::to_string(max_depth) + " levels");
            throw guard_abort{};
        }
        frames_.push_back(frame{is_map, true, {}});
    }

    void node(
        const YAML::Mark& mark,
        YAML::anchor_t anchor,
        const std::string& tag,
        const std::string* scalar
    ) {
        if (++events_ > max_events) {
            reader_.error(mark, "", "too many YAML nodes");
            throw guard_abort{};
        }
        if (anchor != 0) {
            reader_.error(mark, "", "YAML anchors (&name) are not supported; write the value out");
        }
        if (!tag.empty() && tag != "?" && tag != "!") {
            reader_.error(mark, "", "YAML tags ('" + tag + "') are not supported");
        }
        if (frames_.empty() || !frames_.back().is_map) {
            return;
        }
        frame& f = frames_.back();
        if (f.expect_key) {
            if (scalar == nullptr) {
                reader_.error(mark, "", "mapping keys must be plain strings");
            } else if (auto [it, inserted] = f.keys.emplace(*scalar, mark.line + 1); !inserted) {
                reader_.error(
                    mark,
                    "",
                    "duplicate key '" + *scalar + "' (first at line " + std::to_string(it->second) +
                        ")"
                );
            }
        }
        f.expect_key = !f.expect_key;
    }

    yaml_reader& reader_;
    std::vector<frame> frames_;
    std::size_t events_ = 0;
};

enum class scalar_kind { null, boolean, integer, floating, string };

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_int_text(std::string_view s) {
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        s.remove_prefix(1);
    }
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        return true;  // YAML 1.2 hex / octal: an integer, though we only accept decimal
    }
    return all_digits(s);
}

bool is_float_text(std::string_view s) {
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        s.remove_prefix(1);
    }
    if (s == ".inf" || s == ".Inf" || s == ".INF" || s == ".nan" || s == ".NaN" || s == ".NAN") {
        return true;
    }
    const auto e = s.find_first_of("eE");
    std::string_view mantissa = s.substr(0, e);
    if (e != std::string_view::npos) {
        std::string_view exp = s.substr(e + 1);
        if (!exp.empty() && (exp.front() == '-' || exp.front() == '+')) {
            exp.remove_prefix(1);
        }
        if (!all_digits(exp)) {
            return false;
        }
    }
    const auto dot = mantissa.find('.');
    if (dot == std::string_view::npos) {
        return all_digits(mantissa);
    }
    const auto whole = mantissa.substr(0, dot);
    const auto frac = mantissa.substr(dot + 1);
    return (whole.empty() || all_digits(whole)) && (frac.empty() || all_digits(frac)) &&
           !(whole.empty() && frac.empty());
}

// YAML 1.2 core schema for plain scalars, plus the YAML 1.1 yes/no/on/off booleans (so that
// `id: no` is refused as a boolean rather than quietly read one way here and another elsewhere).
scalar_kind classify(const YAML::Node& n) {
    if (n.IsNull()) {
        return scalar_kind::null;
    }
    if (n.Tag() != "?") {
        return scalar_kind::string;  // quoted or block scalar
    }
    const std::string& s = n.Scalar();
    static const std::vector<std::string_view> nulls{"", "~", "null", "Null", "NULL"};
    static const std::vector<std::string_view> bools{
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF"};
    if (std::find(nulls.begin(), nulls.end(), s) != nulls.end()) {
        return scalar_kind::null;
    }
    if (std::find(bools.begin(), bools.end(), s) != bools.end()) {
        return scalar_kind::boolean;
    }
    if (is_int_text(s)) {
        return scalar_kind::integer;
    }
    if (is_float_text(s)) {
        return scalar_kind::floating;
    }
    return scalar_kind::string;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string key_path(std::string_view parent, std::string_view child) {
    if (parent.empty()) {
        return std::string{child};
    }
    return std::string{parent} + "." + std::string{child};
}

yaml_reader::yaml_reader(std::string display_file, diagnostics& errors)
    : file_(std::move(display_file)), errors_(errors) {}

void yaml_reader::error(const YAML::Mark& at, std::string_view key, std::string_view message) {
    std::string text =
        key.empty() ? std::string{message} : std::string{key} + ": " + std::string{message};
    const int line = at.line >= 0 ? at.line + 1 : 0;
    const int col = at.column >= 0 ? at.column + 1 : 0;
    errors_.push_back(diagnostic{file_, line, col, std::move(text)});
}

void yaml_reader::error(const YAML::Node& at, std::string_view key, std::string_view message) {
    error(at.Mark(), key, message);
}

bool yaml_reader::load(const fs::path& path, std::uintmax_t max_bytes, YAML::Node& root) {
    const std::size_t before = errors_.size();
    auto fail = [&](const std::string& message) {
        errors_.push_back(diagnostic{file_, 0, 0, message});
        return false;
    };
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
        return fail("cannot read file: " + (ec ? ec.message() : std::string{"no such file"}));
    }
    if (!fs::is_regular_file(status)) {
        return fail("not a regular file");
    }
    const auto size = fs::file_size(path, ec);
    if (ec) {
        return fail("cannot read file: " + ec.message());
    }
    if (size > max_bytes) {
        return fail(
            "file is " + std::to_string(size) + " bytes; the limit is " + std::to_string(max_bytes)
        );
    }
    std::ifstream in(path, std::ios::binary);
    std::string text(static_cast<std::size_t>(size), '\0');
    if (!in || !in.read(text.data(), static_cast<std::streamsize>(text.size()))) {
        return fail("cannot read file");
    }
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
        return fail("file is empty");
    }
    try {
        std::istringstream stream(text);
        YAML::Parser parser(stream);
        guard_handler guard(*this);
        if (!parser.HandleNextDocument(guard)) {
            return fail("file is empty");
        }
        // A second document would be silently ignored by YAML::Load.
        class first_mark final : public YAML::EventHandler {
        public:
            YAML::Mark mark = YAML::Mark::null_mark();
            void OnDocumentStart(const YAML::Mark& m) override { mark = m; }
            void OnDocumentEnd() override {}
            void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
            void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
            void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&)
                override {}
            void OnSequenceStart(
                const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value
            ) override {}
            void OnSequenceEnd() override {}
            void OnMapStart(
                const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value
            ) override {}
            void OnMapEnd() override {}
        } second;
        // Only the start of the next document is needed; parse errors in it still count.
        if (errors_.size() == before && parser.HandleNextDocument(second)) {
            error(second.mark, "", "only one YAML document is allowed (found a second one)");
        }
    } catch (const guard_abort&) {
        return false;
    } catch (const YAML::Exception& e) {
        // What the guard saw of a broken document is noise next to the syntax error.
        errors_.resize(before);
        error(e.mark, "", "YAML syntax error: " + e.msg);
        return false;
    }
    if (errors_.size() != before) {
        return false;
    }
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        error(e.mark, "", "YAML syntax error: " + e.msg);
        return false;
    }
    return true;
}

std::string yaml_reader::describe(const YAML::Node& n) {
    if (n.IsMap()) {
        return "a mapping";
    }
    if (n.IsSequence()) {
        return "a list";
    }
    switch (classify(n)) {
        case scalar_kind::null:
            return "null";
        case scalar_kind::boolean:
            return "a boolean";
        case scalar_kind::integer:
            return "an integer";
        case scalar_kind::floating:
            return "a number";
        case scalar_kind::string:
            return "a string";
    }
    return "something else";
}

std::optional<std::string> yaml_reader::string(const YAML::Node& n, std::string_view key) {
    if (n.IsScalar() && classify(n) == scalar_kind::string) {
        return n.Scalar();
    }
    std::string message = "expected a string, got " + describe(n);
    if (n.IsScalar() && classify(n) != scalar_kind::null) {
        message += " (quote it: \"" + n.Scalar() + "\")";
    }
    error(n, key, message);
    return std::nullopt;
}

std::optional<std::int64_t> yaml_reader::integer(const YAML::Node& n, std::string_view key) {
    if (!n.IsScalar() || classify(n) != scalar_kind::integer) {
        error(n, key, "expected an integer, got " + describe(n));
        return std::nullopt;
    }
    std::string_view s = n.Scalar();
    if (s.front() == '+') {
        s.remove_prefix(1);
    }
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || ptr != s.data() + s.size()) {
        error(n, key, "expected a decimal integer in range, got '" + n.Scalar() + "'");
        return std::nullopt;
    }
    return v;
}

std::optional<double> yaml_reader::number(const YAML::Node& n, std::string_view key) {
    const auto kind = n.IsScalar() ? classify(n) : scalar_kind::string;
    if (!n.IsScalar() || (kind != scalar_kind::integer && kind != scalar_kind::floating)) {
        error(n, key, "expected a number, got " + describe(n));
        return std::nullopt;
    }
    char* end = nullptr;
    const std::string& s = n.Scalar();
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || !std::isfinite(v)) {
        error(n, key, "expected a finite decimal number, got '" + s + "'");
        return std::nullopt;
    }
    return v;
}

bool yaml_reader::is_map(const YAML::Node& n, std::string_view key) {
    if (n.IsMap()) {
        return true;
    }
    error(n, key, "expected a mapping (key: value lines), got " + describe(n));
    return false;
}

bool yaml_reader::is_sequence(const YAML::Node& n, std::string_view key) {
    if (n.IsSequence()) {
        return true;
    }
    error(n, key, "expected a list (- item lines), got " + describe(n));
    return false;
}

void yaml_reader::check_keys(
    const YAML::Node& map, std::string_view key, const std::vector<std::string_view>& known
) {
    for (const auto& kv : map) {
        const std::string& name = kv.first.Scalar();
        if (std::find(known.begin(), known.end(), name) != known.end()) {
            continue;
        }
        std::string message = "unknown key '" + name + "'";
        std::string_view best;
        std::size_t best_distance = 3;
        for (auto k : known) {
            const auto d = edit_distance(name, k);
            if (d < best_distance) {
                best_distance = d;
                best = k;
            }
        }
        if (!best.empty()) {
            message += "; did you mean '" + std::string{best} + "'?";
        } else {
            message += "; known keys:";
            for (std::size_t i = 0; i < known.size(); ++i) {
                message += (i == 0 ? " " : ", ") + std::string{known[i]};
            }
        }
        error(kv.first, key, message);
    }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// The config file.

namespace {

using detail::key_path;
using detail::yaml_reader;

constexpr std::uintmax_t max_config_bytes = 1u << 20;
constexpr std::uintmax_t max_key_file_bytes = 64u << 10;

bool is_env_name(std::string_view s) {
    if (s.empty() || (s[0] >= '0' && s[0] <= '9')) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
}

// A key is pasted into an HTTP header: no spaces, no control characters.
bool is_clean_secret(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u != 0x7f;
    });
}

fs::path resolve(const fs::path& base, const std::string& p) {
    fs::path path{p};
    if (path.is_relative()) {
        path = base / path;
    }
    return path.lexically_normal();
}

// A base URL: http(s)://host[:port][/path], no query, fragment or credentials.
std::optional<std::string> check_base_url(std::string url, std::string& why) {
    std::string_view rest;
    if (url.starts_with("https://")) {
        rest = std::string_view{url}.substr(8);
    } else if (url.starts_with("http://")) {
        rest = std::string_view{url}.substr(7);
    } else {
        why = "must start with https:// (or http:// for a local simulator)";
        return std::nullopt;
    }
    const auto host_end = rest.find('/');
    const auto authority = rest.substr(0, host_end);
    if (authority.empty() || authority.front() == ':') {
        why = "has no host";
        return std::nullopt;
    }
    if (authority.find('@') != std::string_view::npos) {
        why = "must not contain credentials";
        return std::nullopt;
    }
    if (url.find_first_of("?# \t") != std::string::npos) {
        why = "must not contain a query, fragment or spaces";
        return std::nullopt;
    }
    while (url.ends_with('/')) {
        url.pop_back();
    }
    return url;
}

class config_loader {
public:
    config_loader(const fs::path& file, diagnostics& errors, bool read_keys)
        : reader_(file.string(), errors), file_(file), read_keys_(read_keys) {}

    std::optional<app_config> load() {
        YAML::Node root;
        if (!reader_.load(file_, max_config_bytes, root)) {
            return std::nullopt;
        }
        if (!reader_.is_map(root, "")) {
            return std::nullopt;
        }
        reader_.check_keys(
            root,
            "",
            {"state_dir",
             "output_dir",
             "database",
             "listen",
             "accounts",
             "max_attempts",
             "ambiguous",
             "ambiguous_policy",
             "shutdown_grace_s",
             "lease_ttl_s",
             "poll_interval_s",
             "max_poll_interval_s",
             "max_download_bytes",
             "prices",
             "budget_usd",
             "strategy",
             "generation_prior_s"}
        );
        app_config c;
        std::error_code ec;
        c.file = fs::absolute(file_, ec).lexically_normal();
        base_ = c.file.parent_path();
        c.state_dir = base_ / "state";
        c.output_dir = base_ / "output";

        if (auto n = root["state_dir"]) {
            c.state_dir = directory(n, "state_dir").value_or(c.state_dir);
        }
        if (auto n = root["output_dir"]) {
            c.output_dir = directory(n, "output_dir").value_or(c.output_dir);
        }
        if (auto n = root["database"]) {
            database(n, c);
        }
        if (auto n = root["listen"]) {
            listen(n, c);
        }
        if (auto n = root["max_attempts"]) {
            if (auto v = reader_.integer(n, "max_attempts")) {
                if (*v < 1 || *v > 100) {
                    reader_.error(n, "max_attempts", "must be an integer from 1 to 100");
                } else {
                    c.max_attempts = static_cast<int>(*v);
                }
            }
        }
        if (auto n = root["budget_usd"]) {
            c.budget_usd = money(n, "budget_usd");
        }
        if (auto n = root["strategy"]) {
            if (auto v = reader_.string(n, "strategy")) {
                if (*v != "fastest" && *v != "cheapest") {
                    reader_.error(n, "strategy", "must be 'fastest' or 'cheapest'");
                } else {
                    c.strategy = *v;
                }
            }
        }
        if (auto n = root["generation_prior_s"]) {
            if (reader_.is_map(n, "generation_prior_s")) {
                const auto& cat = providers::catalog::builtin();
                for (const auto& kv : n) {
                    const std::string model = kv.first.Scalar();
                    const auto key = key_path("generation_prior_s", model);
                    if (!cat.has_model(model)) {
                        reader_.error(kv.first, key, "unknown model '" + model + "'");
                        continue;
                    }
                    if (auto v = seconds(kv.second, key)) {
                        c.generation_prior_s.emplace_back(model, *v);
                    }
                }
            }
        }
        // `ambiguous` (issue 5's name) or its earlier spelling `ambiguous_policy`.
        for (const char* key : {"ambiguous", "ambiguous_policy"}) {
            auto n = root[key];
            if (!n) {
                continue;
            }
            if (std::string_view(key) == "ambiguous_policy" && root["ambiguous"]) {
                reader_.error(n, key, "give either 'ambiguous' or 'ambiguous_policy', not both");
                continue;
            }
            if (auto v = reader_.string(n, key)) {
                if (*v != "resubmit" && *v != "hold") {
                    reader_.error(n, key, "must be 'resubmit' or 'hold'");
                } else {
                    c.ambiguous_policy = *v;
                }
            }
        }
        if (auto n = root["lease_ttl_s"]) {
            if (auto v = reader_.integer(n, "lease_ttl_s")) {
                if (*v < 3 || *v > 600) {
                    reader_.error(n, "lease_ttl_s", "must be an integer from 3 to 600 (seconds)");
                } else {
                    c.lease_ttl_s = static_cast<int>(*v);
                }
            }
        }
        if (auto n = root["shutdown_grace_s"]) {
            c.shutdown_grace_s = seconds(n, "shutdown_grace_s").value_or(c.shutdown_grace_s);
        }
        if (auto n = root["poll_interval_s"]) {
            c.poll_interval_s = seconds(n, "poll_interval_s").value_or(c.poll_interval_s);
        }
        if (auto n = root["max_poll_interval_s"]) {
            c.max_poll_interval_s =
                seconds(n, "max_poll_interval_s").value_or(c.max_poll_interval_s);
        }
        if (c.max_poll_interval_s < c.poll_interval_s) {
            const auto n =
                root["max_poll_interval_s"] ? root["max_poll_interval_s"] : root["poll_interval_s"];
            reader_.error(n, "max_poll_interval_s", "must be >= poll_interval_s");
        }
        if (auto n = root["max_download_bytes"]) {
            if (auto v = reader_.integer(n, "max_download_bytes")) {
                if (*v < 1024) {
                    reader_.error(n, "max_download_bytes", "must be an integer >= 1024");
                } else {
                    c.max_download_bytes = static_cast<std::uint64_t>(*v);
                }
            }
        }
        if (auto n = root["accounts"]) {
            accounts(n, c);
        } else {
            reader_.error(root, "accounts", "missing: at least one provider account is needed");
        }
        if (auto n = root["prices"]) {
            prices(n, c);
        }
        if (!reader_.errors().empty()) {
            return std::nullopt;
        }
        return c;
    }

private:
    std::optional<fs::path> directory(const YAML::Node& n, std::string_view key) {
        auto v = reader_.string(n, key);
        if (!v) {
            return std::nullopt;
        }
        if (v->empty()) {
            reader_.error(n, key, "must not be empty");
            return std::nullopt;
        }
        return resolve(base_, *v);
    }

    std::optional<double> money(const YAML::Node& n, std::string_view key) {
        auto v = reader_.number(n, key);
        if (v && !(*v >= 0 && *v <= 1e9)) {
            reader_.error(n, key, "must be a number of US dollars >= 0");
            return std::nullopt;
        }
        return v;
    }

    std::optional<double> seconds(const YAML::Node& n, std::string_view key) {
        auto v = reader_.number(n, key);
        if (v && (*v <= 0 || *v > 3600)) {
            reader_.error(n, key, "must be a number of seconds > 0 and <= 3600");
            return std::nullopt;
        }
        return v;
    }

    void database(const YAML::Node& n, app_config& c) {
        if (!reader_.is_map(n, "database")) {
            return;
        }
        reader_.check_keys(n, "database", {"url"});
        const auto url = n["url"];
        if (!url) {
            reader_.error(
                n, "database", "missing key 'url' (omit 'database' for the embedded one)"
            );
            return;
        }
        if (auto v = reader_.string(url, "database.url")) {
            if (v->empty()) {
                reader_.error(url, "database.url", "must not be empty");
            } else {
                c.database_url = *v;
            }
        }
    }

    void listen(const YAML::Node& n, app_config& c) {
        auto v = reader_.string(n, "listen");
        if (!v) {
            return;
        }
        const std::string& s = *v;
        const auto colon = s.rfind(':');
        std::string host = colon == std::string::npos ? "" : s.substr(0, colon);
        const std::string port = colon == std::string::npos ? "" : s.substr(colon + 1);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
            host = host.substr(1, host.size() - 2);
        } else if (host.find(':') != std::string::npos) {
            host.clear();  // a bare IPv6 address needs brackets
        }
        unsigned value = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (host.empty() || port.empty() || ec != std::errc{} || ptr != port.data() + port.size() ||
            value > 65535) {
            reader_.error(
                n, "listen", "must be \"host:port\" (e.g. \"127.0.0.1:9464\", \"[::1]:0\")"
            );
            return;
        }
        c.listen_host = host;
        c.listen_port = static_cast<std::uint16_t>(value);
    }

    void accounts(const YAML::Node& n, app_config& c) {
        if (!reader_.is_sequence(n, "accounts")) {
            return;
        }
        if (n.size() == 0) {
            reader_.error(n, "accounts", "must list at least one account");
            return;
        }
        std::map<std::string, int> names;  // name -> line
        for (std::size_t i = 0; i < n.size(); ++i) {
            const std::string path = "accounts[" + std::to_string(i) + "]";
            if (auto a = account(n[i], path)) {
                if (auto [it, inserted] = names.emplace(a->name, n[i].Mark().line + 1); !inserted) {
                    reader_.error(
                        n[i]["name"],
                        key_path(path, "name"),
                        "duplicate account name '" + a->name + "' (first at line " +
                            std::to_string(it->second) + ")"
                    );
                }
                c.accounts.push_back(std::move(*a));
            }
        }
    }

    std::optional<account_config> account(const YAML::Node& n, const std::string& path) {
        if (!reader_.is_map(n, path)) {
            return std::nullopt;
        }
        const std::size_t before = reader_.errors().size();
        reader_.check_keys(
            n,
            path,
            {"name",
             "provider",
             "base_url",
             "api_key_env",
             "api_key_file",
             "max_concurrency",
             "requests_per_minute",
             "submits_per_minute",
             "budget_usd_per_day"}
        );
        account_config a;
        const auto& cat = providers::catalog::builtin();
        if (auto v = required_string(n, path, "name")) {
            if (!is_valid_id(*v, 64)) {
                reader_.error(
                    n["name"], key_path(path, "name"), "must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}"
                );
            }
            a.name = *v;
        }
        if (auto v = required_string(n, path, "provider")) {
            *v = providers::canonical_provider(*v);
            if (!cat.has_provider(*v)) {
                std::string known;
                for (const auto& p : cat.providers()) {
                    known += (known.empty() ? "" : ", ") + p;
                }
                reader_.error(
                    n["provider"],
                    key_path(path, "provider"),
                    "unknown provider '" + *v + "'; known: " + known
                );
            }
            a.provider = *v;
        }
        a.base_url = std::string{default_base_url(a.provider)};
        if (auto u = n["base_url"]) {
            if (auto v = reader_.string(u, key_path(path, "base_url"))) {
                std::string why;
                if (auto url = check_base_url(*v, why)) {
                    a.base_url = *url;
                } else {
                    reader_.error(u, key_path(path, "base_url"), why);
                }
            }
        }
        const std::pair<const char*, int*> limits[] = {
            {"max_concurrency", &a.max_concurrency},
            {"requests_per_minute", &a.requests_per_minute},
            {"submits_per_minute", &a.submits_per_minute}};
        for (auto [field, target] : limits) {
            if (auto f = n[field]) {
                const auto key = key_path(path, field);
                if (auto v = reader_.integer(f, key)) {
                    if (*v < 1 || *v > 100000) {
                        reader_.error(f, key, "must be an integer >= 1");
                    } else {
                        *target = static_cast<int>(*v);
                    }
                }
            }
        }
        if (auto f = n["budget_usd_per_day"]) {
            a.budget_usd_per_day = money(f, key_path(path, "budget_usd_per_day"));
        }
        api_key(n, path, a);
        if (reader_.errors().size() != before) {
            return std::nullopt;
        }
        return a;
    }

    std::optional<std::string> required_string(
        const YAML::Node& map, const std::string& path, const char* field
    ) {
        const auto n = map[field];
        if (!n) {
            reader_.error(map, path, std::string{"missing required key '"} + field + "'");
            return std::nullopt;
        }
        auto v = reader_.string(n, key_path(path, field));
        if (v && v->empty()) {
            reader_.error(n, key_path(path, field), "must not be empty");
            return std::nullopt;
        }
        return v;
    }

    // Never puts the key (or any part of it) into a diagnostic.
    void api_key(const YAML::Node& n, const std::string& path, account_config& a) {
        const auto env = n["api_key_env"];
        const auto file = n["api_key_file"];
        if (static_cast<bool>(env) == static_cast<bool>(file)) {
            reader_.error(
                env ? file : n, path, "set exactly one of 'api_key_env' or 'api_key_file'"
            );
            return;
        }
        if (!read_keys_) {
            return;  // an operator command: the keys are the daemon's business
        }
        if (env) {
            const auto key = key_path(path, "api_key_env");
            auto name = reader_.string(env, key);
            if (!name) {
                return;
            }
            if (!is_env_name(*name)) {
                reader_.error(env, key, "'" + *name + "' is not an environment variable name");
                return;
            }
            const char* value = std::getenv(name->c_str());
            if (value == nullptr || *value == '\0') {
                reader_.error(env, key, "environment variable " + *name + " is not set or empty");
                return;
            }
            if (!is_clean_secret(value)) {
                reader_.error(
                    env,
                    key,
                    "environment variable " + *name + " contains spaces or control characters"
                );
                return;
            }
            a.api_key = value;
            a.api_key_source = "env " + *name;
            return;
        }
        const auto key = key_path(path, "api_key_file");
        auto name = reader_.string(file, key);
        if (!name) {
            return;
        }
        const fs::path p = resolve(base_, *name);
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) {
            reader_.error(file, key, "cannot read key file " + p.string() + ": no such file");
            return;
        }
        if (!S_ISREG(st.st_mode)) {
            reader_.error(file, key, "key file " + p.string() + " is not a regular file");
            return;
        }
        if ((st.st_mode & 077) != 0) {
            char mode[8];
            std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
            reader_.error(
                file,
                key,
                "key file " + p.string() + " has mode " + mode +
                    "; it must not be accessible by group or others (chmod 600)"
            );
            return;
        }
        if (st.st_uid != ::geteuid()) {
            reader_.error(
                file, key, "key file " + p.string() + " is not owned by the user running shotfarm"
            );
            return;
        }
        if (static_cast<std::uintmax_t>(st.st_size) > max_key_file_bytes) {
            reader_.error(file, key, "key file " + p.string() + " is too large to be a key");
            return;
        }
        std::ifstream in(p, std::ios::binary);
        std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.good() && !in.eof()) {
            reader_.error(file, key, "cannot read key file " + p.string());
            return;
        }
        while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
            secret.pop_back();
        }
        if (secret.empty()) {
            reader_.error(file, key, "key file " + p.string() + " is empty");
            return;
        }
        if (!is_clean_secret(secret)) {
            reader_.error(
                file, key, "key file " + p.string() + " contains spaces or control characters"
            );
            return;
        }
        a.api_key = std::move(secret);
        a.api_key_source = "file " + p.string();
    }

    // prices: {"<provider>/<provider model>": usd} or {"<provider>/<provider model>": {6s: usd}}
    void prices(const YAML::Node& n, app_config& c) {
        if (!reader_.is_map(n, "prices")) {
            return;
        }
        const auto& cat = providers::catalog::builtin();
        for (const auto& kv : n) {
            const std::string& id = kv.first.Scalar();
            const std::string key = "prices." + id;
            if (!cat.has_price_key(id)) {
                // A provider model without its provider, or without the resolution it is sold
                // at (AI/ML API and MiniMax take the resolution as a body field).
                std::string no_provider;
                std::string no_resolution;
                for (const auto& k : cat.price_keys()) {
                    if (k.substr(k.find('/') + 1) == id) {
                        no_provider += (no_provider.empty() ? "'" : " or '") + k + "'";
                    } else if (k.rfind(id + ":", 0) == 0) {
                        no_resolution += (no_resolution.empty() ? "'" : " or '") + k + "'";
                    }
                }
                reader_.error(
                    kv.first,
                    key,
                    !no_provider.empty() ? "name the provider too: " + no_provider
                    : !no_resolution.empty()
                        ? "this provider takes the resolution as a parameter; name it too: " +
                              no_resolution
                        : "unknown provider model; write '<provider>/<provider "
                          "model>[:<resolution>]', e.g. 'atlas/minimax/hailuo-02/fast' or "
                          "'minimax/MiniMax-Hailuo-02:768P'"
                );
                continue;
            }
            if (kv.second.IsMap()) {
                for (const auto& per : kv.second) {
                    const std::string& d = per.first.Scalar();
                    const std::string dkey = key + "." + d;
                    int seconds = 0;
                    const auto [ptr, ec] = std::from_chars(d.data(), d.data() + d.size(), seconds);
                    if (ec != std::errc{} || std::string_view{ptr} != "s" ||
                        !cat.has_price_key(id, seconds)) {
                        reader_.error(
                            per.first, dkey, "expected a duration this model renders, like '6s'"
                        );
                        continue;
                    }
                    if (auto v = price(per.second, dkey)) {
                        c.price_overrides.emplace_back(id + "@" + std::to_string(seconds), *v);
                    }
                }
            } else if (auto v = price(kv.second, key)) {
                c.price_overrides.emplace_back(id, *v);
            }
        }
    }

    std::optional<double> price(const YAML::Node& n, const std::string& key) {
        auto v = reader_.number(n, key);
        if (v && (*v <= 0 || *v > 100)) {
            reader_.error(n, key, "must be a price in USD > 0 and <= 100");
            return std::nullopt;
        }
        return v;
    }

    yaml_reader reader_;
    fs::path file_;
    fs::path base_;
    bool read_keys_ = true;
};

}  // namespace

bool is_valid_id(std::string_view s, std::size_t max_len) {
    auto alnum = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    };
    if (s.empty() || s.size() > max_len || !alnum(s.front())) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [&](char c) {
        return alnum(c) || c == '.' || c == '_' || c == '-';
    });
}

std::string_view default_base_url(std::string_view provider) {
    if (provider == "atlas") {
        return "https://api.atlascloud.ai";
    }
    if (provider == "wavespeed") {
        return "https://api.wavespeed.ai";
    }
    if (provider == "aimlapi") {
        return "https://api.aimlapi.com";
    }
    if (provider == "minimax") {
        return "https://api.minimax.io";
    }
    return "";
}

config_result load_config(const fs::path& file, bool read_keys) {
    config_result result;
    config_loader loader(file, result.errors, read_keys);
    auto config = loader.load();
    if (result.errors.empty()) {
        result.config = std::move(config);
    }
    return result;
}

providers::catalog make_catalog(const app_config& config) {
    providers::catalog cat = providers::catalog::builtin();
    // Whole-model prices first, so a per-duration price always wins.
    for (bool per_duration : {false, true}) {
        for (const auto& [id, usd] : config.price_overrides) {
            const auto at = id.rfind('@');
            if ((at != std::string::npos) != per_duration) {
                continue;
            }
            if (per_duration) {
                cat.override_price_key(id.substr(0, at), std::stoi(id.substr(at + 1)), usd);
            } else {
                cat.override_price_key(id, 0, usd);
            }
        }
    }
    return cat;
}

}  // namespace shotfarm::jobs

namespace shotfarm::jobs {

int account_config::submit_rate() const {
    if (submits_per_minute > 0) {
        return submits_per_minute;
    }
    // MiniMax documents "Video Generation: 5 RPM" (PROVIDERS.md §4.7); the others publish no
    // number we could hold to, so a submit is limited only as a request.
    return provider == "minimax" ? std::min(5, requests_per_minute) : requests_per_minute;
}

double generation_prior_s(const app_config& config, std::string_view model) {
    for (const auto& [m, s] : config.generation_prior_s) {
        if (m == model) {
            return s;
        }
    }
    // Typical figures from the providers' pages (PROVIDERS.md §1.13, §2.11, §3.7): WaveSpeed's
    // "30–90 s" (02/2.3 standard), "20–50 s" (2.3 fast), "40–70 s" (2.3 pro); Atlas's "1–5
    // minutes" overall. A prior only places the first polls until real times are learned.
    if (model == "hailuo-2.3-fast") {
        return 40;
    }
    if (model == "hailuo-02-fast") {
        return 45;
    }
    if (model == "hailuo-2.3-pro" || model == "hailuo-02-pro") {
        return 70;
    }
    return 60;
}

}  // namespace shotfarm::jobs
