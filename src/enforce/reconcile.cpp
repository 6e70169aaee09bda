#include "enforce/reconcile.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace strikeout::enforce {

std::vector<PutBack> bans_to_put_back(std::span<const core::FirewallBan> saved,
                                      std::span<const core::FirewallBan> in_kernel) {
  std::vector<const core::FirewallBan*> kernel;
  kernel.reserve(in_kernel.size());
  for (const auto& k : in_kernel) kernel.push_back(&k);
  std::sort(kernel.begin(), kernel.end(), [](const auto* a, const auto* b) { return a->target < b->target; });
  std::vector<PutBack> out;
  for (const auto& b : saved) {
    const auto it =
        std::lower_bound(kernel.begin(), kernel.end(), b.target,
                         [](const core::FirewallBan* k, const core::Prefix& p) { return k->target < p; });
    if (it == kernel.end() || (*it)->target != b.target) {
      out.push_back(PutBack{b, "not in the kernel table"});
      continue;
    }
    if ((*it)->until + std::chrono::seconds(1) < b.until) {
      const double short_s = std::chrono::duration<double>(b.until - (*it)->until).count();
      char text[96];
      std::snprintf(text, sizeof text, "the kernel's timeout ends %.1f s before the saved end", short_s);
      out.push_back(PutBack{b, text});
    }
  }
  return out;
}

}  // namespace strikeout::enforce
