// Validation diagnostics: one `file:line:col: message` per problem found in a shot list or
// config. Loaders collect all of them instead of stopping at the first.
#pragma once

#include <string>
#include <vector>

namespace shotfarm::jobs {

/// One problem in an input file. `line` and `col` are 1-based (0 = unknown position).
struct diagnostic {
    std::string file;
    int line = 0;
    int col = 0;
    std::string message;

    /// "file:line:col: message" (the position is left out when unknown).
    std::string str() const {
        if (line <= 0) {
            return file + ": " + message;
        }
        return file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + message;
    }
};

using diagnostics = std::vector<diagnostic>;

}  // namespace shotfarm::jobs
