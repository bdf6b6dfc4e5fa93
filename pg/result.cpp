#include "pg/result.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <libpq-fe.h>

#include "pg/error.hpp"

namespace shotfarm::pg {

namespace {

std::string where(const result& r, int row, int col) {
    return " (row " + std::to_string(row) + ", column '" + std::string(r.column_name(col)) + "')";
}

}  // namespace

void result::deleter::operator()(pg_result* r) const noexcept {
    PQclear(r);
}

result::result(pg_result* res) noexcept : res_(res) {}

int result::rows() const noexcept {
    return res_ ? PQntuples(res_.get()) : 0;
}

int result::columns() const noexcept {
    return res_ ? PQnfields(res_.get()) : 0;
}

const char* result::cell(int row, int col) const {
    if (row < 0 || row >= rows() || col < 0 || col >= columns()) {
        throw std::out_of_range(
            "pg::result: cell (" + std::to_string(row) + ", " + std::to_string(col) + ") outside " +
            std::to_string(rows()) + "x" + std::to_string(columns())
        );
    }
    if (PQgetisnull(res_.get(), row, col)) {
        return nullptr;
    }
    return PQgetvalue(res_.get(), row, col);
}

bool result::is_null(int row, int col) const {
    return cell(row, col) == nullptr;
}

std::string_view result::get(int row, int col) const {
    const char* v = cell(row, col);
    if (v == nullptr) {
        return {};
    }
    return {v, static_cast<std::size_t>(PQgetlength(res_.get(), row, col))};
}

std::optional<std::string> result::get_opt(int row, int col) const {
    if (is_null(row, col)) {
        return std::nullopt;
    }
    return std::string(get(row, col));
}

std::int64_t result::get_int(int row, int col) const {
    if (is_null(row, col)) {
        throw error("pg::result: NULL where an integer was expected" + where(*this, row, col));
    }
    std::string_view text = get(row, col);
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        throw error(
            "pg::result: '" + std::string(text) + "' is not a 64-bit integer" +
            where(*this, row, col)
        );
    }
    return value;
}

double result::get_double(int row, int col) const {
    if (is_null(row, col)) {
        throw error("pg::result: NULL where a number was expected" + where(*this, row, col));
    }
    std::string_view text = get(row, col);
    // PostgreSQL spells the specials "Infinity", "-Infinity", "NaN".
    if (text == "Infinity") {
        return std::numeric_limits<double>::infinity();
    }
    if (text == "-Infinity") {
        return -std::numeric_limits<double>::infinity();
    }
    if (text == "NaN") {
        return std::numeric_limits<double>::quiet_NaN();
    }
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        throw error(
            "pg::result: '" + std::string(text) + "' is not a number" + where(*this, row, col)
        );
    }
    return value;
}

bool result::get_bool(int row, int col) const {
    if (is_null(row, col)) {
        throw error("pg::result: NULL where a boolean was expected" + where(*this, row, col));
    }
    std::string_view text = get(row, col);
    if (text == "t") {
        return true;
    }
    if (text == "f") {
        return false;
    }
    throw error(
        "pg::result: '" + std::string(text) + "' is not a boolean" + where(*this, row, col)
    );
}

int result::column(std::string_view name) const {
    for (int c = 0; c < columns(); ++c) {
        if (name == PQfname(res_.get(), c)) {
            return c;
        }
    }
    throw error("pg::result: no column named '" + std::string(name) + "'");
}

std::string_view result::column_name(int col) const {
    if (col < 0 || col >= columns()) {
        return "?";
    }
    return PQfname(res_.get(), col);
}

std::int64_t result::affected_rows() const {
    if (!res_) {
        return 0;
    }
    std::string_view text = PQcmdTuples(res_.get());
    std::int64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

std::string_view result::command_tag() const {
    return res_ ? std::string_view(PQcmdStatus(res_.get())) : std::string_view();
}

}  // namespace shotfarm::pg
