// How decisions are written for people (log lines, replay's timeline) and for programs (JSON lines).
// One place, so the daemon's log, `watch` and `replay` say the same thing in the recipe's words:
//   SMTP_AUTH_FAIL: Strike 2: SRC=203.0.113.7 rule=auth-failures user="alice"
//   SMTP_AUTH_REJECTED: Go AWAY: SRC=203.0.113.7 rule=auth-failures ban=20m until=... offence=1
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/decision.hpp"
#include "core/engine.hpp"
#include "core/policy.hpp"

namespace strikeout::report {

class DecisionFormatter {
 public:
  // Copies the rules it needs from `policy`: a formatter outlives any reload of the engine's policy
  // (holding a reference to it once let a runtime allowlist change leave it dangling).
  explicit DecisionFormatter(const core::Policy& policy) : rules_(policy.rules) {}

  // One line without a trailing newline, without a timestamp (the log or the caller adds it).
  // Text an attacker chose (the username) is quoted and escaped.
  std::string human(const core::Decision& d) const;

  // One JSON object without a trailing newline. Fields (docs/replay.schema.json): time, action,
  // address, rule, count, threshold (strike), until + ban_seconds + offence + extended (ban), user
  // (when known), reason, sensor.
  void append_json(std::string& out, const core::Decision& d) const;

  // The same JSON object written at `out`, which must have room for json_bound(d) bytes; returns
  // the end of what was written. For writers that format straight into their output buffer
  // (replay writes one per decision, a few hundred thousand a second).
  static std::size_t json_bound(const core::Decision& d);
  char* write_json(char* out, const core::Decision& d) const;

  // core::format_rfc3339(t), remembered: decisions come in bursts with the same time, and replay
  // writes one per line, so formatting each time anew is a visible cost. Not thread-safe (one
  // formatter per thread).
  const std::string& time_text(core::Time t) const { return time_cache_.get(t); }
  const std::string& until_text(core::Time t) const { return until_cache_.get(t); }

 private:
  // The recipe's tag for the rule that made the decision: SMTP_AUTH_FAIL for failures,
  // SMTP_CONN_RATE for connection counting, SMTP_AUTH_CAMPAIGN for username rules.
  std::string_view tag_for(const std::string& rule) const;
  const core::Rule* find_rule(const std::string& name) const;

  struct TimeCache {
    mutable core::Time time{core::Time::min()};
    mutable std::string text;
    const std::string& get(core::Time t) const {
      if (t != time) {
        time = t;
        text = core::format_rfc3339(t);
      }
      return text;
    }
  };

  // RFC 3339 text as core::format_rfc3339 writes it, straight into a buffer; the date part is
  // formatted once per day. Not thread-safe (one formatter per thread).
  struct FastTime {
    mutable std::int64_t day = 0;
    mutable std::string date;   // "2026-03-09T", empty until the first call
    mutable core::Time last{};  // the time last written, and its text
    mutable char last_text[40] = {};
    mutable std::size_t last_size = 0;  // 0: nothing remembered
    char* write(char* p, core::Time t) const;
    char* format(char* p, core::Time t) const;
  };

  // The JSON text of the last few values of a string field: rule names (a policy has a handful)
  // and the sensor repeat from one decision to the next, and a compare is cheaper than escaping
  // again. (Reasons vary too much to pay.)
  struct EscapedField {
    static constexpr std::size_t kEntries = 4;
    mutable std::string raw[kEntries];
    mutable std::string escaped[kEntries];
    mutable std::size_t next = 0;  // the entry replaced on a miss
    char* write(char* p, std::string_view value) const;
  };

  std::vector<core::Rule> rules_;
  EscapedField rule_field_;
  EscapedField sensor_field_;
  FastTime fast_time_;
  FastTime fast_until_;
  TimeCache time_cache_;
  TimeCache until_cache_;
};

// A ban as JSON (for the summary's active bans and for `list --json`).
void append_ban_json(std::string& out, const core::BanInfo& ban);

}  // namespace strikeout::report
