// The values of the enums that leave the process: written to the state database (Reporter in the
// pairing records, RuleAction with each ban), or named in replay's JSON, `watch` and the configuration
// (EventKind, KeyKind, DecisionKind). A database written by one version is read by the next, so a
// value once given is never given to anything else: this test fails when one is renumbered or
// renamed. A new value goes at the end, with a new line here.
#include <gtest/gtest.h>

#include "core/decision.hpp"
#include "core/event.hpp"
#include "core/policy.hpp"

namespace strikeout::core {
namespace {

template <typename E>
constexpr int value(E e) {
  return static_cast<int>(e);
}

TEST(PersistedEnums, ReporterValuesAndNamesArePinned) {
  const std::pair<Reporter, std::pair<int, const char*>> pinned[] = {
      {Reporter::Postfix, {0, "postfix"}},     {Reporter::Dovecot, {1, "dovecot"}},
      {Reporter::Exim, {2, "exim"}},           {Reporter::Sendmail, {3, "sendmail"}},
      {Reporter::OpenSmtpd, {4, "opensmtpd"}}, {Reporter::Courier, {5, "courier"}},
      {Reporter::Cyrus, {6, "cyrus"}},         {Reporter::Saslauthd, {7, "saslauthd"}},
      {Reporter::Custom, {8, "custom"}},       {Reporter::Wire, {9, "wire"}},
      {Reporter::Decoy, {10, "decoy"}},        {Reporter::Kernel, {11, "kernel"}},
      {Reporter::Operator, {12, "operator"}},
  };
  // Every reporter is pinned here: a new one added to kReporters without a line above fails.
  ASSERT_EQ(std::size(pinned), kReporters.size());
  for (const auto& [reporter, expected] : pinned) {
    EXPECT_EQ(value(reporter), expected.first) << expected.second;
    EXPECT_EQ(to_string(reporter), expected.second);
    EXPECT_EQ(reporter_named(expected.second), reporter);
  }
  EXPECT_EQ(reporter_named("auto"), std::nullopt);
  // Room to grow: the pairing's mask has a bit for every reporter up to the limit, well past today's.
  EXPECT_GE(kReporterLimit, 2 * kReporters.size());
}

TEST(PersistedEnums, EventKindValuesAndNamesArePinned) {
  EXPECT_EQ(value(EventKind::AuthFailure), 0);
  EXPECT_EQ(value(EventKind::AuthSuccess), 1);
  EXPECT_EQ(value(EventKind::Connect), 2);
  EXPECT_EQ(value(EventKind::ProtocolAbuse), 3);
  EXPECT_EQ(kEventKinds, 4U);
  EXPECT_EQ(to_string(EventKind::AuthFailure), "auth-failure");
  EXPECT_EQ(to_string(EventKind::AuthSuccess), "auth-success");
  EXPECT_EQ(to_string(EventKind::Connect), "connect");
  EXPECT_EQ(to_string(EventKind::ProtocolAbuse), "protocol-abuse");
}

TEST(PersistedEnums, RuleActionKeyKindAndDecisionKindArePinned) {
  EXPECT_EQ(value(RuleAction::Ban), 0);
  EXPECT_EQ(value(RuleAction::Notice), 1);
  EXPECT_EQ(value(RuleAction::Tarpit), 2);
  EXPECT_EQ(kLastRuleAction, RuleAction::Tarpit);
  EXPECT_EQ(value(KeyKind::Address), 0);
  EXPECT_EQ(value(KeyKind::Prefix), 1);
  EXPECT_EQ(value(KeyKind::Username), 2);
  EXPECT_EQ(value(DecisionKind::Strike), 0);
  EXPECT_EQ(value(DecisionKind::Ban), 1);
  EXPECT_EQ(value(DecisionKind::Unban), 2);
  // The decoy's modes cross between its supervisor and its workers.
  EXPECT_EQ(value(TarpitMode::Insult), 0);
  EXPECT_EQ(value(TarpitMode::Stutter), 1);
  EXPECT_EQ(value(TarpitMode::Decoy), 2);
  EXPECT_EQ(value(TarpitMode::Endless), 3);
  EXPECT_EQ(kLastTarpitMode, TarpitMode::Endless);
}

}  // namespace
}  // namespace strikeout::core
