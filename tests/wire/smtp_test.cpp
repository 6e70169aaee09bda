// The SMTP session reader: failure replies at the start of a reply line (split, pipelined,
// multi-line), usernames from plaintext AUTH, and the switch to TLS.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frame_builder.hpp"
#include "wire/smtp.hpp"

namespace strikeout::wire {
namespace {

struct Recorder final : SessionListener {
  std::vector<std::pair<bool, std::string>> results;  // (failure, user)
  int encrypted = 0;
  void on_auth_result(bool failure, std::string_view user) override {
    results.emplace_back(failure, std::string(user));
  }
  void on_encrypted() override { ++encrypted; }
};

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct Session {
  ReplyPatterns patterns;
  SmtpSession session;
  Recorder rec;
  explicit Session(ReplyPatterns p = ReplyPatterns()) : patterns(std::move(p)) {
    server("220 mail.example.org ESMTP\r\n");
  }
  void server(const std::string& s) { session.server_bytes(bytes(s), patterns, rec); }
  void client(const std::string& s) { session.client_bytes(bytes(s), rec); }
};

TEST(SmtpSession, CountsA535Reply) {
  Session s;
  s.client("EHLO x\r\n");
  s.server("250-mail\r\n250 AUTH PLAIN LOGIN\r\n");
  s.client("AUTH PLAIN " + testing::plain_response("alice", "secret") + "\r\n");
  s.server("535 5.7.8 Error: authentication failed: authentication failure\r\n");
  ASSERT_EQ(s.rec.results.size(), 1U);
  EXPECT_TRUE(s.rec.results[0].first);
  EXPECT_EQ(s.rec.results[0].second, "alice");
}

TEST(SmtpSession, MultiLineReplyCountsOnce) {
  Session s;
  s.client("AUTH PLAIN " + testing::plain_response("bob", "x") + "\r\n");
  s.server("535-5.7.8 first line\r\n535-5.7.8 second\r\n535 5.7.8 last\r\n");
  ASSERT_EQ(s.rec.results.size(), 1U);
  EXPECT_EQ(s.rec.results[0].second, "bob");
}

TEST(SmtpSession, ReplySplitAcrossSegmentsByteByByte) {
  Session s;
  s.client("AUTH LOGIN\r\n");
  s.server("334 VXNlcm5hbWU6\r\n");
  s.client(testing::base64("carol") + "\r\n");
  s.server("334 UGFzc3dvcmQ6\r\n");
  s.client(testing::base64("hunter2") + "\r\n");
  for (char c : std::string("535 5.7.8 Error: authentication failed\r\n")) s.server(std::string(1, c));
  ASSERT_EQ(s.rec.results.size(), 1U);
  EXPECT_EQ(s.rec.results[0].second, "carol");
}

TEST(SmtpSession, PipelinedRepliesInOneSegment) {
  Session s;
  // Two attempts, both failing, their replies (and an unrelated one) arriving in one segment.
  s.client("AUTH PLAIN " + testing::plain_response("dave", "1") + "\r\n");
  s.client("AUTH PLAIN " + testing::plain_response("erin", "2") + "\r\n");
  s.client("NOOP\r\n");
  s.server("535 5.7.8 failed\r\n535 5.7.8 failed\r\n250 2.0.0 Ok\r\n");
  ASSERT_EQ(s.rec.results.size(), 2U);
  EXPECT_EQ(s.rec.results[0].second, "dave");
  EXPECT_EQ(s.rec.results[1].second, "erin");
}

TEST(SmtpSession, ConfiguredExactStringSplitAcrossSegments) {
  std::string error;
  auto p = ReplyPatterns::create({"535 5.7.0 authentication failed"}, error);
  ASSERT_TRUE(p) << error;
  Session s(*p);
  s.client("AUTH PLAIN " + testing::plain_response("frank", "x") + "\r\n");
  s.server("535 5.7.0 authen");
  s.server("tication failed\r\n");
  s.client("AUTH PLAIN " + testing::plain_response("frank", "y") + "\r\n");
  s.server("535 5.7.8 something else\r\n");  // a 535, but not the configured text
  ASSERT_EQ(s.rec.results.size(), 1U);
  EXPECT_EQ(s.rec.results[0].second, "frank");
}

TEST(SmtpSession, FailureTextInsideALineIsNotAReply) {
  Session s;
  s.client("HELP\r\n");
  s.server("214 see 535 below\r\n214-\r\n");
  s.server("250 ok 535\r\n");
  EXPECT_TRUE(s.rec.results.empty());
}

TEST(SmtpSession, AuthPlainResponseAfter334) {
  Session s;
  s.client("auth plain\r\n");
  s.server("334 \r\n");
  s.client(testing::plain_response("grace", "pw") + "\r\n");
  s.server("235 2.7.0 Authentication successful\r\n");
  ASSERT_EQ(s.rec.results.size(), 1U);
  EXPECT_FALSE(s.rec.results[0].first);
  EXPECT_EQ(s.rec.results[0].second, "grace");
}

TEST(SmtpSession, AuthLoginInitialResponse) {
  Session s;
  s.client("AUTH LOGIN " + testing::base64("heidi") + "\r\n");
  s.server("334 UGFzc3dvcmQ6\r\n");
  s.client(testing::base64("password") + "\r\n");
  s.server("535 5.7.8 failed\r\n");
  ASSERT_EQ(s.rec.results.size(), 1U);
  EXPECT_EQ(s.rec.results[0].second, "heidi");
}

TEST(SmtpSession, UsernameIsForgottenAfterTheReply) {
  Session s;
  s.client("AUTH PLAIN " + testing::plain_response("ivan", "x") + "\r\n");
  s.server("535 5.7.8 failed\r\n");
  s.client("AUTH CRAM-MD5\r\n");
  s.server("334 PDEyMzQ+\r\n");
  s.client("aXZhbiBkZWFkYmVlZg==\r\n");
  s.server("535 5.7.8 failed\r\n");
  ASSERT_EQ(s.rec.results.size(), 2U);
  EXPECT_EQ(s.rec.results[1].second, "");  // CRAM-MD5: not decoded, and not ivan's
}

TEST(SmtpSession, UndecodableResponseLeavesTheUserUnknown) {
  Session s;
  s.client("AUTH PLAIN !!!notbase64\r\n");
  s.server("501 5.5.2 bad\r\n");
  s.client("AUTH PLAIN " + testing::base64("no-nul-separators") + "\r\n");
  s.server("535 5.7.8 failed\r\n");
  ASSERT_EQ(s.rec.results.size(), 1U);
  EXPECT_EQ(s.rec.results[0].second, "");
}

TEST(SmtpSession, StartTlsGoesDark) {
  Session s;
  s.client("STARTTLS\r\n");
  s.server("220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(s.rec.encrypted, 1);
  EXPECT_TRUE(s.session.encrypted());
  s.server("535 looks like a reply but is TLS ciphertext\r\n");
  EXPECT_TRUE(s.rec.results.empty());
}

TEST(SmtpSession, RefusedStartTlsStaysInPlaintext) {
  Session s;
  s.client("STARTTLS\r\n");
  s.server("454 4.7.0 TLS not available\r\n");
  s.client("AUTH PLAIN " + testing::plain_response("judy", "x") + "\r\n");
  s.server("535 5.7.8 failed\r\n");
  EXPECT_EQ(s.rec.encrypted, 0);
  ASSERT_EQ(s.rec.results.size(), 1U);
  EXPECT_EQ(s.rec.results[0].second, "judy");
}

TEST(SmtpSession, MessageTextIsNotCommands) {
  Session s;
  s.client("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
  s.server("250 ok\r\n250 ok\r\n354 go ahead\r\n");
  s.client("Subject: x\r\n\r\nAUTH PLAIN " + testing::plain_response("mallory", "x") + "\r\n.\r\n");
  s.server("250 queued\r\n");
  s.client("AUTH PLAIN " + testing::plain_response("niaj", "x") + "\r\n");
  s.server("535 5.7.8 failed\r\n");
  ASSERT_EQ(s.rec.results.size(), 1U);
  EXPECT_EQ(s.rec.results[0].second, "niaj");
}

TEST(SmtpSession, MidStreamStartSkipsToALineEnd) {
  ReplyPatterns p;
  SmtpSession session(false);
  Recorder rec;
  session.server_bytes(bytes("5 5.7.8 tail of a line we did not see start\r\n535 5.7.8 failed\r\n"), p, rec);
  ASSERT_EQ(rec.results.size(), 1U);
}

TEST(SmtpSession, GapResynchronisesAtTheNextLine) {
  Session s;
  s.server("250 o");
  s.session.server_gap();
  s.server("535 this is the middle of a line after a hole\r\n535 5.7.8 failed\r\n");
  EXPECT_EQ(s.rec.results.size(), 1U);
}

TEST(ReplyPatterns, RefusesWhatCannotMatchAReplyLine) {
  std::string error;
  EXPECT_FALSE(ReplyPatterns::create({}, error));
  EXPECT_NE(error.find("1 to 16"), std::string::npos);
  EXPECT_FALSE(ReplyPatterns::create({"5a5 x"}, error));
  EXPECT_NE(error.find("three-digit"), std::string::npos);
  EXPECT_FALSE(ReplyPatterns::create({"535-5.7.8 x"}, error));
  EXPECT_NE(error.find("followed by a space"), std::string::npos);
  EXPECT_FALSE(ReplyPatterns::create({"535 a\r\nb"}, error));
  EXPECT_FALSE(ReplyPatterns::create({"535 " + std::string(100, 'x')}, error));
  EXPECT_NE(error.find("longer than"), std::string::npos);
  auto ok = ReplyPatterns::create({"535", "454 4.7.0 Temporary authentication failure"}, error);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->matches("454 4.7.0 Temporary authentication failure"));
  EXPECT_FALSE(ok->matches("454 4.7.0 TLS not available"));
}

}  // namespace
}  // namespace strikeout::wire
