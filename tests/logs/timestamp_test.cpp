// Header and timestamp parsing: RFC 3164 with both year anchors across New Year, RFC 5424, ISO 8601
// offsets, Exim's mainlog, fixed zones and a real TZif zone across a DST change.
#include <gtest/gtest.h>

#include <fstream>
#include <cstdio>
#include <random>
#include <iterator>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "logs/decoder.hpp"
#include "logs/header.hpp"
#include "logs/scan.hpp"

namespace strikeout::logs {
namespace {

using detail::Header;
using detail::parse_header;

std::string when(std::string_view line, YearAnchor& year, const TimeZone& zone = TimeZone::utc()) {
  Header h;
  if (!parse_header(line, zone, year, h)) return "refused";
  return core::format_rfc3339(h.time);
}

core::Time at(std::string_view rfc3339) {
  Header h;
  YearAnchor y;
  EXPECT_TRUE(parse_header(std::string(rfc3339) + " host prog: x", TimeZone::utc(), y, h)) << rfc3339;
  return h.time;
}

TEST(Rfc3164, FieldsAndHostlessShape) {
  YearAnchor y = YearAnchor::starting_in(2026);
  Header h;
  ASSERT_TRUE(parse_header("Nov 27 01:49:52 mail postfix/submission/smtpd[9936]: connect from x",
                           TimeZone::utc(), y, h));
  EXPECT_EQ(core::format_rfc3339(h.time), "2026-11-27T01:49:52Z");
  EXPECT_EQ(h.host, "mail");
  EXPECT_EQ(h.program, "postfix/submission/smtpd");
  EXPECT_EQ(h.pid, 9936U);
  EXPECT_EQ(h.message, "connect from x");

  ASSERT_TRUE(parse_header("Nov 27 01:49:52 auth: Info: passwd-file(a,1.2.3.4): Password mismatch",
                           TimeZone::utc(), y, h));
  EXPECT_EQ(h.host, "");
  EXPECT_EQ(h.program, "auth");
  EXPECT_EQ(h.message, "Info: passwd-file(a,1.2.3.4): Password mismatch");

  ASSERT_TRUE(parse_header("Nov 27 01:49:52 auth-worker(123): Info: x", TimeZone::utc(), y, h));
  EXPECT_EQ(h.program, "auth-worker");
  EXPECT_EQ(h.pid, 123U);
}

TEST(Rfc3164, SingleDigitDays) {
  YearAnchor y = YearAnchor::starting_in(2026);
  EXPECT_EQ(when("Nov  7 01:49:52 mail prog: x", y), "2026-11-07T01:49:52Z");
  EXPECT_EQ(when("Nov 07 01:49:52 mail prog: x", y), "2026-11-07T01:49:52Z");
}

TEST(Rfc3164, RefusesBadTimestamps) {
  YearAnchor y = YearAnchor::starting_in(2026);
  EXPECT_EQ(when("Foo 27 01:49:52 mail prog: x", y), "refused");
  EXPECT_EQ(when("Nov 31 01:49:52 mail prog: x", y), "refused");
  EXPECT_EQ(when("Nov 27 24:49:52 mail prog: x", y), "refused");
  EXPECT_EQ(when("Nov 27 01:60:52 mail prog: x", y), "refused");
  EXPECT_EQ(when("Nov 27 01:49", y), "refused");
  EXPECT_EQ(when("", y), "refused");
  YearAnchor y2027 = YearAnchor::starting_in(2027);
  EXPECT_EQ(when("Feb 29 00:00:00 mail prog: x", y2027), "refused");  // 2027 is not a leap year
}

// A log written from December into January, read with the file's modification time (in January).
TEST(Rfc3164, EndingAtAcrossNewYear) {
  YearAnchor y = YearAnchor::ending_at(at("2027-01-02T10:00:00Z"));
  EXPECT_EQ(when("Dec 31 23:59:58 mail prog: x", y), "2026-12-31T23:59:58Z");
  EXPECT_EQ(when("Jan  1 00:00:01 mail prog: x", y), "2027-01-01T00:00:01Z");
  EXPECT_EQ(when("Jan  2 09:00:00 mail prog: x", y), "2027-01-02T09:00:00Z");
}

// The same log read with --year 2026: the month going back from December to January starts 2027.
TEST(Rfc3164, StartingInAcrossNewYear) {
  YearAnchor y = YearAnchor::starting_in(2026);
  EXPECT_EQ(when("Dec 31 23:59:58 mail prog: x", y), "2026-12-31T23:59:58Z");
  EXPECT_EQ(when("Jan  1 00:00:01 mail prog: x", y), "2027-01-01T00:00:01Z");
  // A late line from before midnight (several writers) stays in the old year without moving back.
  EXPECT_EQ(when("Dec 31 23:59:59 mail prog: x", y), "2026-12-31T23:59:59Z");
  EXPECT_EQ(when("Feb  1 00:00:00 mail prog: x", y), "2027-02-01T00:00:00Z");
}

TEST(Rfc5424, WithAndWithoutPri) {
  YearAnchor y;
  Header h;
  ASSERT_TRUE(parse_header("<34>1 2026-11-27T01:49:52.003Z mail postfix/smtpd 9936 - - connect from x",
                           TimeZone::utc(), y, h));
  EXPECT_EQ(core::format_rfc3339(h.time), "2026-11-27T01:49:52.003Z");
  EXPECT_EQ(h.host, "mail");
  EXPECT_EQ(h.program, "postfix/smtpd");
  EXPECT_EQ(h.pid, 9936U);
  EXPECT_EQ(h.message, "connect from x");
  ASSERT_TRUE(
      parse_header(R"(1 2026-11-27T01:49:52+01:00 mail app - ID47 [ex@32473 a="x\]y" b="]"][z@1] msg)",
                   TimeZone::utc(), y, h));
  EXPECT_EQ(core::format_rfc3339(h.time), "2026-11-27T00:49:52Z");
  EXPECT_EQ(h.pid, 0U);
  EXPECT_EQ(h.message, "msg");
  EXPECT_FALSE(parse_header("<34>1 - mail app - - - msg", TimeZone::utc(), y, h));
  EXPECT_FALSE(
      parse_header("<34>1 2026-11-27T01:49:52Z mail app - - [unterminated msg", TimeZone::utc(), y, h));
}

