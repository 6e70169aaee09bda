// What a sensor reports to the engine: one observation about one client address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/address.hpp"
#include "core/time.hpp"

namespace strikeout::core {

enum class EventKind : std::uint8_t {
  AuthFailure = 0,  // a failed login (SMTP AUTH, IMAP LOGIN, ...)
  AuthSuccess = 1,  // a successful login
  Connect = 2,      // a new connection from the client
  // Abuse of the protocol around authentication that is not a wrong password: plaintext AUTH refused,
  // a session that never tried or never finished AUTH, too many invalid commands, a mail server's
  // "user unknown" to a guessing client. Counted by rules that ask for it (none by default).
  ProtocolAbuse = 3,
};

// How many event kinds there are (arrays indexed by EventKind).
inline constexpr std::size_t kEventKinds = 4;

// Which program reported the event. Two reports of one failure come from two different reporters
// (Postfix and its Dovecot SASL backend; a log and the wire); the engine pairs them by this field.
enum class Reporter : std::uint8_t {
  Postfix,
  Dovecot,
  Exim,
  Sendmail,
  OpenSmtpd,
  Courier,
  Cyrus,
  Saslauthd,
  Custom,   // an operator's own matcher
  Wire,     // the packet sensor
  Decoy,    // the decoy SMTP server
  Kernel,   // nftables counters / NFLOG (connection-rate limit)
  Operator  // a ban or event made through the CLI
};

// An event as the engine receives it. The string_views are valid only for the duration of the call
// that hands the event over: the engine copies what it keeps. Fields a client controls (user) are
// informational: they never choose which address is punished.
struct Event {
  Time time{};  // when it happened (the log line's or packet's own time)
  EventKind kind = EventKind::AuthFailure;
  Address source{};            // the client, as written by the server or seen on the wire
  std::uint16_t port = 0;      // the client's source port when known, else 0
  std::string_view service{};  // "smtp", "submission", "smtps", "imap", ... or empty
  std::string_view user{};     // the username tried, when known, else empty
  Reporter reporter = Reporter::Custom;
  std::string_view sensor{};  // the configured source's name, for reports ("mail.log", "wire")
  std::uint32_t count = 1;    // attempts this report stands for (Dovecot's "N attempts")
  // True when the event comes from a connection that completed the TCP handshake (any server log
  // line, a reply seen on the wire). False for a bare SYN, which anyone can forge with a victim's
  // address: such events may count toward a connect rule, but never extend an existing ban.
  bool from_established = true;
  // For Dovecot's "auth failed, N attempts in S secs" summaries: the length of the session the
  // summary covers, so the engine can subtract single attempts it already saw in that span.
  Duration summary_span{0};
};

std::string_view to_string(EventKind kind);
std::string_view to_string(Reporter reporter);

}  // namespace strikeout::core
