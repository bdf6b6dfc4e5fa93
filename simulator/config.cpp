#include "simulator/config.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

namespace shotfarm::simulator {

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw std::runtime_error(where + ": " + what);
}

std::string location(const YAML::Node& node, const std::string& key) {
    const auto mark = node.Mark();
    if (mark.is_null()) {
        return key;
    }
    return "line " + std::to_string(mark.line + 1) + ": " + key;
}

template <class T>
T scalar(const YAML::Node& node, const std::string& key) {
    if (!node.IsScalar()) {
        fail(location(node, key), "expected a scalar");
    }
    try {
        return node.as<T>();
    } catch (const YAML::Exception&) {
        fail(location(node, key), "invalid value '" + node.Scalar() + "'");
    }
}

double non_negative(const YAML::Node& node, const std::string& key) {
    const auto v = scalar<double>(node, key);
    if (v < 0) {
        fail(location(node, key), "must not be negative");
    }
    return v;
}

double fraction(const YAML::Node& node, const std::string& key) {
    const auto v = scalar<double>(node, key);
    if (v < 0 || v > 1) {
        fail(location(node, key), "must be between 0 and 1");
    }
    return v;
}

model_timing parse_timing(const YAML::Node& node, const std::string& where) {
    if (!node.IsMap()) {
        fail(location(node, where), "expected a map {median_s, sigma}");
    }
    model_timing t;
    for (const auto& kv : node) {
        const auto name = kv.first.as<std::string>();
        const auto path = where + "." + name;
        if (name == "median_s") {
            t.median_s = non_negative(kv.second, path);
        } else if (name == "sigma") {
            t.sigma = non_negative(kv.second, path);
        } else {
            fail(location(kv.first, path), "unknown key '" + name + "'");
        }
    }
    return t;
}

key_config parse_key(const YAML::Node& node, std::size_t index) {
    const std::string where = "keys[" + std::to_string(index) + "]";
    if (!node.IsMap()) {
        fail(location(node, where), "expected a map {key, provider, ...}");
    }
    key_config k;
    for (const auto& kv : node) {
        const auto name = kv.first.as<std::string>();
        const auto path = where + "." + name;
        if (name == "key") {
            k.key = scalar<std::string>(kv.second, path);
        } else if (name == "provider") {
            k.provider = scalar<std::string>(kv.second, path);
            if (k.provider == "atlascloud") {
                k.provider = "atlas";  // the name later contracts use
            }
        } else if (name == "max_concurrency") {
            k.max_concurrency = scalar<int>(kv.second, path);
        } else if (name == "requests_per_minute") {
            k.requests_per_minute = scalar<int>(kv.second, path);
        } else if (name == "submits_per_minute") {
            k.submits_per_minute = scalar<int>(kv.second, path);
        } else if (name == "balance_usd") {
            k.balance_usd = non_negative(kv.second, path);
        } else if (name == "webhook_secret") {
            // Read as a plain string (never echoed: the messages below name only the key).
            if (!kv.second.IsScalar()) {
                fail(location(kv.second, path), "expected a string");
            }
            k.webhook_secret = kv.second.Scalar();
        } else {
            fail(location(kv.first, path), "unknown key '" + name + "'");
        }
    }
    if (k.key.empty()) {
        fail(location(node, where), "'key' is required");
    }
    if (!is_provider(k.provider)) {
        fail(location(node, where + ".provider"), "unknown provider '" + k.provider + "'");
    }
    if (k.webhook_secret) {
        if (k.provider != "wavespeed") {
            fail(location(node, where + ".webhook_secret"), "only WaveSpeed keys have one");
        }
        if (!k.webhook_secret->starts_with("whsec_") || k.webhook_secret->size() == 6) {
            fail(
                location(node, where + ".webhook_secret"), "must be whsec_ followed by the secret"
            );
        }
    }
    if (k.max_concurrency < 0 || k.requests_per_minute < 0 || k.submits_per_minute < 0) {
        fail(location(node, where), "limits must not be negative");
    }
    return k;
}

