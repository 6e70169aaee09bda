#include "decoy/session.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace strikeout::decoy {
namespace {

// Postfix's own texts, so the decoy reads like the real thing to a tool that compares strings.
constexpr std::string_view kAuthOk = "235 2.7.0 Authentication successful\r\n";
constexpr std::string_view kAuthFailed = "535 5.7.8 Error: authentication failed: authentication failure\r\n";
constexpr std::string_view kAuthAborted = "501 5.7.0 Authentication aborted\r\n";
constexpr std::string_view kCannotDecode = "501 5.5.2 Cannot decode response\r\n";
constexpr std::string_view kAskPlain = "334 \r\n";
constexpr std::string_view kAskUser = "334 VXNlcm5hbWU6\r\n";      // "Username:"
constexpr std::string_view kAskPassword = "334 UGFzc3dvcmQ6\r\n";  // "Password:"
constexpr std::string_view kNoMechanism =
    "535 5.7.8 Error: authentication failed: Invalid authentication mechanism\r\n";
constexpr std::string_view kAuthMissing = "501 5.5.4 Syntax: AUTH mechanism\r\n";
constexpr std::string_view kAlreadyAuthenticated = "503 5.5.1 Error: already authenticated\r\n";
// Never accepts mail: temporary failures, so a client keeps the message and goes away.
constexpr std::string_view kMailRefused = "451 4.3.0 Error: queue file write error\r\n";
constexpr std::string_view kRcptRefused = "451 4.3.0 Temporary lookup failure\r\n";
constexpr std::string_view kDataRefused = "421 4.3.0 Error: queue file write error, closing connection\r\n";
constexpr std::string_view kOk = "250 2.0.0 Ok\r\n";
constexpr std::string_view kBye = "221 2.0.0 Bye\r\n";
constexpr std::string_view kNoTls = "454 4.7.0 TLS not available due to local problem\r\n";
constexpr std::string_view kVrfy = "252 2.0.0 Cannot VRFY user\r\n";
constexpr std::string_view kUnknown = "502 5.5.2 Error: command not recognized\r\n";
constexpr std::string_view kTooLong = "500 5.5.0 Error: line too long\r\n";
constexpr std::string_view kNeedHelo = "501 Syntax: EHLO hostname\r\n";

// Lines of the endless greeting: plausible banner text, varied so a client sees no obvious loop.
constexpr std::array<std::string_view, 8> kEndlessTexts = {
    "Welcome, please wait while we check your connection",
    "This server is experiencing higher than usual load",
    "Your session is queued; do not disconnect",
    "Checking reverse DNS and sender reputation",
    "Loading mailbox directory, this may take a while",
    "Please stand by",
    "Greylisting in progress, retry is not needed",
    "Still working on it",
};

// Replies are at most a few hundred bytes; anything longer from the configuration is cut.
constexpr std::size_t kMaxReply = 1000;

std::string line_of(std::string text) {
  if (text.size() > kMaxReply - 2) text.resize(kMaxReply - 2);
  return text + "\r\n";
}

}  // namespace

Script Script::build(const DecoyOptions& o) {
  Script s;
  s.greeting = line_of("220 " + o.hostname + " ESMTP Postfix (Debian/GNU)");
  s.ehlo = "250-" + o.hostname +
           "\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-AUTH PLAIN LOGIN\r\n"
           "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n";
  s.helo = line_of("250 " + o.hostname);
  for (const auto& insult : o.insults) s.insults.push_back(line_of("451 4.7.1 " + insult));
  if (s.insults.empty()) s.insults.push_back(line_of("451 4.7.1 Go away"));
  for (auto text : kEndlessTexts) s.endless.push_back(line_of("220-" + std::string(text)));
  return s;
}

