// Structured logs: one JSON object per line on stderr. Never pass a secret as a field.
#pragma once

#include <string_view>

#include <boost/json/object.hpp>

namespace shotfarm::jobs {

enum class log_level { debug, info, warn, error };

void set_log_level(log_level min);
/// {"ts":"…","level":"info","event":"job.accepted", …fields}
void log(log_level level, std::string_view event, boost::json::object fields = {});

}  // namespace shotfarm::jobs
