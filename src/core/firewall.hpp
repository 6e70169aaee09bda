// The enforcer as the core and the daemon see it: a narrow interface to the kernel's packet filter.
//
// The adapter (src/enforce, nftables) keeps bans in sets with kernel timeouts, so a ban ends on time
// even if the daemon is gone. The core never calls the kernel itself; it hands lists of bans to an
// implementation of this interface (the real one in the daemon, core::FakeFirewall in tests).
//
// Event-loop agnostic: no threads, no callbacks. An implementation that needs to watch the kernel
// (the table vanishing, rate-limit hits) exposes one pollable file descriptor; the daemon's loop waits
// for it to be readable and then calls handle_events().
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/address.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace strikeout::core {

// One ban as the kernel holds it: every packet from `target` to a protected port is stopped until
// `until`. With `tarpit`, new connections are sent to the decoy server instead (decoy issue).
struct FirewallBan {
  Prefix target{};      // a host prefix (/32, /128) or a network
  Time until{};         // when the kernel forgets it by itself
  bool tarpit = false;  // send to the decoy instead of rejecting

  friend bool operator==(const FirewallBan&, const FirewallBan&) = default;
};

// The outcome of a change. A failed change changed nothing in the kernel (a batch is all or
// nothing): the caller logs `error`, counts it and tries again later with the same bans.
struct FirewallResult {
  bool ok = true;
  std::string error;                 // what failed and why, for the log. With ok still true: a
                                     // problem that did not stop the change (a ban refused as too
                                     // broad, open sessions that could not be ended)
  std::vector<Prefix> allowlisted;   // bans refused because the target is (or holds) an allowlisted
                                     // address; the rest of the change was applied
  std::uint64_t sessions_ended = 0;  // open connections of newly banned sources that were cut

  static FirewallResult success() { return {}; }
  static FirewallResult failure(std::string why) {
    FirewallResult r;
    r.ok = false;
    r.error = std::move(why);
    return r;
  }
  explicit operator bool() const { return ok; }
};

// A new connection that the kernel's connection-rate limit rejected (the recipe's "6th new
// connection within 60 s"). Reported by handle_events() when the implementation can see them.
struct RateLimitHit {
  Address source{};
  std::uint16_t port = 0;  // the protected port it tried
  Time time{};
};

// What handle_events() noticed since the last call.
struct FirewallEvents {
  bool table_gone = false;  // our table vanished (`nft flush ruleset`, another tool): call
                            // restore() with every active ban at once
  std::vector<RateLimitHit> rate_limited;
  std::uint64_t rate_limited_total = 0;  // kernel counter of rate-limit rejects (all sources)
  std::string error;                     // a problem watching the kernel (logged; watching goes on)
};

class Firewall {
 public:
  virtual ~Firewall() = default;

  // Adds bans and moves the end of existing ones (later or earlier: the kernel timeout becomes
  // until - now), and lifts `remove`, all in one atomic change. Bans whose `until` is not after `now`
  // are ignored; lifting a ban the kernel no longer holds is not an error. Newly banned sources lose
  // their open sessions to protected ports at once.
  virtual FirewallResult apply(std::span<const FirewallBan> add_or_extend, std::span<const Prefix> remove,
                               Time now) = 0;

  // Puts every active ban back in one change after start or after the table vanished: recreates the
  // table if it is gone, keeps bans already in it. Cuts no sessions (these bans are not new).
  virtual FirewallResult restore(std::span<const FirewallBan> all, Time now) = 0;

  // Replaces the operator's allowlist in the kernel (the host's own addresses stay on it when so
  // configured). Bans of allowlisted sources stay in the sets but stop nothing.
  virtual FirewallResult set_allowlist(std::span<const Prefix> allowlist) = 0;

  // Reads the bans back from the kernel: each element with its remaining time as `until` = now +
  // remaining. On failure returns false and fills `error`.
  virtual bool list(Time now, std::vector<FirewallBan>& out, std::string& error) = 0;

  // A file descriptor that becomes readable when handle_events() has something to do; -1 if the
  // implementation has nothing to watch.
  virtual int event_fd() const = 0;
  virtual FirewallEvents handle_events(Time now) = 0;

  // Bans that were already in the kernel when the implementation opened (a previous run's table taken
  // over), with their remaining time: the daemon reconciles them with its saved state at start.
  virtual const std::vector<FirewallBan>& adopted() const = 0;
  // The allowlist the kernel holds: the operator's prefixes plus, when configured, the host's own.
  virtual const std::vector<Prefix>& allowlist() const = 0;
  // Whether everything the implementation set up is still in the kernel; the failure says what is
  // missing ("set ban4 is gone").
  virtual Status table_intact() = 0;
  // Removes what the implementation set up, with every ban in it, and nothing else (a stopping daemon
  // whose operator wants no ban to outlive it). Already gone is success.
  virtual Status remove_table() = 0;
};

}  // namespace strikeout::core
