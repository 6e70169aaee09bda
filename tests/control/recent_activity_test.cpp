// explain's memory: bounded per address and in addresses, the longest unseen address forgotten first,
// bans kept apart so that a flood of events cannot push the escalation history out.
#include <gtest/gtest.h>

#include "control/recent_activity.hpp"

namespace strikeout::control {
namespace {

core::Event failure(const char* address, std::int64_t second) {
  core::Event e;
  e.time = core::from_seconds(1'800'000'000 + second);
  e.source = *core::Address::parse(address);
  e.service = "smtp";
  e.sensor = "postfix";
  e.user = "alice";
  return e;
}

TEST(RecentActivity, KeepsTheLastEntriesPerAddress) {
  RecentActivity r(8, 4);
  for (int i = 0; i < 10; ++i) r.record_event(failure("203.0.113.7", i));
  const auto entries = r.entries(*core::Address::parse("203.0.113.7"));
  ASSERT_EQ(entries.size(), 4U);
  EXPECT_EQ(entries.front().time, core::from_seconds(1'800'000'006));
  EXPECT_EQ(entries.back().time, core::from_seconds(1'800'000'009));
  EXPECT_EQ(entries.back().user, "alice");
}

TEST(RecentActivity, ForgetsTheAddressSeenLongestAgo) {
  RecentActivity r(2, 4);
  r.record_event(failure("203.0.113.1", 0));
  r.record_event(failure("203.0.113.2", 1));
  r.record_event(failure("203.0.113.1", 2));  // .1 is now the most recent
  r.record_event(failure("203.0.113.3", 3));  // evicts .2
  EXPECT_EQ(r.addresses(), 2U);
  EXPECT_TRUE(r.entries(*core::Address::parse("203.0.113.2")).empty());
  EXPECT_EQ(r.entries(*core::Address::parse("203.0.113.1")).size(), 2U);
}

TEST(RecentActivity, BansSurviveAFloodOfEvents) {
  RecentActivity r(8, 4);
  core::Decision ban;
  ban.kind = core::DecisionKind::Ban;
  ban.target = core::Prefix::host(*core::Address::parse("203.0.113.7"));
  ban.rule = "auth-failures";
  ban.offence = 2;
  r.record_decision(ban, ban.target.address());
  for (int i = 0; i < 10; ++i) r.record_event(failure("203.0.113.7", i));
  const auto bans = r.bans(*core::Address::parse("203.0.113.7"));
  ASSERT_EQ(bans.size(), 1U);
  EXPECT_EQ(bans[0].offence, 2U);
  EXPECT_EQ(to_json(bans[0])["type"], "ban");
}

}  // namespace
}  // namespace strikeout::control
