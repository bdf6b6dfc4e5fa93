#include "pg/error.hpp"

#include <utility>

namespace shotfarm::pg {

error::error(std::string message, std::string sqlstate, bool connection_broken)
    : std::runtime_error(std::move(message)),
      sqlstate_(std::move(sqlstate)),
      connection_broken_(connection_broken) {}

}  // namespace shotfarm::pg
