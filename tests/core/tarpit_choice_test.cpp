// The tarpit choice is the engine's (issue 9, item 4): each Ban decision says whether its target goes
// to the decoy and in which mode, so the daemon's sinks read it off the decision instead of asking the
// decoy's settings by rule name.
#include <gtest/gtest.h>

#include "engine_test_util.hpp"

namespace strikeout::core {
namespace {

using namespace std::chrono_literals;
using testing::at_min;
using testing::failure;
using testing::RecordingSink;

std::vector<Decision> bans(std::vector<Decision> ds) {
  std::erase_if(ds, [](const Decision& d) { return d.kind != DecisionKind::Ban; });
  return ds;
}

// A "ban" rule with tarpit_from_offence = 2: the first ban rejects, the second (and its extension)
// goes to the decoy in the [decoy] mode; an operator's ban never does.
TEST(TarpitChoice, BanRuleSendsRepeatOffendersToTheDecoyInTheDefaultMode) {
  Rule r = testing::address_rule(3, 20min, 10min);
  r.tarpit_from_offence = 2;
  Policy p = testing::policy_with({r});
  p.decoy_mode = TarpitMode::Stutter;
  Engine engine(p);
  RecordingSink sink;
  for (int i = 0; i < 3; ++i) engine.on_event(failure(at_min(i), "203.0.113.5"), sink);
  auto first = bans(sink.take());
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(first[0].offence, 1U);
  EXPECT_EQ(first[0].tarpit, std::nullopt);
  // The ban ends at minute 12; three more failures make the second offence.
  engine.advance(at_min(13), sink);
  for (int i = 0; i < 3; ++i) engine.on_event(failure(at_min(14 + i), "203.0.113.5"), sink);
  auto second = bans(sink.take());
  ASSERT_EQ(second.size(), 1U);
  EXPECT_EQ(second[0].offence, 2U);
  EXPECT_EQ(second[0].tarpit, TarpitMode::Stutter);
  // A try while banned extends it: still to the decoy.
  engine.on_event(failure(at_min(20), "203.0.113.5"), sink);
  auto extension = bans(sink.take());
  ASSERT_EQ(extension.size(), 1U);
  EXPECT_TRUE(extension[0].extended);
  EXPECT_EQ(extension[0].tarpit, TarpitMode::Stutter);
  // The operator's ban of another address is a plain ban.
  engine.ban(*Prefix::parse("198.51.100.7", true), at_min(21), 1h, "seen elsewhere", sink);
  auto by_hand = bans(sink.take());
  ASSERT_EQ(by_hand.size(), 1U);
  EXPECT_EQ(by_hand[0].tarpit, std::nullopt);
}

// A "tarpit" rule sends every ban, in its own decoy_mode; with the decoy off, nobody goes.
TEST(TarpitChoice, TarpitRuleUsesItsOwnModeAndNothingGoesWithTheDecoyOff) {
  Rule r = testing::address_rule();
  r.action = RuleAction::Tarpit;
  r.tarpit_mode = TarpitMode::Insult;
  Policy p = testing::policy_with({r});
  EXPECT_EQ(tarpit_choice(p, &p.rules[0], RuleAction::Tarpit, 1), TarpitMode::Insult);
  Engine engine(p);
  RecordingSink sink;
  for (int i = 0; i < 3; ++i) engine.on_event(failure(at_min(i), "203.0.113.9"), sink);
  auto b = bans(sink.take());
  ASSERT_EQ(b.size(), 1U);
  EXPECT_EQ(b[0].tarpit, TarpitMode::Insult);

  p.decoy_mode = std::nullopt;
  EXPECT_EQ(tarpit_choice(p, &p.rules[0], RuleAction::Tarpit, 1), std::nullopt);
  // A ban restored for a rule no longer configured keeps a tarpit action, in the [decoy] mode.
  p.decoy_mode = TarpitMode::Endless;
  EXPECT_EQ(tarpit_choice(p, find_rule(p, "gone"), RuleAction::Tarpit, 1), TarpitMode::Endless);
  EXPECT_EQ(tarpit_choice(p, find_rule(p, "gone"), RuleAction::Ban, 5), std::nullopt);
}

}  // namespace
}  // namespace strikeout::core
