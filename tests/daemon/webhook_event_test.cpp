// Which webhook event each decision is (daemon/webhook_sinks.hpp): bans, unbans, the alert of a rule
// that blocks nothing, and a campaign said once per username while it goes on.
#include <gtest/gtest.h>

#include "daemon/webhook_sinks.hpp"

namespace strikeout::daemon {
namespace {

using namespace std::chrono_literals;
constexpr core::Time kT = core::from_seconds(1'800'000'000);

core::Policy policy() {
  core::Policy p;
  core::Rule address;
  address.name = "auth-failures";
  core::Rule campaign;
  campaign.name = "campaign";
  campaign.key = core::KeyKind::Username;
  campaign.within = 1h;
  core::Rule notice;
  notice.name = "watch-only";
  notice.action = core::RuleAction::Notice;
  p.rules = {address, campaign, notice};
  return p;
}

core::Decision decision(core::DecisionKind kind, const char* rule, core::Time t, const char* user = "") {
  core::Decision d;
  d.kind = kind;
  d.rule = rule;
  d.time = t;
  d.user = user;
  d.target = *core::Prefix::parse("203.0.113.9");
  return d;
}

TEST(WebhookEvent, BansUnbansAndStrikes) {
  std::map<std::pair<std::string, std::string>, core::Time> seen;
  const auto p = policy();
  EXPECT_EQ(webhook_event(decision(core::DecisionKind::Ban, "auth-failures", kT), p, seen),
            config::kWebhookBan);
  EXPECT_EQ(webhook_event(decision(core::DecisionKind::Unban, "auth-failures", kT), p, seen),
            config::kWebhookUnban);
  // A strike toward a banning rule is no webhook event; the last strike of a notice rule is an alert.
  auto strike = decision(core::DecisionKind::Strike, "auth-failures", kT);
  strike.count = 3;
  strike.threshold = 3;
  EXPECT_EQ(webhook_event(strike, p, seen), 0U);
  auto notice = decision(core::DecisionKind::Strike, "watch-only", kT);
  notice.action = core::RuleAction::Notice;
  notice.count = 2;
  notice.threshold = 3;
  EXPECT_EQ(webhook_event(notice, p, seen), 0U);
  notice.count = 3;
  EXPECT_EQ(webhook_event(notice, p, seen), config::kWebhookAlert);
}

TEST(WebhookEvent, ACampaignIsSaidOnceWhileItGoesOn) {
  std::map<std::pair<std::string, std::string>, core::Time> seen;
  const auto p = policy();
  EXPECT_EQ(webhook_event(decision(core::DecisionKind::Ban, "campaign", kT, "bob"), p, seen),
            config::kWebhookCampaign);
  // Every further address banned in the same campaign is a ban, as long as bans keep coming within
  // the rule's window.
  EXPECT_EQ(webhook_event(decision(core::DecisionKind::Ban, "campaign", kT + 50min, "bob"), p, seen),
            config::kWebhookBan);
  EXPECT_EQ(webhook_event(decision(core::DecisionKind::Ban, "campaign", kT + 100min, "bob"), p, seen),
            config::kWebhookBan);
  // Another username is another campaign; a quiet window later, bob's is a new one.
  EXPECT_EQ(webhook_event(decision(core::DecisionKind::Ban, "campaign", kT + 100min, "alice"), p, seen),
            config::kWebhookCampaign);
  EXPECT_EQ(webhook_event(decision(core::DecisionKind::Ban, "campaign", kT + 4h, "bob"), p, seen),
            config::kWebhookCampaign);
}

TEST(WebhookEvent, CampaignMemoryIsBounded) {
  std::map<std::pair<std::string, std::string>, core::Time> seen;
  const auto p = policy();
  for (int i = 0; i < 10'000; ++i) {
    const std::string user = "u" + std::to_string(i);
    (void)webhook_event(
        decision(core::DecisionKind::Ban, "campaign", kT + std::chrono::seconds(i), user.c_str()), p, seen);
  }
  EXPECT_LE(seen.size(), 4096U);
}

}  // namespace
}  // namespace strikeout::daemon
