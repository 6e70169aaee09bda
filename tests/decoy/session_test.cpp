// The decoy's SMTP conversation, driven on fake time: what each mode answers, that fake successes are
// consistent, that no message is ever accepted, and that output stays within its allowance.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "decoy/session.hpp"

namespace strikeout::decoy {
namespace {

using namespace std::chrono_literals;

const core::Address kSource = *core::Address::parse("203.0.113.7");
const core::Time kT0 = core::from_seconds(1'800'000'000);

struct Recorder final : AttemptSink {
  struct Seen {
    Mechanism mechanism;
    std::string user, password;
    bool has_credentials, accepted;
  };
  std::vector<Seen> attempts;
  void on_attempt(const AuthAttempt& a) override {
    attempts.push_back(
        {a.mechanism, std::string(a.user), std::string(a.password), a.has_credentials, a.accepted});
  }
};

// A client on fake time: sends lines, and collects what the session sends as time passes.
class Conversation {
 public:
  explicit Conversation(DecoyOptions options, Mode mode, DecoySecret secret = {})
      : options_(std::move(options)),
        script_(Script::build(options_)),
        ctx_(SessionContext::make(options_, script_, secret)) {
    session_.start(mode, now_, ctx_);
  }

  // Sends `text` (all of it, line by line as the session takes it), then lets time run until the
  // session waits for input again or `limit` passed. Returns what the session sent meanwhile.
  std::string say(std::string text, core::Duration limit = 10min) {
    pending_ += text;
    return run(limit);
  }
  std::string run(core::Duration limit = 10min) {
    std::string got;
    const core::Time end = now_ + limit;
    while (now_ <= end) {
      if (session_.wants_input() && !pending_.empty()) {
        const std::size_t used = session_.on_input(pending_, kSource, 40000, now_, ctx_, recorder);
        pending_.erase(0, used);
      }
      const std::string_view out = session_.output(now_, ctx_);
      if (!out.empty()) {
        got += out;
        session_.on_sent(out.size(), now_, ctx_);
        continue;
      }
      if (session_.close_reason(now_, ctx_) != CloseReason::None) break;
      if (session_.wants_input() && pending_.empty()) break;
      const core::Time wake = session_.next_wake(ctx_);
      if (wake <= now_) break;  // nothing more can happen without input
      now_ = std::min(wake, end + 1us);
    }
    return got;
  }
  CloseReason close_reason() const { return session_.close_reason(now_, ctx_); }
  Session& session() { return session_; }
  const SessionContext& ctx() const { return ctx_; }
  core::Time& now() { return now_; }
  Recorder recorder;

 private:
  DecoyOptions options_;
  Script script_;
  SessionContext ctx_;
  Session session_;
  core::Time now_ = kT0;
  std::string pending_;
};

std::string b64(std::string_view s) {
  static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto byte = [&](std::size_t j) -> unsigned { return static_cast<unsigned char>(s[j]); };
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const unsigned v = (byte(i) << 16U) | (byte(i + 1) << 8U) | byte(i + 2);
    out += {k[(v >> 18U) & 63U], k[(v >> 12U) & 63U], k[(v >> 6U) & 63U], k[v & 63U]};
  }
  if (s.size() - i == 1) {
    const unsigned v = byte(i) << 16U;
    out += {k[(v >> 18U) & 63U], k[(v >> 12U) & 63U], '=', '='};
  } else if (s.size() - i == 2) {
    const unsigned v = (byte(i) << 16U) | (byte(i + 1) << 8U);
    out += {k[(v >> 18U) & 63U], k[(v >> 12U) & 63U], k[(v >> 6U) & 63U], '='};
  }
  return out;
}

DecoyOptions fast() {
  DecoyOptions o;
  o.reply_delay = 0s;
  return o;
}

TEST(DecoySession, DecoyModeIsABelievableEsmtpServerOfferingAuthPlainLogin) {
  Conversation c(fast(), Mode::Decoy);
  EXPECT_EQ(c.run(), "220 mail ESMTP Postfix (Debian/GNU)\r\n");
  const std::string ehlo = c.say("EHLO attacker\r\n");
  EXPECT_TRUE(ehlo.starts_with("250-mail\r\n")) << ehlo;
  EXPECT_NE(ehlo.find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos) << ehlo;
  EXPECT_TRUE(ehlo.ends_with("250 CHUNKING\r\n")) << ehlo;
}

TEST(DecoySession, AuthLoginAndPlainAreRecordedWithTheirCredentials) {
  DecoyOptions o = fast();
  o.success_probability = 0;
  Conversation c(o, Mode::Decoy);
  c.run();
  EXPECT_EQ(c.say("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(c.say(b64("admin") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(c.say(b64("hunter2") + "\r\n"),
            "535 5.7.8 Error: authentication failed: authentication failure\r\n");
  EXPECT_EQ(c.say("AUTH PLAIN " + b64(std::string("\0bob\0secret", 11)) + "\r\n"),
            "535 5.7.8 Error: authentication failed: authentication failure\r\n");
  EXPECT_EQ(c.say("AUTH PLAIN\r\n"), "334 \r\n");
  c.say(b64(std::string("\0carol\0pw", 9)) + "\r\n");
  ASSERT_EQ(c.recorder.attempts.size(), 3U);
  EXPECT_EQ(c.recorder.attempts[0].mechanism, Mechanism::Login);
  EXPECT_EQ(c.recorder.attempts[0].user, "admin");
  EXPECT_EQ(c.recorder.attempts[0].password, "hunter2");
  EXPECT_EQ(c.recorder.attempts[1].mechanism, Mechanism::Plain);
  EXPECT_EQ(c.recorder.attempts[1].user, "bob");
  EXPECT_EQ(c.recorder.attempts[1].password, "secret");
  EXPECT_EQ(c.recorder.attempts[2].user, "carol");
  EXPECT_FALSE(c.recorder.attempts[2].accepted);
}

TEST(DecoySession, FakeSuccessIsConsistentForTheSameSourceUserAndPassword) {
  DecoyOptions o = fast();
  o.success_probability = 0.5;
  DecoySecret secret;
  secret.verdict[0] = 42;
  const Script script = Script::build(o);
  const SessionContext ctx = SessionContext::make(o, script, secret);
  int accepted = 0;
  for (int i = 0; i < 400; ++i) {
    const std::string password = "password" + std::to_string(i);
    const bool first = fake_success(ctx, kSource, "admin", password);
    EXPECT_EQ(first, fake_success(ctx, kSource, "admin", password)) << password;
    accepted += first ? 1 : 0;
  }
  // About half, as configured (the keyed hash is uniform): far from 0 and from 400.
  EXPECT_GT(accepted, 120);
  EXPECT_LT(accepted, 280);
  // Another install (another secret) answers differently for some of them: nobody can predict it.
  DecoySecret other = secret;
  other.verdict[0] = 43;
  const SessionContext ctx2 = SessionContext::make(o, script, other);
  int differ = 0;
  for (int i = 0; i < 400; ++i) {
    const std::string password = "password" + std::to_string(i);
    differ += fake_success(ctx, kSource, "admin", password) != fake_success(ctx2, kSource, "admin", password)
                  ? 1
                  : 0;
  }
  EXPECT_GT(differ, 50);
}

TEST(DecoySession, AfterAFakeSuccessNoMessageIsEverAccepted) {
  DecoyOptions o = fast();
  o.success_probability = 1.0;
  Conversation c(o, Mode::Decoy);
  c.run();
  c.say("EHLO x\r\n");
  EXPECT_EQ(c.say("AUTH PLAIN " + b64(std::string("\0admin\0letmein", 14)) + "\r\n"),
            "235 2.7.0 Authentication successful\r\n");
  ASSERT_EQ(c.recorder.attempts.size(), 1U);
  EXPECT_TRUE(c.recorder.attempts[0].accepted);
  EXPECT_EQ(c.say("MAIL FROM:<a@example.org>\r\n"), "451 4.3.0 Error: queue file write error\r\n");
  EXPECT_EQ(c.say("RCPT TO:<b@example.net>\r\n"), "451 4.3.0 Temporary lookup failure\r\n");
  EXPECT_EQ(c.say("DATA\r\n"), "421 4.3.0 Error: queue file write error, closing connection\r\n");
  EXPECT_EQ(c.close_reason(), CloseReason::Quit);
}

TEST(DecoySession, InsultModeAnswersTheConfiguredLinesInOrderAndNeverAsksForAPassword) {
  DecoyOptions o = fast();
  o.insults = {"Your mother wears army boots", "Go away"};
  Conversation c(o, Mode::Insult);
  EXPECT_EQ(c.run(), "220 mail ESMTP Postfix (Debian/GNU)\r\n");
  EXPECT_TRUE(c.say("EHLO x\r\n").starts_with("250-"));
  EXPECT_EQ(c.say("AUTH LOGIN\r\n"), "451 4.7.1 Your mother wears army boots\r\n");
  EXPECT_EQ(c.say("MAIL FROM:<a@b>\r\n"), "451 4.7.1 Go away\r\n");
  EXPECT_EQ(c.say("RCPT TO:<a@b>\r\n"), "451 4.7.1 Your mother wears army boots\r\n");
  ASSERT_EQ(c.recorder.attempts.size(), 1U);
  EXPECT_FALSE(c.recorder.attempts[0].has_credentials);
  EXPECT_EQ(c.recorder.attempts[0].mechanism, Mechanism::Login);
  EXPECT_EQ(c.say("QUIT\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_EQ(c.close_reason(), CloseReason::Quit);
}

TEST(DecoySession, DefaultInsultsAreTheRecipesThree) {
  const Script s = Script::build(DecoyOptions{});
  ASSERT_EQ(s.insults.size(), 3U);
  EXPECT_EQ(s.insults[0], "451 4.7.1 Your mother wears army boots\r\n");
  EXPECT_EQ(s.insults[1], "451 4.7.1 May the fleas of a thousand camels infest your armpits\r\n");
  EXPECT_EQ(s.insults[2], "451 4.7.1 Go away - give up.\r\n");
}

TEST(DecoySession, StutterSendsOneByteAtATimeAtTheConfiguredPace) {
  DecoyOptions o;
  o.stutter_interval = 2s;
  Conversation c(o, Mode::Stutter);
  const core::Time t0 = c.now();
  const std::string greeting = "220 mail ESMTP Postfix (Debian/GNU)\r\n";
  // Nothing before the first interval, then exactly one byte per interval.
  EXPECT_EQ(c.session().output(t0 + 1s, c.ctx()), "");
  for (std::size_t i = 0; i < greeting.size(); ++i) {
    const core::Time at = t0 + 2s * static_cast<int>(i + 1);
    EXPECT_EQ(c.session().output(at - 1us, c.ctx()), "") << i;
    const std::string_view out = c.session().output(at, c.ctx());
    ASSERT_EQ(out, greeting.substr(i, 1)) << i;
    c.session().on_sent(1, at, c.ctx());
  }
  EXPECT_TRUE(c.session().wants_input());
}

TEST(DecoySession, EndlessSendsAnotherGreetingLineEachIntervalAndNeverFinishes) {
  DecoyOptions o;
  o.endless_interval = 10s;
  o.idle_timeout = 5min;
  o.max_duration = 1h;
  Conversation c(o, Mode::Endless);
  const std::string got = c.run(10min);
  // 60 lines in 10 minutes, every one a continuation line: the greeting never ends.
  std::size_t lines = 0;
  for (std::size_t at = 0; (at = got.find("\r\n", at)) != std::string::npos; at += 2) ++lines;
  EXPECT_EQ(lines, 60U);
  EXPECT_EQ(got.find("220 "), std::string::npos);
  EXPECT_TRUE(got.starts_with("220-"));
  EXPECT_FALSE(c.session().wants_input());
}

TEST(DecoySession, OutputNeverExceedsTheAllowancePlusAMultipleOfInput) {
  DecoyOptions o;
  o.endless_interval = 1s;
  o.output_allowance = 1000;
  o.output_per_input = 2;
  o.idle_timeout = 10min;
  o.max_duration = 24h;
  Conversation c(o, Mode::Endless);
  const std::string got = c.run(2h);
  EXPECT_EQ(got.size(), 1000U);  // then silence, until the idle limit closes it
  EXPECT_EQ(c.close_reason(), CloseReason::Idle);
  // A client that sends little for a long reply (EHLO: 8 bytes in, 180 out) gets
  // allowance + output_per_input per byte it sent, and no more: then the reply stops mid-way.
  DecoyOptions small = fast();
  small.output_allowance = 300;
  small.output_per_input = 2;
  Conversation d(small, Mode::Decoy);
  d.run();
  for (int i = 0; i < 10; ++i) {
    d.say("EHLO x\r\n");
    EXPECT_LE(d.session().bytes_out(), 300U + 2U * d.session().bytes_in());
  }
  EXPECT_EQ(d.session().bytes_out(), 300U + 2U * d.session().bytes_in());
  EXPECT_FALSE(d.session().wants_input());
  d.now() += 10min;
  EXPECT_EQ(d.close_reason(), CloseReason::Idle);
}

TEST(DecoySession, IdleAndTotalTimeLimitsClose) {
  DecoyOptions o = fast();
  o.idle_timeout = 30s;
  o.max_duration = 2min;
  Conversation c(o, Mode::Decoy);
  c.run();
  c.now() += 29s;
  EXPECT_EQ(c.close_reason(), CloseReason::None);
  c.now() += 1s;
  EXPECT_EQ(c.close_reason(), CloseReason::Idle);

  Conversation busy(o, Mode::Decoy);
  busy.run();
  for (int i = 0; i < 12; ++i) {
    busy.now() += 10s;
    busy.say("NOOP\r\n");
  }
  EXPECT_EQ(busy.close_reason(), CloseReason::TimeLimit);
}

TEST(DecoySession, RepliesWaitTheReplyDelay) {
  DecoyOptions o;
  o.reply_delay = 3s;
  Conversation c(o, Mode::Decoy);
  EXPECT_EQ(c.session().output(c.now() + 2s, c.ctx()), "");
  EXPECT_FALSE(c.session().output(c.now() + 3s, c.ctx()).empty());
  EXPECT_FALSE(c.session().wants_input());  // one reply at a time: input waits in the kernel
}

TEST(DecoySession, PipelinedCommandsAreTakenOneReplyAtATime) {
  Conversation c(fast(), Mode::Decoy);
  c.run();
  const std::string got = c.say("NOOP\r\nRSET\r\nQUIT\r\n");
  EXPECT_EQ(got, "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
}

TEST(DecoySession, OverlongLinesAndBadBase64AreRefusedNotCrashed) {
  Conversation c(fast(), Mode::Decoy);
  c.run();
  EXPECT_EQ(c.say(std::string(5000, 'A') + "\r\n"), "500 5.5.0 Error: line too long\r\n");
  EXPECT_EQ(c.say("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(c.say("!!!!\r\n"), "501 5.5.2 Cannot decode response\r\n");
  EXPECT_EQ(c.say("AUTH CRAM-MD5\r\n"),
            "535 5.7.8 Error: authentication failed: Invalid authentication mechanism\r\n");
  EXPECT_EQ(c.say("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(c.say("*\r\n"), "501 5.7.0 Authentication aborted\r\n");
  EXPECT_EQ(c.say("STARTTLS\r\n"), "454 4.7.0 TLS not available due to local problem\r\n");
}

TEST(DecoySession, ASessionIsSmall) {
  // The per-connection budget is 1 KiB of our memory in all (docs/benchmarks.md); the session is the
  // largest part of it.
  EXPECT_LE(sizeof(Session), 320U);
}

TEST(DecoySession, PasswordHashIsSaltedByTheSecret) {
  DecoySecret a, b;
  b.password[3] = 1;
  EXPECT_EQ(password_hash(a, "123456"), password_hash(a, "123456"));
  EXPECT_NE(password_hash(a, "123456"), password_hash(b, "123456"));
  EXPECT_EQ(password_hash(a, "123456").size(), 16U);
}

}  // namespace
}  // namespace strikeout::decoy
