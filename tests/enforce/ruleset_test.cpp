// The table's text: set naming and the rules' shape, without a kernel.
#include <gtest/gtest.h>

#include "enforce/ruleset.hpp"

namespace strikeout::enforce {
namespace {

core::Prefix P(const char* text) {
  return *core::Prefix::parse(text);
}

TEST(BanSet, NamesRoundTripAndStrangersAreRefused) {
  for (const char* n : {"ban4", "ban6", "tarpit4", "tarpit6", "ban4_24", "ban6_64", "tarpit6_48", "ban4_8"}) {
    const auto s = BanSet::parse(n);
    ASSERT_TRUE(s) << n;
    EXPECT_EQ(s->name(), n);
  }
  for (const char* n : {"", "ban", "ban5", "ban4_", "ban4_32", "ban4_0", "ban4_024", "ban6_128", "ban4_2x",
                        "allow4", "rate4", "ban4_99999", "tarpit"})
    EXPECT_FALSE(BanSet::parse(n)) << n;
  EXPECT_EQ(BanSet::for_prefix(P("198.51.100.0/24"), false).name(), "ban4_24");
  EXPECT_EQ(BanSet::for_prefix(P("2001:db8::7"), true).name(), "tarpit6");
}

TEST(Ruleset, MasksPrefixSetsAndRejectsEveryPacketToProtectedPorts) {
  NftOptions o;
  const auto s = setup_script(o, initial_sets(o), {});
  EXPECT_NE(s.find("add rule inet strikeout banned ip saddr & 255.255.255.0 @ban4_24 reject with tcp reset"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("ip6 saddr & ffff:ffff:ffff:ffff:: @ban6_64"), std::string::npos) << s;
  EXPECT_NE(s.find("tcp dport != { 25, 465, 587 } return"), std::string::npos) << s;
  EXPECT_NE(s.find("size 1048576"), std::string::npos);
  // Never `accept`: the allowlist only returns.
  EXPECT_EQ(s.find("accept;") == std::string::npos ? 0 : 1, 1);  // the chains' policy only
  EXPECT_EQ(s.find(" accept\n"), std::string::npos);
  o.verdict = BanVerdict::Drop;
  EXPECT_NE(setup_script(o, initial_sets(o), {}).find("@ban4 drop"), std::string::npos);
}

TEST(Ruleset, AllowlistIsMadeDisjoint) {
  const auto d = disjoint({P("10.0.0.0/8"), P("10.1.2.3"), P("192.0.2.0/24"), P("10.0.0.0/8"), P("::1")});
  ASSERT_EQ(d.size(), 3U);
  NftOptions o;
  const auto s = allowlist_script(o, std::vector<core::Prefix>{P("10.1.0.0/16"), P("10.0.0.0/8")});
  EXPECT_NE(s.find("add element inet strikeout allow4 { 10.0.0.0/8 }"), std::string::npos) << s;
}

TEST(Ruleset, ValidateNamesEveryBadField) {
  NftOptions o;
  o.table = "Bad Name";
  o.ports = {0};
  o.prefix_lengths4 = {4};
  o.rate_limit.per = std::chrono::seconds(90);
  const auto errors = validate(o);
  EXPECT_EQ(errors.size(), 4U);
  EXPECT_TRUE(validate(NftOptions{}).empty());
}

}  // namespace
}  // namespace strikeout::enforce
