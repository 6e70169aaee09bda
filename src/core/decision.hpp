// What the engine decides. Sinks (the replay printer, the enforcer, the log, the store) receive these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/address.hpp"
#include "core/event.hpp"
#include "core/policy.hpp"  // RuleAction
#include "core/time.hpp"

namespace strikeout::core {

// Pinned like the other enums that leave the process (replay's JSON and the watch stream name them;
// tests/core/persisted_enums_test).
enum class DecisionKind : std::uint8_t {
  Strike = 0,  // one more event counted toward a rule: "Strike k" (k = 1..hits)
  Ban = 1,     // block `target` until `until` (also used for a ban whose end moved: `extended` set)
  Unban = 2,   // a ban ended (its time passed, or an operator lifted it)
};

struct Decision {
  DecisionKind kind = DecisionKind::Strike;
  Time time{};       // event time of the event that caused it (or of the expiry for Unban)
  Prefix target{};   // the punished address (host prefix) or network
  std::string rule;  // rule name ("operator" for CLI bans)
  RuleAction action = RuleAction::Ban;
  std::uint32_t count = 0;      // Strike: the strike number; Ban: events (or distinct sources) that caused it
  std::uint32_t threshold = 0;  // the rule's hits, so "Strike 2 of 3" can be printed
  Time until{};                 // Ban: when it ends
  std::uint32_t offence = 0;    // Ban: 1 for a first ban, 2 for the second (escalated), ...
  bool extended = false;        // Ban: an existing ban's end moved later (retry while banned)
  std::string user;             // the username of the triggering event, when known (attacker text!)
  std::string reason;           // human text: "3 auth-failure within 20m", "campaign on user \"bob\""
  std::string sensor;           // the sensor of the triggering event
  Reporter reporter = Reporter::Custom;
  // Ban: sent to the decoy (answered in this mode) instead of rejected; nullopt: rejected
  // (core::tarpit_choice).
  std::optional<TarpitMode> tarpit;
};

class DecisionSink {
 public:
  virtual ~DecisionSink() = default;
  virtual void on_decision(const Decision& decision) = 0;
};

}  // namespace strikeout::core
