// Every line in tests/fixtures/logs/<server>.log decodes to the event written below it (see
// fixture_support.hpp for the format), with format "auto" and with the server's own format. The
// fixtures include each server's injection lines: usernames and HELO names that contain
// "unknown[203.0.113.66]", "rip=203.0.113.66", "relay=[203.0.113.66]", "[203.0.113.66]:25" and syslog's
// "#012" newline escape. 203.0.113.66 appears only in text the client chose.
#include <gtest/gtest.h>

#include <string>

#include "core/time.hpp"
#include "fixture_support.hpp"
#include "logs/decoder.hpp"

namespace strikeout::logs {
namespace {

const core::Address kInjected = *core::Address::parse("203.0.113.66");

LineDecoder make_decoder(const std::string& format) {
  DecoderOptions options;
  options.format = format;
  options.year = YearAnchor::starting_in(2026);
  options.sensor = "fixture";
  auto made = LineDecoder::create(options);
  if (auto* error = std::get_if<std::string>(&made)) {
    ADD_FAILURE() << *error;
    std::abort();
  }
  return std::move(std::get<LineDecoder>(made));
}

std::string outcome_of(LineStatus status, const core::Event& e) {
  if (status == LineStatus::Unparsed) return "unparsed";
  if (status == LineStatus::NoEvent) return "none";
  switch (e.kind) {
    case core::EventKind::AuthFailure:
      return "failure";
    case core::EventKind::AuthSuccess:
      return "success";
    case core::EventKind::Connect:
      return "connect";
    case core::EventKind::ProtocolAbuse:
      return "abuse";
  }
  return "?";
}

std::string field(const testing::Expectation& x, const std::string& key, const std::string& fallback) {
  const auto it = x.fields.find(key);
  return it == x.fields.end() ? fallback : it->second;
}

void check_file(const std::string& server, core::Reporter reporter) {
  const auto lines = testing::read_fixture(std::string(STRIKEOUT_FIXTURES_DIR) + "/logs/" + server + ".log");
  ASSERT_FALSE(lines.empty());
  auto automatic = make_decoder("auto");
  auto own = make_decoder(server);
  std::size_t failures = 0;
  for (const auto& f : lines) {
    SCOPED_TRACE(server + ".log:" + std::to_string(f.line_number) + ": " + f.text);
    core::Event e;
    const LineStatus status = automatic.decode(f.text, e);
    core::Event e2;
    const LineStatus status2 = own.decode(f.text, e2);
    EXPECT_EQ(outcome_of(status, e), f.expected.outcome);
    EXPECT_EQ(outcome_of(status2, e2), f.expected.outcome) << "with format \"" << server << "\"";
    if (status != LineStatus::Event) continue;
    failures += e.kind == core::EventKind::AuthFailure ? 1 : 0;
    EXPECT_NE(e.source, kInjected) << "an address only the client wrote was taken";
    EXPECT_EQ(e.source.to_string(), field(f.expected, "address", "?"));
    EXPECT_EQ(std::string(e.service), field(f.expected, "service", ""));
    EXPECT_EQ(std::string(e.user), field(f.expected, "user", ""));
    EXPECT_EQ(std::to_string(e.port), field(f.expected, "port", "0"));
    EXPECT_EQ(std::to_string(e.count), field(f.expected, "count", "1"));
    EXPECT_EQ(std::to_string(std::chrono::duration_cast<std::chrono::seconds>(e.summary_span).count()),
              field(f.expected, "span", "0"));
    if (f.expected.fields.count("time") != 0) {
      EXPECT_EQ(core::format_rfc3339(e.time), field(f.expected, "time", ""));
    }
    EXPECT_EQ(e.reporter, reporter);
    EXPECT_EQ(e.sensor, "fixture");
    EXPECT_TRUE(e.from_established);
    if (status2 == LineStatus::Event) {
      EXPECT_EQ(e2.source, e.source);
      EXPECT_EQ(e2.user, e.user);
    }
  }
  EXPECT_GT(failures, 0U);
}

TEST(Fixtures, Postfix) {
  check_file("postfix", core::Reporter::Postfix);
}
TEST(Fixtures, Dovecot) {
  check_file("dovecot", core::Reporter::Dovecot);
}
TEST(Fixtures, Exim) {
  check_file("exim", core::Reporter::Exim);
}
TEST(Fixtures, Sendmail) {
  check_file("sendmail", core::Reporter::Sendmail);
}
TEST(Fixtures, OpenSmtpd) {
  check_file("opensmtpd", core::Reporter::OpenSmtpd);
}
TEST(Fixtures, Courier) {
  check_file("courier", core::Reporter::Courier);
}
TEST(Fixtures, Cyrus) {
  check_file("cyrus", core::Reporter::Cyrus);
}

// Every server's fixture holds at least one line that mentions the injected address, so the check
// above is exercised for each matcher.
TEST(Fixtures, EachServerHasInjectionLines) {
  for (const auto& server : builtin_format_names()) {
    const auto lines =
        testing::read_fixture(std::string(STRIKEOUT_FIXTURES_DIR) + "/logs/" + server + ".log");
    std::size_t injected = 0;
    for (const auto& f : lines) {
      if (f.text.find("203.0.113.66") != std::string::npos && f.expected.outcome != "none") ++injected;
    }
    EXPECT_GT(injected, 0U) << server;
  }
}

}  // namespace
}  // namespace strikeout::logs
