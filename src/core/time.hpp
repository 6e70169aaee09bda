// Time in strikeout's core: a point on the UTC timeline with microsecond resolution.
// The core never reads a clock; every function that depends on time takes it as an argument.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strikeout::core {

using Duration = std::chrono::microseconds;
using Time = std::chrono::sys_time<std::chrono::microseconds>;

// Microseconds since the Unix epoch, UTC.
constexpr std::int64_t to_micros(Time t) {
  return t.time_since_epoch().count();
}
constexpr Time from_micros(std::int64_t us) {
  return Time{Duration{us}};
}
constexpr Time from_seconds(std::int64_t s) {
  return Time{std::chrono::seconds{s}};
}

// RFC 3339 in UTC, e.g. "2026-11-27T01:49:52Z"; fractional seconds only when non-zero
// ("2026-11-27T01:49:52.250Z", trailing zeros trimmed to milliseconds or microseconds).
std::string format_rfc3339(Time t);

// Parses a duration as written in the configuration and on the command line:
// an unsigned integer followed by a unit, "us", "ms", "s", "m", "h", "d" or "w", or several of them
// concatenated ("1h30m"). A bare number is refused: a unit must be said.
// Returns nullopt on anything else, including overflow and the empty string.
std::optional<Duration> parse_duration(std::string_view text);

// The inverse, for messages: the largest units that represent `d` exactly ("20m", "1h30m", "250ms").
std::string format_duration(Duration d);

}  // namespace strikeout::core
