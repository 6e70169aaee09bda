// The detector: counts events per rule and key in exact sliding windows and decides strikes, bans and
// unbans. Pure: no clocks (time comes with each event and with advance()), no I/O, no threads.
// One Engine is driven by one thread (the daemon's event loop, or replay).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/decision.hpp"
#include "core/event.hpp"
#include "core/policy.hpp"

namespace strikeout::core {

struct EngineStats {
  std::uint64_t events[kEventKinds] = {};  // by EventKind, after duplicate removal
  std::uint64_t duplicates = 0;            // second reports of one failure, not counted
  std::uint64_t allowlisted = 0;           // events from allowlisted sources (counted, never punished)
  std::uint64_t while_banned = 0;          // events from sources already banned
  std::uint64_t too_late = 0;              // events older than the reorder tolerance, not counted
  std::uint64_t evictions = 0;             // tracked keys dropped at the memory cap
  std::uint64_t tracked_keys = 0;          // keys with live window state, all rules
  std::uint64_t memory_bytes = 0;          // bytes held by all engine state (tables included)
  std::uint64_t active_bans = 0;
  std::uint64_t bans_total = 0;
  std::uint64_t strikes_total = 0;
  // Added with the engine (backward compatible):
  std::uint64_t bans_skipped_allowlisted = 0;  // thresholds reached on a network or source that
                                               // contains an allowlisted address: no ban
  std::uint64_t duplicates_unpaired = 0;       // reports not remembered for pairing (pairing table full)
  std::uint64_t window_bytes = 0;              // part of memory_bytes held by the rules' windows
                                               // (window tables and campaigns): / tracked_keys is the
                                               // per-key figure of docs/engine.md
  std::uint64_t expired_keys = 0;              // keys dropped because their window ran out (not evictions)
};

struct BanInfo {
  Prefix target;
  std::string rule;
  RuleAction action = RuleAction::Ban;
  Time since{};
  Time until{};
  std::uint32_t count = 0;    // evidence that caused it
  std::uint32_t offence = 1;  // escalation step
  std::string reason;
};

enum class OperatorResult : std::uint8_t { Done, Allowlisted, NotBanned, Invalid };

struct EngineState;
struct EngineDelta;
struct TouchedKeys;

class Engine {
 public:
  explicit Engine(Policy policy);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Counts one event and emits, in order, the decisions it causes. First advances time to
  // max(previous time, e.time), emitting Unban for bans that ended at or before it, so a sink sees
  // decisions in time order. Events older than the newest time minus limits.reorder_tolerance are
  // counted in stats().too_late and otherwise ignored.
  void on_event(const Event& e, DecisionSink& sink);

  // Takes a new policy (configuration reload) at `now`, after ending the bans due by then. Kept:
  // active bans (a ban whose target the new allowlist covers or overlaps is lifted at once, with an
  // Unban), offence history, statistics, and the windows of every rule that kept its name and its
  // shape (event kind, key, hits, prefix lengths, distinct); other rules start empty. A kept ban
  // whose rule is gone is no longer extended by re-tags. Added with the engine (backward compatible).
  void reload(Policy policy, Time now, DecisionSink& sink);

  // Moves time forward without an event: ends bans whose `until` <= now (Unban decisions, in order of
  // `until`), and drops window entries that can no longer contribute to any rule.
  void advance(Time now, DecisionSink& sink);

  // Operator actions (CLI). ban() refuses allowlisted targets (and any prefix containing an
  // allowlisted address) with Allowlisted; `duration` <= 0 is Invalid.
  OperatorResult ban(const Prefix& target, Time now, Duration duration, const std::string& reason,
                     DecisionSink& sink);
  OperatorResult unban(const Prefix& target, Time now, DecisionSink& sink);

  // State snapshot for the store (issue 4; core/engine_state.hpp, docs/state.md). Added with the
  // store (backward compatible).
  // export_state(): everything the engine knows that a restart must not forget: active bans, offence
  // history, every pending window and campaign, the duplicate filter's reports, and its clock.
  EngineState export_state() const;
  // export_touched(): the present state of the keys in `touched` (each event's source and username,
  // each ban decision's target), and the touched keys that now hold nothing. O(touched keys).
  EngineDelta export_touched(const TouchedKeys& touched) const;
  // import_state(): takes a saved state into a fresh engine (before its first event). Accepts state
  // written under another configuration: windows and campaigns whose rule is gone or changed shape
  // (key kind, prefix length) are dropped, a window longer than the rule's hits - 1 keeps its newest
  // timestamps, timestamps further than the rule's window + reorder tolerance before the window's
  // newest are dropped, bans of allowlisted targets and bans that ended by `now` are not taken (their
  // offence history is). A ban whose rule is gone is kept as an operator's (never re-tagged).
  // Emits nothing: the caller puts the bans into the kernel itself (NftFirewall::restore).
  void import_state(const EngineState& state, Time now);

  bool is_allowlisted(const Address& a) const;
  std::vector<BanInfo> active_bans() const;  // ordered by `since`, then target
  std::optional<BanInfo> ban_covering(const Address& a) const;
  const EngineStats& stats() const;
  const Policy& policy() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strikeout::core
