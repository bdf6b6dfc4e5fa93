// The schema migrations compiled into the binary (from schemas/sql/, in version order).
#pragma once

#include <vector>

#include "pg/migrate.hpp"

namespace shotfarm::jobs {

const std::vector<pg::migration>& schema_migrations();

}  // namespace shotfarm::jobs