TEST(Iso8601, Offsets) {
  YearAnchor y;
  EXPECT_EQ(when("2026-11-27T01:49:52.123456+01:00 mail prog[1]: x", y), "2026-11-27T00:49:52.123456Z");
  EXPECT_EQ(when("2026-11-27T01:49:52+0100 mail prog[1]: x", y),
            "2026-11-27T00:49:52Z");  // journalctl short-iso
  EXPECT_EQ(when("2026-11-27T01:49:52-05:30 mail prog[1]: x", y), "2026-11-27T07:19:52Z");
  EXPECT_EQ(when("2026-11-27T01:49:52Z mail prog[1]: x", y), "2026-11-27T01:49:52Z");
  // Without an offset: the configured zone.
  EXPECT_EQ(when("2026-11-27T01:49:52 mail prog[1]: x", y, *TimeZone::parse_fixed("+02:00")),
            "2026-11-26T23:49:52Z");
  EXPECT_EQ(when("2026-13-27T01:49:52Z mail prog: x", y), "refused");
  EXPECT_EQ(when("2026-11-27T01:49:52+25:00 mail prog: x", y), "refused");
}

TEST(Exim, Mainlog) {
  YearAnchor y;
  Header h;
  ASSERT_TRUE(parse_header("2026-11-27 01:49:52 [4242] 1tAbCd-000123-AB Completed", TimeZone::utc(), y, h));
  EXPECT_EQ(core::format_rfc3339(h.time), "2026-11-27T01:49:52Z");
  EXPECT_EQ(h.program, "exim");
  EXPECT_EQ(h.pid, 4242U);
  EXPECT_EQ(h.message, "1tAbCd-000123-AB Completed");
  EXPECT_EQ(when("2026-11-27 01:49:52 +0100 x", y), "2026-11-27T00:49:52Z");
  EXPECT_EQ(when("2026-11-27 01:49:52.250 x", y), "2026-11-27T01:49:52.250Z");
}

