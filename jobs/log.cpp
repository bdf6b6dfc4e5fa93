#include "jobs/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <boost/json/serialize.hpp>

#include "jobs/json_text.hpp"

namespace shotfarm::jobs {

namespace {
std::atomic<log_level> min_level{log_level::info};

std::string_view name(log_level l) {
    switch (l) {
        case log_level::debug:
            return "debug";
        case log_level::info:
            return "info";
        case log_level::warn:
            return "warn";
        case log_level::error:
            return "error";
    }
    return "info";
}

std::string timestamp() {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(
        buf,
        sizeof buf,
        "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        static_cast<int>(ms.count())
    );
    return buf;
}
}  // namespace

void set_log_level(log_level min) {
    min_level = min;
}

void log(log_level level, std::string_view event, boost::json::object fields) {
    if (level < min_level.load()) {
        return;
    }
    boost::json::object line;
    line["ts"] = timestamp();
    line["level"] = name(level);
    line["event"] = event;
    for (auto& [k, v] : fields) {
        line[k] = std::move(v);
    }
    std::string text = to_json_text(line);
    text += '\n';
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

}  // namespace shotfarm::jobs
