#include "jobs/config.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "net/url_policy.hpp"

namespace shotfarm::jobs {
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// YAML plumbing shared with the shot-list loader.

namespace detail {
namespace {

constexpr int max_depth = 64;
constexpr std::size_t max_events = 2'000'000;

struct guard_abort {};  // stops the pre-pass after a fatal finding (already recorded)

// Builds the loaders' tree straight from the parser's events, and (when `guard` is set) refuses
// what could hurt or mislead on the way. Aliases never expand here (each is one event), so an
// alias bomb or a cycle costs nothing; refusing them keeps the tree bounded by the file size.
// The items of the root map's list under `streamed_key` are counted, not kept; with `each`
// they are built one at a time and handed over instead (nothing else is built then).
class tree_builder final : public YAML::EventHandler {
public:
    tree_builder(
        yaml_reader& reader,
        bool guard,
        std::string_view streamed_key,
        const std::function<void(std::size_t, yaml_node)>* each
    )
        : reader_(reader), guard_(guard), streamed_key_(streamed_key), each_(each) {}

    std::unique_ptr<yaml_data> take_root() { return std::move(root_); }

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        node(mark, anchor, "", nullptr);
        leaf(mark, yaml_data::kind::null, true, nullptr);
    }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
        if (guard_) {
            reader_.error(mark, "", "YAML aliases (*name) are not supported; write the value out");
        }
        node(mark, 0, "", nullptr);
        leaf(mark, yaml_data::kind::null, true, nullptr);
    }
    void OnScalar(
        const YAML::Mark& mark,
        const std::string& tag,
        YAML::anchor_t anchor,
        const std::string& value
    ) override {
        node(mark, anchor, tag, &value);
        leaf(mark, yaml_data::kind::scalar, tag == "?", &value);
    }
    void OnSequenceStart(
        const YAML::Mark& mark,
        const std::string& tag,
        YAML::anchor_t anchor,
        YAML::EmitterStyle::value
    ) override {
        const bool streamed = pending_streamed_;
        node(mark, anchor, tag, nullptr);
        push(mark, false, streamed);
    }
    void OnSequenceEnd() override { pop(); }
    void OnMapStart(
        const YAML::Mark& mark,
        const std::string& tag,
        YAML::anchor_t anchor,
        YAML::EmitterStyle::value
    ) override {
        node(mark, anchor, tag, nullptr);
        push(mark, true, false);
    }
    void OnMapEnd() override { pop(); }

private:
    struct frame {
        yaml_data* built = nullptr;  // nullptr: this part of the document is not kept
        bool is_map = false;
        bool expect_key = true;
        bool streamed = false;            // the streamed list itself
        bool item_root = false;           // the streamed item being built (handed over at its end)
        std::map<std::string, int> keys;  // key -> 1-based line of its first use (guarding)
    };

    // Where the next node goes: a new child of the innermost kept node, the item being
    // streamed, or nowhere.
    yaml_data* place(const YAML::Mark& mark, yaml_data::kind k, bool plain, bool& item) {
        item = false;
        yaml_data* d = nullptr;
        if (frames_.empty()) {
            if (each_ != nullptr) {
                return nullptr;
            }
            root_ = std::make_unique<yaml_data>();
            d = root_.get();
        } else if (frames_.back().streamed) {
            if (each_ == nullptr) {
                if (frames_.back().built != nullptr) {
                    ++frames_.back().built->streamed;
                }
                return nullptr;
            }
            item_ = yaml_data{};
            d = &item_;
            item = true;
        } else if (frames_.back().built != nullptr) {
            d = &frames_.back().built->children.emplace_back();
        } else {
            return nullptr;
        }
        d->k = k;
        d->plain = plain;
        d->line = mark.line;
        d->col = mark.column;
        return d;
    }

    void leaf(const YAML::Mark& mark, yaml_data::kind k, bool plain, const std::string* value) {
        bool item = false;
        if (yaml_data* d = place(mark, k, plain, item)) {
            if (value != nullptr) {
                d->scalar = *value;
            }
            if (item) {
                hand_over();
            }
        }
    }

    void hand_over() {
        (*each_)(next_item_++, yaml_node(&item_));
        item_ = yaml_data{};
    }

    void push(const YAML::Mark& mark, bool is_map, bool streamed) {
        if (guard_ && frames_.size() >= max_depth) {
            reader_.error(mark, "", "nesting deeper than " + std::to_string(max_depth) + " levels");
            throw guard_abort{};
        }
        bool item = false;
        yaml_data* d =
            place(mark, is_map ? yaml_data::kind::map : yaml_data::kind::sequence, false, item);
        frames_.push_back(frame{d, is_map, true, streamed, item, {}});
    }

