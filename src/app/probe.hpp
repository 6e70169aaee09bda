// `strikeout probe HOST[:PORT]`: the recipe's manual telnet session, automated. Connects, reads the
// greeting, says EHLO, tries AUTH LOGIN and AUTH PLAIN with a random username and password, and prints
// exactly what the server answered; says whether AUTH is offered before TLS and whether STARTTLS is
// needed (then, in builds with OpenSSL, tries again through STARTTLS and says that the wire cannot
// see those replies); and prints the configuration lines that match the server's failure reply.
#pragma once

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace strikeout::app {

struct ProbeOptions {
  std::string target;                            // "HOST", "HOST:PORT", "[IPv6]:PORT"; port default 587
  std::chrono::milliseconds timeout{10'000};     // for the connection and for each reply
  bool json = false;                             // one JSON object instead of the human report
  bool starttls = true;                          // try AUTH through STARTTLS when it is offered
  std::string helo = "strikeout-probe.invalid";  // the EHLO name
  std::string username;                          // empty: a random "probe-XXXXXXXX"
};

// One command and the server's reply to it, as they went over the wire (the password and the
// base64 lines carrying it are shown as a placeholder, never in clear).
struct ProbeStep {
  std::string sent;                // "AUTH LOGIN", "(username, base64)", ...
  std::vector<std::string> reply;  // every line of the reply, without CRLF
};

struct ProbeAttempt {
  std::string mechanism;  // "LOGIN" or "PLAIN"
  bool tls = false;       // tried through STARTTLS
  std::vector<ProbeStep> steps;
  std::string final_reply;  // the last line of the final reply
  bool failed = false;      // a 5xx final reply (what the wire counts when it is a 535)
};

struct ProbeReport {
  std::string host;
  std::uint16_t port = 0;
  std::string address;  // the address connected to
  std::vector<std::string> banner;
  std::vector<std::string> ehlo;
  std::vector<std::string> mechanisms;  // AUTH mechanisms offered before TLS
  bool auth_before_tls = false;
  bool starttls_offered = false;
  std::vector<std::string> mechanisms_tls;  // offered after STARTTLS (when tried)
  std::string tls_status;  // "", "not built with OpenSSL", "refused: 454 ...", "ok (TLSv1.3)", ...
  std::vector<ProbeAttempt> attempts;
  std::string error;  // what went wrong (connection refused, timeout, not SMTP); empty if none
};

// Runs the session. Never throws; a failure is described in report.error.
ProbeReport probe_server(const ProbeOptions& options);

// The suggested configuration lines for a report (TOML), for the human and JSON outputs.
std::vector<std::string> suggested_configuration(const ProbeReport& report);

// probe_server() printed to `out` (human or JSON); errors also to `err`. Exit code 0 when the
// server answered as an SMTP server, 1 otherwise (refused, timeout, not SMTP, bad target).
int run_probe(const ProbeOptions& options, std::FILE* out, std::FILE* err);

}  // namespace strikeout::app
