// The engine's configuration: rules, allowlist and limits. Built by the config loader (src/config)
// or by tests; immutable once handed to an Engine (reload builds a new one).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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

// How the decoy answers a source a rule sends to it (decoy_mode; docs/decoy.md). The values cross
// between the decoy's supervisor and its workers.
enum class TarpitMode : std::uint8_t {
  Insult = 0,   // every command gets a 451 line from the insult list
  Stutter = 1,  // believable replies, sent one byte at a time, slowly
  Decoy = 2,    // believable ESMTP with AUTH PLAIN LOGIN; some logins "succeed"; no mail is ever accepted
  Endless = 3,  // a greeting that never ends: one more "220-" line every endless_interval
};
inline constexpr TarpitMode kLastTarpitMode = TarpitMode::Endless;
inline constexpr std::array<const char*, 4> kTarpitModeNames = {"insult", "stutter", "decoy", "endless"};

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
  // action Ban: its bans from this offence on send the key to the decoy instead ("ban first, then the
  // decoy for repeat offenders"); 0: never.
  std::uint32_t tarpit_from_offence = 0;
  std::optional<TarpitMode> tarpit_mode;  // how the decoy answers them (decoy_mode); none: Policy's
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
  // The decoy's mode for rules that name none ([decoy] mode); nullopt when the decoy is off
  // ([decoy] enabled = false), and then no ban goes to it.
  std::optional<TarpitMode> decoy_mode = TarpitMode::Decoy;
};

// The rule named `name`, or nullptr (a rule no longer configured; "operator").
inline const Rule* find_rule(const Policy& policy, std::string_view name) {
  for (const auto& r : policy.rules)
    if (r.name == name) return &r;
  return nullptr;
}

// The tarpit choice: whether a ban made with `action` as its `offence`-th by `rule` (may be null)
// sends its target to the decoy, and how the decoy answers it; nullopt: the ban rejects. Every ban of a
// "tarpit" rule goes; a "ban" rule's go from its tarpit_from_offence-th on. The engine puts it on each
// Ban decision; bans restored from the store or adopted from the kernel ask it by their rule's name.
inline std::optional<TarpitMode> tarpit_choice(const Policy& policy, const Rule* rule, RuleAction action,
                                               std::uint32_t offence) {
  if (!policy.decoy_mode) return std::nullopt;
  const bool to_decoy = action == RuleAction::Tarpit ||
                        (action == RuleAction::Ban && rule != nullptr && rule->tarpit_from_offence != 0 &&
                         offence >= rule->tarpit_from_offence);
  if (!to_decoy) return std::nullopt;
  return rule != nullptr && rule->tarpit_mode ? *rule->tarpit_mode : *policy.decoy_mode;
}

}  // namespace strikeout::core
