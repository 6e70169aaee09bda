// Time zones for log timestamps that carry no offset (RFC 3164 syslog, Exim's mainlog).
// Pure: a zone is built from a fixed offset or from the bytes of a TZif file (read by the caller).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strikeout::logs {

class TimeZone {
 public:
  static TimeZone utc();
  static TimeZone fixed(std::chrono::seconds offset_east_of_utc, std::string name);
  // Parses a TZif (v1, v2 or v3) file's bytes, as found under /usr/share/zoneinfo. Refuses anything
  // malformed or truncated with nullopt; never reads past `bytes`.
  static std::optional<TimeZone> from_tzif(std::string_view bytes, std::string name);
  // Parses "UTC", "Z", "+02:00", "-0530"; nullopt otherwise (named zones go through from_tzif).
  static std::optional<TimeZone> parse_fixed(std::string_view text);

  // The offset east of UTC in force at a local wall-clock time given as seconds since the epoch as if
  // it were UTC. In a gap or overlap (DST changes), the offset in force before the change is used.
  std::chrono::seconds offset_at_local(std::int64_t local_seconds) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_ = "UTC";
  std::vector<std::int64_t> transitions_;  // UTC seconds at which the offset changes
  std::vector<std::int32_t> offsets_;      // offsets_[i] applies from transitions_[i-1]; [0] before all
  std::int32_t fixed_offset_ = 0;
};

}  // namespace strikeout::logs
