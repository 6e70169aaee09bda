// The column codec: what it writes it reads back; what a damaged file holds it refuses, saying what.
#include <gtest/gtest.h>

#include "store/codec.hpp"

namespace strikeout::store {
namespace {

core::Time t(std::int64_t us) {
  return core::from_micros(us);
}

TEST(Codec, TimesRoundTripAndRefusals) {
  const std::vector<core::Time> times{t(1), t(5), t(5), t(1'795'737'600'000'000)};
  std::string error;
  EXPECT_EQ(decode_times(encode_times(times), error), times);
  Bytes b = encode_times(times);
  b.pop_back();
  EXPECT_FALSE(decode_times(b, error));
  EXPECT_NE(error.find("not a positive multiple of 8"), std::string::npos) << error;
  EXPECT_FALSE(decode_times({}, error));
  const std::vector<core::Time> backwards{t(9), t(3)};
  EXPECT_FALSE(decode_times(encode_times(backwards), error));
  EXPECT_NE(error.find("number 2 is before"), std::string::npos) << error;
}

TEST(Codec, CampaignSourcesRoundTripAndRefusals) {
  const std::vector<core::SavedCampaignSource> sources{
      {*core::Prefix::parse("203.0.113.7"), t(10)},
      {*core::Prefix::parse("2001:db8::/64"), t(20)},
  };
  std::string error;
  EXPECT_EQ(decode_campaign_sources(encode_campaign_sources(sources), error), sources);
  Bytes b = encode_campaign_sources(sources);
  b[16] = 33;  // /33 on an IPv4 address
  EXPECT_FALSE(decode_campaign_sources(b, error));
  EXPECT_NE(error.find("prefix length 33"), std::string::npos) << error;
  b = encode_campaign_sources(sources);
  b[25 + 16] = 8;  // 2001:db8::/8 has host bits set
  EXPECT_FALSE(decode_campaign_sources(b, error));
  EXPECT_NE(error.find("host bits"), std::string::npos) << error;
  const std::vector<core::SavedCampaignSource> twice{sources[0], sources[0]};
  EXPECT_FALSE(decode_campaign_sources(encode_campaign_sources(twice), error));
  EXPECT_NE(error.find("listed twice"), std::string::npos) << error;
}

TEST(Codec, ReportsRoundTripAndRefusals) {
  const std::vector<core::SavedReport> reports{{t(1), 0xdeadbeef, 1, 3}, {t(2), 0, 0, 1}};
  std::string error;
  EXPECT_EQ(decode_reports(encode_reports(reports), error), reports);
  Bytes b = encode_reports(reports);
  b[12] = 200;
  EXPECT_FALSE(decode_reports(b, error));
  EXPECT_NE(error.find("reporter 200"), std::string::npos) << error;
  b = encode_reports(reports);
  b[13] = 0x40;
  EXPECT_FALSE(decode_reports(b, error));
  const std::vector<core::SavedReport> five(5, reports[0]);
  EXPECT_FALSE(decode_reports(encode_reports(five), error));
}

TEST(Codec, PrefixesAreReadStrictly) {
  std::string error;
  EXPECT_TRUE(decode_prefix("203.0.113.0/24", error));
  EXPECT_FALSE(decode_prefix("203.0.113.1/24", error));
  EXPECT_FALSE(decode_prefix("bob\n", error));
  EXPECT_NE(error.find("\"bob?\""), std::string::npos) << error;
}

}  // namespace
}  // namespace strikeout::store
