#include "wire/smtp.hpp"

#include <algorithm>
#include <cstring>
#include <string.h>  // explicit_bzero

#include "wire/base64.hpp"

namespace strikeout::wire {

namespace {

char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (upper(a[i]) != upper(b[i])) return false;
  }
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Splits off the first space-separated word of `text`.
std::string_view next_word(std::string_view& text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  const std::size_t end = std::min(text.find(' '), text.size());
  const std::string_view word = text.substr(0, end);
  text.remove_prefix(end);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return word;
}

void wipe(std::string& s) {
  if (!s.empty()) explicit_bzero(s.data(), s.size());
  s.clear();
}

}  // namespace

ReplyPatterns::ReplyPatterns() : patterns_{"535"}, head_bytes_(4) {}

std::optional<ReplyPatterns> ReplyPatterns::create(const std::vector<std::string>& patterns,
                                                   std::string& error) {
  if (patterns.empty() || patterns.size() > 16) {
    error = "failure_replies: give 1 to 16 replies (" + std::to_string(patterns.size()) + " given)";
    return std::nullopt;
  }
  ReplyPatterns r;
  r.patterns_.clear();
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    const std::string& p = patterns[i];
    const std::string where = "failure_replies[" + std::to_string(i) + "] \"" + p.substr(0, 80) + "\": ";
    if (p.size() < 3 || !is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2])) {
      error = where + "must begin with a three-digit reply code, such as 535";
      return std::nullopt;
    }
    if (p.size() > kMaxPatternBytes) {
      error = where + "is longer than " + std::to_string(kMaxPatternBytes) +
              " bytes; the start of the reply is enough to tell it apart";
      return std::nullopt;
    }
    if (p.find_first_of("\r\n") != std::string::npos) {
      error = where + "must be one line (no CR or LF)";
      return std::nullopt;
    }
    if (p.size() > 3 && p[3] != ' ') {
      error = where + "the code must be followed by a space (a reply's last line), as in \"535 5.7.8 ...\"";
      return std::nullopt;
    }
    r.patterns_.push_back(p);
    r.head_bytes_ = std::max(r.head_bytes_, p.size());
  }
  return r;
}

bool ReplyPatterns::matches(std::string_view head) const {
  for (const auto& p : patterns_) {
    if (head.substr(0, p.size()) == p) return true;
  }
  return false;
}

SmtpSession::SmtpSession(bool at_line_start)
    : server_skip_(!at_line_start), client_skip_(!at_line_start), greeted_(!at_line_start) {}

SmtpSession::~SmtpSession() {
  wipe(line_);
  for (auto& u : auth_users_) wipe(u);
}

std::size_t SmtpSession::heap_bytes() const {
  std::size_t n = line_.capacity() + auth_users_.capacity() * sizeof(std::string);
  for (const auto& u : auth_users_) n += u.capacity() > 15 ? u.capacity() : 0;
  return n;
}

void SmtpSession::server_gap() {
  head_len_ = 0;
  head_done_ = false;
  server_skip_ = true;
}

void SmtpSession::client_gap() {
  wipe(line_);
  line_overflow_ = false;
  chunk_left_ = 0;
  client_skip_ = true;
  // What the lost bytes said is unknown: the reply that follows may answer a command we did not see.
  pending_lost_ = true;
  stage_ = AuthStage::None;
  current_named_ = false;
  for (auto& u : auth_users_) wipe(u);
  auth_users_.clear();
}

void SmtpSession::server_bytes(std::span<const std::uint8_t> bytes, const ReplyPatterns& patterns,
                               SessionListener& l) {
  const char* p = reinterpret_cast<const char*>(bytes.data());
  const char* const end = p + bytes.size();
  const std::size_t want = patterns.head_bytes();
  while (p < end && !encrypted_) {
    if (server_skip_ || head_done_) {
      const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
      if (nl == nullptr) return;
      p = static_cast<const char*>(nl) + 1;
      server_skip_ = false;
      head_done_ = false;
      head_len_ = 0;
      continue;
    }
    const char c = *p++;
    if (c == '\n') {
      std::size_t n = head_len_;
      if (n > 0 && head_[n - 1] == '\r') --n;
      head_len_ = static_cast<std::uint8_t>(n);
      on_reply_head(patterns, l);
      head_len_ = 0;
      continue;
    }
    head_[head_len_++] = c;
    if (head_len_ >= want) {
      on_reply_head(patterns, l);
      head_done_ = true;
    }
  }
}

