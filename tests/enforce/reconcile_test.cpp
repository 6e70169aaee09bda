// Which saved bans a start puts back into a kernel table that is still there, and why.
// Regression: a clean restart with 325,913 bans "put back" 30,433 of them for nothing, because the
// kernel's ends were read as a second or more short (see docs/benchmarks.md); a kernel end within a
// second of the saved one is the same ban and is left alone.
#include "enforce/reconcile.hpp"

#include <gtest/gtest.h>

namespace strikeout::enforce {
namespace {

core::Prefix host(std::uint32_t v4) {
  return core::Prefix::host(core::Address::from_v4(v4));
}

TEST(Reconcile, PutsBackOnlyWhatTheKernelLacksOrHoldsTooShortAndSaysWhy) {
  const core::Time t0{std::chrono::seconds(1'800'000'000)};
  const std::vector<core::FirewallBan> saved{
      {host(0x0a000001), t0 + std::chrono::hours(1), false},  // in the kernel, same end
      {host(0x0a000002), t0 + std::chrono::hours(1), false},  // kernel 0.9 s short: jiffies, the same ban
      {host(0x0a000003), t0 + std::chrono::hours(1), false},  // kernel 5 s short: a lost re-tag
      {host(0x0a000004), t0 + std::chrono::hours(1), true},   // not in the kernel at all
  };
  const std::vector<core::FirewallBan> kernel{
      {host(0x0a000003), t0 + std::chrono::hours(1) - std::chrono::seconds(5), false},
      {host(0x0a000002), t0 + std::chrono::hours(1) - std::chrono::milliseconds(900), false},
      {host(0x0a000001), t0 + std::chrono::hours(1), false},
      {host(0x0a000009), t0 + std::chrono::hours(2), false},  // the kernel's own: taken over elsewhere
  };
  const auto back = bans_to_put_back(saved, kernel);
  ASSERT_EQ(back.size(), 2U);
  EXPECT_EQ(back[0].ban, saved[2]);
  EXPECT_EQ(back[0].why, "the kernel's timeout ends 5.0 s before the saved end");
  EXPECT_EQ(back[1].ban, saved[3]);
  EXPECT_EQ(back[1].why, "not in the kernel table");
}

TEST(Reconcile, AnEmptyKernelTableTakesEverySavedBan) {
  const core::Time t0{std::chrono::seconds(1'800'000'000)};
  const std::vector<core::FirewallBan> saved{{host(1), t0, false}, {host(2), t0, false}};
  EXPECT_EQ(bans_to_put_back(saved, {}).size(), 2U);
}

}  // namespace
}  // namespace strikeout::enforce
