// Time in the core: RFC 3339 formatting in UTC and the duration syntax of the configuration.
#include "core/time.hpp"

#include <gtest/gtest.h>

namespace strikeout::core {
namespace {

using namespace std::chrono_literals;

TEST(Time, FormatsRfc3339InUtc) {
  EXPECT_EQ(format_rfc3339(from_seconds(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(from_seconds(1'795'744'192)), "2026-11-27T01:49:52Z");
  EXPECT_EQ(format_rfc3339(from_micros(1'795'744'192'250'000)), "2026-11-27T01:49:52.250Z");
  EXPECT_EQ(format_rfc3339(from_micros(1'795'744'192'000'001)), "2026-11-27T01:49:52.000001Z");
  EXPECT_EQ(format_rfc3339(from_seconds(951'782'400)), "2000-02-29T00:00:00Z");  // leap day
  EXPECT_EQ(format_rfc3339(from_micros(-1)), "1969-12-31T23:59:59.999999Z");
}

TEST(Duration, ParsesUnitsAndCombinations) {
  EXPECT_EQ(parse_duration("20m"), Duration{20min});
  EXPECT_EQ(parse_duration("1h30m"), Duration{90min});
  EXPECT_EQ(parse_duration("250ms"), Duration{250ms});
  EXPECT_EQ(parse_duration("7d"), Duration{168h});
  EXPECT_EQ(parse_duration("1w"), Duration{168h});
  EXPECT_EQ(parse_duration("5us"), Duration{5});
  EXPECT_EQ(parse_duration("0s"), Duration{0});
}

TEST(Duration, RefusesBareNumbersUnknownUnitsAndOverflow) {
  for (const char* bad : {"", "20", "m", "20 m", "20M", "-5s", "1.5h", "20min", "1h 30m",
                          "99999999999999999999s", "9223372036854775807w", "1hx"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatsWithTheLargestExactUnits) {
  EXPECT_EQ(format_duration(20min), "20m");
  EXPECT_EQ(format_duration(90min), "1h30m");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(Duration{0}), "0s");
  EXPECT_EQ(format_duration(168h), "1w");
  EXPECT_EQ(parse_duration(format_duration(Duration{93'784'005'006})), Duration{93'784'005'006});
}

}  // namespace
}  // namespace strikeout::core