    void pop() {
        frame& f = frames_.back();
        const bool item = f.item_root;
        if (f.built != nullptr) {
            f.built->children.shrink_to_fit();
        }
        frames_.pop_back();
        if (item) {
            hand_over();
        }
    }

    void node(
        const YAML::Mark& mark,
        YAML::anchor_t anchor,
        const std::string& tag,
        const std::string* scalar
    ) {
        // A root-map value follows its key: the streamed list is the value of streamed_key.
        pending_streamed_ = false;
        if (guard_ && ++events_ > max_events) {
            reader_.error(mark, "", "too many YAML nodes");
            throw guard_abort{};
        }
        if (guard_ && anchor != 0) {
            reader_.error(mark, "", "YAML anchors (&name) are not supported; write the value out");
        }
        if (guard_ && !tag.empty() && tag != "?" && tag != "!") {
            reader_.error(mark, "", "YAML tags (" + reader_.quote(tag) + ") are not supported");
        }
        if (frames_.empty() || !frames_.back().is_map) {
            return;
        }
        frame& f = frames_.back();
        if (f.expect_key) {
            if (scalar == nullptr) {
                if (guard_) {
                    reader_.error(mark, "", "mapping keys must be plain strings");
                }
            } else {
                if (guard_) {
                    if (auto [it, inserted] = f.keys.emplace(*scalar, mark.line + 1); !inserted) {
                        reader_.error(
                            mark,
                            "",
                            "duplicate key " + reader_.quote(*scalar) + " (first at line " +
                                std::to_string(it->second) + ")"
                        );
                    }
                }
                pending_streamed_ =
                    frames_.size() == 1 && !streamed_key_.empty() && *scalar == streamed_key_;
            }
        }
        f.expect_key = !f.expect_key;
    }

