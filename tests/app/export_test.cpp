// `export nft|iptables`: what the rulesets say (rules, limits at the top) and what is refused.
// Loading them into a kernel is export_kernel_test.cpp.
#include <gtest/gtest.h>

#include "app/export.hpp"

namespace strikeout::app {
namespace {

config::Config test_config() {
  config::Config c;
  c.origin = "test.toml";
  core::Rule auth;
  auth.name = "auth-failures";
  auth.hits = 3;
  auth.within = std::chrono::minutes(20);
  auth.ban = std::chrono::minutes(20);
  core::Rule campaign;
  campaign.name = "username-campaign";
  campaign.key = core::KeyKind::Username;
  core::Rule rate;
  rate.name = "connection-rate";
  rate.on = core::EventKind::Connect;
  c.policy.rules = {rate, auth, campaign};
  c.policy.allowlist = {*core::Prefix::parse("10.0.0.0/8"), *core::Prefix::parse("2001:db8::/32")};
  return c;
}

std::string render(ExportFormat f, std::vector<std::string> replies = {"535"}) {
  ExportOptions o;
  o.format = f;
  o.config = test_config();
  o.failure_replies = std::move(replies);
  std::string error;
  auto text = render_export(o, error);
  EXPECT_TRUE(text) << error;
  return text.value_or("");
}

TEST(Export, NftMatchesTheReplyAndCountsInDynamicSets) {
  const std::string t = render(ExportFormat::Nft, {"535 5.7.0 authentication failed"});
  EXPECT_NE(t.find("LIMITS"), std::string::npos);
  EXPECT_NE(t.find("No TLS"), std::string::npos);
  // "535 5.7.0 authen" and "tication failed" as raw payload matches on the TCP payload.
  EXPECT_NE(t.find("@ih,0,128 0x35333520352e372e302061757468656e @ih,128,120 "
                   "0x7469636174696f6e206661696c6564 jump count_failure"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("set r0_strike2_4 { type ipv4_addr; flags dynamic, timeout; timeout 1200s;"),
            std::string::npos);
  EXPECT_NE(t.find("ip daddr @r0_strike2_4 update @r0_ban4 { ip daddr timeout 1200s }"), std::string::npos);
  EXPECT_NE(t.find("SMTP_AUTH_FAIL: Strike 1"), std::string::npos);
  EXPECT_NE(t.find("elements = { 10.0.0.0/8 }"), std::string::npos);
  EXPECT_NE(t.find("ip saddr @r0_ban4 counter reject with tcp reset"), std::string::npos);
  EXPECT_NE(t.find("limit rate over 5/minute burst 5 packets"), std::string::npos);
  // Replies on 465 cannot be read; bans still cover it.
  EXPECT_NE(t.find("tcp sport { 25, 587 } jump failure_reply"), std::string::npos);
  EXPECT_NE(t.find("tcp dport != { 25, 465, 587 } return"), std::string::npos);
  EXPECT_NE(t.find("username-campaign: a campaign rule (by username)"), std::string::npos);
}

TEST(Export, IptablesUsesStringKmpAndRecent) {
  const std::string t = render(ExportFormat::Iptables);
  EXPECT_NE(t.find("holds 100 addresses by default"), std::string::npos);
  EXPECT_NE(t.find("No established-session cut"), std::string::npos);
  EXPECT_NE(t.find("-m string --algo kmp --to 120 --string \"535 \" -j strikeout_export_fail"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("-m recent --name strikeout_export_fail --rdest --rcheck --seconds 1200 --hitcount 3 -j "
                   "strikeout_export_ban0"),
            std::string::npos);
  EXPECT_NE(t.find("-A strikeout_export_in -p tcp -m recent --name strikeout_export_ban0 --rcheck --seconds "
                   "1200 -j REJECT --reject-with tcp-reset"),
            std::string::npos);
  EXPECT_NE(t.find("-A strikeout_export_in -s 10.0.0.0/8 -j RETURN"), std::string::npos);
  EXPECT_EQ(t.find("2001:db8"), std::string::npos);  // IPv4 only
  EXPECT_NE(t.find("COMMIT\n"), std::string::npos);
}

TEST(Export, RefusesWhatTheKernelCannotDo) {
  ExportOptions o;
  o.config = test_config();
  std::string error;
  o.config.policy.rules.erase(o.config.policy.rules.begin() + 1);  // no address rule left
  EXPECT_FALSE(render_export(o, error));
  EXPECT_NE(error.find("test.toml: no rule the kernel can do alone"), std::string::npos) << error;

  o.config = test_config();
  o.config.policy.rules[1].hits = 25;
  o.format = ExportFormat::Iptables;
  EXPECT_FALSE(render_export(o, error));
  EXPECT_NE(error.find("rule \"auth-failures\": 25 hits"), std::string::npos) << error;
  o.format = ExportFormat::Nft;
  EXPECT_TRUE(render_export(o, error));

  o.failure_replies = {"535 5.7.8 caf\xc3\xa9"};
  EXPECT_FALSE(render_export(o, error));
  EXPECT_NE(error.find("printable ASCII"), std::string::npos);
  o.failure_replies = {"55"};
  EXPECT_FALSE(render_export(o, error));
  o.failure_replies = {"535"};
  o.table = "bad name; flush ruleset";
  EXPECT_FALSE(render_export(o, error));
  EXPECT_NE(error.find("table name"), std::string::npos);
}

}  // namespace
}  // namespace strikeout::app
