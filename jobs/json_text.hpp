// JSON text for people: numbers as `0.32`, not Boost.JSON's `3.2E-1`. Used for sidecars
// (indented) and log lines (compact).
#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace shotfarm::jobs {

/// indent = 0: one line. Otherwise nested values are indented by that many spaces per level.
std::string to_json_text(const boost::json::value& v, int indent = 0);

}  // namespace shotfarm::jobs