SessionContext SessionContext::make(const DecoyOptions& options, const Script& script,
                                    const DecoySecret& secret) {
  SessionContext c;
  c.options = &options;
  c.script = &script;
  c.secret = secret;
  const double p = std::clamp(options.success_probability, 0.0, 1.0);
  c.success_threshold = p >= 1.0 ? ~std::uint64_t{0} : static_cast<std::uint64_t>(std::ldexp(p, 64));
  return c;
}

bool fake_success(const SessionContext& ctx, const core::Address& source, std::string_view user,
                  std::string_view password) {
  if (ctx.success_threshold == 0) return false;
  // source bytes, then the user and password with their lengths, so ("ab","c") and ("a","bc") differ.
  std::array<char, 16 + 4 + 2 * 256> buffer{};
  std::size_t n = 0;
  for (auto b : source.bytes()) buffer[n++] = static_cast<char>(b);
  user = user.substr(0, 255);
  password = password.substr(0, 255);
  buffer[n++] = static_cast<char>(user.size());
  std::memcpy(buffer.data() + n, user.data(), user.size());
  n += user.size();
  buffer[n++] = static_cast<char>(password.size());
  std::memcpy(buffer.data() + n, password.data(), password.size());
  n += password.size();
  const std::uint64_t h = siphash24(ctx.secret.verdict, std::string_view(buffer.data(), n));
  return ctx.success_threshold == ~std::uint64_t{0} || h < ctx.success_threshold;
}

std::string password_hash(const DecoySecret& secret, std::string_view password) {
  const std::uint64_t h = siphash24(secret.password, password);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i)
    out[static_cast<std::size_t>(i)] = kHex[(h >> (60U - 4U * static_cast<unsigned>(i))) & 0xfU];
  return out;
}

void Session::start(Mode mode, core::Time now, const SessionContext& ctx) {
  *this = Session{};
  mode_ = mode;
  started_ = now;
  last_traffic_ = now;
  if (mode == Mode::Endless) {
    next_endless_line(now, ctx);
  } else {
    reply(ctx.script->greeting, now, ctx);
  }
}

void Session::next_endless_line(core::Time now, const SessionContext& ctx) {
  const auto& lines = ctx.script->endless;
  const std::string& line = lines[endless_lines_ % lines.size()];
  ++endless_lines_;
  out_ = line.data();
  out_length_ = static_cast<std::uint16_t>(line.size());
  out_sent_ = 0;
  due_ = now + ctx.options->endless_interval;
}

void Session::reply(std::string_view text, core::Time now, const SessionContext& ctx) {
  out_ = text.data();
  out_length_ = static_cast<std::uint16_t>(std::min(text.size(), kMaxReply));
  out_sent_ = 0;
  due_ = now + (mode_ == Mode::Stutter ? ctx.options->stutter_interval : ctx.options->reply_delay);
}

std::uint64_t Session::budget(const SessionContext& ctx) const {
  const std::uint64_t allowed =
      ctx.options->output_allowance + std::uint64_t{ctx.options->output_per_input} * bytes_in_;
  return allowed > bytes_out_ ? allowed - bytes_out_ : 0;
}

std::size_t Session::on_input(std::string_view bytes, const core::Address& source, std::uint16_t port,
                              core::Time now, const SessionContext& ctx, AttemptSink& sink) {
  std::size_t taken = 0;
  if (mode_ == Mode::Endless) {
    taken = bytes.size();
  } else {
    while (taken < bytes.size() && wants_input()) {
      const char c = bytes[taken++];
      if (c == '\n') {
        std::string_view line(line_, line_length_);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const bool was_overlong = overlong_;
        line_length_ = 0;
        overlong_ = false;
        if (was_overlong) {
          state_ = State::Command;
          reply(kTooLong, now, ctx);
        } else {
          handle_line(line, source, port, now, ctx, sink);
        }
      } else if (overlong_) {
        // discarding the rest of a line too long to keep
      } else if (line_length_ < kLineCapacity) {
        line_[line_length_++] = c;
      } else {
        overlong_ = true;
      }
    }
  }
  if (taken != 0) {
    bytes_in_ =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{bytes_in_} + taken, UINT32_MAX));
    last_traffic_ = now;
  }
  return taken;
}

