// The engine's state as plain data: what the store keeps so that a restart (or a crash) forgets
// nothing the detector knew. Engine::export_state() / export_touched() produce it and
// Engine::import_state() takes it back; the store (src/store) writes it to SQLite. Pure: no I/O.
//
// Everything is keyed by what an administrator would recognise (rule names, addresses, networks,
// usernames), not by internal indexes, so a state written under one configuration is read back under
// another: a window whose rule is gone or changed shape is dropped, a ban whose rule is gone stays
// until its end but is no longer extended by re-tags (the same rules as a configuration reload).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/engine.hpp"
#include "core/time.hpp"

namespace strikeout::core {

// An active ban with what re-tags and escalation need.
struct SavedBan {
  BanInfo info;          // target, rule name, action, since, until, count, offence, reason
  bool by_rule = false;  // true: made by info.rule (re-tags follow that rule by name); false: an
                         // operator's ban (or one whose rule was gone), never extended
  Duration length{};     // this ban's (escalated) length: what a re-tag extends it by
  Time max_until{};      // since + the rule's ban_max: no re-tag moves the end past it

  friend bool operator==(const SavedBan& a, const SavedBan& b) {
    const BanInfo& x = a.info;
    const BanInfo& y = b.info;
    return x.target == y.target && x.rule == y.rule && x.action == y.action && x.since == y.since &&
           x.until == y.until && x.count == y.count && x.offence == y.offence && x.reason == y.reason &&
           a.by_rule == b.by_rule && a.length == b.length && a.max_until == b.max_until;
  }
};

// One target's offence history (escalation: the next ban is offence `offences + 1`).
struct SavedOffender {
  Prefix target;
  std::uint32_t offences = 0;  // bans so far
  Time last_end{};             // end of the latest of them
  Duration forget_after{};     // quiet time after last_end that resets the count

  Time expires() const { return last_end + forget_after; }
  friend bool operator==(const SavedOffender&, const SavedOffender&) = default;
};

// The pending window of one key of an address or network rule: the timestamps it still holds, oldest
// first (at most the rule's hits - 1, in the rule's resolution: whole milliseconds or seconds).
struct SavedWindow {
  std::string rule;         // the rule's name
  Prefix key;               // the address (host prefix) or the network
  std::vector<Time> times;  // oldest first; never empty in an export
  Time expires{};           // newest + the rule's window + the reorder tolerance: after this the
                            // window can no longer contribute (the store prunes it)

  friend bool operator==(const SavedWindow&, const SavedWindow&) = default;
};

// A source counted by a campaign (username) rule.
struct SavedCampaignSource {
  Prefix source;  // address or network (distinct = "prefix")
  Time last{};    // its newest failure on this username

  friend bool operator==(const SavedCampaignSource&, const SavedCampaignSource&) = default;
};

// One username's campaign state under one username rule.
struct SavedCampaign {
  std::string rule;                 // the rule's name
  std::string username;             // ASCII case-folded, at most 256 bytes (attacker text: any bytes)
  std::string display;              // as first written (attacker text)
  Time last{};                      // newest failure on this username
  bool active = false;              // a campaign is on until active_until
  Time active_until{};              // meaningful only when active
  std::uint32_t sources_total = 0;  // distinct sources punished since the campaign began
  std::vector<SavedCampaignSource> sources;  // pending distinct sources (fewer than hits)
  Time expires{};  // after this the entry can no longer matter (the store prunes it)

  friend bool operator==(const SavedCampaign&, const SavedCampaign&) = default;
};

// The duplicate filter's memory of one address: its last reports, so the second report of a
// failure whose first report was read before a restart still pairs with it and counts once.
struct SavedReport {
  Time time{};
  std::uint32_t user_hash = 0;  // seeded hash of the folded username (same seed after a restart:
                                // the store keeps the seed)
  std::uint8_t reporter = 0;    // core::Reporter
  std::uint8_t flags = 0;       // the filter's own bits (used, username known, paired, summed)

  friend bool operator==(const SavedReport&, const SavedReport&) = default;
};

struct SavedPairing {
  Address source;
  std::vector<SavedReport> reports;  // at most 4
  Time expires{};                    // newest report + the filter's retention

  friend bool operator==(const SavedPairing&, const SavedPairing&) = default;
};

struct EngineState {
  bool started = false;  // false: the engine has seen no time yet
  Time now{};            // the newest event time the engine has seen (the reorder tolerance and
                         // "too late" are measured from it)
  std::vector<SavedBan> bans;
  std::vector<SavedOffender> offenders;
  std::vector<SavedWindow> windows;
  std::vector<SavedCampaign> campaigns;
  std::vector<SavedPairing> pairing;

  friend bool operator==(const EngineState&, const EngineState&) = default;
};

// What changed since the last export, for the store's incremental writes: the present state of every
// key that was touched, and the touched keys that hold nothing now (to delete).
struct WindowKey {
  std::string rule;
  Prefix key;
  friend bool operator==(const WindowKey&, const WindowKey&) = default;
};
struct CampaignKey {
  std::string rule;
  std::string username;  // folded
  friend bool operator==(const CampaignKey&, const CampaignKey&) = default;
};

struct EngineDelta {
  EngineState present;                  // `started`, `now`, and the touched entries that exist
  std::vector<Prefix> bans_gone;        // touched targets without an active ban
  std::vector<Prefix> offenders_gone;   // touched targets without offence history
  std::vector<WindowKey> windows_gone;  // touched keys without a pending window
  std::vector<CampaignKey> campaigns_gone;
  std::vector<Address> pairing_gone;  // touched sources the duplicate filter holds nothing of

  bool empty() const {
    return present.bans.empty() && present.offenders.empty() && present.windows.empty() &&
           present.campaigns.empty() && present.pairing.empty() && bans_gone.empty() &&
           offenders_gone.empty() && windows_gone.empty() && campaigns_gone.empty() && pairing_gone.empty();
  }
};

// The keys the daemon collects between two commits, from what it hands the engine and what the
// engine decides: every event's source address and username, every Ban/Unban decision's target.
// Engine::export_touched() turns them into an EngineDelta.
struct TouchedKeys {
  std::vector<Address> sources;
  std::vector<std::string> usernames;  // as written (export folds them)
  std::vector<Prefix> targets;

  bool empty() const { return sources.empty() && usernames.empty() && targets.empty(); }
  std::size_t size() const { return sources.size() + usernames.size() + targets.size(); }
  void clear() {
    sources.clear();
    usernames.clear();
    targets.clear();
  }
};

}  // namespace strikeout::core
