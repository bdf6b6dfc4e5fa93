// Pieces of the Prometheus text format 0.0.4: name rules, escaping, number spelling.
// Everything here is locale-independent (std::to_chars), so the global locale never leaks in.
#pragma once

#include <string>
#include <string_view>

namespace shotfarm::metrics::text {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved by Prometheus).
bool valid_label_name(std::string_view name);
bool valid_utf8(std::string_view s);

// Shortest round-trippable decimal ("0.1", "3", "1e+300"), or "+Inf", "-Inf", "NaN".
void append_value(std::string& out, double v);
std::string format_value(double v);

// # HELP text: `\` -> `\\`, newline -> `\n`.
void append_escaped_help(std::string& out, std::string_view help);
// Label values: `\` -> `\\`, `"` -> `\"`, newline -> `\n`.
void append_escaped_label_value(std::string& out, std::string_view value);

}  // namespace shotfarm::metrics::text
