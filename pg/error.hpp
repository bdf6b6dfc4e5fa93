// pg::error — the one exception type of the pg room: a message, the server's SQLSTATE (if any)
// and whether the connection that produced it must be thrown away.
#pragma once

#include <stdexcept>
#include <string>

namespace shotfarm::pg {

class error : public std::runtime_error {
public:
    error(std::string message, std::string sqlstate = {}, bool connection_broken = false);

    // Five-character SQLSTATE from the server ("40001", "23505", ...); "" when the error did not
    // come from the server (connection failure, misuse, conversion of a result value).
    const std::string& sqlstate() const noexcept { return sqlstate_; }

    // True when the connection is unusable (or in an unknown protocol state) and must be
    // discarded; also set for a COMMIT whose outcome is unknown.
    bool connection_broken() const noexcept { return connection_broken_; }

    // The server is unreachable, restarting or shutting down (the connection broke, SQLSTATE
    // class 08, or 57P01..57P03): wait and try again on a new connection; not a bug in the
    // statement.
    bool outage() const noexcept {
        return connection_broken_ || sqlstate_.rfind("08", 0) == 0 || sqlstate_ == "57P01" ||
               sqlstate_ == "57P02" || sqlstate_ == "57P03";
    }

    // 40001 serialization_failure, 40P01 deadlock_detected: run the transaction again.
    bool retryable() const noexcept { return sqlstate_ == "40001" || sqlstate_ == "40P01"; }

private:
    std::string sqlstate_;
    bool connection_broken_;
};

// SQLSTATE constants the callers branch on (PostgreSQL errcodes appendix).
namespace sqlstate {
inline constexpr const char* unique_violation = "23505";
inline constexpr const char* foreign_key_violation = "23503";
inline constexpr const char* serialization_failure = "40001";
inline constexpr const char* deadlock_detected = "40P01";
inline constexpr const char* query_canceled = "57014";
}  // namespace sqlstate

}  // namespace shotfarm::pg