void SmtpSession::on_reply_head(const ReplyPatterns& patterns, SessionListener& l) {
  const std::string_view head(head_.data(), head_len_);
  if (head.size() < 3 || !is_digit(head[0]) || !is_digit(head[1]) || !is_digit(head[2])) return;
  if (head.size() > 3 && head[3] != ' ') return;  // "535-..." continuation, or not a reply line
  const int code = (head[0] - '0') * 100 + (head[1] - '0') * 10 + (head[2] - '0');

  if (!greeted_) {  // the greeting answers no command
    greeted_ = true;
    if (!patterns.matches(head) && code != 235) return;
  }
  const bool failure = patterns.matches(head);
  const bool success = code == 235;

  Command answered = Command::Other;
  bool known = false;
  if (code / 100 == 3) {
    // Intermediate (334 to AUTH, 354 to DATA): the command stays pending.
    if (pending_count_ > 0 && !pending_lost_) {
      const Command oldest = pending_[pending_head_];
      if (oldest == Command::Data && code == 354) in_message_ = true;
      if (oldest == Command::Auth || oldest == Command::AuthUnnamed) return;  // 334: the exchange goes on
    }
    if (!failure && !success) return;
  } else if (pending_count_ > 0) {
    answered = pending_[pending_head_];
    known = !pending_lost_;
    pending_head_ = static_cast<std::uint8_t>((pending_head_ + 1) % pending_.size());
    --pending_count_;
  }

  if (known && (answered == Command::Auth || answered == Command::AuthUnnamed)) {
    std::string user;
    if (answered == Command::Auth && !auth_users_.empty()) {
      user = std::move(auth_users_.front());
      auth_users_.erase(auth_users_.begin());
      if (auth_users_.empty()) current_named_ = false;
    }
    if (failure || success) l.on_auth_result(failure, user);
    wipe(user);
    if (pending_count_ == 0) stage_ = AuthStage::None;
    return;
  }
  if (failure || success) l.on_auth_result(failure, {});
  const bool starttls = known ? answered == Command::StartTls : (pending_lost_ && starttls_sent_);
  if (starttls && code == 220) {
    encrypted_ = true;
    wipe(line_);
    for (auto& u : auth_users_) wipe(u);
    auth_users_.clear();
    l.on_encrypted();
  }
}

void SmtpSession::push_command(Command c) {
  if (c == Command::StartTls) starttls_sent_ = true;
  if (pending_count_ == pending_.size()) {
    pending_lost_ = true;
    return;
  }
  pending_[(pending_head_ + pending_count_) % pending_.size()] = c;
  ++pending_count_;
}

void SmtpSession::client_bytes(std::span<const std::uint8_t> bytes, SessionListener& l) {
  const char* p = reinterpret_cast<const char*>(bytes.data());
  const char* const end = p + bytes.size();
  while (p < end && !encrypted_) {
    if (chunk_left_ > 0) {
      const std::uint64_t n = std::min<std::uint64_t>(chunk_left_, static_cast<std::uint64_t>(end - p));
      p += n;
      chunk_left_ -= n;
      continue;
    }
    if (client_skip_) {
      const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
      if (nl == nullptr) return;
      p = static_cast<const char*>(nl) + 1;
      client_skip_ = false;
      continue;
    }
    const char c = *p++;
    if (c == '\n') {
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      on_client_line(l);
      wipe(line_);
      line_overflow_ = false;
      continue;
    }
    // Message text only needs to be told apart from the lone "." that ends it.
    const std::size_t limit = in_message_ ? 2 : kMaxCommandLine;
    if (line_.size() < limit) {
      line_.push_back(c);
    } else {
      line_overflow_ = true;
    }
  }
}

