#include "jobs/shotlist.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include <boost/json.hpp>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include "jobs/image_probe.hpp"
#include "providers/catalog.hpp"

namespace shotfarm::jobs {
namespace fs = std::filesystem;
using detail::key_path;
using detail::yaml_node;
using detail::yaml_reader;
using providers::mode;

namespace {

std::string sha256_hex(std::string_view bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed");
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 0xf];
    }
    return out;
}

// Code points in valid UTF-8, or nullopt if `s` is not valid UTF-8.
std::optional<std::size_t> utf8_length(std::string_view s) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < s.size(); ++count) {
        const std::size_t n = detail::utf8_sequence(s, i);
        if (n == 0) {
            return std::nullopt;
        }
        i += n;
    }
    return count;
}

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) {
        return {};
    }
    const auto e = s.find_last_not_of(" \t\r\n");
    return std::string{s.substr(b, e - b + 1)};
}

std::string lower(std::string s) {
    for (auto& c : s) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return s;
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : ", ") + s;
    }
    return out;
}

// One field as written, in a shot or in `defaults`.
struct field {
    bool present = false;  // the key is there
    bool bad = false;      // it was there but wrong (already reported)
    bool null = false;     // written as null: "unset" (only for optional fields)
    std::string text;
    std::int64_t number = 0;
    yaml_node node;
    std::string key;  // key path where it was written, e.g. "shots[3].duration"

    bool usable() const { return present && !bad && !null; }
};

struct fields {
    field id, prompt, image, model, duration, resolution, takes, provider, account, priority;
    yaml_node map;
    std::string key;
};

const std::vector<std::string_view> shot_keys{
    "id",
    "prompt",
    "image",
    "model",
    "duration",
    "resolution",
    "takes",
    "provider",
    "account",
    "priority"};

// The fields a shot ends up with (its own, or inherited from `defaults`).
struct picked {
    const field* model;
    const field* duration;
    const field* resolution;
    const field* prompt;
    const field* image;
    const field* provider;
    const field* account;
};

struct image_check {
    std::vector<std::string> problems;
    bool webp = false;  // acceptable only for a shot pinned to MiniMax (see make_shot)
    std::string sha256;
    fs::path path;
};

class shotlist_loader {
public:
    shotlist_loader(const fs::path& file, const app_config* config, diagnostics& errors)
        : reader_(file.string(), errors), file_(file), config_(config) {}