    yaml_reader& reader_;
    bool guard_;
    std::string_view streamed_key_;
    const std::function<void(std::size_t, yaml_node)>* each_;
    std::vector<frame> frames_;
    std::unique_ptr<yaml_data> root_;
    yaml_data item_;
    std::size_t next_item_ = 0;
    bool pending_streamed_ = false;
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
scalar_kind classify(const yaml_node& n) {
    if (n.IsNull()) {
        return scalar_kind::null;
    }
    if (!n.IsPlain()) {
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

// A key name that says "I hold a secret": api_key, apikey, token, secret, password, ...
bool names_a_secret(std::string_view name) {
    std::string lower;
    for (char c : name) {
        lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    for (std::string_view word :
         {"key", "token", "secret", "password", "passwd", "auth", "bearer", "credential"}) {
        if (lower.find(word) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// Lower-case letters and underscores only: what every config key looks like, and what no API
// key does (they all carry digits or capitals).
bool plain_word(std::string_view s) {
    return !s.empty() && s.size() <= 40 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || c == '_';
    });
}

}  // namespace

std::string printable(std::string_view s, std::size_t max_chars) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    std::size_t chars = 0;
    for (std::size_t i = 0; i < s.size();) {
        if (chars == max_chars) {
            return out + "...";
        }
        ++chars;
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0 || c < 0x20 || c == 0x7f ||
            (n == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0)) {
            // A control character or a byte that is not UTF-8: escaped, never sent raw to a
            // terminal.
            for (std::size_t k = 0; k < std::max<std::size_t>(n, 1); ++k) {
                const auto b = static_cast<unsigned char>(s[i + k]);
                out += "\\x";
                out += hex[b >> 4];
                out += hex[b & 0xf];
            }
            i += std::max<std::size_t>(n, 1);
            continue;
        }
        out.append(s.substr(i, n));
        i += n;
    }
    return out;
}

std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < n; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;  // overlong, out of range or a surrogate
    }
    return n;
}

bool yaml_reader::shows(std::string_view s) const {
    return !redact_ || plain_word(s);
}

std::string yaml_reader::quote(std::string_view s) const {
    if (!shows(s)) {
        return "(not shown)";
    }
    return "'" + printable(s) + "'";
}

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

void yaml_reader::error(const yaml_node& at, std::string_view key, std::string_view message) {
    error(at.Mark(), key, message);
}

const std::string& yaml_node::Scalar() const {
    static const std::string none;
    return d_ != nullptr ? d_->scalar : none;
}

YAML::Mark yaml_node::Mark() const {
    if (d_ == nullptr) {
        return YAML::Mark::null_mark();
    }
    YAML::Mark m;
    m.line = d_->line;
    m.column = d_->col;
    return m;
}

std::size_t yaml_node::size() const {
    if (IsSequence()) {
        return d_->children.size() + d_->streamed;
    }
    return IsMap() ? d_->children.size() / 2 : 0;
}

yaml_node yaml_node::operator[](std::size_t i) const {
    if (!IsSequence() || i >= d_->children.size()) {
        return yaml_node{};
    }
    return yaml_node(&d_->children[i]);
}

yaml_node yaml_node::operator[](std::string_view key) const {
    if (!IsMap()) {
        return yaml_node{};
    }
    for (std::size_t i = 0; i + 1 < d_->children.size(); i += 2) {
        const auto& k = d_->children[i];
        if (k.k == yaml_data::kind::scalar && k.scalar == key) {
            return yaml_node(&d_->children[i + 1]);
        }
    }
    return yaml_node{};
}

yaml_node::iterator yaml_node::begin() const {
    return iterator(IsMap() ? d_->children.data() : nullptr);
}

yaml_node::iterator yaml_node::end() const {
    return iterator(IsMap() ? d_->children.data() + d_->children.size() / 2 * 2 : nullptr);
}

void yaml_reader::stream(const std::function<void(std::size_t, yaml_node)>& each) {
    if (streamed_key_.empty() || text_.empty()) {
        return;
    }
    try {
        std::istringstream in(text_);
        YAML::Parser parser(in);
        tree_builder builder(*this, false, streamed_key_, &each);
        parser.HandleNextDocument(builder);
    } catch (const YAML::Exception& e) {
        // load() parsed the same text: not expected.
        // yaml-cpp quotes the offending byte raw: escaped, so no ESC or NUL reaches a terminal.
        error(e.mark, "", "YAML syntax error: " + printable(e.msg));
    }
    std::string{}.swap(text_);
}

bool yaml_reader::load(
    const fs::path& path, std::uintmax_t max_bytes, std::string_view streamed_key
) {
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
        tree_builder builder(*this, true, streamed_key, nullptr);
        if (!parser.HandleNextDocument(builder)) {
            return fail("file is empty");
        }
        root_ = builder.take_root();
        // A second document would otherwise be silently ignored.
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
        // yaml-cpp quotes the offending byte raw: escaped, so no ESC or NUL reaches a terminal.
        error(e.mark, "", "YAML syntax error: " + printable(e.msg));
        return false;
    }
    if (errors_.size() != before || root_ == nullptr) {
        root_.reset();
        return false;
    }
    if (!streamed_key.empty()) {
        streamed_key_ = std::string{streamed_key};
        text_ = std::move(text);
    }
    return true;
}

std::string yaml_reader::describe(const yaml_node& n) {
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

std::optional<std::string> yaml_reader::string(const yaml_node& n, std::string_view key) {
    if (n.IsScalar() && classify(n) == scalar_kind::string) {
        return n.Scalar();
    }
    std::string message = "expected a string, got " + describe(n);
    if (n.IsScalar() && classify(n) != scalar_kind::null) {
        message += shows(n.Scalar()) ? " (quote it: \"" + printable(n.Scalar()) + "\")"
                                     : std::string{" (quote it)"};
    }
    error(n, key, message);
    return std::nullopt;
}

std::optional<std::int64_t> yaml_reader::integer(const yaml_node& n, std::string_view key) {
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
        error(n, key, "expected a decimal integer in range, got " + quote(n.Scalar()));
        return std::nullopt;
    }
    return v;
}

std::optional<double> yaml_reader::number(const yaml_node& n, std::string_view key) {
    const auto kind = n.IsScalar() ? classify(n) : scalar_kind::string;
    if (!n.IsScalar() || (kind != scalar_kind::integer && kind != scalar_kind::floating)) {
        error(n, key, "expected a number, got " + describe(n));
        return std::nullopt;
    }
    char* end = nullptr;
    const std::string& s = n.Scalar();
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || !std::isfinite(v)) {
        error(n, key, "expected a finite decimal number, got " + quote(s));
        return std::nullopt;
    }
    return v;
}

bool yaml_reader::is_map(const yaml_node& n, std::string_view key) {
    if (n.IsMap()) {
        return true;
    }
    error(n, key, "expected a mapping (key: value lines), got " + describe(n));
    return false;
}

