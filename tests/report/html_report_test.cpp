// The HTML report's page: what it draws and that attacker text never becomes markup.
#include "report/html_report.hpp"

#include <gtest/gtest.h>

#include <string>

namespace strikeout::report {
namespace {

core::Event failure(std::int64_t second, const char* address, std::string_view user) {
  core::Event e;
  e.time = core::from_seconds(second);
  e.kind = core::EventKind::AuthFailure;
  e.source = *core::Address::parse(address);
  e.user = user;
  e.sensor = "mail.log";
  return e;
}

core::Decision ban(std::int64_t second, const char* target, const char* rule, std::string user) {
  core::Decision d;
  d.kind = core::DecisionKind::Ban;
  d.time = core::from_seconds(second);
  d.until = d.time + std::chrono::minutes(20);
  d.target = *core::Prefix::parse(target);
  d.rule = rule;
  d.offence = 1;
  d.user = std::move(user);
  return d;
}

TEST(HtmlReport, AttackerUsernamesAreQuotedAndEscaped) {
  HtmlReport page({"username-campaign"}, 10);
  page.add_event(failure(1'800'000'000, "203.0.113.7", "<script>alert(1)</script>\x1b[2J"));
  page.add_decision(ban(1'800'000'010, "203.0.113.7", "username-campaign", "<img src=x>"));
  const std::string html = page.render(ReportSource{});
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
  EXPECT_NE(html.find("&quot;&lt;script&gt;alert(1)&lt;/script&gt;\\x1"), std::string::npos);
  EXPECT_NE(html.find("&quot;&lt;img src=x&gt;&quot;"), std::string::npos);  // the campaign's username
}

TEST(HtmlReport, PageLoadsNothing) {
  HtmlReport page({}, 10);
  page.add_event(failure(1'800'000'000, "203.0.113.7", "bob"));
  const std::string html = page.render(ReportSource{});
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(html.find("http:"), std::string::npos);
  EXPECT_EQ(html.find("https:"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
}

TEST(HtmlReport, TimelineDrawsEachSeriesOnOneAxis) {
  // Two hours of failures, one strike and one ban: 5-minute bins (at most 300 bars per series).
  HtmlReport page({}, 10);
  for (int i = 0; i < 7200; i += 60) page.add_event(failure(1'800'000'000 + i, "198.51.100.1", ""));
  core::Decision strike;
  strike.kind = core::DecisionKind::Strike;
  strike.time = core::from_seconds(1'800'000'100);
  page.add_decision(strike);
  page.add_decision(ban(1'800'003'000, "198.51.100.1", "auth-failures", ""));
  const std::string html = page.render(ReportSource{});
  for (const char* series : {"failures", "strikes", "bans"}) {
    const std::string marker = std::string("<path class=\"") + series + "\" d=\"M";
    EXPECT_NE(html.find(marker), std::string::npos) << series;
  }
  EXPECT_NE(html.find("auth failures per 1m (120 in all)"), std::string::npos);
  EXPECT_NE(html.find("198.51.100.0/24"), std::string::npos);  // the networks list
  EXPECT_EQ(page.failures(), 120U);
  EXPECT_EQ(page.bans(), 1U);
}

TEST(HtmlReport, EmptyInputSaysSo) {
  HtmlReport page({}, 10);
  const std::string html = page.render(ReportSource{});
  EXPECT_NE(html.find("no failures, strikes or bans to plot"), std::string::npos);
}

}  // namespace
}  // namespace strikeout::report
