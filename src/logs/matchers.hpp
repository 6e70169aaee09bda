// The built-in matchers: one hand-written parser per mail server, from the line shapes the servers'
// source writes (see docs/log-formats.md). Each reads only the message of an already split record,
// anchors the client address on a field the server itself writes, and allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/event.hpp"
#include "logs/decoder.hpp"

namespace strikeout::logs::detail {

// A built-in matcher is named by the reporter of the events it reads (core::Reporter is the one list
// of programs; the reporters with no log of their own, e.g. the wire, have no matcher).
using Server = core::Reporter;

// Which built-in matcher a syslog program name belongs to ("postfix/submission/smtpd" -> Postfix,
// "smtpd" -> OpenSMTPD, "imap-login" -> Dovecot, ...). nullopt for programs no built-in matcher reads.
std::optional<Server> server_for_program(std::string_view program);

// "postfix" -> Server::Postfix, ... (the format names are the reporters' names); nullopt for
// anything else (including "auto").
std::optional<Server> server_for_format(std::string_view format);

// OpenSMTPD writes the client's address only on the session's "smtp connected" line; later lines
// carry the session id. This table joins them. Fixed capacity, allocated once: 4-way set-associative,
// and a full set evicts its least recently connected session (a session that old has long finished
// its AUTH attempts). A session is dropped when its "smtp disconnected" line is read.
class OpenSmtpdSessions {
 public:
  static constexpr std::size_t kWays = 4;
  explicit OpenSmtpdSessions(std::size_t sets = 1024);

  void connected(std::uint64_t id, const core::Address& address);
  void disconnected(std::uint64_t id);
  // The session's address, or nullptr when unknown (connected before the log started, or evicted).
  struct Session {
    std::uint64_t id = 0;
    std::uint64_t stamp = 0;  // insertion order, 0 = empty slot
    core::Address address{};
    bool failure_reported = false;  // an "authentication ... result=permfail" not yet paired
  };
  Session* find(std::uint64_t id);
  std::uint64_t evictions() const { return evictions_; }

 private:
  std::size_t set_of(std::uint64_t id) const;
  std::vector<Session> slots_;
  std::size_t sets_;
  std::uint64_t next_stamp_ = 1;
  std::uint64_t evictions_ = 0;
};

struct MatchState {
  OpenSmtpdSessions opensmtpd;
};

// True for a server whose matcher keeps state from line to line (MatchState), so its lines must be
// matched in order by one decoder.
inline bool matcher_keeps_state(std::optional<Server> server) {
  return server == Server::OpenSmtpd;
}

// Runs one server's matcher over `record`. Fills kind, source, port, service, user, reporter, count
// and summary_span of `out` on Event; the caller sets time and sensor.
LineStatus match_server(Server server, const LogRecord& record, core::Event& out, MatchState& state);

}  // namespace strikeout::logs::detail
