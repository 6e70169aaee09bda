// LineDecoder options, custom RE2 matchers, journald records and the OpenSMTPD session table.
#include <gtest/gtest.h>

#include "logs/decoder.hpp"
#include "logs/matchers.hpp"

namespace strikeout::logs {
namespace {

std::variant<LineDecoder, std::string> make(std::string format, std::vector<CustomMatcherSpec> custom = {}) {
  DecoderOptions o;
  o.format = std::move(format);
  o.custom = std::move(custom);
  o.year = YearAnchor::starting_in(2026);
  return LineDecoder::create(std::move(o));
}

CustomMatcherSpec spec(std::string name, std::vector<std::string> patterns) {
  CustomMatcherSpec s;
  s.name = std::move(name);
  s.patterns = std::move(patterns);
  s.service = "smtp";
  return s;
}

TEST(DecoderOptions, UnknownFormatIsNamed) {
  auto d = make("qmail");
  ASSERT_TRUE(std::holds_alternative<std::string>(d));
  EXPECT_NE(std::get<std::string>(d).find("'qmail'"), std::string::npos);
}

TEST(DecoderOptions, BuiltinNames) {
  EXPECT_EQ(builtin_format_names(), (std::vector<std::string>{"postfix", "dovecot", "exim", "sendmail",
                                                              "opensmtpd", "courier", "cyrus"}));
  for (const auto& n : builtin_format_names()) EXPECT_TRUE(std::holds_alternative<LineDecoder>(make(n))) << n;
}

TEST(CustomMatcher, ValidationNamesThePatternIndex) {
  const auto no_host = validate_custom_matcher(spec("m", {"ok <HOST>", "login failed"}));
  ASSERT_TRUE(no_host);
  EXPECT_NE(no_host->find("pattern 1"), std::string::npos) << *no_host;
  EXPECT_NE(no_host->find("<HOST> is missing"), std::string::npos) << *no_host;
  const auto twice = validate_custom_matcher(spec("m", {"<HOST> <HOST>"}));
  ASSERT_TRUE(twice);
  EXPECT_NE(twice->find("pattern 0"), std::string::npos);
  const auto bad = validate_custom_matcher(spec("m", {"from <HOST>", "x (unclosed <HOST>"}));
  ASSERT_TRUE(bad);
  EXPECT_NE(bad->find("pattern 1"), std::string::npos) << *bad;
  EXPECT_NE(bad->find("missing )"), std::string::npos) << *bad;
  EXPECT_FALSE(validate_custom_matcher(spec("m", {R"(auth failed for <USER> from <HOST>)"})));
  EXPECT_TRUE(validate_custom_matcher(spec("m", {})));
  // Found by fuzz_logs_custom: a quoted or bracketed "<HOST>" compiles but makes no group.
  const auto in_class = validate_custom_matcher(spec("m", {R"(x \Q<HOST>\E)"}));
  ASSERT_TRUE(in_class);
  EXPECT_NE(in_class->find("character classes"), std::string::npos) << *in_class;
  // LineDecoder::create reports the same.
  auto d = make("auto", {spec("m", {"nope"})});
  ASSERT_TRUE(std::holds_alternative<std::string>(d));
  EXPECT_NE(std::get<std::string>(d).find("matcher 'm', pattern 0"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<std::string>(make("auto", {spec("postfix", {"<HOST>"})})));
}

TEST(CustomMatcher, MatchesTheMessageAnchoredAtItsStart) {
  auto made = make("mydaemon", {spec("mydaemon", {R"(auth failed for user '<USER>' from <HOST>)"})});
  auto& d = std::get<LineDecoder>(made);
  core::Event e;
  ASSERT_EQ(d.decode("Nov 27 01:49:52 mail myd[1]: auth failed for user 'bob' from 2001:db8::1 port 25", e),
            LineStatus::Event);
  EXPECT_EQ(e.source.to_string(), "2001:db8::1");
  EXPECT_EQ(e.user, "bob");
  EXPECT_EQ(e.service, "smtp");
  EXPECT_EQ(e.reporter, core::Reporter::Custom);
  EXPECT_EQ(e.kind, core::EventKind::AuthFailure);
  // Anchored at the message's start: text before the pattern means no match.
  EXPECT_EQ(d.decode("Nov 27 01:49:52 mail myd[1]: x auth failed for user 'bob' from 198.51.100.1", e),
            LineStatus::NoEvent);
  // The capture must be a real address.
  EXPECT_EQ(d.decode("Nov 27 01:49:52 mail myd[1]: auth failed for user 'bob' from 999.1.1.1", e),
            LineStatus::NoEvent);
  EXPECT_EQ(d.decode("garbage", e), LineStatus::Unparsed);
}

// The client's name comes before the address: the greedy <USER> makes the last address win.
TEST(CustomMatcher, UserTextCannotChooseTheAddress) {
  auto made = make("m", {spec("m", {R"(auth failed for <USER> from <HOST>)"})});
  auto& d = std::get<LineDecoder>(made);
  core::Event e;
  ASSERT_EQ(d.decode("Nov 27 01:49:52 mail myd[1]: auth failed for x from 203.0.113.66 from 198.51.100.7", e),
            LineStatus::Event);
  EXPECT_EQ(e.source.to_string(), "198.51.100.7");
  EXPECT_EQ(e.user, "x from 203.0.113.66");
}

TEST(CustomMatcher, AutoTriesBuiltinsThenCustomAndHonoursProgram) {
  auto s = spec("m", {R"(bad login <HOST>)"});
  s.program = "myd";
  s.kind = core::EventKind::Connect;
  auto made = make("auto", {s});
  auto& d = std::get<LineDecoder>(made);
  core::Event e;
  ASSERT_EQ(d.decode("Nov 27 01:49:52 mail myd[1]: bad login 198.51.100.7", e), LineStatus::Event);
  EXPECT_EQ(e.kind, core::EventKind::Connect);
  EXPECT_EQ(d.decode("Nov 27 01:49:52 mail other[1]: bad login 198.51.100.7", e), LineStatus::NoEvent);
  ASSERT_EQ(d.decode("Nov 27 01:49:52 mail postfix/smtpd[1]: connect from unknown[198.51.100.8]", e),
            LineStatus::Event);
  EXPECT_EQ(e.reporter, core::Reporter::Postfix);
}

TEST(Records, JournaldRecordsSkipTheHeader) {
  auto made = make("auto");
  auto& d = std::get<LineDecoder>(made);
  LogRecord r;
  r.time = core::from_seconds(1800000000);
  r.program = "postfix/submission/smtpd";
  r.message = "warning: unknown[198.51.100.7]: SASL PLAIN authentication failed: (reason unavailable)";
  core::Event e;
  ASSERT_EQ(d.decode_record(r, e), LineStatus::Event);
  EXPECT_EQ(e.time, r.time);
  EXPECT_EQ(e.service, "submission");
  r.program = "dovecot";
  r.message = "auth: passwd-file(a,198.51.100.8,<x>): Password mismatch";
  ASSERT_EQ(d.decode_record(r, e), LineStatus::Event);
  EXPECT_EQ(e.source.to_string(), "198.51.100.8");
}

TEST(Dispatch, ProgramNames) {
  using detail::Server;
  using detail::server_for_program;
  EXPECT_EQ(server_for_program("postfix/submission/smtpd"), Server::Postfix);
  EXPECT_EQ(server_for_program("postfix-out/smtpd"), Server::Postfix);
  EXPECT_EQ(server_for_program("smtpd"), Server::OpenSmtpd);
  EXPECT_EQ(server_for_program("dovecot"), Server::Dovecot);
  EXPECT_EQ(server_for_program("imap-login"), Server::Dovecot);
  EXPECT_EQ(server_for_program("exim4"), Server::Exim);
  EXPECT_EQ(server_for_program("sm-mta"), Server::Sendmail);
  EXPECT_EQ(server_for_program("courieresmtpd"), Server::Courier);
  EXPECT_EQ(server_for_program("imapd-ssl"), Server::Courier);
  EXPECT_EQ(server_for_program("cyrus/imap"), Server::Cyrus);
  EXPECT_EQ(server_for_program("saslauthd"), Server::Saslauthd);
  EXPECT_EQ(server_for_program("sshd"), std::nullopt);
}

// A full set evicts its oldest session; the table never grows.
TEST(OpenSmtpdSessions, BoundedWithOldestEvicted) {
  detail::OpenSmtpdSessions table(1);  // one set of four ways
  const auto a = [](int i) { return core::Address::from_v4(0xC6336400U + static_cast<std::uint32_t>(i)); };
  for (int i = 1; i <= 4; ++i) table.connected(static_cast<std::uint64_t>(i), a(i));
  EXPECT_EQ(table.evictions(), 0U);
  table.connected(5, a(5));
  EXPECT_EQ(table.evictions(), 1U);
  EXPECT_EQ(table.find(1), nullptr);
  ASSERT_NE(table.find(5), nullptr);
  EXPECT_EQ(table.find(5)->address, a(5));
  table.disconnected(2);
  EXPECT_EQ(table.find(2), nullptr);
  table.connected(6, a(6));  // takes the freed slot
  EXPECT_EQ(table.evictions(), 1U);
  EXPECT_NE(table.find(3), nullptr);
}

}  // namespace
}  // namespace strikeout::logs
