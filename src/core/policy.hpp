// The engine's configuration: rules, allowlist and limits. Built by the config loader (src/config)
// or by tests; immutable once handed to an Engine (reload builds a new one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/event.hpp"
#include "core/time.hpp"

namespace strikeout::core {

// The values of these enums leave the process (the state database, the decoy's channel): never
// renumber one, add new ones at the end (tests/core/persisted_enums_test pins them).
enum class KeyKind : std::uint8_t {
  Address = 0,   // the whole client address (/32, /128)
  Prefix = 1,    // the client's network: prefix4 / prefix6 bits
  Username = 2,  // a campaign: one username failing from many sources
};

// Stored with each ban (bans.action).
enum class RuleAction : std::uint8_t {
  Ban = 0,     // block the key for `ban` (escalating for repeat offenders)
  Notice = 1,  // log strikes and the final strike, block nothing
  Tarpit = 2,  // send the key to the decoy server instead of rejecting it
};
inline constexpr RuleAction kLastRuleAction = RuleAction::Tarpit;

struct Rule {
  std::string name;                       // shown in every strike and ban ("auth-failures")
  EventKind on = EventKind::AuthFailure;  // the event kind this rule counts
  KeyKind key = KeyKind::Address;
  std::uint32_t hits = 3;                      // N: events (or, for Username, distinct sources) ...
  Duration within = std::chrono::minutes(20);  // ... within T: the N-th at most T after the first
  RuleAction action = RuleAction::Ban;
  Duration ban = std::chrono::minutes(20);         // first ban's length
  double ban_factor = 2.0;                         // each further ban of the same key: previous * factor
  Duration ban_max = std::chrono::hours(24 * 7);   // no ban, escalated or extended, is longer
  Duration forget_after = std::chrono::hours(24);  // quiet time after a ban's end that resets escalation
  bool extend_on_retry = true;                     // tries while banned restart the ban (recipe's re-tag)
  std::uint8_t prefix4 = 24;  // for key = Prefix, and for Username with distinct = Prefix
  std::uint8_t prefix6 = 64;
  KeyKind distinct = KeyKind::Address;  // Username rules: what counts as a distinct source
};

struct EngineLimits {
  std::uint64_t max_tracked_keys = 1'000'000;  // across all rules; beyond it, cold keys are evicted
  Duration reorder_tolerance = std::chrono::seconds(30);  // how late an event may arrive and count
  Duration duplicate_window = std::chrono::seconds(20);   // pairing of one failure's two reports
  std::uint64_t hash_seed = 0;                            // seeds hash tables keyed by addresses
};

struct Policy {
  std::vector<Rule> rules;
  std::vector<Prefix> allowlist;  // never punished
  EngineLimits limits;
};

}  // namespace strikeout::core