fault_config parse_faults(const YAML::Node& node) {
    if (!node.IsMap()) {
        fail(location(node, "faults"), "expected a map of fault name to probability");
    }
    fault_config f;
    const std::map<std::string, double fault_config::*> probabilities{
        {"http_429", &fault_config::http_429},
        {"http_5xx", &fault_config::http_5xx},
        {"reset", &fault_config::reset},
        {"slow", &fault_config::slow},
        {"malformed_json", &fault_config::malformed_json},
        {"generation_failed", &fault_config::generation_failed},
        {"moderated", &fault_config::moderated},
        {"stuck", &fault_config::stuck},
        {"lost_response", &fault_config::lost_response},
    };
    for (const auto& kv : node) {
        const auto name = kv.first.as<std::string>();
        const auto path = "faults." + name;
        if (const auto it = probabilities.find(name); it != probabilities.end()) {
            f.*(it->second) = fraction(kv.second, path);
        } else if (name == "slow_s") {
            f.slow_s = non_negative(kv.second, path);
        } else {
            fail(location(kv.first, path), "unknown fault '" + name + "'");
        }
    }
    return f;
}

webhook_config parse_webhooks(const YAML::Node& node) {
    if (!node.IsMap()) {
        fail(location(node, "webhooks"), "expected a map");
    }
    webhook_config w;
    for (const auto& kv : node) {
        const auto name = kv.first.as<std::string>();
        const auto path = "webhooks." + name;
        if (name == "loss") {
            w.loss = fraction(kv.second, path);
        } else if (name == "duplicate") {
            w.duplicate = fraction(kv.second, path);
        } else if (name == "delay_s") {
            w.delay_s = non_negative(kv.second, path);
        } else if (name == "delay_jitter_s") {
            w.delay_jitter_s = non_negative(kv.second, path);
        } else if (name == "retries") {
            w.retries = scalar<int>(kv.second, path);
            if (w.retries < 0 || w.retries > 20) {
                fail(location(kv.second, path), "must be between 0 and 20");
            }
        } else if (name == "timeout_s") {
            w.timeout_s = non_negative(kv.second, path);
            if (w.timeout_s <= 0) {
                fail(location(kv.second, path), "must be positive");
            }
        } else if (name == "atlas_rotate_after") {
            w.atlas_rotate_after = scalar<int>(kv.second, path);
            if (w.atlas_rotate_after < 0) {
                fail(location(kv.second, path), "must not be negative");
            }
        } else {
            fail(location(kv.first, path), "unknown key '" + name + "'");
        }
    }
    return w;
}