void SmtpSession::on_client_line(SessionListener& /*l*/) {
  if (in_message_) {
    if (!line_overflow_ && line_ == ".") in_message_ = false;
    return;
  }
  switch (stage_) {
    case AuthStage::PlainResponse:
      if (!line_overflow_ && line_ != "*") decode_plain(line_);
      stage_ = AuthStage::Result;
      return;
    case AuthStage::LoginUser:
      if (!line_overflow_ && line_ != "*") {
        decode_login_user(line_);
        stage_ = AuthStage::LoginPassword;
      } else {
        stage_ = AuthStage::Result;
      }
      return;
    case AuthStage::LoginPassword:
      stage_ = AuthStage::Result;  // the password: never looked at, zeroed by the caller
      return;
    case AuthStage::OtherResponse:
      return;
    case AuthStage::None:
    case AuthStage::Result:
      break;
  }
  if (line_overflow_) {
    push_command(Command::Other);
    return;
  }
  std::string_view rest(line_);
  const std::string_view verb = next_word(rest);
  if (iequals(verb, "AUTH")) {
    current_named_ = auth_users_.size() < kMaxPendingAuth && pending_count_ < pending_.size();
    if (current_named_) auth_users_.emplace_back();
    push_command(current_named_ ? Command::Auth : Command::AuthUnnamed);
    const std::string_view mechanism = next_word(rest);
    const std::string_view initial = next_word(rest);
    if (iequals(mechanism, "PLAIN")) {
      if (initial.empty()) {
        stage_ = AuthStage::PlainResponse;
      } else {
        if (initial != "=") decode_plain(initial);
        stage_ = AuthStage::Result;
      }
    } else if (iequals(mechanism, "LOGIN")) {
      if (initial.empty()) {
        stage_ = AuthStage::LoginUser;
      } else {
        decode_login_user(initial);
        stage_ = AuthStage::LoginPassword;
      }
    } else {
      stage_ = AuthStage::OtherResponse;
    }
  } else if (iequals(verb, "STARTTLS")) {
    push_command(Command::StartTls);
  } else if (iequals(verb, "DATA")) {
    push_command(Command::Data);
  } else if (iequals(verb, "BDAT")) {
    push_command(Command::Other);
    const std::string_view size = next_word(rest);
    std::uint64_t n = 0;
    bool ok = !size.empty() && size.size() <= 18;
    for (char ch : size) {
      if (!is_digit(ch)) ok = false;
      n = n * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    if (ok) chunk_left_ = n;
  } else {
    push_command(Command::Other);
  }
}

void SmtpSession::decode_plain(std::string_view b64) {
  // authzid NUL authcid NUL password: the username is authcid. The decoded bytes (password
  // included) live on the stack and are zeroed before return.
  std::array<char, kMaxCommandLine> buf;
  std::size_t n = 0;
  if (decode_base64(b64, buf.data(), buf.size(), n)) {
    const std::string_view text(buf.data(), n);
    const std::size_t first = text.find('\0');
    const std::size_t second = first == std::string_view::npos ? first : text.find('\0', first + 1);
    if (second != std::string_view::npos && current_named_) {
      wipe(auth_users_.back());
      auth_users_.back().assign(text.substr(first + 1, std::min(second - first - 1, kMaxWireUsername)));
    }
  }
  explicit_bzero(buf.data(), buf.size());
}

void SmtpSession::decode_login_user(std::string_view b64) {
  std::array<char, kMaxCommandLine> buf;
  std::size_t n = 0;
  if (decode_base64(b64, buf.data(), buf.size(), n) && current_named_) {
    wipe(auth_users_.back());
    auth_users_.back().assign(buf.data(), std::min(n, kMaxWireUsername));
  }
  explicit_bzero(buf.data(), buf.size());
}

}  // namespace strikeout::wire