    std::optional<shot_list> load() {
        // The shots are streamed: one shot's YAML at a time, never the whole list's.
        if (!reader_.load(file_, max_shotlist_bytes, "shots")) {
            return std::nullopt;
        }
        const auto root = reader_.root();
        if (!reader_.is_map(root, "")) {
            return std::nullopt;
        }
        reader_.check_keys(root, "", {"project", "priority", "budget_usd", "defaults", "shots"});
        shot_list list;
        std::error_code ec;
        list.file = fs::absolute(file_, ec).lexically_normal();
        base_ = list.file.parent_path();

        // The database stores the list's path (batches and shots.source_file) as text.
        if (auto why = text_problem(list.file.string(), false)) {
            reader_.error(
                YAML::Mark::null_mark(), "", "the shot list's path " + *why + "; rename it"
            );
        }
        if (auto n = root["project"]) {
            if (auto v = reader_.string(n, "project")) {
                if (auto why = text_problem(*v, false)) {
                    reader_.error(n, "project", *why);
                } else if (!is_valid_id(*v, 128)) {
                    reader_.error(n, "project", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
                }
                list.project = *v;
            }
        } else {
            reader_.error(root, "", "missing required key 'project'");
        }

        if (auto n = root["priority"]) {
            if (auto v = reader_.integer(n, "priority")) {
                if (*v < -1'000'000'000 || *v > 1'000'000'000) {
                    reader_.error(
                        n, "priority", "must be an integer from -1000000000 to 1000000000"
                    );
                } else {
                    list.priority = static_cast<int>(*v);
                    batch_priority_ = list.priority;
                }
            }
        }
        if (auto n = root["budget_usd"]) {
            if (auto v = reader_.number(n, "budget_usd")) {
                if (!(*v >= 0 && *v <= 1e9)) {
                    reader_.error(n, "budget_usd", "must be a number of US dollars >= 0");
                } else {
                    list.budget_usd = *v;
                }
            }
        }

        fields defaults;
        if (auto n = root["defaults"]) {
            if (reader_.is_map(n, "defaults")) {
                reader_.check_keys(n, "defaults", shot_keys);
                for (const auto& kv : n) {
                    if (kv.first.Scalar() == "id") {
                        reader_.error(kv.first, "defaults", "'id' cannot have a default");
                    }
                }
                std::vector<std::string_view> known(shot_keys.begin() + 1, shot_keys.end());
                defaults = read_fields(n, "defaults", known);
            }
        }

        const auto shots = root["shots"];
        if (!shots) {
            reader_.error(root, "", "missing required key 'shots'");
        } else if (reader_.is_sequence(shots, "shots")) {
            if (shots.size() == 0) {
                reader_.error(shots, "shots", "must list at least one shot");
            }
            project_ = list.project;
            std::map<std::string, int> ids;  // id -> line of first use
            list.shots.reserve(shots.size());
            reader_.stream([&](std::size_t i, yaml_node n) {
                const std::string path = "shots[" + std::to_string(i) + "]";
                if (!reader_.is_map(n, path)) {
                    return;
                }
                reader_.check_keys(n, path, shot_keys);
                auto own = read_fields(n, path, shot_keys);
                if (own.id.usable()) {
                    auto [it, inserted] = ids.emplace(own.id.text, n.Mark().line + 1);
                    if (!inserted) {
                        reader_.error(
                            own.id.node,
                            own.id.key,
                            "duplicate shot id '" + own.id.text + "' (first at line " +
                                std::to_string(it->second) + ")"
                        );
                    }
                }
                if (auto s = make_shot(own, defaults)) {
                    list.shots.push_back(std::move(*s));
                }
            });
        }
        if (!reader_.errors().empty()) {
            return std::nullopt;
        }
        return list;
    }

private:
    // Type-level checks of one map's fields (a shot or `defaults`); each problem reported once.
    fields read_fields(
        const yaml_node& map, const std::string& path, const std::vector<std::string_view>& known
    ) {
        fields f;
        f.map = map;
        f.key = path;
        auto has = [&](std::string_view k) {
            return std::find(known.begin(), known.end(), k) != known.end();
        };
        auto get = [&](field& fd, const char* name, bool is_int, bool nullable) {
            if (!has(name)) {
                return;
            }
            const auto n = map[name];
            if (!n) {
                return;
            }
            fd.present = true;
            fd.node = n;
            fd.key = key_path(path, name);
            if (nullable && n.IsNull()) {
                fd.null = true;
                return;
            }
            if (is_int) {
                auto v = reader_.integer(n, fd.key);
                fd.bad = !v;
                fd.number = v.value_or(0);
            } else {
                auto v = reader_.string(n, fd.key);
                fd.bad = !v;
                fd.text = v.value_or("");
                // Every string goes to the database (a UTF8 text or jsonb value), and the
                // prompt to a provider: refuse here what either would refuse later.
                if (v) {
                    if (auto why = text_problem(fd.text, std::string_view{name} == "prompt")) {
                        reader_.error(n, fd.key, *why);
                        fd.bad = true;
                    }
                }
            }
        };
        get(f.id, "id", false, false);
        get(f.prompt, "prompt", false, false);
        get(f.image, "image", false, true);
        get(f.model, "model", false, false);
        get(f.duration, "duration", true, false);
        get(f.resolution, "resolution", false, true);
        get(f.takes, "takes", true, false);
        get(f.provider, "provider", false, true);
        f.provider.text = providers::canonical_provider(f.provider.text);
        get(f.account, "account", false, true);
        get(f.priority, "priority", true, false);

        auto bad = [&](field& fd, const std::string& message) {
            reader_.error(fd.node, fd.key, message);
            fd.bad = true;
        };
        if (f.id.usable() && !is_valid_id(f.id.text, 128)) {
            bad(f.id, "shot id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
        }
        if (f.prompt.usable()) {
            f.prompt.text = trim(f.prompt.text);
            const auto length = utf8_length(f.prompt.text);
            if (!length) {
                bad(f.prompt, "prompt is not valid UTF-8");
            } else if (*length > providers::catalog::max_prompt_chars) {
                bad(f.prompt,
                    "prompt is " + std::to_string(*length) + " characters; the limit is " +
                        std::to_string(providers::catalog::max_prompt_chars));
            }
        }
        if (f.image.usable()) {
            const auto& s = f.image.text;
            if (s.empty()) {
                bad(f.image, "must not be empty (use null for no image)");
            } else if (lower(s).starts_with("http://")) {
                bad(f.image, "plain http:// image URLs are refused; use https:// or a local file");
            } else if (lower(s).starts_with("https://")) {
                const auto host = std::string_view{s}.substr(8, s.find('/', 8) - 8);
                if (host.empty() || s.find_first_of(" \t\r\n") != std::string::npos) {
                    bad(f.image, "not a valid https:// URL");
                }
            } else if (s.find("://") != std::string::npos || lower(s).starts_with("data:")) {
                bad(f.image, "use a local file path or an https:// URL");
            }
        }
        if (f.model.usable() && !providers::catalog::builtin().has_model(f.model.text)) {
            bad(f.model, providers::catalog::builtin().why_not(f.model.text, mode::t2v, 6));
        }
        if (f.duration.usable() && (f.duration.number < 1 || f.duration.number > 600)) {
            bad(f.duration, "must be a number of seconds (6 or 10 for most models)");
        }
        if (f.resolution.usable() && f.resolution.text != "512p" && f.resolution.text != "768p" &&
            f.resolution.text != "1080p") {
            bad(f.resolution, "must be one of 512p, 768p, 1080p");
        }
        if (f.takes.usable() && (f.takes.number < 1 || f.takes.number > max_takes)) {
            bad(f.takes, "must be an integer from 1 to " + std::to_string(max_takes));
        }
        if (f.provider.usable() && !providers::catalog::builtin().has_provider(f.provider.text)) {
            bad(f.provider,
                "unknown provider " + reader_.quote(f.provider.text) +
                    "; known: " + join(providers::catalog::builtin().providers()));
        }
        if (f.account.usable()) {
            if (!is_valid_id(f.account.text, 64)) {
                bad(f.account, "must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}");
            } else if (config_ != nullptr && find_account(f.account.text) == nullptr) {
                std::vector<std::string> names;
                for (const auto& a : config_->accounts) {
                    names.push_back(a.name);
                }
                bad(f.account,
                    "unknown account " + reader_.quote(f.account.text) +
                        "; configured: " + join(names));
            }
        }
        if (f.priority.usable() &&
            (f.priority.number < -1'000'000'000 || f.priority.number > 1'000'000'000)) {
            bad(f.priority, "must be an integer from -1000000000 to 1000000000");
        }
        return f;
    }

    const account_config* find_account(const std::string& name) const {
        for (const auto& a : config_->accounts) {
            if (a.name == name) {
                return &a;
            }
        }
        return nullptr;
    }

    // Where to point at for a problem with a field the shot may have inherited.
    void report(const field& f, const fields& own, const std::string& message) {
        if (f.present) {
            reader_.error(f.node, f.key, message);
        } else {
            reader_.error(own.map, own.key, message);
        }
    }

    std::optional<shot> make_shot(const fields& own, const fields& defaults) {
        const std::size_t before = reader_.errors().size();
        auto pick = [](const field& mine, const field& fallback) -> const field& {
            return mine.present ? mine : fallback;
        };
        shot s;
        s.line = own.map.Mark().line + 1;
        s.col = own.map.Mark().column + 1;

        if (!own.id.present) {
            reader_.error(own.map, own.key, "missing required key 'id'");
        }
        s.id = own.id.text;
        const field& prompt = pick(own.prompt, defaults.prompt);
        const field& image = pick(own.image, defaults.image);
        const field& model = pick(own.model, defaults.model);
        const field& duration = pick(own.duration, defaults.duration);
        const field& resolution = pick(own.resolution, defaults.resolution);
        const field& takes = pick(own.takes, defaults.takes);
        const field& provider = pick(own.provider, defaults.provider);
        const field& account = pick(own.account, defaults.account);
        const field& priority = pick(own.priority, defaults.priority);

        if (prompt.usable()) {
            s.prompt = prompt.text;
        }
        if (model.usable()) {
            s.model = model.text;
        }
        if (duration.usable()) {
            s.duration = static_cast<int>(duration.number);
        }
        if (takes.usable()) {
            s.takes = static_cast<int>(takes.number);
        }
        s.priority = priority.usable() ? static_cast<int>(priority.number) : batch_priority_;
        if (provider.usable()) {
            s.provider = provider.text;
        }
        if (account.usable()) {
            s.account = account.text;
        }
        if (resolution.usable()) {
            s.resolution = resolution.text;
        }
        const bool poisoned = prompt.bad || image.bad || model.bad || duration.bad ||
                              resolution.bad || takes.bad || provider.bad || account.bad ||
                              priority.bad;

        std::string image_identity = "null";
        const image_check* local_image = nullptr;
        if (image.usable()) {
            s.image = image.text;
            if (lower(image.text).starts_with("https://")) {
                image_identity = "url:" + image.text;
            } else {
                const auto& check = check_image(image.text);
                for (const auto& p : check.problems) {
                    report(image, own, p);
                }
                s.image_path = check.path;
                image_identity = "sha256:" + check.sha256;
                local_image = &check;
            }
        }
        const mode m = image.usable() || image.bad ? mode::i2v : mode::t2v;

        // Which provider(s) may take it: the pinned provider, the pinned account's provider.
        std::string provider_filter = s.provider.value_or("");
        if (s.account && config_ != nullptr) {
            if (const auto* a = find_account(*s.account)) {
                if (s.provider && *s.provider != a->provider) {
                    report(
                        account,
                        own,
                        "account '" + a->name + "' is a " + a->provider +
                            " account, but the shot pins provider '" + *s.provider + "'"
                    );
                    return std::nullopt;
                }
                provider_filter = a->provider;
            }
        }
        // WebP only where every provider that could get the shot takes it: MiniMax alone does
        // (https://platform.minimax.io/docs/api-reference/video-generation-fl2v lists "JPG, JPEG,
        // PNG, WebP"; Atlas, WaveSpeed and AI/ML API take JPG/PNG). Without a config an
        // account pin's provider is unknown; the check is made again with the config.
        const bool pin_unknown = s.account && config_ == nullptr && !s.provider;
        if (local_image != nullptr && local_image->webp && provider_filter != "minimax" &&
            !pin_unknown) {
            report(
                image,
                own,
                "image " + local_image->path.string() +
                    " is WebP, which only MiniMax accepts; pin the shot to provider: minimax (or "
                    "a minimax account), or convert the image to JPG or PNG"
            );
        }
        if (!model.bad && !duration.bad && !provider.bad && !account.bad && !image.bad) {
            check_offers(
                s,
                m,
                provider_filter,
                own,
                {&model, &duration, &resolution, &prompt, &image, &provider, &account}
            );
        }

        if (reader_.errors().size() != before || poisoned) {
            return std::nullopt;
        }
        s.spec_hash = spec_hash(s, image_identity);
        return s;
    }

    void check_offers(
        shot& s, mode m, const std::string& provider_filter, const fields& own, const picked& f
    ) {
        const field& model = *f.model;
        const field& duration = *f.duration;
        const field& resolution = *f.resolution;
        const field& prompt = *f.prompt;
        const field& image = *f.image;
        const field& provider = *f.provider;
        const field& account = *f.account;
        const auto& cat = providers::catalog::builtin();
        auto offers = cat.find(s.model, m, s.duration, provider_filter);
        if (offers.empty()) {
            const std::string why = cat.why_not(s.model, m, s.duration, provider_filter);
            auto served = [&](bool same_mode) {
                return std::any_of(cat.all().begin(), cat.all().end(), [&](const auto& o) {
                    return o.model == s.model && (!same_mode || o.m == m) &&
                           (provider_filter.empty() || o.provider == provider_filter);
                });
            };
            if (!served(false)) {
                report(account.present && !provider.present ? account : provider, own, why);
            } else if (!served(true)) {
                report(model.present || !image.present ? model : image, own, why);
            } else {
                report(duration.present || !model.present ? duration : model, own, why);
            }
            return;
        }
        if (config_ != nullptr) {
            const bool served = std::any_of(offers.begin(), offers.end(), [&](const auto& o) {
                return configured_provider(o.provider);
            });
            if (!served) {
                std::set<std::string> by;
                for (const auto& o : offers) {
                    by.insert(o.provider);
                }
                std::set<std::string> configured;
                for (const auto& a : config_->accounts) {
                    configured.insert(a.provider);
                }
                // Pinned to a provider no account is on: point at the pin.
                report(
                    s.provider ? provider : model,
                    own,
                    "no configured account serves " + s.model + " " +
                        std::string{providers::to_string(m)} + " " + std::to_string(s.duration) +
                        " s: it is served by " +
                        join(std::vector<std::string>(by.begin(), by.end())) +
                        "; the config has accounts on " +
                        join(std::vector<std::string>(configured.begin(), configured.end()))
                );
                return;
            }
        }
        const std::string& rendered = offers.front().resolution;
        if (s.resolution && *s.resolution != rendered) {
            report(
                resolution,
                own,
                s.model + " renders " + rendered + ", not " + *s.resolution +
                    " (the tier sets the resolution)"
            );
        }
        s.resolution = rendered;
        // An empty prompt: with a config, refused when any offer a configured account could
        // get requires one (the scheduler may pick it); without one, when every offer does.
        if (s.prompt.empty() && !prompt.bad) {
            std::vector<std::string> need;
            std::vector<std::string> take;
            for (const auto& o : offers) {
                if (config_ == nullptr || configured_provider(o.provider)) {
                    (o.prompt_required ? need : take).push_back(o.provider);
                }
            }
            const std::string what = s.model + " " + std::string{providers::to_string(m)};
            if (!need.empty() && (config_ != nullptr || take.empty())) {
                const std::string where =
                    take.empty()
                        ? ""
                        : " on " + join(need) + ", which a configured account could get" +
                              " (pin provider or account to " + join(take) + " to leave it empty)";
                report(
                    prompt,
                    own,
                    prompt.present
                        ? "prompt must not be empty for " + what + where
                        : "missing required key 'prompt' (" + what + " needs one" + where + ")"
                );
            }
        }
    }

    bool configured_provider(const std::string& provider) const {
        return std::any_of(config_->accounts.begin(), config_->accounts.end(), [&](const auto& a) {
            return a.provider == provider;
        });
    }

    const image_check& check_image(const std::string& written) {
        fs::path p{written};
        if (p.is_relative()) {
            p = base_ / p;
        }
        p = p.lexically_normal();
        auto [it, inserted] = images_.try_emplace(p.string());
        image_check& c = it->second;
        if (!inserted) {
            return c;
        }
        c.path = p;
        std::error_code ec;
        const auto status = fs::status(p, ec);
        if (ec || !fs::exists(status)) {
            c.problems.push_back("image file not found: " + p.string());
            return c;
        }
        if (!fs::is_regular_file(status)) {
            c.problems.push_back("image " + p.string() + " is not a regular file");
            return c;
        }
        const auto size = fs::file_size(p, ec);
        if (ec) {
            c.problems.push_back("cannot read image " + p.string() + ": " + ec.message());
            return c;
        }
        if (size > max_image_bytes) {
            c.problems.push_back(
                "image is " + std::to_string(size) + " bytes; the limit is 20 MB (20000000 bytes)"
            );
            return c;
        }
        std::ifstream in(p, std::ios::binary);
        std::string bytes(static_cast<std::size_t>(size), '\0');
        if (!in || !in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
            c.problems.push_back("cannot read image " + p.string());
            return c;
        }
        const auto info = probe_image(bytes);
        if (!info) {
            c.problems.push_back(
                "image " + p.string() + " is not a JPG or PNG image (by its content)"
            );
            return c;
        }
        if (auto cut = truncation(bytes, info->format)) {
            c.problems.push_back(
                "image " + p.string() + " is truncated (" + *cut + "); export it again"
            );
            return c;
        }
        c.webp = info->format == image_format::webp;
        const std::string ext = lower(p.extension().string());
        const bool ext_ok = info->format == image_format::png ? ext == ".png"
                            : info->format == image_format::webp
                                ? ext == ".webp"
                                : (ext == ".jpg" || ext == ".jpeg");
        if (!ext_ok) {
            c.problems.push_back(
                "image " + p.string() + " is " + std::string{to_string(info->format)} +
                " by its content but named '" +
                (ext.empty() ? std::string{"(no extension)"} : ext) + "'; rename it to ." +
                (info->format == image_format::png    ? "png"
                 : info->format == image_format::webp ? "webp"
                                                      : "jpg")
            );
        }
        const std::uint64_t w = info->width;
        const std::uint64_t h = info->height;
        const std::string size_text = std::to_string(w) + "x" + std::to_string(h);
        if (!(5 * w > 2 * h && 2 * w < 5 * h)) {
            c.problems.push_back(
                "image is " + size_text + "; its aspect ratio must be between 2:5 and 5:2"
            );
        }
        if (std::min(w, h) < min_image_short_side) {
            c.problems.push_back(
                "image is " + size_text + "; its short side must be more than 300 px"
            );
        }
        c.sha256 = sha256_hex(bytes);
        return c;
    }

    std::string spec_hash(const shot& s, const std::string& image_identity) const {
        boost::json::object o;
        o["v"] = 1;
        o["project"] = project_;
        o["id"] = s.id;
        o["prompt"] = s.prompt;
        o["image"] = image_identity;
        o["model"] = s.model;
        o["duration"] = s.duration;
        o["resolution"] = s.resolution.value_or("");
        o["takes"] = s.takes;
        o["provider"] = s.provider ? boost::json::value(*s.provider) : boost::json::value(nullptr);
        o["account"] = s.account ? boost::json::value(*s.account) : boost::json::value(nullptr);
        return sha256_hex(boost::json::serialize(o));
    }

    yaml_reader reader_;
    fs::path file_;
    fs::path base_;
    const app_config* config_;
    std::string project_;
    int batch_priority_ = 0;
    std::map<std::string, image_check> images_;
};

}  // namespace

namespace {

std::string refusal_reason(std::string_view sqlstate) {
    if (sqlstate == "22021" || sqlstate == "22P05") {
        return "text it cannot store: a NUL character or bytes that are not UTF-8";
    }
    if (sqlstate == "22P02" || sqlstate == "22P04") {
        return "a value it could not read";
    }
    if (sqlstate == "22001") {
        return "a value too long for its column";
    }
    if (sqlstate == "22003") {
        return "a number out of range";
    }
    if (sqlstate == "23505") {
        return "a shot or take stored twice";
    }
    if (sqlstate == "23514") {
        return "a value its checks refuse";
    }
    if (sqlstate == "23502") {
        return "a missing value";
    }
    return "a value it refuses (SQLSTATE " + detail::printable(sqlstate, 5) + ")";
}

// What in one shot the database could refuse; nullopt when nothing does.
std::optional<std::string> storable_problem(const shot& s) {
    const std::pair<const char*, const std::optional<std::string>*> texts[] = {
        {"image", &s.image},
        {"resolution", &s.resolution},
        {"provider", &s.provider},
        {"account", &s.account}};
    if (auto why = text_problem(s.id, false)) {
        return "the id " + *why;
    }
    if (auto why = text_problem(s.prompt, true)) {
        return "the prompt " + *why;
    }
    if (auto why = text_problem(s.model, false)) {
        return "the model " + *why;
    }
    for (auto [name, value] : texts) {
        if (*value) {
            if (auto why = text_problem(**value, false)) {
                return std::string{name} + " " + *why;
            }
        }
    }
    if (s.image_path) {
        if (auto why = text_problem(s.image_path->string(), false)) {
            return "the image's path " + *why;
        }
    }
    if (s.takes < 1 || s.takes > max_takes) {
        return "takes is " + std::to_string(s.takes) + ", not 1 to " + std::to_string(max_takes);
    }
    if (s.duration < 1 || s.duration > 600) {
        return "duration is " + std::to_string(s.duration) + " s";
    }
    return std::nullopt;
}

}  // namespace

bool is_data_refusal(std::string_view sqlstate) {
    return sqlstate.starts_with("22") || sqlstate.starts_with("23");
}

diagnostics explain_ingest_refusal(const shot_list& list, std::string_view sqlstate) {
    const std::string file = list.file.string();
    const std::string tail = "; the database refused it (" + refusal_reason(sqlstate) +
                             "), nothing of the list was stored";
    diagnostics out;
    for (const auto& s : list.shots) {
        if (auto why = storable_problem(s)) {
            out.push_back(diagnostic{
                file, s.line, s.col, "shot '" + detail::printable(s.id) + "': " + *why + tail});
        }
    }
    if (!out.empty()) {
        return out;
    }
    std::string what = "the shot list";
    if (auto why = text_problem(list.project, false)) {
        what = "the project name " + *why;
    } else if (auto why2 = text_problem(file, false)) {
        what = "the shot list's path " + *why2;
    }
    out.push_back(diagnostic{
        file,
        0,
        0,
        what + ": the database refused it (" + refusal_reason(sqlstate) +
            "), nothing of the list was stored; run `shotfarm validate` on it and report this "
            "as a bug (validation should have caught it)"});
    return out;
}

shotlist_result load_shotlist(const fs::path& file, const app_config* config) {
    shotlist_result result;
    shotlist_loader loader(file, config, result.errors);
    auto list = loader.load();
    // A problem inherited from `defaults` is reported at the default once, not per shot.
    diagnostics unique;
    std::set<std::tuple<int, int, std::string>> seen;
    for (auto& d : result.errors) {
        if (seen.emplace(d.line, d.col, d.message).second) {
            unique.push_back(std::move(d));
        }
    }
    std::stable_sort(unique.begin(), unique.end(), [](const auto& a, const auto& b) {
        return std::tie(a.line, a.col) < std::tie(b.line, b.col);
    });
    result.errors = std::move(unique);
    if (result.errors.empty()) {
        result.list = std::move(list);
    }
    return result;
}

}  // namespace shotfarm::jobs
