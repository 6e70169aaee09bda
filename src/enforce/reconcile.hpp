// At start, which saved bans go back into the kernel table, and why (docs/state.md): a restart that
// finds the table still there should put back nothing it need not, and say why for each one it does.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/firewall.hpp"

namespace strikeout::enforce {

struct PutBack {
  core::FirewallBan ban;  // as saved (target, end, decoy or not)
  std::string why;        // "not in the kernel table", "the kernel's timeout ends 3.2 s before the saved end"
};

// The saved bans the kernel lacks, or holds with an end a second or more before the saved one (a
// re-tag the kernel did not get before a crash). A kernel end within a second of the saved one is the
// same ban: the kernel counts in jiffies and milliseconds. In the order of `saved`.
std::vector<PutBack> bans_to_put_back(std::span<const core::FirewallBan> saved,
                                      std::span<const core::FirewallBan> in_kernel);

}  // namespace strikeout::enforce