void Session::attempt(Mechanism mechanism, std::string_view user, std::string_view password,
                      bool has_credentials, const core::Address& source, std::uint16_t port, core::Time now,
                      const SessionContext& ctx, AttemptSink& sink) {
  AuthAttempt a;
  a.time = now;
  a.source = source;
  a.port = port;
  a.mechanism = mechanism;
  a.mode = mode_;
  a.has_credentials = has_credentials;
  a.user = user.substr(0, kUserCapacity);
  a.password = password;
  a.accepted = has_credentials && mode_ != Mode::Insult && fake_success(ctx, source, user, password);
  sink.on_attempt(a);
  if (!has_credentials) return;
  state_ = State::Command;
  if (a.accepted) {
    authenticated_ = true;
    reply(kAuthOk, now, ctx);
  } else {
    reply(kAuthFailed, now, ctx);
  }
}

void Session::handle_insult_line(const Command& c, const core::Address& source, std::uint16_t port,
                                 core::Time now, const SessionContext& ctx, AttemptSink& sink) {
  // A normal EHLO keeps tools going (hydra stops at a refused EHLO); every later command, AUTH above
  // all, gets the next insult, so no password is ever sent.
  switch (c.verb) {
    case Verb::Ehlo:
      reply(ctx.script->ehlo, now, ctx);
      return;
    case Verb::Helo:
      reply(ctx.script->helo, now, ctx);
      return;
    case Verb::Quit:
      closing_ = true;
      reply(kBye, now, ctx);
      return;
    case Verb::Auth: {
      std::string_view rest;
      attempt(parse_mechanism(c.argument, rest), {}, {}, false, source, port, now, ctx, sink);
      break;
    }
    default:
      break;
  }
  const auto& insults = ctx.script->insults;
  reply(insults[insult_next_ % insults.size()], now, ctx);
  insult_next_ = static_cast<std::uint8_t>((insult_next_ + 1U) % std::max<std::size_t>(insults.size(), 1));
}

