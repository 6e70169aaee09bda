// The text of the `inet strikeout` table: its sets, chains and rules, as nft(8) commands handed to
// libnftables in one transaction. Pure string building, so the layout is unit-tested without a kernel.
// Elements (the bans themselves) do not go through this text: see element_batch.hpp.
#pragma once

#include <compare>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.hpp"
#include "enforce/nft_options.hpp"

namespace strikeout::enforce {

// Which set holds a ban: one set per purpose, family and prefix length, each a hash set with
// timeouts; a prefix ban is found by masking the source address to the set's length first
// (`ip saddr & 255.255.255.0 @ban4_24`), never by an interval set (see docs/enforcement.md).
struct BanSet {
  bool tarpit = false;  // false: ban4/ban6...; true: tarpit4/tarpit6... (redirected to the decoy)
  bool v4 = true;
  unsigned length = 32;  // 32 / 128: host sets "ban4", "ban6"; else "ban4_24", "ban6_64", ...

  static BanSet for_prefix(const core::Prefix& p, bool tarpit);
  bool is_host() const { return length == (v4 ? 32U : 128U); }
  std::string name() const;
  // Accepts the names name() makes ("ban4", "tarpit6_48"); nullopt for anything else.
  static std::optional<BanSet> parse(std::string_view name);

  friend auto operator<=>(const BanSet&, const BanSet&) = default;
};

// The sets a fresh table gets from the options: host sets for both purposes and families, plus the
// configured prefix lengths.
std::set<BanSet> initial_sets(const NftOptions& options);

// Removes prefixes contained in others, so the rest are disjoint (interval sets refuse overlaps).
std::vector<core::Prefix> disjoint(std::vector<core::Prefix> prefixes);

// One nft script, applied as one transaction, that creates the table or takes over an existing one
// without a gap: `add` keeps what exists (sets keep their elements), chains are flushed and refilled
// in the same transaction, the allowlist sets are replaced.
std::string setup_script(const NftOptions& options, const std::set<BanSet>& sets,
                         std::span<const core::Prefix> allowlist);

// Adds sets (and the rules that look them up) to an existing table.
std::string add_sets_script(const NftOptions& options, std::span<const BanSet> sets);

// Replaces the allowlist sets' contents.
std::string allowlist_script(const NftOptions& options, std::span<const core::Prefix> allowlist);

}  // namespace strikeout::enforce