TEST(TimeZoneFixed, Parse) {
  EXPECT_EQ(TimeZone::parse_fixed("UTC")->offset_at_local(0).count(), 0);
  EXPECT_EQ(TimeZone::parse_fixed("+02:00")->offset_at_local(0).count(), 7200);
  EXPECT_EQ(TimeZone::parse_fixed("-0530")->offset_at_local(0).count(), -19800);
  EXPECT_FALSE(TimeZone::parse_fixed("Europe/Berlin"));
  EXPECT_FALSE(TimeZone::parse_fixed("+2"));
  EXPECT_FALSE(TimeZone::parse_fixed("+24:00"));
}

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Europe/Berlin: CET (+1) until 2026-03-29 02:00 local, then CEST (+2) until 2026-10-25 03:00 local.
TEST(TimeZoneTzif, BerlinAcrossDst) {
  const std::string bytes = read_file("/usr/share/zoneinfo/Europe/Berlin");
  ASSERT_FALSE(bytes.empty()) << "tzdata is installed on Debian by default";
  const auto zone = TimeZone::from_tzif(bytes, "Europe/Berlin");
  ASSERT_TRUE(zone);
  YearAnchor y = YearAnchor::starting_in(2026);
  EXPECT_EQ(when("Mar 29 01:59:59 mail prog: x", y, *zone), "2026-03-29T00:59:59Z");  // CET
  EXPECT_EQ(when("Mar 29 02:30:00 mail prog: x", y, *zone), "2026-03-29T01:30:00Z");  // in the gap: CET kept
  EXPECT_EQ(when("Mar 29 03:00:00 mail prog: x", y, *zone), "2026-03-29T01:00:00Z");  // CEST
  EXPECT_EQ(when("Jul  1 12:00:00 mail prog: x", y, *zone), "2026-07-01T10:00:00Z");
  EXPECT_EQ(when("Oct 25 02:30:00 mail prog: x", y, *zone), "2026-10-25T00:30:00Z");  // overlap: CEST kept
  EXPECT_EQ(when("Oct 25 03:00:00 mail prog: x", y, *zone), "2026-10-25T02:00:00Z");  // CET
  EXPECT_EQ(when("Dec 24 18:00:00 mail prog: x", y, *zone), "2026-12-24T17:00:00Z");
  // Beyond the file's explicit transitions (2037) the footer's POSIX rule still applies.
  YearAnchor far = YearAnchor::starting_in(2060);
  EXPECT_EQ(when("Jul  1 12:00:00 mail prog: x", far, *zone), "2060-07-01T10:00:00Z");
  EXPECT_EQ(when("Dec  1 12:00:00 mail prog: x", far, *zone), "2060-12-01T11:00:00Z");
}

TEST(TimeZoneTzif, RefusesMalformed) {
  const std::string bytes = read_file("/usr/share/zoneinfo/Europe/Berlin");
  ASSERT_GT(bytes.size(), 100U);
  EXPECT_FALSE(TimeZone::from_tzif("", "x"));
  EXPECT_FALSE(TimeZone::from_tzif("TZif", "x"));
  EXPECT_FALSE(TimeZone::from_tzif(std::string_view(bytes).substr(0, bytes.size() / 2), "x"));  // truncated
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_FALSE(TimeZone::from_tzif(bad, "x"));
  bad = bytes;
  bad[4] = '9';  // unknown version
  EXPECT_FALSE(TimeZone::from_tzif(bad, "x"));
}

TEST(TimeZoneTzif, UtcFile) {
  const std::string bytes = read_file("/usr/share/zoneinfo/UTC");
  const auto zone = TimeZone::from_tzif(bytes, "UTC");
  ASSERT_TRUE(zone);
  EXPECT_EQ(zone->offset_at_local(1800000000).count(), 0);
}

// The per-decoder cache of the last RFC 3164 second (HeaderCache) must not change any field of any
// line: lines of one second, a second that comes back after New Year was crossed by a line the
// cache did not hold (a fraction, a one-digit day), host-less tags, odd tags and short lines.
TEST(HeaderCache, SameFieldsAsWithoutTheCache) {
  const std::vector<std::string> lines = {
      "Dec 31 23:59:59 mail postfix/smtpd[1]: connect from a[1.2.3.4]",
      "Dec 31 23:59:59 mail postfix/submission/smtpd[22]: x",
      "Jan  1 00:00:00.5 mail app[3]: fraction, not cached",
      "Dec 31 23:59:59 mail late[4]: a late line from last year",
      "Jan 1 00:00:01 mail app: one-digit day",
      "Dec 31 23:59:59 auth: host-less",
      "Dec 31 23:59:59 auth-worker(77): Info: host-less with a pid",
      "Dec 31 23:59:59 mail prog(12)x[3]: odd tag",
      "Dec 31 23:59:59 mail prog<9>: angle pid",
      "Dec 31 23:59:59 mail prog[99999999999]: pid too large",
      "Dec 31 23:59:59 mail prog[12: unclosed",
      "Dec 31 23:59:59 mail notag message",
      "Dec 31 23:59:59 mail",
      "Dec 31 23:59:59 ",
      "Dec 31 23:59:59",
      "Feb 29 10:00:00 mail x: not a leap year",
      "Feb 29 10:00:00 mail x: again",
      "Jan  2 10:00:00 mail x[1]: next year",
      "Jan  2 10:00:00 mail x[1]: same second",
      "<34>Jan  2 10:00:00 mail x[1]: with a priority",
      "2026-01-02T10:00:00Z mail x[1]: ISO between",
      "Jan  2 10:00:00 mail x[1]: after ISO",
  };
  for (int mode = 0; mode < 2; ++mode) {
    YearAnchor plain_year =
        mode == 0 ? YearAnchor::starting_in(2025) : YearAnchor::ending_at(at("2026-01-05T00:00:00Z"));
    YearAnchor cached_year = plain_year;
    detail::HeaderCache cache;
    for (int round = 0; round < 2; ++round) {
      for (const auto& line : lines) {
        Header a;
        Header b;
        const bool ok_a = parse_header(line, TimeZone::utc(), plain_year, a);
        const bool ok_b = parse_header(line, TimeZone::utc(), cached_year, b, cache);
        ASSERT_EQ(ok_a, ok_b) << line;
        if (!ok_a) continue;
        EXPECT_EQ(a.time, b.time) << line;
        EXPECT_EQ(a.host, b.host) << line;
        EXPECT_EQ(a.program, b.program) << line;
        EXPECT_EQ(a.pid, b.pid) << line;
        EXPECT_EQ(a.message, b.message) << line;
        EXPECT_EQ(a.shape, b.shape) << line;
      }
    }
  }
}

