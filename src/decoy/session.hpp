// One decoy connection's SMTP conversation, as a pure state machine: bytes in, bytes and AUTH attempts
// out, time as an argument. No sockets, no clocks: the socket layer (worker.cpp) feeds it what the
// client sent, asks it what may be sent now, and closes the connection when it says so. Tests drive it
// with fake time.
//
// Memory: a Session is a fixed ~330 bytes. Replies are never copied into it: its pending output is a
// view of an immutable text of the worker's Script (greeting, EHLO reply, insults, endless lines), so a
// held connection costs its line buffer and a few counters, whatever the mode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.hpp"
#include "core/time.hpp"
#include "decoy/keyed_hash.hpp"
#include "decoy/options.hpp"
#include "decoy/smtp_command.hpp"

namespace strikeout::decoy {

// The replies every session of a worker sends, built once from the options. Each text ends in CRLF.
struct Script {
  std::string greeting;              // "220 mail ESMTP Postfix (Debian/GNU)"
  std::string ehlo;                  // multi-line 250 offering AUTH PLAIN LOGIN
  std::string helo;                  // "250 mail"
  std::vector<std::string> insults;  // "451 4.7.1 <insult>"
  std::vector<std::string> endless;  // "220-<text>": lines of the greeting that never ends

  static Script build(const DecoyOptions& options);
};

// What every session of a worker shares: the options, the replies and the secret. Immutable.
struct SessionContext {
  const DecoyOptions* options = nullptr;
  const Script* script = nullptr;
  DecoySecret secret{};
  // A (source, user, password) gets a fake 235 when its keyed hash is below this (probability * 2^64).
  std::uint64_t success_threshold = 0;

  static SessionContext make(const DecoyOptions& options, const Script& script, const DecoySecret& secret);
};

// One AUTH try seen by the decoy. The views are valid only during the on_attempt() call.
struct AuthAttempt {
  core::Time time{};
  core::Address source{};
  std::uint16_t port = 0;
  Mechanism mechanism = Mechanism::Other;
  Mode mode = Mode::Decoy;
  bool has_credentials = false;  // false: the decoy never got as far as a password (insult mode, "*")
  std::string_view user;         // decoded username (attacker text; up to 64 bytes kept)
  std::string_view password;     // decoded password (attacker text)
  bool accepted = false;         // a fake 235 was given
};

class AttemptSink {
 public:
  virtual ~AttemptSink() = default;
  virtual void on_attempt(const AuthAttempt& attempt) = 0;
};

// Whether the decoy gives (source, user, password) a fake success: a keyed hash under the per-install
// secret, so the same three always get the same answer, and nobody without the secret can tell.
bool fake_success(const SessionContext& ctx, const core::Address& source, std::string_view user,
                  std::string_view password);

// The salted hash that stands for a password in the records ("a3f0...", 16 hex digits).
std::string password_hash(const DecoySecret& secret, std::string_view password);

enum class CloseReason : std::uint8_t {
  None,       // keep it open
  Quit,       // the client said QUIT, or the decoy ended the conversation (DATA): reply sent, close
  Idle,       // no byte either way for idle_timeout
  TimeLimit,  // held for max_duration
};

class Session {
 public:
  static constexpr std::size_t kLineCapacity = 200;  // longer command lines are refused (500)
  static constexpr std::size_t kUserCapacity = 64;   // longer usernames are cut for the records

  // Begins a conversation at `now`: the greeting (or the first endless line) is scheduled.
  void start(Mode mode, core::Time now, const SessionContext& ctx);

  // Takes bytes the client sent, up to and including the first complete line that needs a reply, and
  // returns how many it took: the rest stays with the caller (in the kernel's buffer) until this reply
  // has gone, so the session needs no queue. Takes nothing while a reply is pending (wants_input()
  // false). In endless mode every byte is taken and ignored. AUTH attempts go to `sink`.
  std::size_t on_input(std::string_view bytes, const core::Address& source, std::uint16_t port,
                       core::Time now, const SessionContext& ctx, AttemptSink& sink);
  bool wants_input() const { return out_ == nullptr && !closing_; }

  // The bytes that may be sent at `now` (empty if none is due): the rest of the pending reply, one
  // byte of it in stutter mode, never more than the output allowance left.
  std::string_view output(core::Time now, const SessionContext& ctx) const;
  // `n` bytes of output() were written at `now`.
  void on_sent(std::size_t n, core::Time now, const SessionContext& ctx);

  // Whether to close at `now`, and why.
  CloseReason close_reason(core::Time now, const SessionContext& ctx) const;
  // The next time output() or close_reason() may change without input.
  core::Time next_wake(const SessionContext& ctx) const;

  Mode mode() const { return mode_; }
  core::Time due() const { return due_; }                // when the pending output may go
  bool reply_started() const { return out_sent_ != 0; }  // some of the pending reply went out
  core::Time started() const { return started_; }
  std::uint32_t bytes_in() const { return bytes_in_; }
  std::uint32_t bytes_out() const { return bytes_out_; }
  // Bytes the client may still receive: allowance + per_input * bytes_in - bytes_out.
  std::uint64_t budget(const SessionContext& ctx) const;

 private:
  enum class State : std::uint8_t { Command, AuthPlain, LoginUser, LoginPass };

  void reply(std::string_view text, core::Time now, const SessionContext& ctx);
  void handle_line(std::string_view line, const core::Address& source, std::uint16_t port, core::Time now,
                   const SessionContext& ctx, AttemptSink& sink);
  void handle_insult_line(const Command& c, const core::Address& source, std::uint16_t port, core::Time now,
                          const SessionContext& ctx, AttemptSink& sink);
  void attempt(Mechanism mechanism, std::string_view user, std::string_view password, bool has_credentials,
               const core::Address& source, std::uint16_t port, core::Time now, const SessionContext& ctx,
               AttemptSink& sink);
  void next_endless_line(core::Time now, const SessionContext& ctx);

  core::Time started_{};
  core::Time last_traffic_{};  // last byte in or out
  core::Time due_{};           // when the pending output (or its next stutter byte) may go
  const char* out_ = nullptr;  // pending reply: a view into the Script or a constant
  std::uint16_t out_length_ = 0;
  std::uint16_t out_sent_ = 0;
  std::uint32_t bytes_in_ = 0;
  std::uint32_t bytes_out_ = 0;
  std::uint32_t endless_lines_ = 0;
  Mode mode_ = Mode::Decoy;
  State state_ = State::Command;
  bool closing_ = false;        // close once the pending reply is out
  bool authenticated_ = false;  // a fake 235 was given on this connection
  bool overlong_ = false;       // the current line passed kLineCapacity: discard it up to its LF
  std::uint8_t line_length_ = 0;
  std::uint8_t user_length_ = 0;
  std::uint8_t insult_next_ = 0;
  char line_[kLineCapacity];
  char user_[kUserCapacity];
};

}  // namespace strikeout::decoy