std::vector<speed_change> parse_speed_changes(const YAML::Node& node) {
    if (!node.IsSequence()) {
        fail(location(node, "speed_changes"), "expected a list of {after_s, factor, provider?}");
    }
    std::vector<speed_change> out;
    for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string where = "speed_changes[" + std::to_string(i) + "]";
        const auto& entry = node[i];
        if (!entry.IsMap()) {
            fail(location(entry, where), "expected a map {after_s, factor, provider?}");
        }
        speed_change c;
        bool has_factor = false;
        for (const auto& kv : entry) {
            const auto name = kv.first.as<std::string>();
            const auto path = where + "." + name;
            if (name == "after_s") {
                c.after_s = non_negative(kv.second, path);
            } else if (name == "factor") {
                c.factor = scalar<double>(kv.second, path);
                if (!(c.factor > 0)) {
                    fail(location(kv.second, path), "must be positive");
                }
                has_factor = true;
            } else if (name == "provider") {
                c.provider = scalar<std::string>(kv.second, path);
                if (c.provider == "atlascloud") {
                    c.provider = "atlas";
                }
                if (!is_provider(c.provider)) {
                    fail(location(kv.second, path), "unknown provider '" + c.provider + "'");
                }
            } else {
                fail(location(kv.first, path), "unknown key '" + name + "'");
            }
        }
        if (!has_factor) {
            fail(location(entry, where), "'factor' is required");
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace

bool is_provider(std::string_view name) {
    return name == "atlas" || name == "wavespeed" || name == "aimlapi" || name == "minimax";
}

sim_config parse_config(const std::string& yaml_text) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw std::runtime_error(std::string("invalid YAML: ") + e.what());
    }
    sim_config cfg;
    if (root.IsNull()) {
        return cfg;
    }
    if (!root.IsMap()) {
        throw std::runtime_error("SIM.yaml must be a map");
    }
    for (const auto& kv : root) {
        const auto name = kv.first.as<std::string>();
        const auto& value = kv.second;
        if (name == "time_scale") {
            cfg.time_scale = non_negative(value, name);
        } else if (name == "seed") {
            cfg.seed = scalar<std::uint64_t>(value, name);
        } else if (name == "keys") {
            if (!value.IsSequence()) {
                fail(location(value, name), "expected a list");
            }
            for (std::size_t i = 0; i < value.size(); ++i) {
                cfg.keys.push_back(parse_key(value[i], i));
            }
        } else if (name == "models") {
            if (!value.IsMap()) {
                fail(location(value, name), "expected a map of model id to {median_s, sigma}");
            }
            for (const auto& m : value) {
                const auto model = m.first.as<std::string>();
                cfg.models[model] = parse_timing(m.second, "models." + model);
            }
        } else if (name == "default_timing") {
            cfg.default_timing = parse_timing(value, name);
        } else if (name == "rate_window_s") {
            cfg.rate_window_s = non_negative(value, name);
        } else if (name == "visibility_lag_s") {
            cfg.visibility_lag_s = non_negative(value, name);
        } else if (name == "succeeded_fraction") {
            cfg.succeeded_fraction = fraction(value, name);
        } else if (name == "created_fraction") {
            cfg.created_fraction = fraction(value, name);
        } else if (name == "fail_fraction") {
            cfg.fail_fraction = fraction(value, name);
        } else if (name == "moderation_fraction") {
            cfg.moderation_fraction = fraction(value, name);
        } else if (name == "faults") {
            cfg.faults = parse_faults(value);
        } else if (name == "minimax_url_ttl_s") {
            cfg.minimax_url_ttl_s = non_negative(value, name);
        } else if (name == "minimax_expire_first_urls") {
            cfg.minimax_expire_first_urls = scalar<int>(value, name);
            if (cfg.minimax_expire_first_urls < 0) {
                fail(location(value, name), "must not be negative");
            }
        } else if (name == "minimax_fail_status") {
            cfg.minimax_fail_status = scalar<std::string>(value, name);
            if (cfg.minimax_fail_status != "Fail" && cfg.minimax_fail_status != "Failed") {
                fail(location(value, name), "must be Fail or Failed");
            }
        } else if (name == "foreign_url_port") {
            const auto port = scalar<int>(value, name);
            if (port < 1 || port > 65535) {
                fail(location(value, name), "must be a TCP port, 1 to 65535");
            }
            cfg.foreign_url_port = static_cast<std::uint16_t>(port);
        } else if (name == "webhooks") {
            cfg.webhooks = parse_webhooks(value);
        } else if (name == "speed_changes") {
            cfg.speed_changes = parse_speed_changes(value);
        } else {
            fail(location(kv.first, name), "unknown key '" + name + "'");
        }
    }
    std::set<std::string> seen;
    for (const auto& k : cfg.keys) {
        if (!seen.insert(k.key).second) {
            throw std::runtime_error("keys: duplicate key '" + k.key + "'");
        }
    }
    return cfg;
}

sim_config load_config(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot read " + path.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str());
}

}  // namespace shotfarm::simulator
