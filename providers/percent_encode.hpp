// Percent-encoding of a query-parameter value (RFC 3986: all but unreserved characters), for
// provider ids that may contain ':' or '/' (AI/ML API) and any id we put in a query string.
#pragma once

#include <string>
#include <string_view>

namespace shotfarm::providers {

std::string percent_encode(std::string_view s);

}  // namespace shotfarm::providers
