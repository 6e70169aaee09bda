// The nftables enforcer: core::Firewall on the kernel's `inet strikeout` table.
//
// Table layout, rules and the reasons for them: docs/enforcement.md. In short:
// - the table, its sets, chains and rules are written as nft(8) text through libnftables, in one
//   transaction that also takes over a table left by a previous run without a gap;
// - the bans are set elements with kernel timeouts, sent as nfnetlink batches built directly
//   (element_batch.hpp): one batch per change, all or nothing;
// - a netlink subscription to nf_tables notifications notices the table vanishing at once, and NFLOG
//   delivers the connection-rate limit's hits; both are behind one epoll fd (event_fd()).
// Not thread-safe: one event loop drives it.
#pragma once

#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/firewall.hpp"
#include "enforce/nft_options.hpp"
#include "enforce/ruleset.hpp"

namespace strikeout::enforce {

class NftFirewall final : public core::Firewall {
 public:
  // Opens the netlink sockets and creates the table, or takes over the one a previous run left
  // (its bans stay in force: see adopted()). Returns nullptr with a message naming what failed when
  // the options are invalid, nftables is missing, or the kernel refuses the table.
  static std::unique_ptr<NftFirewall> open(NftOptions options, core::Time now, std::string& error);
  ~NftFirewall() override;
  NftFirewall(const NftFirewall&) = delete;
  NftFirewall& operator=(const NftFirewall&) = delete;

  // Bans that were already in the table when open() took it over, with their remaining time.
  const std::vector<core::FirewallBan>& adopted() const override;
  // The allowlist the kernel holds: the operator's prefixes plus, when configured, the host's own.
  const std::vector<core::Prefix>& allowlist() const override;
  const NftOptions& options() const;

  core::FirewallResult apply(std::span<const core::FirewallBan> add_or_extend,
                             std::span<const core::Prefix> remove, core::Time now) override;
  core::FirewallResult restore(std::span<const core::FirewallBan> all, core::Time now) override;
  core::FirewallResult set_allowlist(std::span<const core::Prefix> allowlist) override;
  bool list(core::Time now, std::vector<core::FirewallBan>& out, std::string& error) override;
  int event_fd() const override;
  core::FirewallEvents handle_events(core::Time now) override;

  // Deletes our table and every ban in it (`--flush-on-exit`, `[enforce] flush_on_exit`): what a
  // stopping daemon does when the operator wants no ban to outlive it. Touches nothing else. A table
  // already gone is not an error. Fails with the kernel's reason when it refuses.
  core::Status remove_table() override;

  // Success when the table, its chains and the ban sets it should have are all in the kernel.
  core::Status table_intact() override;
  // The kernel counter of rate-limit rejects; false with `error` when it cannot be read.
  bool rate_limited_total(std::uint64_t& packets, std::string& error);

 private:
  struct Impl;
  explicit NftFirewall(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strikeout::enforce
