// The recipe's words in every decision line, and JSON that parses.
#include "report/decision_format.hpp"

#include <random>

#include "report/address_text.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

namespace strikeout::report {
namespace {

core::Policy recipe_policy() {
  core::Policy p;
  core::Rule failures;
  failures.name = "auth-failures";
  failures.on = core::EventKind::AuthFailure;
  failures.hits = 3;
  p.rules.push_back(failures);
  core::Rule campaign;
  campaign.name = "auth-campaign";
  campaign.key = core::KeyKind::Username;
  campaign.hits = 5;
  p.rules.push_back(campaign);
  core::Rule rate;
  rate.name = "connection-rate";
  rate.on = core::EventKind::Connect;
  rate.hits = 6;
  p.rules.push_back(rate);
  return p;
}

core::Decision strike(std::uint32_t k) {
  core::Decision d;
  d.kind = core::DecisionKind::Strike;
  d.time = core::from_seconds(1'795'744'192);  // 2026-11-27T01:49:52Z
  d.target = core::Prefix::host(*core::Address::parse("203.0.113.7"));
  d.rule = "auth-failures";
  d.count = k;
  d.threshold = 3;
  d.user = "alice";
  return d;
}

TEST(DecisionFormatter, StrikeReadsLikeTheRecipe) {
  const auto policy = recipe_policy();
  DecisionFormatter f(policy);
  EXPECT_EQ(f.human(strike(2)),
            "SMTP_AUTH_FAIL: Strike 2: SRC=203.0.113.7 rule=auth-failures user=\"alice\"");
}

TEST(DecisionFormatter, TagFollowsTheRuleKind) {
  const auto policy = recipe_policy();
  DecisionFormatter f(policy);
  auto d = strike(1);
  d.rule = "auth-campaign";
  EXPECT_EQ(f.human(d).rfind("SMTP_AUTH_CAMPAIGN: Strike 1:", 0), 0U);
  d.rule = "connection-rate";
  EXPECT_EQ(f.human(d).rfind("SMTP_CONN_RATE: Strike 1:", 0), 0U);
}

TEST(DecisionFormatter, BanSaysGoAwayWithLengthAndEnd) {
  const auto policy = recipe_policy();
  DecisionFormatter f(policy);
  auto d = strike(3);
  d.kind = core::DecisionKind::Ban;
  d.until = d.time + std::chrono::minutes(20);
  d.offence = 1;
  d.reason = "3 auth-failure within 20m";
  EXPECT_EQ(
      f.human(d),
      "SMTP_AUTH_REJECTED: Go AWAY: SRC=203.0.113.7 rule=auth-failures ban=20m "
      "until=2026-11-27T02:09:52Z offence=1 count=3 user=\"alice\" reason=\"3 auth-failure within 20m\"");
}

TEST(DecisionFormatter, AUsernameCannotForgeAField) {
  const auto policy = recipe_policy();
  DecisionFormatter f(policy);
  auto d = strike(1);
  d.user = "x\" SRC=198.51.100.1\nSMTP_AUTH_FAIL: Strike 3: SRC=198.51.100.1";
  const std::string line = f.human(d);
  // One line, the real fields first, and the username's quote and newline escaped inside its field.
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line,
            "SMTP_AUTH_FAIL: Strike 1: SRC=203.0.113.7 rule=auth-failures "
            "user=\"x\\\" SRC=198.51.100.1\\x0aSMTP_AUTH_FAIL: Strike 3: SRC=198.51.100.1\"");
}

TEST(DecisionFormatter, JsonCarriesTheDocumentedFields) {
  const auto policy = recipe_policy();
  DecisionFormatter f(policy);
  auto d = strike(3);
  d.kind = core::DecisionKind::Ban;
  d.until = d.time + std::chrono::minutes(40);
  d.offence = 2;
  d.target = core::Prefix(*core::Address::parse("2001:db8:0:0:1::"), 64);
  std::string out;
  f.append_json(out, d);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["action"], "ban");
  EXPECT_EQ(j["address"], "2001:db8::/64");
  EXPECT_EQ(j["time"], "2026-11-27T01:49:52Z");
  EXPECT_EQ(j["until"], "2026-11-27T02:29:52Z");
  EXPECT_EQ(j["ban_seconds"], 2400);
  EXPECT_EQ(j["offence"], 2);
  EXPECT_EQ(j["extended"], false);
  EXPECT_EQ(j["count"], 3);
}

// write_prefix must give exactly Prefix::to_string()'s text (glibc's inet_ntop for IPv6): replay
// writes it in place of to_string(), and the golden files pin the text.
std::string written(const core::Prefix& p) {
  char buf[kMaxPrefixText];
  return std::string(buf, write_prefix(buf, p));
}

TEST(WritePrefix, SameTextAsToStringForTheEdgeCases) {
  for (const char* text : {"0.0.0.0",
                           "203.0.113.7",
                           "255.255.255.255",
                           "::",
                           "::1",
                           "::2",
                           "1::",
                           "1:2::",
                           "::1:2",
                           "2001:db8::1",
                           "2001:db8:0:0:1:0:0:1",
                           "2001:0:0:1:0:0:0:1",
                           "1:0:2:0:3:0:4:0",
                           "0:0:1:0:0:1:0:0",
                           "::ffff:0:1.2.3.4",
                           "::1.2.3.4",
                           "::0.0.1.0",
                           "::ffff:1.2.3.4",
                           "64:ff9b::192.0.2.33",
                           "fe80::abcd:ef01:2345:6789",
                           "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                           "::ffff:0:0",
                           "0:0:0:0:0:1:0:0"}) {
    const auto a = core::Address::parse(text);
    ASSERT_TRUE(a) << text;
    EXPECT_EQ(written(core::Prefix::host(*a)), a->to_string()) << text;
  }
  EXPECT_EQ(written(core::Prefix{*core::Address::parse("203.0.113.7"), 24}), "203.0.113.0/24");
  EXPECT_EQ(written(core::Prefix{*core::Address::parse("2001:db8::1"), 64}), "2001:db8::/64");
  EXPECT_EQ(written(core::Prefix{*core::Address::parse("2001:db8::1"), 0}), "::/0");
}

TEST(WritePrefix, SameTextAsToStringForRandomAddresses) {
  std::mt19937_64 rng(7);
  for (int n = 0; n < 200000; ++n) {
    core::Address::Bytes b{};
    // Mostly zero groups, so the "::" choice (first longest run, ties, runs of one) is exercised.
    for (std::size_t i = 0; i < 16; i += 2) {
      const auto r = rng();
      if (r % 3 != 0) continue;
      b[i] = static_cast<std::uint8_t>(r % 4 == 0 ? (r >> 8) : 0);
      b[i + 1] = static_cast<std::uint8_t>(r >> 16);
    }
    if (n % 5 == 0) b[10] = b[11] = 0xff;
    const auto a = core::Address::from_bytes(b);
    const unsigned len = static_cast<unsigned>(rng() % (a.is_v4() ? 33 : 129));
    EXPECT_EQ(written(core::Prefix::host(a)), a.to_string());
    EXPECT_EQ(written(core::Prefix{a, len}), (core::Prefix{a, len}.to_string()));
  }
}

}  // namespace
}  // namespace strikeout::report

namespace strikeout::report {
namespace {

// Regression: the formatter once held a reference to the engine's policy; the daemon's runtime
// allowlist change replaced that policy, the reference dangled, and the daemon printed strikes as
// "SMTP_OPERATOR" and then crashed. The formatter must keep what it needs.
TEST(DecisionFormatter, OutlivesThePolicyItWasMadeFrom) {
  std::unique_ptr<DecisionFormatter> f;
  {
    auto policy = std::make_unique<core::Policy>(recipe_policy());
    f = std::make_unique<DecisionFormatter>(*policy);
  }
  EXPECT_EQ(f->human(strike(1)).rfind("SMTP_AUTH_FAIL: Strike 1:", 0), 0U);
}

}  // namespace
}  // namespace strikeout::report
