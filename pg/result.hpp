// pg::result — owns one PGresult of a successful command (text-format values), with checked
// accessors. Row and column indexes are 0-based, as in libpq.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_result;  // libpq's PGresult, kept out of this header

namespace shotfarm::pg {

// A query parameter in text format; std::nullopt is SQL NULL. Text may not contain '\0'.
using param = std::optional<std::string>;
using params = std::vector<param>;

class result {
public:
    result() = default;                        // empty: zero rows, zero columns
    explicit result(pg_result* res) noexcept;  // takes ownership

    int rows() const noexcept;
    int columns() const noexcept;

    bool is_null(int row, int col) const;
    std::string_view get(int row, int col) const;  // "" for NULL
    std::optional<std::string> get_opt(int row, int col) const;
    std::int64_t get_int(int row, int col) const;  // throws pg::error if NULL or not an integer
    double get_double(int row, int col) const;     // throws pg::error if NULL or not a number
    bool get_bool(int row, int col) const;         // "t"/"f"; throws pg::error otherwise

    int column(std::string_view name) const;  // exact (case-sensitive) name; throws if absent
    std::string_view column_name(int col) const;

    std::int64_t affected_rows() const;    // PQcmdTuples; 0 when the command reports none
    std::string_view command_tag() const;  // PQcmdStatus, e.g. "INSERT 0 1", "COMMIT"

    explicit operator bool() const noexcept { return res_ != nullptr; }
    pg_result* native() const noexcept { return res_.get(); }

private:
    struct deleter {
        void operator()(pg_result* r) const noexcept;
    };
    const char* cell(int row, int col) const;  // checked, nullptr for NULL

    std::unique_ptr<pg_result, deleter> res_;
};

}  // namespace shotfarm::pg
