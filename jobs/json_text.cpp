#include "jobs/json_text.hpp"

#include <charconv>
#include <cmath>

#include <boost/json/serialize.hpp>

namespace shotfarm::jobs {

namespace json = boost::json;

namespace {

void write(std::string& out, const json::value& v, int indent, int depth) {
    auto newline = [&](int d) {
        if (indent > 0) {
            out += '\n';
            out.append(static_cast<std::size_t>(indent * d), ' ');
        }
    };
    switch (v.kind()) {
        case json::kind::object: {
            const auto& o = v.get_object();
            out += '{';
            bool first = true;
            for (const auto& [k, child] : o) {
                out += first ? "" : ",";
                first = false;
                newline(depth + 1);
                out += json::serialize(json::value(k));
                out += indent > 0 ? ": " : ":";
                write(out, child, indent, depth + 1);
            }
            if (!o.empty()) {
                newline(depth);
            }
            out += '}';
            return;
        }
        case json::kind::array: {
            const auto& a = v.get_array();
            out += '[';
            for (std::size_t i = 0; i < a.size(); ++i) {
                out += i ? "," : "";
                newline(depth + 1);
                write(out, a[i], indent, depth + 1);
            }
            if (!a.empty()) {
                newline(depth);
            }
            out += ']';
            return;
        }
        case json::kind::double_: {
            const double d = v.get_double();
            if (!std::isfinite(d)) {
                out += "null";  // JSON has no NaN/Inf
                return;
            }
            char buf[64];
            // Shortest text that reads back as the same double: 0.32, 1e-07.
            auto res = std::to_chars(buf, buf + sizeof buf, d);
            out.append(buf, res.ptr);
            return;
        }
        default:
            out += json::serialize(v);
            return;
    }
}

}  // namespace

std::string to_json_text(const json::value& v, int indent) {
    std::string out;
    write(out, v, indent, 0);
    return out;
}

}  // namespace shotfarm::jobs
