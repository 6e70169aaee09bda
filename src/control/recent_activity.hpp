// What `strikeout explain ADDRESS` shows: the latest events, strikes and bans of each recently seen
// address, kept by the daemon in bounded memory. Pure (time comes with each record), single-threaded.
//
// Bounds: at most `max_addresses` addresses, each with its last `per_address` entries. When full, the
// address seen longest ago is forgotten first (an attacker rotating through a pool pushes out old
// entries, never the memory limit). Escalation history is kept apart from the entries (a ban is rare
// and tells the most), up to `per_address` bans per address.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/address.hpp"
#include "core/decision.hpp"
#include "core/event.hpp"
#include "core/time.hpp"

namespace strikeout::control {

struct ActivityEntry {
  enum class Type : std::uint8_t { Event, Strike, Ban, Unban } type = Type::Event;
  core::Time time{};
  core::EventKind kind = core::EventKind::AuthFailure;  // Event
  std::string service;                                  // Event
  std::string sensor;           // Event, and the sensor of a decision's triggering event
  std::string user;             // attacker text: escaped when shown
  std::string rule;             // decisions
  std::uint32_t count = 0;      // Strike: the strike number; Ban: evidence
  std::uint32_t threshold = 0;  // Strike
  std::uint32_t offence = 0;    // Ban
  core::Time until{};           // Ban
  bool extended = false;        // Ban
  std::string reason;           // decisions
  core::Prefix target{};        // decisions: what was punished (an address or its network)
};

// Also one of the daemon's decision sinks: strikes, bans and unbans are remembered as they are made.
class RecentActivity final : public core::DecisionSink {
 public:
  // `seed` seeds the table's hash (addresses are chosen by attackers): the daemon passes a random one.
  explicit RecentActivity(std::size_t max_addresses = 16384, std::size_t per_address = 32,
                          std::uint64_t seed = 0);

  void record_event(const core::Event& e);
  // Strikes, bans and unbans: filed under the triggering address for a host ban, and under the
  // network's address for a prefix ban (explain of any address looks at both).
  void record_decision(const core::Decision& d, const core::Address& about);
  void on_decision(const core::Decision& d) override { record_decision(d, d.target.address()); }

  // The entries and bans of `a`, oldest first; empty when it was not seen (or forgotten).
  std::vector<ActivityEntry> entries(const core::Address& a) const;
  std::vector<ActivityEntry> bans(const core::Address& a) const;
  std::size_t addresses() const { return map_.size(); }

 private:
  struct Slot {
    std::deque<ActivityEntry> entries;
    std::deque<ActivityEntry> bans;
    std::list<core::Address>::iterator lru;
  };
  Slot& slot(const core::Address& a);
  void push(std::deque<ActivityEntry>& q, ActivityEntry e) const;

  std::size_t max_addresses_;
  std::size_t per_address_;
  std::list<core::Address> order_;  // most recently touched first
  struct Hash {
    std::uint64_t seed = 0;
    std::size_t operator()(const core::Address& a) const {
      return static_cast<std::size_t>(core::hash_address(a, seed));
    }
  };
  std::unordered_map<core::Address, Slot, Hash> map_;
};

// An entry as JSON for the protocol (attacker text stays a JSON string; the CLI escapes it).
nlohmann::json to_json(const ActivityEntry& e);

}  // namespace strikeout::control
