// The SMTP conversation of one connection as the wire sees it: the server's reply stream and the
// client's command stream, each as bytes in sequence order (reassembly is the tracker's job). Pure:
// no I/O, no clock; time is not needed here.
//
// Server side: a reply line is looked at from its first byte, and only its first few bytes are kept
// (ReplyPatterns::head_bytes(), at most kMaxPatternBytes): enough to compare the line with the
// failure patterns. So a reply split across TCP segments, or several replies in one segment
// (pipelining), is found all the same, and per connection the server side costs a fixed few dozen
// bytes. A failure counts on the LAST line of a reply (`535 ...`, not the `535-...` continuation
// lines of a multi-line reply), so one reply is one failure.
//
// Client side: command lines are kept up to kMaxCommandLine bytes, only long enough to decide them
// and to decode a username from plaintext AUTH PLAIN / AUTH LOGIN (initial response or the line after
// the server's 334). Passwords are never kept: every line buffer and every decoded SASL response is
// zeroed as soon as it has been looked at, and the password part of AUTH PLAIN is never copied.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strikeout::wire {

inline constexpr std::size_t kMaxPatternBytes = 64;   // longest configurable failure reply
inline constexpr std::size_t kMaxCommandLine = 2048;  // longer client lines are not decoded
inline constexpr std::size_t kMaxWireUsername = 256;  // longer usernames are cut

// What counts as a failed login in the server's replies.
class ReplyPatterns {
 public:
  // The default: any reply with code 535 (RFC 4954's "authentication credentials invalid").
  ReplyPatterns();
  // Accepts 1..16 patterns, each 3..kMaxPatternBytes bytes, starting with a three-digit reply code
  // and without CR or LF. A pattern matches the last line of a reply that begins with exactly its
  // bytes: "535" matches every 535 reply, "535 5.7.0 authentication failed" only that text (the
  // recipe's string). Refuses anything else, with an error naming the pattern and what is wrong.
  static std::optional<ReplyPatterns> create(const std::vector<std::string>& patterns, std::string& error);

  // Does a reply's last line, of which `head` are the first bytes (all of them when the line was
  // shorter than head_bytes()), match a pattern?
  bool matches(std::string_view head) const;
  std::size_t head_bytes() const { return head_bytes_; }
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  std::vector<std::string> patterns_;
  std::size_t head_bytes_ = 4;
};

// What a session tells the tracker.
class SessionListener {
 public:
  virtual ~SessionListener() = default;
  // A reply matching the failure patterns (failure = true) or a 235 (failure = false). `user` is the
  // username of the AUTH command this reply answers when the client sent it in plaintext, else empty.
  virtual void on_auth_result(bool failure, std::string_view user) = 0;
  // The session went encrypted (a 220 answered the client's STARTTLS): nothing more can be seen.
  virtual void on_encrypted() = 0;
};

class SmtpSession {
 public:
  // `at_line_start`: the streams begin at their first byte (we saw the handshake). When false (the
  // capture began mid-connection), each side skips up to its first line end before it reads lines.
  explicit SmtpSession(bool at_line_start = true);
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  // Feed the next bytes of each direction, in order. After on_encrypted() both are ignored.
  void server_bytes(std::span<const std::uint8_t> bytes, const ReplyPatterns& patterns, SessionListener& l);
  void client_bytes(std::span<const std::uint8_t> bytes, SessionListener& l);
  // The stream has a hole (lost packets): forget the partial line and resynchronise at the next line
  // end, so no reply is half-read and misjudged.
  void server_gap();
  void client_gap();

  bool encrypted() const { return encrypted_; }
  // Bytes held for this session beyond sizeof(SmtpSession) (the client line buffer's capacity).
  std::size_t heap_bytes() const;

 private:
  // Auth: an AUTH whose username is the front of auth_users_; AuthUnnamed: more AUTH commands were
  // pipelined than we keep usernames for.
  enum class Command : std::uint8_t { Other, Auth, AuthUnnamed, StartTls, Data };
  static constexpr std::size_t kMaxPendingAuth = 4;
  enum class AuthStage : std::uint8_t {
    None,           // no AUTH in progress
    PlainResponse,  // AUTH PLAIN sent without initial response: the next client line is the response
    LoginUser,      // AUTH LOGIN sent: the next client line is the base64 username
    LoginPassword,  // the next client line is the password: skipped and zeroed
    OtherResponse,  // another mechanism (or a cancelled exchange): client lines are responses
    Result,         // all sent: waiting for the final reply
  };

  void on_reply_head(const ReplyPatterns& patterns, SessionListener& l);
  void on_client_line(SessionListener& l);
  void push_command(Command c);
  void decode_plain(std::string_view b64);
  void decode_login_user(std::string_view b64);

  // Server side: the first bytes of the current reply line.
  std::array<char, kMaxPatternBytes> head_{};
  std::uint8_t head_len_ = 0;
  bool server_skip_ = false;  // skipping to the end of a line (mid-stream start, gap, or head done)
  bool head_done_ = false;    // the current line's head was judged already
  // Client side.
  std::string line_;  // the current command line (bounded by kMaxCommandLine; zeroed)
  bool client_skip_ = false;
  bool line_overflow_ = false;
  bool in_message_ = false;       // between DATA's 354 and the lone "." line: message text
  std::uint64_t chunk_left_ = 0;  // bytes of a BDAT chunk still to pass over (message text)
  bool greeted_ = false;          // the server's greeting (answers no command) was seen
  bool starttls_sent_ = false;
  // Commands sent and not yet answered by a final reply, oldest first (a small ring: pipelining).
  std::array<Command, 16> pending_{};
  std::uint8_t pending_head_ = 0;
  std::uint8_t pending_count_ = 0;
  bool pending_lost_ = false;  // the ring overflowed: which reply answers what is no longer known
  AuthStage stage_ = AuthStage::None;
  // Usernames of the AUTH commands not answered yet, oldest first (attacker text, bounded; usually
  // one). The AUTH being sent now is the last one when current_named_ is true.
  std::vector<std::string> auth_users_;
  bool current_named_ = false;
  bool encrypted_ = false;
};

}  // namespace strikeout::wire
