// What a sensor reports to the engine: one observation about one client address.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/address.hpp"
#include "core/time.hpp"

namespace strikeout::core {

// Kinds of event. Rules name them in the configuration by to_string(); the values index arrays and are
// pinned like every value that leaves the process (tests/core/persisted_enums_test).
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
// This is the one list of programs strikeout knows: the log decoder's built-in matchers are named by it
// (logs::detail::Server). The values are written to the state database (pairing records, a byte each):
// never renumber one; add new reporters at the end, below kReporterLimit (tests/core/persisted_enums_test).
enum class Reporter : std::uint8_t {
  Postfix = 0,
  Dovecot = 1,
  Exim = 2,
  Sendmail = 3,
  OpenSmtpd = 4,
  Courier = 5,
  Cyrus = 6,
  Saslauthd = 7,
  Custom = 8,    // an operator's own matcher
  Wire = 9,      // the packet sensor
  Decoy = 10,    // the decoy SMTP server
  Kernel = 11,   // nftables counters / NFLOG (connection-rate limit)
  Operator = 12  // a ban or event made through the CLI
};

// Every reporter, in value order, with its name (what status, explain and the logs show; for the mail
// servers also the `format` of a log source).
struct ReporterName {
  Reporter reporter;
  std::string_view name;
};
inline constexpr std::array<ReporterName, 13> kReporters = {{
    {Reporter::Postfix, "postfix"},
    {Reporter::Dovecot, "dovecot"},
    {Reporter::Exim, "exim"},
    {Reporter::Sendmail, "sendmail"},
    {Reporter::OpenSmtpd, "opensmtpd"},
    {Reporter::Courier, "courier"},
    {Reporter::Cyrus, "cyrus"},
    {Reporter::Saslauthd, "saslauthd"},
    {Reporter::Custom, "custom"},
    {Reporter::Wire, "wire"},
    {Reporter::Decoy, "decoy"},
    {Reporter::Kernel, "kernel"},
    {Reporter::Operator, "operator"},
}};

// How many reporters the pairing of duplicate reports can tell apart (a bit each in a 64-bit mask,
// core/dedup.hpp): room to grow well past today's list.
inline constexpr std::size_t kReporterLimit = 64;
static_assert(kReporters.size() <= kReporterLimit);
static_assert(
    [] {
      for (std::size_t i = 0; i < kReporters.size(); ++i)
        if (static_cast<std::size_t>(kReporters[i].reporter) != i) return false;
      return true;
    }(),
    "kReporters lists every reporter in value order");

// The reporter named `name` ("postfix" -> Reporter::Postfix); nullopt for any other name.
constexpr std::optional<Reporter> reporter_named(std::string_view name) {
  for (const auto& r : kReporters)
    if (r.name == name) return r.reporter;
  return std::nullopt;
}

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