bool yaml_reader::is_sequence(const yaml_node& n, std::string_view key) {
    if (n.IsSequence()) {
        return true;
    }
    error(n, key, "expected a list (- item lines), got " + describe(n));
    return false;
}

void yaml_reader::check_keys(
    const yaml_node& map,
    std::string_view key,
    const std::vector<std::string_view>& known,
    std::string_view secret_hint
) {
    for (const auto& kv : map) {
        const std::string& name = kv.first.Scalar();
        if (std::find(known.begin(), known.end(), name) != known.end()) {
            continue;
        }
        if (!secret_hint.empty() && names_a_secret(name)) {
            error(
                kv.first,
                shows(name) ? key_path(key, name) : std::string{key},
                "unknown key; " + std::string{secret_hint}
            );
            continue;
        }
        if (!shows(name)) {
            std::string message =
                "unknown key (its name is not shown: it could be a secret); known keys:";
            for (std::size_t i = 0; i < known.size(); ++i) {
                message += (i == 0 ? " " : ", ") + std::string{known[i]};
            }
            error(kv.first, key, message);
            continue;
        }
        std::string message = "unknown key " + quote(name);
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
using detail::yaml_node;
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

// An http(s) URL as the config may name it: parsed with Boost.URL, the host lower-cased (IPv6 in
// brackets), the port explicit.
struct http_url {
    std::string scheme;
    std::string host;
    std::uint16_t port = 0;
    std::string path;
    bool loopback = false;  // 127.0.0.0/8, ::1 or the name localhost
};

std::string lower_ascii(std::string s) {
    for (auto& c : s) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return s;
}

// Never quotes the URL in `why`: a key pasted in its place must not be echoed.
std::optional<http_url> parse_http_url(std::string_view text, std::string& why) {
    namespace urls = boost::urls;
    if (std::any_of(text.begin(), text.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u <= 0x20 || u >= 0x7f;
        })) {
        why = "must not contain spaces, control characters or non-ASCII characters";
        return std::nullopt;
    }
    const bool https = text.starts_with("https://");
    if (!https && !text.starts_with("http://")) {
        why = "must start with https:// (or http:// for a simulator on this machine)";
        return std::nullopt;
    }
    auto parsed = urls::parse_uri(text);
    if (!parsed) {
        why = "is not a valid URL";
        return std::nullopt;
    }
    const urls::url_view u = *parsed;
    if (u.has_userinfo()) {
        why =
            "must not contain a user name or password (user@host); keys go in api_key_env or "
            "api_key_file";
        return std::nullopt;
    }
    if (u.has_query() || u.has_fragment()) {
        why = "must not contain a query (?...) or a fragment (#...)";
        return std::nullopt;
    }
    http_url out;
    out.scheme = https ? "https" : "http";
    switch (u.host_type()) {
        case urls::host_type::ipv4: {
            const auto a = u.host_ipv4_address();
            out.host = a.to_string();
            out.loopback = (a.to_uint() >> 24) == 127;
            break;
        }
        case urls::host_type::ipv6: {
            const auto a = u.host_ipv6_address();
            out.host = "[" + lower_ascii(a.to_string()) + "]";
            out.loopback = a.is_loopback();
            break;
        }
        case urls::host_type::name: {
            const std::string_view name = u.encoded_host();
            if (name.find('%') != std::string_view::npos) {
                why = "must not percent-encode its host";
                return std::nullopt;
            }
            out.host = lower_ascii(std::string{name});
            if (!out.host.empty() && !net::valid_host_name(out.host)) {
                // The HTTP client would refuse it at every request: refused here, named.
                why = "has a host name with characters other than letters, digits, '-', '.', '_'";
                return std::nullopt;
            }
            out.loopback = out.host == "localhost";
            break;
        }
        default:
            break;
    }
    if (out.host.empty()) {
        why = "has no host";
        return std::nullopt;
    }
    out.port = https ? 443 : 80;
    if (u.has_port()) {
        const std::string_view port = u.port();
        unsigned value = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || value < 1 ||
            value > 65535) {
            why = "has a port that is not a number from 1 to 65535";
            return std::nullopt;
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    out.path = std::string{u.encoded_path()};
    // Boost.URL 1.81 reads "https://h:8x/p" as port "8" and path "x/p"; after an authority a
    // path must start with '/'.
    if (!out.path.empty() && out.path.front() != '/') {
        why = "has a port that is not a number from 1 to 65535";
        return std::nullopt;
    }
    return out;
}

// An https URL, or http:// only for a loopback host (where a simulator runs); no credentials,
// query or fragment; the trailing '/' dropped. `clear_risk` says what plain http would do.
std::optional<std::string> check_https_url(
    std::string url, std::string_view clear_risk, std::string& why
) {
    const auto parsed = parse_http_url(url, why);
    if (!parsed) {
        return std::nullopt;
    }
    if (parsed->scheme == "http" && !parsed->loopback) {
        why = "plain http:// would " + std::string{clear_risk} +
              "; use https:// (http:// is accepted only for a loopback host: 127.0.0.0/8, [::1] "
              "or localhost)";
        return std::nullopt;
    }
    while (url.ends_with('/')) {
        url.pop_back();
    }
    return url;
}

// A base URL: https://host[:port][/path] (anything else would send the API key in clear).
std::optional<std::string> check_base_url(std::string url, std::string& why) {
    return check_https_url(std::move(url), "send the API key in clear", why);
}

bool is_loopback_url(std::string_view url) {
    std::string why;
    const auto parsed = parse_http_url(url, why);
    return parsed && parsed->loopback;
}

// Where Atlas publishes the public keys its webhooks are signed with.
constexpr std::string_view atlas_jwks_path = "/api/v1/webhooks/jwks.json";

// A download host: scheme://host[:port] and nothing else, normalized with an explicit port.
std::optional<std::string> check_origin(std::string_view text, std::string& why) {
    auto parsed = parse_http_url(text, why);
    if (!parsed) {
        return std::nullopt;
    }
    if (!parsed->path.empty() && parsed->path != "/") {
        why = "must be an origin, scheme://host[:port], without a path";
        return std::nullopt;
    }
    return parsed->scheme + "://" + parsed->host + ":" + std::to_string(parsed->port);
}

class config_loader {
public:
    config_loader(const fs::path& file, diagnostics& errors, bool read_keys)
        : reader_(file.string(), errors), file_(file), read_keys_(read_keys) {
        reader_.redact_values(true);
    }

    std::optional<app_config> load() {
        if (!reader_.load(file_, max_config_bytes)) {
            return std::nullopt;
        }
        const auto root = reader_.root();
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
             "listen_max_connections",
             "public_url",
             "accounts",
             "max_attempts",
             "ambiguous",
             "ambiguous_policy",
             "shutdown_grace_s",
             "lease_ttl_s",
             "poll_interval_s",
             "max_poll_interval_s",
             "polls_per_job",
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
        if (auto n = root["listen_max_connections"]) {
            if (auto v = reader_.integer(n, "listen_max_connections")) {
                if (*v < 1 || *v > 4096) {
                    reader_.error(n, "listen_max_connections", "must be an integer from 1 to 4096");
                } else {
                    c.listen_max_connections = static_cast<int>(*v);
                }
            }
        }
        // Paths the database stores as text (the config file in `daemons`, output files in
        // `jobs`): PostgreSQL refuses what is not UTF-8, so refuse it here, once.
        if (auto why = text_problem(c.file.string(), false)) {
            reader_.error(
                YAML::Mark::null_mark(), "", "the config file's path " + *why + "; rename it"
            );
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
                    if (!cat.has_model(model)) {
                        std::string known;
                        for (const auto& m : cat.models()) {
                            known += (known.empty() ? "" : ", ") + m;
                        }
                        reader_.error(
                            kv.first, "generation_prior_s", "unknown model; known: " + known
                        );
                        continue;
                    }
                    const auto key = key_path("generation_prior_s", model);
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
        if (auto n = root["polls_per_job"]) {
            if (auto v = reader_.number(n, "polls_per_job")) {
                if (*v < 1 || *v > 100) {
                    reader_.error(n, "polls_per_job", "must be a number >= 1 and <= 100");
                } else {
                    c.polls_per_job = *v;
                }
            }
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
        if (auto n = root["public_url"]) {
            if (auto v = reader_.string(n, "public_url")) {
                std::string why;
                if (auto url = check_https_url(
                        *v, "let anyone on the way read and forge the providers' webhooks", why
                    )) {
                    c.public_url = *url;
                } else {
                    reader_.error(n, "public_url", why);
                }
            }
        }
        has_public_url_ = static_cast<bool>(root["public_url"]);
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
    std::optional<fs::path> directory(const yaml_node& n, std::string_view key) {
        auto v = reader_.string(n, key);
        if (!v) {
            return std::nullopt;
        }
        if (v->empty()) {
            reader_.error(n, key, "must not be empty");
            return std::nullopt;
        }
        auto path = resolve(base_, *v);
        // Output paths are stored in the database as text.
        if (auto why = text_problem(path.string(), false)) {
            reader_.error(n, key, "the path " + *why);
            return std::nullopt;
        }
        return path;
    }

    std::optional<double> money(const yaml_node& n, std::string_view key) {
        auto v = reader_.number(n, key);
        if (v && !(*v >= 0 && *v <= 1e9)) {
            reader_.error(n, key, "must be a number of US dollars >= 0");
            return std::nullopt;
        }
        return v;
    }

    std::optional<double> seconds(const yaml_node& n, std::string_view key) {
        auto v = reader_.number(n, key);
        if (v && (*v <= 0 || *v > 3600)) {
            reader_.error(n, key, "must be a number of seconds > 0 and <= 3600");
            return std::nullopt;
        }
        return v;
    }

    void database(const yaml_node& n, app_config& c) {
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

    // "IP:port": an IPv4 literal or a bracketed IPv6 one. No name is looked up: the daemon
    // binds what is written, and a name would fail only then.
    void listen(const yaml_node& n, app_config& c) {
        auto v = reader_.string(n, "listen");
        if (!v) {
            return;
        }
        const std::string& s = *v;
        const auto colon = s.rfind(':');
        std::string host = colon == std::string::npos ? "" : s.substr(0, colon);
        const std::string port = colon == std::string::npos ? "" : s.substr(colon + 1);
        unsigned value = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        const bool port_ok = !port.empty() && port.size() <= 5 && ec == std::errc{} &&
                             ptr == port.data() + port.size() && value <= 65535;
        bool ip_ok = false;
        const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
        if (bracketed) {
            host = host.substr(1, host.size() - 2);
            in6_addr a6{};
            ip_ok = ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
        } else {
            in_addr a4{};
            ip_ok = ::inet_pton(AF_INET, host.c_str(), &a4) == 1;
        }
        if (port_ok && !bracketed && lower_ascii(host) == "localhost") {
            reader_.error(
                n,
                "listen",
                "must be an IP address and port; names are not looked up: write \"127.0.0.1:" +
                    std::to_string(value) + "\" (or \"[::1]:" + std::to_string(value) + "\")"
            );
            return;
        }
        if (!ip_ok || !port_ok) {
            reader_.error(
                n,
                "listen",
                "must be \"IP:port\": an IPv4 address or a bracketed IPv6 one and a port from 0 "
                "to 65535 (e.g. \"127.0.0.1:9464\", \"[::1]:0\"); names are not looked up"
            );
            return;
        }
        c.listen_host = host;
        c.listen_port = static_cast<std::uint16_t>(value);
    }

    void accounts(const yaml_node& n, app_config& c) {
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
                        "duplicate account name (first at line " + std::to_string(it->second) + ")"
                    );
                }
                c.accounts.push_back(std::move(*a));
            }
        }
    }

    std::optional<account_config> account(const yaml_node& n, const std::string& path) {
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
             "budget_usd_per_day",
             "download_hosts",
             "webhooks",
             "webhook_secret_env",
             "webhook_secret_file",
             "webhook_jwks_url"},
            "put the key in an environment variable named by api_key_env or a 0600 file named "
            "by api_key_file (a WaveSpeed webhook secret: webhook_secret_env or "
            "webhook_secret_file)"
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
                    n["provider"], key_path(path, "provider"), "unknown provider; known: " + known
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
        if (auto f = n["download_hosts"]) {
            download_hosts(f, key_path(path, "download_hosts"), a);
        }
        webhook_settings(n, path, a);
        api_key(n, path, a);
        if (reader_.errors().size() != before) {
            return std::nullopt;
        }
        return a;
    }

    void download_hosts(const yaml_node& n, const std::string& key, account_config& a) {
        if (!reader_.is_sequence(n, key)) {
            return;
        }
        for (std::size_t i = 0; i < n.size(); ++i) {
            const auto item_key = key + "[" + std::to_string(i) + "]";
            auto v = reader_.string(n[i], item_key);
            if (!v) {
                continue;
            }
            std::string why;
            if (auto origin = check_origin(*v, why)) {
                if (std::find(a.download_hosts.begin(), a.download_hosts.end(), *origin) ==
                    a.download_hosts.end()) {
                    a.download_hosts.push_back(std::move(*origin));
                }
            } else {
                reader_.error(
                    n[i], item_key, why + " (write it as https://host or http://host:port)"
                );
            }
        }
    }

    std::optional<std::string> required_string(
        const yaml_node& map, const std::string& path, const char* field
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
    void api_key(const yaml_node& n, const std::string& path, account_config& a) {
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
        read_secret(env, file, path, "api_key", "key", a.api_key, a.api_key_source);
    }

    // `webhooks`, and what the account's provider needs to verify them: WaveSpeed's secret,
    // Atlas's JWKS URL. Only the provider that uses a key may set it.
    void webhook_settings(const yaml_node& n, const std::string& path, account_config& a) {
        if (auto f = n["webhooks"]) {
            const auto key = key_path(path, "webhooks");
            if (auto v = boolean(f, key)) {
                a.webhooks = *v;
                if (a.webhooks && a.provider == "aimlapi") {
                    reader_.error(
                        f,
                        key,
                        "AI/ML API sends no webhooks; remove 'webhooks' (its jobs are polled)"
                    );
                } else if (a.webhooks && !has_public_url_) {
                    reader_.error(
                        f,
                        key,
                        "needs the top-level 'public_url': the https URL where the providers "
                        "reach this daemon (through the reverse proxy)"
                    );
                }
            }
        }
        const auto env = n["webhook_secret_env"];
        const auto file = n["webhook_secret_file"];
        if (env || file) {
            if (a.provider != "wavespeed") {
                reader_.error(
                    env ? env : file,
                    key_path(path, env ? "webhook_secret_env" : "webhook_secret_file"),
                    "only a WaveSpeed account has a webhook secret (Atlas's are verified by its "
                    "public keys, MiniMax's are not signed)"
                );
            } else if (env && file) {
                reader_.error(
                    file, path, "set exactly one of 'webhook_secret_env' or 'webhook_secret_file'"
                );
            } else if (read_keys_) {
                read_secret(
                    env,
                    file,
                    path,
                    "webhook_secret",
                    "secret",
                    a.webhook_secret,
                    a.webhook_secret_source
                );
            }
        } else if (a.webhooks && a.provider == "wavespeed") {
            reader_.error(
                n["webhooks"],
                key_path(path, "webhooks"),
                "a WaveSpeed account with webhooks needs 'webhook_secret_env' or "
                "'webhook_secret_file' (the secret WaveSpeed shows at GET /api/v3/webhook/secret)"
            );
        }
        if (a.provider == "atlas") {
            a.webhook_jwks_url = is_loopback_url(a.base_url)
                                     ? a.base_url + std::string{atlas_jwks_path}
                                     : "https://api.atlascloud.ai" + std::string{atlas_jwks_path};
        }
        if (auto u = n["webhook_jwks_url"]) {
            const auto key = key_path(path, "webhook_jwks_url");
            if (a.provider != "atlas") {
                reader_.error(u, key, "only an Atlas account has a JWKS URL");
            } else if (auto v = reader_.string(u, key)) {
                std::string why;
                if (auto url = check_https_url(
                        *v, "let anyone on the way replace Atlas's webhook signing keys", why
                    )) {
                    a.webhook_jwks_url = *url;
                } else {
                    reader_.error(u, key, why);
                }
            }
        }
    }

    // true or false (YAML 1.2's spellings; yes/no/on/off are refused as ambiguous).
    std::optional<bool> boolean(const yaml_node& n, std::string_view key) {
        if (n.IsScalar() && n.IsPlain()) {
            const std::string& v = n.Scalar();
            if (v == "true" || v == "True" || v == "TRUE") {
                return true;
            }
            if (v == "false" || v == "False" || v == "FALSE") {
                return false;
            }
        }
        reader_.error(n, key, "must be true or false");
        return std::nullopt;
    }

    // Reads the secret named by `<prefix>_env` or `<prefix>_file` (exactly one is given) into
    // value/source. Never puts the secret, or the name it was given under, into a diagnostic.
    void read_secret(
        const yaml_node& env,
        const yaml_node& file,
        const std::string& path,
        std::string_view prefix,
        std::string_view noun,
        std::string& value,
        std::string& source
    ) {
        const std::string what{noun};
        if (env) {
            const auto key = key_path(path, std::string{prefix} + "_env");
            auto name = reader_.string(env, key);
            if (!name) {
                return;
            }
            // The name is never repeated: a secret pasted in its place would be printed.
            if (!is_env_name(*name)) {
                reader_.error(
                    env,
                    key,
                    "is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*); give the name "
                    "of the variable that holds the " +
                        what + ", not the " + what
                );
                return;
            }
            const char* text = std::getenv(name->c_str());
            if (text == nullptr || *text == '\0') {
                reader_.error(env, key, "the environment variable it names is not set or empty");
                return;
            }
            if (!is_clean_secret(text)) {
                reader_.error(
                    env,
                    key,
                    "the environment variable it names contains spaces or control characters"
                );
                return;
            }
            value = text;
            source = "env " + *name;
            return;
        }
        const auto key = key_path(path, std::string{prefix} + "_file");
        auto name = reader_.string(file, key);
        if (!name) {
            return;
        }
        const std::string it_names = "the " + what + " file it names";
        const fs::path p = resolve(base_, *name);
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) {
            reader_.error(
                file,
                key,
                it_names +
                    " does not exist (a relative path resolves against the config file's folder)"
            );
            return;
        }
        if (!S_ISREG(st.st_mode)) {
            reader_.error(file, key, it_names + " is not a regular file");
            return;
        }
        if ((st.st_mode & 077) != 0) {
            char mode[8];
            std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
            reader_.error(
                file,
                key,
                it_names + " has mode " + mode +
                    "; it must not be accessible by group or others (chmod 600)"
            );
            return;
        }
        if (st.st_uid != ::geteuid()) {
            reader_.error(file, key, it_names + " is not owned by the user running shotfarm");
            return;
        }
        if (static_cast<std::uintmax_t>(st.st_size) > max_key_file_bytes) {
            reader_.error(file, key, it_names + " is too large to be a " + what);
            return;
        }
        std::ifstream in(p, std::ios::binary);
        std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.good() && !in.eof()) {
            reader_.error(file, key, "cannot read " + it_names);
            return;
        }
        while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
            secret.pop_back();
        }
        if (secret.empty()) {
            reader_.error(file, key, it_names + " is empty");
            return;
        }
        if (!is_clean_secret(secret)) {
            reader_.error(file, key, it_names + " contains spaces or control characters");
            return;
        }
        value = std::move(secret);
        source = "file " + p.string();
    }

    // prices: {"<provider>/<provider model>": usd} or {"<provider>/<provider model>": {6s: usd}}
    void prices(const yaml_node& n, app_config& c) {
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
                // The key path leaves the unknown name out (a pasted key must not be echoed);
                // the hints name only catalog keys.
                reader_.error(
                    kv.first,
                    "prices",
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
                            per.first, key, "expected a duration this model renders, like '6s'"
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

    std::optional<double> price(const yaml_node& n, const std::string& key) {
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
    bool has_public_url_ = false;  // the config names a public_url (valid or not)
};

}  // namespace

std::optional<std::string> text_problem(std::string_view s, bool multiline) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < s.size();) {
        ++chars;
        const std::size_t n = detail::utf8_sequence(s, i);
        const auto at = " (at character " + std::to_string(chars) + ")";
        if (n == 0) {
            return "is not valid UTF-8 (at byte " + std::to_string(i + 1) + ")";
        }
        const auto c = static_cast<unsigned char>(s[i]);
        std::uint32_t cp = 0x110000;  // none
        if (n == 1) {
            cp = c;
        } else if (n == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) {
            cp = static_cast<unsigned char>(s[i + 1]);  // C1: U+0080..U+009F
        }
        if (cp == 0) {
            return "contains a NUL character" + at;
        }
        const bool control = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
        const bool allowed = multiline && (cp == '\t' || cp == '\n' || cp == '\r');
        if (control && !allowed) {
            char code[8];
            std::snprintf(code, sizeof code, "%04X", static_cast<unsigned>(cp));
            return std::string{"contains the control character U+"} + code + at;
        }
        i += n;
    }
    return std::nullopt;
}

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

std::optional<std::string> webhook_url(const app_config& config, const account_config& account) {
    if (!account.webhooks || !config.public_url) {
        return std::nullopt;
    }
    return *config.public_url + account.webhook_path();
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
    // MiniMax documents "Video Generation: 5 RPM"
    // (https://platform.minimax.io/docs/guides/rate-limits); the others publish no number we
    // could hold to, so a submit is limited only as a request.
    return provider == "minimax" ? std::min(5, requests_per_minute) : requests_per_minute;
}

double generation_prior_s(const app_config& config, std::string_view model) {
    for (const auto& [m, s] : config.generation_prior_s) {
        if (m == model) {
            return s;
        }
    }
    // Typical figures the providers publish (each with its source in docs/simulator.md, "Default
    // generation times"): WaveSpeed's "30–90 s" (02/2.3 standard), "20–50 s" (2.3 fast), "40–70 s"
    // (2.3 pro); Atlas's "1–5 minutes" overall. A prior only places the first polls until real
    // times are learned.
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