TEST(SplitTag, PidIsOneToTenDigitsBeforeTheClosingBracket) {
  const std::vector<std::pair<std::string, std::uint32_t>> cases = {{"p[12]", 12},
                                                                    {"p[12", 0},
                                                                    {"p[1a]", 0},
                                                                    {"p[]", 0},
                                                                    {"p[4294967295]", 4294967295U},
                                                                    {"p[4294967296]", 0},
                                                                    {"p[00000000001]", 0},
                                                                    {"p[0000000001]", 1},
                                                                    {"p(5)x", 5},
                                                                    {"p<7>", 7},
                                                                    {"p[1)", 0},
                                                                    {"p[1]]", 1},
                                                                    {"p", 0},
                                                                    {"[3]", 3},
                                                                    {"p[ 3]", 0},
                                                                    {"p(12]", 0}};
  for (const auto& [tag, pid] : cases) {
    std::string_view program;
    std::uint32_t got = 99;
    detail::split_tag(tag, program, got);
    EXPECT_EQ(got, pid) << tag;
    EXPECT_EQ(program, tag.substr(0, tag.find_first_of("[(<"))) << tag;
  }
}

// parse_address parses common IPv6 text itself (parse_plain_ipv6) and hands the rest to
// Address::parse (inet_pton): both must agree on every string, valid or not.
TEST(ParseAddress, SameAnswerAsAddressParseForAnyAddressText) {
  auto check = [](const std::string& text) {
    const auto fast = detail::parse_address(text);
    const auto full = text.empty() || text.size() > 45 ? std::nullopt : core::Address::parse(text);
    ASSERT_EQ(fast.has_value(), full.has_value()) << text;
    if (fast) {
      EXPECT_EQ(*fast, *full) << text;
    }
  };
  for (const char* text : {"::",
                           "::1",
                           "1::",
                           "1::2",
                           ":1::2",
                           "1::2:",
                           ":::",
                           "1:::2",
                           "1::2::3",
                           "1:2:3:4:5:6:7:8",
                           "1:2:3:4:5:6:7:8:9",
                           "1:2:3:4:5:6:7::",
                           "::2:3:4:5:6:7:8",
                           "1:2:3:4::5:6:7:8",
                           "12345::",
                           "0001:0db8::",
                           "ABCD:ef01::1",
                           "2001:db8::",
                           "fe80::1",
                           "::ffff:1.2.3.4",
                           "::ffff:102:304",
                           "1:2:3:4:5:6:7",
                           ":",
                           "1:",
                           ":1",
                           "::0",
                           "0::0",
                           "1.2.3.4",
                           "01.2.3.4",
                           "1::2.3.4.5"}) {
    check(text);
  }
  std::mt19937_64 rng(11);
  const std::string alphabet = "0123456789abcdefABCDEF::::..";
  for (int n = 0; n < 300000; ++n) {
    std::string text;
    const std::size_t len = 1 + rng() % 40;
    for (std::size_t i = 0; i < len; ++i) text += alphabet[rng() % alphabet.size()];
    check(text);
  }
  for (int n = 0; n < 100000; ++n) {  // valid addresses, compressed at random
    std::string text;
    const int groups = static_cast<int>(rng() % 9);
    const int gap = groups < 8 ? static_cast<int>(rng() % static_cast<unsigned>(groups + 1)) : -1;
    for (int g = 0; g < groups; ++g) {
      if (g == gap) {
        text += "::";
      } else if (g > 0) {
        text += ':';
      }
      char buf[8];
      std::snprintf(buf, sizeof buf, rng() % 2 ? "%x" : "%04X", static_cast<unsigned>(rng() % 65536));
      text += buf;
    }
    if (gap == groups) text += "::";
    check(text);
  }
}

}  // namespace
}  // namespace strikeout::logs