void Session::handle_line(std::string_view line, const core::Address& source, std::uint16_t port,
                          core::Time now, const SessionContext& ctx, AttemptSink& sink) {
  std::array<char, kLineCapacity> decoded{};
  // Inside an AUTH exchange the line is a base64 response, not a command.
  if (state_ != State::Command) {
    const Mechanism mechanism = state_ == State::AuthPlain ? Mechanism::Plain : Mechanism::Login;
    if (line == "*") {
      state_ = State::Command;
      attempt(mechanism, {user_, user_length_}, {}, false, source, port, now, ctx, sink);
      reply(kAuthAborted, now, ctx);
      return;
    }
    const auto n = decode_base64(line, decoded);
    if (!n) {
      state_ = State::Command;
      reply(kCannotDecode, now, ctx);
      return;
    }
    const std::string_view text(decoded.data(), *n);
    if (state_ == State::AuthPlain) {
      const auto credentials = split_auth_plain(text);
      if (!credentials) {
        state_ = State::Command;
        reply(kAuthFailed, now, ctx);
        return;
      }
      attempt(Mechanism::Plain, credentials->user, credentials->password, true, source, port, now, ctx, sink);
    } else if (state_ == State::LoginUser) {
      user_length_ = static_cast<std::uint8_t>(std::min(text.size(), kUserCapacity));
      std::memcpy(user_, text.data(), user_length_);
      state_ = State::LoginPass;
      reply(kAskPassword, now, ctx);
    } else {
      attempt(Mechanism::Login, {user_, user_length_}, text, true, source, port, now, ctx, sink);
    }
    return;
  }

  const Command c = parse_command(line);
  if (mode_ == Mode::Insult) {
    handle_insult_line(c, source, port, now, ctx, sink);
    return;
  }
  switch (c.verb) {
    case Verb::Ehlo:
      reply(c.argument.empty() ? kNeedHelo : std::string_view(ctx.script->ehlo), now, ctx);
      return;
    case Verb::Helo:
      reply(ctx.script->helo, now, ctx);
      return;
    case Verb::Auth: {
      if (authenticated_) {
        reply(kAlreadyAuthenticated, now, ctx);
        return;
      }
      std::string_view initial;
      const Mechanism mechanism = parse_mechanism(c.argument, initial);
      if (c.argument.empty()) {
        reply(kAuthMissing, now, ctx);
        return;
      }
      if (mechanism == Mechanism::Other) {
        attempt(mechanism, {}, {}, false, source, port, now, ctx, sink);
        reply(kNoMechanism, now, ctx);
        return;
      }
      if (mechanism == Mechanism::Plain) {
        if (initial.empty()) {
          state_ = State::AuthPlain;
          reply(kAskPlain, now, ctx);
          return;
        }
        state_ = State::AuthPlain;
        handle_line(initial, source, port, now, ctx, sink);
        return;
      }
      user_length_ = 0;
      if (initial.empty()) {
        state_ = State::LoginUser;
        reply(kAskUser, now, ctx);
        return;
      }
      state_ = State::LoginUser;
      handle_line(initial, source, port, now, ctx, sink);
      return;
    }
    case Verb::Mail:
      reply(kMailRefused, now, ctx);
      return;
    case Verb::Rcpt:
      reply(kRcptRefused, now, ctx);
      return;
    case Verb::Data:
    case Verb::Bdat:
      closing_ = true;
      reply(kDataRefused, now, ctx);
      return;
    case Verb::Rset:
    case Verb::Noop:
      reply(kOk, now, ctx);
      return;
    case Verb::Quit:
      closing_ = true;
      reply(kBye, now, ctx);
      return;
    case Verb::StartTls:
      reply(kNoTls, now, ctx);
      return;
    case Verb::Vrfy:
      reply(kVrfy, now, ctx);
      return;
    case Verb::Empty:
    case Verb::Unknown:
    case Verb::Expn:
    case Verb::Help:
      reply(kUnknown, now, ctx);
      return;
  }
}

std::string_view Session::output(core::Time now, const SessionContext& ctx) const {
  if (out_ == nullptr || now < due_) return {};
  std::size_t n = out_length_ - out_sent_;
  if (mode_ == Mode::Stutter) n = std::min<std::size_t>(n, 1);
  n = static_cast<std::size_t>(std::min<std::uint64_t>(n, budget(ctx)));
  return {out_ + out_sent_, n};
}

void Session::on_sent(std::size_t n, core::Time now, const SessionContext& ctx) {
  if (n == 0 || out_ == nullptr) return;
  n = std::min<std::size_t>(n, out_length_ - out_sent_);
  out_sent_ = static_cast<std::uint16_t>(out_sent_ + n);
  bytes_out_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{bytes_out_} + n, UINT32_MAX));
  last_traffic_ = now;
  if (out_sent_ < out_length_) {
    if (mode_ == Mode::Stutter) due_ = now + ctx.options->stutter_interval;
    return;
  }
  out_ = nullptr;
  out_length_ = out_sent_ = 0;
  if (mode_ == Mode::Endless) next_endless_line(now, ctx);
}

CloseReason Session::close_reason(core::Time now, const SessionContext& ctx) const {
  if (closing_ && out_ == nullptr) return CloseReason::Quit;
  if (now - started_ >= ctx.options->max_duration) return CloseReason::TimeLimit;
  if (now - last_traffic_ >= ctx.options->idle_timeout) return CloseReason::Idle;
  return CloseReason::None;
}

core::Time Session::next_wake(const SessionContext& ctx) const {
  core::Time t = std::min(started_ + ctx.options->max_duration, last_traffic_ + ctx.options->idle_timeout);
  if (out_ != nullptr && budget(ctx) > 0) t = std::min(t, due_);
  return t;
}

}  // namespace strikeout::decoy
