// The real logs in tests/fixtures/real-logs/ (Postfix 3.7.11 + Dovecot 2.3.19 under a dictionary
// attack) decode to exactly the failures they hold. Totals computed independently with grep:
//   grep -c 'authentication failed: (reason unavailable)' postfix-3.7-submission-sasl.full.log   -> 356
//   grep -c 'Connection lost to authentication server'     postfix-3.7-submission-sasl.full.log   -> 115
//   grep -c ': connect from'                                postfix-3.7-submission-sasl.full.log   -> 125
//   grep -cE 'disconnect from|lost connection'              postfix-3.7-submission-sasl.full.log   -> 129
//   grep -cE 'Password mismatch|unknown user'               dovecot-2.3-auth.full.log              -> 356
// Each event's address and user are also checked against std::regex, an oracle independent of the
// hand-written matchers.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "logs/decoder.hpp"

namespace strikeout::logs {
namespace {

std::vector<std::string> read_lines(const std::string& name) {
  std::ifstream in(std::string(STRIKEOUT_FIXTURES_DIR) + "/real-logs/" + name);
  EXPECT_TRUE(in) << name;
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

LineDecoder make_decoder() {
  DecoderOptions options;
  options.year = YearAnchor::starting_in(2026);
  auto made = LineDecoder::create(options);
  return std::move(std::get<LineDecoder>(made));
}

TEST(RealLogs, PostfixSubmissionSasl) {
  auto decoder = make_decoder();
  const std::regex failure(
      R"(warning: unknown\[([0-9.]+)\]: SASL (LOGIN|PLAIN) authentication failed: \(reason unavailable\), sasl_username=(.*)$)");
  const std::regex connect(R"(: connect from unknown\[([0-9.]+)\]$)");
  std::size_t failures = 0, connects = 0, others = 0, unparsed = 0;
  for (const auto& line : read_lines("postfix-3.7-submission-sasl.full.log")) {
    SCOPED_TRACE(line);
    core::Event e;
    const auto status = decoder.decode(line, e);
    std::smatch m;
    if (std::regex_search(line, m, failure)) {
      ASSERT_EQ(status, LineStatus::Event);
      EXPECT_EQ(e.kind, core::EventKind::AuthFailure);
      EXPECT_EQ(e.source.to_string(), m[1].str());
      EXPECT_EQ(std::string(e.user), m[3].str());
      EXPECT_EQ(e.service, "submission");
      EXPECT_EQ(e.reporter, core::Reporter::Postfix);
      ++failures;
    } else if (std::regex_search(line, m, connect)) {
      ASSERT_EQ(status, LineStatus::Event);
      EXPECT_EQ(e.kind, core::EventKind::Connect);
      EXPECT_EQ(e.source.to_string(), m[1].str());
      ++connects;
    } else {
      // Connection lost to authentication server, disconnect, lost connection, daemon notices.
      EXPECT_EQ(status, LineStatus::NoEvent);
      unparsed += status == LineStatus::Unparsed ? 1 : 0;
      ++others;
    }
  }
  EXPECT_EQ(failures, 356U);
  EXPECT_EQ(connects, 125U);
  EXPECT_EQ(unparsed, 0U);
  EXPECT_EQ(others, 730U - 356U - 125U);
}

TEST(RealLogs, ConnectionLostIsNeverAFailure) {
  auto decoder = make_decoder();
  std::size_t lost = 0;
  for (const auto& line : read_lines("postfix-3.7-submission-sasl.full.log")) {
    if (line.find("Connection lost to authentication server") == std::string::npos &&
        line.find("disconnect from") == std::string::npos &&
        line.find("lost connection") == std::string::npos) {
      continue;
    }
    core::Event e;
    EXPECT_EQ(decoder.decode(line, e), LineStatus::NoEvent) << line;
    ++lost;
  }
  EXPECT_EQ(lost, 115U + 129U);
}

TEST(RealLogs, DovecotAuth) {
  auto decoder = make_decoder();
  const std::regex failure(
      R"(auth: Info: passwd-file\(([^,]*),([0-9.]+)\): (Password mismatch|unknown user)$)");
  std::size_t failures = 0;
  for (const auto& line : read_lines("dovecot-2.3-auth.full.log")) {
    SCOPED_TRACE(line);
    core::Event e;
    const auto status = decoder.decode(line, e);
    std::smatch m;
    if (std::regex_search(line, m, failure)) {
      ASSERT_EQ(status, LineStatus::Event);
      EXPECT_EQ(e.kind, core::EventKind::AuthFailure);
      EXPECT_EQ(e.source.to_string(), m[2].str());
      EXPECT_EQ(std::string(e.user), m[1].str());
      EXPECT_EQ(e.reporter, core::Reporter::Dovecot);
      ++failures;
    } else {
      EXPECT_EQ(status, LineStatus::NoEvent);
    }
  }
  EXPECT_EQ(failures, 356U);
}

// Newer servers' lines (tests/fixtures/real-logs/README.md): every failure line is one AuthFailure of the
// address and user the server wrote; no other line is a failure. Counted with grep:
//   grep -c 'authenticator failed for'          exim-4.96-mainlog.log              -> 3
//   grep -cE 'Password mismatch|unknown user'   dovecot-2.4-auth.log               -> 3
//   grep -c 'authentication failed'             postfix-3.10-submission-sasl.log   -> 3
struct RealFailures {
  const char* file;
  const char* failure;  // std::regex: group 1 the address, group 2 the user
  core::Reporter reporter;
};

TEST(RealLogs, NewerServersFromTheE2eTestbeds) {
  const RealFailures cases[] = {
      {"exim-4.96-mainlog.log",
       R"(^\S+ \S+ (?:login|plain) authenticator failed for \([^)]*\) \[([0-9.]+)\]: 535 Incorrect authentication data \(set_id=(.*)\)$)",
       core::Reporter::Exim},
      {"dovecot-2.4-auth.log",
       R"(auth\(([^,]*),([0-9.]+),sasl:(?:login|plain)\): Info: passwd-file: (?:Password mismatch|unknown user)$)",
       core::Reporter::Dovecot},
      {"postfix-3.10-submission-sasl.log",
       R"(warning: unknown\[([0-9.]+)\]: SASL (?:LOGIN|PLAIN) authentication failed: \(reason unavailable\), sasl_username=(.*)$)",
       core::Reporter::Postfix},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    auto decoder = make_decoder();
    const std::regex failure(c.failure);
    const bool user_first = c.reporter == core::Reporter::Dovecot;
    std::size_t failures = 0;
    for (const auto& line : read_lines(c.file)) {
      SCOPED_TRACE(line);
      core::Event e;
      const auto status = decoder.decode(line, e);
      std::smatch m;
      if (std::regex_search(line, m, failure)) {
        ASSERT_EQ(status, LineStatus::Event);
        EXPECT_EQ(e.kind, core::EventKind::AuthFailure);
        EXPECT_EQ(e.source.to_string(), m[user_first ? 2 : 1].str());
        EXPECT_EQ(std::string(e.user), m[user_first ? 1 : 2].str());
        EXPECT_EQ(e.reporter, c.reporter);
        ++failures;
      } else {
        EXPECT_FALSE(status == LineStatus::Event && e.kind == core::EventKind::AuthFailure);
      }
    }
    EXPECT_EQ(failures, 3U);
  }
}

// OpenSMTPD 7.6 names the client once per session (`smtp connected address=ADDR`); its
// `smtp authentication user=U result=permfail` lines carry only the session id. Two failures (alice
// from 10.203.0.2, nosuchuser from 10.203.100.2) and one success (alice from 10.203.100.3).
TEST(RealLogs, OpenSmtpdSessionsFromTheE2eTestbed) {
  auto decoder = make_decoder();
  std::vector<std::string> failures, successes;
  for (const auto& line : read_lines("opensmtpd-7.6-mail.log")) {
    core::Event e;
    if (decoder.decode(line, e) != LineStatus::Event) continue;
    EXPECT_EQ(e.reporter, core::Reporter::OpenSmtpd) << line;
    const std::string who = e.source.to_string() + " " + std::string(e.user);
    if (e.kind == core::EventKind::AuthFailure) failures.push_back(who);
    if (e.kind == core::EventKind::AuthSuccess) successes.push_back(who);
  }
  EXPECT_EQ(failures, (std::vector<std::string>{"10.203.0.2 alice", "10.203.100.2 nosuchuser"}));
  EXPECT_EQ(successes, std::vector<std::string>{"10.203.100.3 alice"});
}

}  // namespace
}  // namespace strikeout::logs
