#include "logs/matchers.hpp"

#include <algorithm>
#include <optional>

#include "logs/header.hpp"
#include "logs/scan.hpp"

namespace strikeout::logs::detail {

namespace {

using core::Event;
using core::EventKind;
using core::Reporter;

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

bool iequals_prefix(std::string_view s, std::string_view upper_prefix) {
  if (s.size() < upper_prefix.size()) return false;
  for (std::size_t i = 0; i < upper_prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != upper_prefix[i]) return false;
  }
  return true;
}

void set_event(Event& out, EventKind kind, const core::Address& address, Reporter reporter,
               std::string_view service, std::string_view user = {}, std::uint16_t port = 0) {
  out.kind = kind;
  out.source = address;
  out.reporter = reporter;
  out.service = service;
  out.user = user;
  out.port = port;
}

// ---------------------------------------------------------------- Postfix

// Parses Postfix's "NAME[ADDR]" or "NAME[ADDR]:PORT" (smtpd_client_port_logging) at the start of `s`
// and removes it. NAME is a verified hostname or "unknown": Postfix never writes '[' or ' ' in it, so
// the first '[' opens the address the server wrote.
bool postfix_namaddr(std::string_view& s, core::Address& addr, std::uint16_t& port) {
  // Host names run to 60 bytes ("mail-ej116-f7.outbound.protection.outlook.com"): 8 at a time.
  const std::size_t open = find_first_of_chars<'[', ' '>(s);
  if (open == 0 || open == npos || s[open] != '[') return false;
  const auto close = find_first_of_chars<']'>(s, open + 1);
  if (close == npos) return false;
  const auto a = parse_address(s.substr(open + 1, close - open - 1));
  if (!a) return false;
  addr = *a;
  port = 0;
  s.remove_prefix(close + 1);
  if (!s.empty() && s[0] == ':' && s.size() > 1 && is_digit(s[1])) {
    std::size_t n = 1;
    while (n < s.size() && is_digit(s[n])) ++n;
    const auto p = port_number(s.substr(1, n - 1));
    if (!p) return false;
    port = *p;
    s.remove_prefix(n);
  }
  return true;
}

// "postfix/submission/smtpd" -> "submission"; "postfix/smtpd", "postfix-out/smtpd" -> "smtp".
// Returns false for Postfix programs other than smtpd (qmgr, cleanup, smtp, ...).
bool postfix_service(std::string_view program, std::string_view& service) {
  if (!ends_with(program, "/smtpd")) return false;
  const std::size_t last = program.size() - 6;
  std::size_t prev = last;
  while (prev > 0 && program[prev - 1] != '/') --prev;
  if (prev == 0) {
    service = "smtp";  // "postfix/smtpd": prev stopped at the start, there is no middle part
  } else {
    service = program.substr(prev, last - prev);
  }
  return true;
}

LineStatus match_postfix(const LogRecord& r, Event& out) {
  std::string_view service;
  if (!postfix_service(r.program, service)) return LineStatus::NoEvent;
  std::string_view m = r.message;
  if (m.empty()) return LineStatus::NoEvent;
  core::Address addr;
  std::uint16_t port = 0;
  if (m[0] == 'w') {
    // warning: NAME[ADDR]: SASL MECH authentication failed: REASON[, sasl_username=USER]
    if (!consume(m, "warning: ") || !postfix_namaddr(m, addr, port) || !consume(m, ": SASL ")) {
      return LineStatus::NoEvent;
    }
    const auto sp = m.find(' ');
    if (sp == 0 || sp == npos) return LineStatus::NoEvent;
    m.remove_prefix(sp);
    if (!consume(m, " authentication failed")) return LineStatus::NoEvent;
    std::string_view user;
    if (consume(m, ": ")) {
      // The SASL server's own trouble, not the client's: it says nothing about the password.
      if (starts_with(m, "Connection lost to authentication server")) return LineStatus::NoEvent;
      const auto u = m.find(", sasl_username=");
      if (u != npos) user = m.substr(u + 16);
    }
    set_event(out, EventKind::AuthFailure, addr, Reporter::Postfix, service, user, port);
    return LineStatus::Event;
  }
  if (m[0] == 'c') {
    // connect from NAME[ADDR]
    if (!consume(m, "connect from ") || !postfix_namaddr(m, addr, port) || !m.empty()) {
      return LineStatus::NoEvent;
    }
    set_event(out, EventKind::Connect, addr, Reporter::Postfix, service, {}, port);
    return LineStatus::Event;
  }
  // Protocol abuse: "too many errors after AUTH from NAME[ADDR]" (smtpd_hard_error_limit reached
  // while guessing) and "SSL_accept error from NAME[ADDR]: ..." (a TLS handshake that failed, as
  // scanners of port 465 do).
  if (consume(m, "too many errors after AUTH from ") || consume(m, "SSL_accept error from ")) {
    if (!postfix_namaddr(m, addr, port) || !(m.empty() || m[0] == ':')) return LineStatus::NoEvent;
    set_event(out, EventKind::ProtocolAbuse, addr, Reporter::Postfix, service, {}, port);
    return LineStatus::Event;
  }
  // QUEUEID: client=NAME[ADDR], sasl_method=MECH, sasl_username=USER  (a message from a logged-in
  // client: the success that follows failures)
  std::size_t q = 0;
  while (q < m.size() && q < 32 &&
         ((m[q] >= '0' && m[q] <= '9') || (m[q] >= 'A' && m[q] <= 'Z') || (m[q] >= 'a' && m[q] <= 'z'))) {
    ++q;
  }
  if (q == 0) return LineStatus::NoEvent;
  m.remove_prefix(q);
  if (!consume(m, ": client=") || !postfix_namaddr(m, addr, port) || !consume(m, ", sasl_method=")) {
    return LineStatus::NoEvent;
  }
  std::string_view user;
  const auto u = m.find(", sasl_username=");
  if (u != npos) {
    user = m.substr(u + 16);
    user = user.substr(0, user.find(", "));
  }
  set_event(out, EventKind::AuthSuccess, addr, Reporter::Postfix, service, user, port);
  return LineStatus::Event;
}

// ---------------------------------------------------------------- Dovecot

std::string_view strip_dovecot_level(std::string_view m) {
  for (std::string_view level : {"Info: ", "Warning: ", "Error: ", "Debug: ", "Fatal: "}) {
    if (consume(m, level)) break;
  }
  return m;
}

bool is_session_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '+' || c == '/' || c == '=';
}

// The auth process's per-request prefix "driver(USER,ADDR[,<SESSION>]): " ends at `colon` (the
// position of "): "). USER is the client's, so the address is read backwards from the end, which the
// server writes: optional ",<SESSION>", then ",ADDR".
bool dovecot_prefix(std::string_view m, std::size_t colon, core::Address& addr, std::string_view& user) {
  std::string_view seg = m.substr(0, colon);
  if (!seg.empty() && seg.back() == '>') {
    const auto lt = seg.rfind('<');
    if (lt == npos || lt == 0 || seg[lt - 1] != ',') return false;
    for (std::size_t i = lt + 1; i + 1 < seg.size(); ++i) {
      if (!is_session_char(seg[i])) return false;
    }
    seg = seg.substr(0, lt - 1);
  } else if (!seg.empty() && seg.back() == ',') {
    seg.remove_suffix(1);  // 2.2's "ldap(USER,ADDR,)": an empty session field
  }
  const auto comma = seg.rfind(',');
  if (comma == npos) return false;
  const auto a = parse_address(seg.substr(comma + 1));
  if (!a) return false;
  addr = *a;
  // The driver's "(" is the first one directly after a word at the start or after a space: the text
  // before USER is the server's, so the first such "(" is not inside USER.
  user = {};
  for (std::size_t p = seg.find('('); p != npos && p < comma; p = seg.find('(', p + 1)) {
    if (p == 0 || seg[p - 1] == ' ') continue;
    user = seg.substr(p + 1, comma - p - 1);
    break;
  }
  if (user == "?") user = {};
  return true;
}

// What auth_verbose_passwords appends after a failure text, removed from the end of `m`: " - trying
// the next passdb" (written last), then " (SHA1 of given password: HEX)" or " (given password:
// PASSWORD)". PASSWORD is the client's and may repeat any text, so a line where the plain marker
// occurs more than once (USER or PASSWORD repeats it) is refused: false, no event.
bool strip_dovecot_password(std::string_view& m) {
  for (std::string_view next : {" - trying the next passdb", " - trying the next userdb"}) {
    if (ends_with(m, next)) {
      m.remove_suffix(next.size());
      break;
    }
  }
  if (m.empty() || m.back() != ')') return true;
  const auto sha = m.rfind(" (SHA1 of given password: ");
  if (sha != npos) {
    const std::string_view hex = m.substr(sha + 26, m.size() - sha - 27);
    bool all_hex = !hex.empty();
    for (char c : hex) all_hex = all_hex && is_hex(c);
    if (all_hex) {
      m = m.substr(0, sha);
      return true;
    }
  }
  constexpr std::string_view kGiven = " (given password: ";
  const auto given = m.find(kGiven);
  if (given == npos) return true;
  if (m.find(kGiven, given + 1) != npos) return false;
  m = m.substr(0, given);
  return true;
}

// The failure texts the auth process ends a line with (every passdb driver; 2.2 to 2.4). Returns the
// position of the ": " before the text, or npos. pam's reason is PAM's own text (pam_strerror, never
// the client's), so the last "pam_authenticate() failed: " marker is the server's.
std::size_t dovecot_failure_text(std::string_view m) {
  for (std::string_view text : {": Password mismatch", ": unknown user", ": invalid credentials",
                                ": Password mismatch (for LDAP bind)"}) {
    if (ends_with(m, text)) return m.size() - text.size();
  }
  return m.rfind(": pam_authenticate() failed: ");
}

bool is_dovecot_mech_char(char c) {
  return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_';
}

// Dovecot 2.4's request prefix, read backwards from `head` (everything before ": DBNAME: TEXT"):
//   PROCESS(USER[,ADDR][,sasl:MECH][,master])[<PID>][<SESSION>][: request [N]][: LEVEL]
// (auth-request.c get_log_prefix). USER is the client's (up to 64 bytes, sanitized), so every field
// is taken from the end, which the server writes, and USER is whatever remains after "PROCESS(".
bool dovecot24_prefix(std::string_view head, core::Address& addr, std::string_view& user) {
  for (std::string_view level : {": Info", ": Warning", ": Error", ": Debug"}) {
    if (ends_with(head, level)) {
      head.remove_suffix(level.size());
      break;
    }
  }
  if (ends_with(head, "]")) {  // ": request [N]" (auth-worker)
    const auto req = head.rfind(": request [");
    if (req == npos || !whole_number(head.substr(req + 11, head.size() - req - 12), 10)) return false;
    head = head.substr(0, req);
  }
  for (int i = 0; i < 2 && !head.empty() && head.back() == '>'; ++i) {  // <PID> then <SESSION>
    const auto lt = head.rfind('<');
    if (lt == npos) return false;
    for (std::size_t k = lt + 1; k + 1 < head.size(); ++k) {
      if (!is_session_char(head[k])) return false;
    }
    head = head.substr(0, lt);
  }
  if (head.empty() || head.back() != ')') return false;
  head.remove_suffix(1);
  if (ends_with(head, ",master")) head.remove_suffix(7);
  const auto comma = head.rfind(',');
  if (comma == npos) return false;
  if (head.substr(comma + 1, 5) == "sasl:") {
    for (char c : head.substr(comma + 6)) {
      if (!is_dovecot_mech_char(c)) return false;
    }
    head = head.substr(0, comma);
  }
  const auto acomma = head.rfind(',');
  if (acomma == npos) return false;
  const auto a = parse_address(head.substr(acomma + 1));
  if (!a) return false;
  const auto open = head.find('(');
  if (open == npos || open >= acomma) return false;
  addr = *a;
  user = head.substr(open + 1, acomma - open - 1);
  if (user == "?") user = {};
  return true;
}

LineStatus match_dovecot_auth(std::string_view m, Event& out) {
  if (!strip_dovecot_password(m)) return LineStatus::NoEvent;
  const std::size_t text = dovecot_failure_text(m);
  if (text == npos || text == 0) return LineStatus::NoEvent;
  core::Address addr;
  std::string_view user;
  if (m[text - 1] == ')') {
    // 2.2/2.3: "DRIVER(USER,ADDR[,<SESSION>]): TEXT"
    if (!dovecot_prefix(m, text - 1, addr, user)) return LineStatus::NoEvent;
  } else {
    // 2.4: "PROCESS(USER,ADDR,...)...: [LEVEL: ]DBNAME: TEXT" — DBNAME is the passdb's name from
    // the configuration (the driver's by default), a word written by the server.
    std::size_t p = text;
    while (p > 0 && m[p - 1] != ' ' && m[p - 1] != ':') --p;
    if (p == text || p < 2 || m[p - 1] != ' ' || m[p - 2] != ':') return LineStatus::NoEvent;
    if (!dovecot24_prefix(m.substr(0, p - 2), addr, user)) return LineStatus::NoEvent;
  }
  set_event(out, EventKind::AuthFailure, addr, Reporter::Dovecot, {}, user);
  return LineStatus::Event;
}

// pam_unix's own line when Dovecot's PAM service fails a password (Linux-PAM's pam_unix, written
// through syslog under the auth process's name):
//   pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=USER
//   rhost=ADDR  user=USER
// Dovecot sets both PAM_RUSER and PAM_USER to the client's USER, and pam_unix writes "  user=" when
// USER is not empty, so USER occurs twice around the server's "rhost=ADDR". The line is read only
// when exactly one split makes both copies equal; a line without "  user=" only when " rhost="
// occurs once. Anything else is refused (no event).
LineStatus match_pam_unix(std::string_view m, Event& out) {
  if (!consume(m, "pam_unix(dovecot:auth): authentication failure; ")) return LineStatus::NoEvent;
  const auto ru = m.find(" ruser=");
  if (ru == npos) return LineStatus::NoEvent;
  m.remove_prefix(ru + 7);
  core::Address addr;
  std::string_view user;
  int found = 0;
  for (auto rh = m.find(" rhost="); rh != npos; rh = m.find(" rhost=", rh + 1)) {
    const std::string_view ruser = m.substr(0, rh);
    const std::string_view rest = m.substr(rh + 7);
    const std::size_t tail = 7 + ruser.size();  // "  user=" and USER again
    if (rest.size() <= tail || rest.substr(rest.size() - tail, 7) != "  user=" ||
        rest.substr(rest.size() - ruser.size()) != ruser) {
      continue;
    }
    const auto a = parse_address(rest.substr(0, rest.size() - tail));
    if (!a) continue;
    if (++found > 1) return LineStatus::NoEvent;
    addr = *a;
    user = ruser;
  }
  if (found == 0) {
    const auto rh = m.find(" rhost=");
    if (rh == npos || m.find(" rhost=", rh + 1) != npos || m.find("  user=") != npos)
      return LineStatus::NoEvent;
    const auto a = parse_address(m.substr(rh + 7));
    if (!a) return LineStatus::NoEvent;
    addr = *a;
    user = m.substr(0, rh);
  }
  set_event(out, EventKind::AuthFailure, addr, Reporter::Dovecot, {}, user);
  return LineStatus::Event;
}

// "imap-login" -> "imap", "managesieve-login" -> "sieve".
std::string_view dovecot_login_service(std::string_view process) {
  std::string_view s = process.substr(0, process.size() - 6);
  if (s == "managesieve") return "sieve";
  return s;
}

// Reads the value of the LAST ", rip=" (or "rip=" at `from`): USER comes before it and may contain
// the text "rip=", the fields after it (lip, mpid, TLS, session) are the server's.
bool dovecot_rip(std::string_view m, std::size_t from, core::Address& addr, std::size_t& at) {
  at = m.rfind("rip=");
  if (at == npos || at < from || !(at == from || (at >= 2 && m[at - 1] == ' ' && m[at - 2] == ','))) {
    return false;
  }
  std::string_view v = m.substr(at + 4);
  v = v.substr(0, v.find(','));
  const auto a = parse_address(v);
  if (!a) return false;
  addr = *a;
  return true;
}

// USER from "user=<USER>, method=..., rip=" given the position of the last "rip=".
std::string_view dovecot_login_user(std::string_view m, std::size_t rip_at) {
  const auto open = m.find("user=<");
  if (open == npos || open > rip_at) return {};
  const std::string_view upto = m.substr(0, rip_at >= 2 ? rip_at - 2 : 0);
  std::size_t close = upto.rfind(">, method=");
  if (close == npos || close < open) close = upto.size() > 0 && upto.back() == '>' ? upto.size() - 1 : npos;
  if (close == npos || close < open + 6) return {};
  return m.substr(open + 6, close - open - 6);
}

// A decimal count at the start of `s` (at most 9 digits), removed from it.
std::optional<std::uint64_t> take_count(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && n < 9 && is_digit(s[n])) ++n;
  const auto v = whole_number(s.substr(0, n), 9);
  s.remove_prefix(n);
  return v;
}

// Why a login process ended a session, from the parenthesis before the first "): " (all of it the
// server's text). Protocol abuse: refusals and sessions that never authenticated.
enum class DovecotEnd : std::uint8_t { Other, AuthFailed, ProxyAuthFailed, Abuse };

DovecotEnd dovecot_session_end(std::string_view reason, std::uint64_t& attempts, std::uint64_t& secs) {
  attempts = 1;
  secs = 0;
  // "Disconnected: Connection closed: read(size=1003) failed: ... (auth failed, 1 attempts in 0 secs)":
  // the reason's own text may hold parentheses, so the marker is looked for anywhere in it.
  if (const auto af = reason.find("(auth failed, "); af != npos) {
    std::string_view c = reason.substr(af + 14);
    const auto n = take_count(c);
    if (!n || !consume(c, " attempts")) return DovecotEnd::Other;
    attempts = *n;
    if (consume(c, " in ")) {  // 2.3+; 2.2 writes "(auth failed, N attempts)"
      const auto s = take_count(c);
      if (!s || !consume(c, " secs")) return DovecotEnd::Other;
      secs = *s;
    }
    return c.empty() || c[0] == ')' ? DovecotEnd::AuthFailed : DovecotEnd::Other;
  }
  // 2.3 "(proxy dest auth failed)", 2.4 "(proxy dest authentication failure, N attempts in S secs)":
  // the backend refused the password the proxy passed on.
  if (reason.find("(proxy dest auth failed") != npos ||
      reason.find("(proxy dest authentication failure") != npos) {
    return DovecotEnd::ProxyAuthFailed;
  }
  // 2.2/2.3 "(tried to use disabled plaintext auth)", "(tried to use disallowed plaintext auth)";
  // 2.4 "(tried to use disallowed cleartext auth, N attempts in S secs)", "(tried to use unsupported
  // auth mechanism, ...)"; sessions that never authenticated.
  for (std::string_view abuse : {"(tried to use ", "(no auth attempts", "(client didn't finish SASL auth",
                                 "(disconnected before auth was ready", "(sent invalid base64 in response"}) {
    if (reason.find(abuse) != npos) return DovecotEnd::Abuse;
  }
  return DovecotEnd::Other;
}

LineStatus match_dovecot_login(std::string_view process, std::string_view m, Event& out) {
  const std::string_view service = dovecot_login_service(process);
  core::Address addr;
  std::size_t rip_at = 0;
  if (consume(m, "Login: ")) {
    if (!dovecot_rip(m, 0, addr, rip_at)) return LineStatus::NoEvent;
    set_event(out, EventKind::AuthSuccess, addr, Reporter::Dovecot, service, dovecot_login_user(m, rip_at));
    return LineStatus::Event;
  }
  // "Disconnected (auth failed, N attempts in S secs): user=<...>, ...", "Aborted login (auth failed,
  // ...)", "Login aborted: Connection closed (auth failed, ...) (auth_failed): user=<...>",
  // "Aborted login (tried to use disabled plaintext auth): rip=...". The reason is the server's text
  // and the fields follow it (login_log_format_elements: user=<USER> first when known, then method=,
  // rip=, ...), so the first ": user=<", ": method=" or ": rip=" ends the reason. A reason without
  // a parenthesis ("Disconnected: Inactivity: user=<...") says nothing about authentication, and the
  // parentheses after it are the client's.
  std::size_t fields = npos;
  for (std::string_view first : {": user=<", ": method=", ": rip="}) fields = std::min(fields, m.find(first));
  if (fields == npos || fields == 0 || m[fields - 1] != ')') return LineStatus::NoEvent;
  std::uint64_t attempts = 1;
  std::uint64_t secs = 0;
  const DovecotEnd end = dovecot_session_end(m.substr(0, fields), attempts, secs);
  if (end == DovecotEnd::Other) return LineStatus::NoEvent;
  if (!dovecot_rip(m, fields + 2, addr, rip_at)) return LineStatus::NoEvent;
  const std::string_view user = dovecot_login_user(m, rip_at);
  switch (end) {
    case DovecotEnd::AuthFailed:
      set_event(out, EventKind::AuthFailure, addr, Reporter::Dovecot, service, user);
      out.count = attempts == 0 ? 1U : static_cast<std::uint32_t>(attempts);
      out.summary_span = std::chrono::seconds{static_cast<std::int64_t>(secs)};
      return LineStatus::Event;
    case DovecotEnd::ProxyAuthFailed:
      set_event(out, EventKind::AuthFailure, addr, Reporter::Dovecot, service, user);
      return LineStatus::Event;
    case DovecotEnd::Abuse:
      set_event(out, EventKind::ProtocolAbuse, addr, Reporter::Dovecot, service, user);
      return LineStatus::Event;
    case DovecotEnd::Other:
      break;
  }
  return LineStatus::NoEvent;
}

bool is_dovecot_auth_process(std::string_view p) {
  return p == "auth" || p == "auth-worker" || p == "dovecot-auth";
}

LineStatus match_dovecot(const LogRecord& r, Event& out) {
  std::string_view process = r.program;
  std::string_view m = r.message;
  if (starts_with(m, "pam_unix(")) return match_pam_unix(m, out);
  if (process == "dovecot") {
    // Through syslog: "dovecot: auth: passwd-file(...)...", "dovecot: imap-login: Disconnected ...",
    // 2.4's "dovecot: auth(USER,ADDR,sasl:MECH)<SESSION>: passwd-file: Password mismatch" (also
    // Dovecot's own log_path, whose header reader hands such a line over whole as "dovecot").
    const auto paren = find_first_of_chars<'(', ':', ' '>(m);
    if (paren != npos && m[paren] == '(' && is_dovecot_auth_process(m.substr(0, paren))) {
      // "auth-worker(1234): " (a pid) and 2.0's "auth(default): " are a process tag; anything else
      // in the parentheses is 2.4's USER, which may hold ": ", so the line is read from its end.
      std::size_t close = paren + 1;
      while (close < m.size() && is_digit(m[close])) ++close;
      const bool tag =
          (close > paren + 1 && close < m.size() && m[close] == ')') || m.substr(paren + 1, 9) == "default):";
      if (!tag) return match_dovecot_auth(m, out);
    }
    const auto colon = m.find(": ");
    if (colon == npos) return LineStatus::NoEvent;
    std::uint32_t pid = 0;
    split_tag(m.substr(0, colon), process, pid);
    m.remove_prefix(colon + 2);
    if (starts_with(m, "pam_unix(")) return match_pam_unix(m, out);
  }
  m = strip_dovecot_level(m);
  if (is_dovecot_auth_process(process)) return match_dovecot_auth(m, out);
  if (ends_with(process, "-login") && process.size() > 6) return match_dovecot_login(process, m, out);
  return LineStatus::NoEvent;
}
// ---------------------------------------------------------------- Exim

// Finds the address Exim wrote in `host_and_ident` form: "[H=][NAME ][(HELO) ][ADDR]:PORT[ I=[LOCAL]:PORT]".
// HELO is the client's, so a candidate "[ADDR]" must start the text or follow a space, and be followed
// by an optional ":PORT", an optional " I=[...]:PORT", and then `terminator`. The first such candidate
// is taken: by default Exim refuses HELO names with spaces (helo_allow_chars), so with a default
// configuration none can be inside HELO. `rest` is set to the text after the terminator.
bool exim_host(std::string_view s, std::initializer_list<std::string_view> terminators, core::Address& addr,
               std::uint16_t& port, std::string_view& rest) {
  for (std::size_t open = s.find('['); open != npos; open = s.find('[', open + 1)) {
    if (open != 0 && s[open - 1] != ' ' && !(open >= 2 && s[open - 1] == '=' && s[open - 2] == 'H')) continue;
    const auto close = s.find(']', open + 1);
    if (close == npos) return false;
    const auto a = parse_address(s.substr(open + 1, close - open - 1));
    if (!a) continue;
    std::string_view t = s.substr(close + 1);
    std::uint16_t p = 0;
    if (t.size() > 1 && t[0] == ':' && is_digit(t[1])) {
      std::size_t n = 1;
      while (n < t.size() && is_digit(t[n])) ++n;
      const auto pn = port_number(t.substr(1, n - 1));
      if (!pn) continue;
      p = *pn;
      t.remove_prefix(n);
    }
    if (starts_with(t, " I=[")) {
      const auto iclose = t.find(']');
      if (iclose == npos) continue;
      t.remove_prefix(iclose + 1);
      if (!t.empty() && t[0] == ':') {
        std::size_t n = 1;
        while (n < t.size() && is_digit(t[n])) ++n;
        t.remove_prefix(n);
      }
    }
    if (starts_with(t, " Ci=")) {  // 4.97+: the connection id
      std::size_t n = 4;
      while (n < t.size() && is_digit(t[n])) ++n;
      if (n == 4) continue;
      t.remove_prefix(n);
    }
    for (std::string_view term : terminators) {
      if ((term.empty() && t.empty()) || (!term.empty() && starts_with(t, term))) {
        addr = *a;
        port = p;
        rest = t.substr(term.size());
        return true;
      }
    }
  }
  return false;
}

// Exim's own "YYYY-MM-DD HH:MM:SS[.fff][ +zzzz] " and "[PID] " at the start of a message that came
// through syslog or journald (its log_file_path = syslog keeps them with syslog_timestamp), removed.
std::string_view strip_exim_stamp(std::string_view m) {
  if (m.size() > 20 && is_digit(m[0]) && m[4] == '-' && m[7] == '-' && m[10] == ' ' && m[13] == ':' &&
      m[16] == ':' && m[19] != ':') {
    std::size_t i = 19;
    if (m[i] == '.') {
      ++i;
      while (i < m.size() && is_digit(m[i])) ++i;
    }
    if (i + 6 < m.size() && m[i] == ' ' && (m[i + 1] == '+' || m[i + 1] == '-') && is_digit(m[i + 2])) i += 6;
    if (i < m.size() && m[i] == ' ') m.remove_prefix(i + 1);
  }
  if (!m.empty() && m[0] == '[') {
    std::size_t i = 1;
    while (i < m.size() && is_digit(m[i])) ++i;
    if (i > 1 && i + 1 < m.size() && m[i] == ']' && m[i + 1] == ' ') m.remove_prefix(i + 2);
  }
  return m;
}

LineStatus match_exim(const LogRecord& r, Event& out) {
  const std::string_view m = strip_exim_stamp(r.message);
  core::Address addr;
  std::uint16_t port = 0;
  std::string_view rest;
  // NAME authenticator failed for HOST: 535 Incorrect authentication data[ (set_id=USER)]
  const auto sp = m.find(' ');
  if (sp != npos && sp > 0 && starts_with(m.substr(sp), " authenticator failed for ")) {
    const std::string_view host = m.substr(sp + 26);
    if (!exim_host(host, {": "}, addr, port, rest)) return LineStatus::NoEvent;
    // 435 and 454 are the server's temporary trouble; only a permanent refusal is a failure.
    if (rest.size() < 3 || rest[0] != '5' || !is_digit(rest[1]) || !is_digit(rest[2]))
      return LineStatus::NoEvent;
    std::string_view user;
    const auto set_id = rest.find(" (set_id=");
    if (set_id != npos && rest.back() == ')') user = rest.substr(set_id + 9, rest.size() - set_id - 10);
    set_event(out, EventKind::AuthFailure, addr, Reporter::Exim, "smtp", user, port);
    return LineStatus::Event;
  }
  // SMTP connection from [NAME ][ADDR]:PORT[ I=[LOCAL]:PORT][ (TCP/IP connection count = N)]
  std::string_view s = m;
  if (consume(s, "SMTP connection from ")) {
    if (!exim_host(s, {" (", ""}, addr, port, rest)) return LineStatus::NoEvent;
    set_event(out, EventKind::Connect, addr, Reporter::Exim, "smtp", {}, port);
    return LineStatus::Event;
  }
  // SMTP protocol error in "AUTH MECH" H=HOST MECH authentication mechanism not supported
  // SMTP protocol error in "AUTH ..." H=HOST AUTH command used when not advertised
  // (smtp_in.c synprot_error). The quoted command is the client's; "MECH" has no space (Exim cuts
  // the command after it), and HELO has none either, so the last '" H=' is the server's.
  if (consume(s, "SMTP protocol error in \"") && iequals_prefix(s, "AUTH")) {
    const auto h = s.rfind("\" H=");
    if (h == npos || !exim_host(s.substr(h + 4), {" "}, addr, port, rest)) return LineStatus::NoEvent;
    if (rest != "AUTH command used when not advertised" &&
        !ends_with(rest, " authentication mechanism not supported")) {
      return LineStatus::NoEvent;
    }
    set_event(out, EventKind::ProtocolAbuse, addr, Reporter::Exim, "smtp", {}, port);
    return LineStatus::Event;
  }
  // SMTP call from HOST dropped: too many syntax or protocol errors (last command was "...", ...)
  // SMTP call from HOST dropped: too many unrecognized commands (last was "...")
  if (consume(s, "SMTP call from ")) {
    if (!exim_host(s, {" dropped: too many "}, addr, port, rest)) return LineStatus::NoEvent;
    set_event(out, EventKind::ProtocolAbuse, addr, Reporter::Exim, "smtp", {}, port);
    return LineStatus::Event;
  }
  // ID <= SENDER H=HOST P=esmtpsa ... A=AUTHENTICATOR:USER ...  (a message from a logged-in client)
  const auto arrow = m.find(" <= ");
  if (arrow != npos && m.find(' ') == arrow) {
    const auto h = m.find(" H=", arrow);
    if (h == npos) return LineStatus::NoEvent;
    if (!exim_host(m.substr(h + 3), {" ", ""}, addr, port, rest)) return LineStatus::NoEvent;
    // rest starts with the next field ("P=..."), so every field, A= included, follows a space.
    const auto a = rest.find(" A=");
    if (a == npos) return LineStatus::NoEvent;
    std::string_view auth = rest.substr(a + 3);
    auth = auth.substr(0, auth.find(' '));
    const auto colon = auth.find(':');
    const std::string_view user = colon == npos ? std::string_view{} : auth.substr(colon + 1);
    set_event(out, EventKind::AuthSuccess, addr, Reporter::Exim, "smtp", user, port);
    return LineStatus::Event;
  }
  return LineStatus::NoEvent;
}

// ---------------------------------------------------------------- Sendmail

// Sendmail's relay text "NAME [ADDR]", "[ADDR]", "[IPv6:ADDR]", optionally "... (may be forged)".
bool sendmail_relay(std::string_view relay, core::Address& addr) {
  constexpr std::string_view forged = " (may be forged)";
  if (ends_with(relay, forged)) relay.remove_suffix(forged.size());
  if (relay.empty() || relay.back() != ']') return false;
  const auto open = relay.rfind('[');
  if (open == npos) return false;
  std::string_view a = relay.substr(open + 1, relay.size() - open - 2);
  consume(a, "IPv6:");
  const auto parsed = parse_address(a);
  if (!parsed) return false;
  addr = *parsed;
  return true;
}

LineStatus match_sendmail(const LogRecord& r, Event& out) {
  std::string_view m = r.message;
  // An optional queue id: "s8BGx1ab012345: "
  const auto colon = m.find(": ");
  if (colon != npos && colon > 0 && colon <= 20) {
    bool id = true;
    for (char c : m.substr(0, colon)) {
      id = id && ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
    }
    if (id) m.remove_prefix(colon + 2);
  }
  core::Address addr;
  // AUTH failure (MECH): SASL-ERROR (CODE) DETAIL, relay=RELAY. DETAIL may hold the client's user
  // name; RELAY is the last field, so the last ", relay=" is the server's.
  if (consume(m, "AUTH failure (")) {
    const auto rel = m.rfind(", relay=");
    if (rel == npos || !sendmail_relay(m.substr(rel + 8), addr)) return LineStatus::NoEvent;
    std::string_view user;
    const auto u = m.find(", user=");
    if (u != npos && u < rel) user = m.substr(u + 7, rel - u - 7);
    set_event(out, EventKind::AuthFailure, addr, Reporter::Sendmail, "smtp", user);
    return LineStatus::Event;
  }
  // RELAY: possible SMTP attack: command=AUTH, count=N (srvrsmtp.c checksmtpattack: the client sent
  // more AUTH commands than the limit). RELAY comes first and is the server's ("[ADDR]", "NAME
  // [ADDR]", "NAME [ADDR] (may be forged)"); a NAME holds no space, so the first marker ends it.
  if (const auto attack = m.find(": possible SMTP attack: command=AUTH, count="); attack != npos) {
    std::string_view relay = m.substr(0, attack);
    if (ends_with(relay, " (may be forged)")) relay.remove_suffix(16);
    const auto sp = relay.find(' ');
    if (sp != npos && (relay.find(' ', sp + 1) != npos || relay.substr(sp + 1, 1) != "[")) {
      return LineStatus::NoEvent;
    }
    if (!sendmail_relay(relay, addr)) return LineStatus::NoEvent;
    const auto n = whole_number(m.substr(attack + 44), 9);
    if (!n || *n == 0) return LineStatus::NoEvent;
    set_event(out, EventKind::AuthFailure, addr, Reporter::Sendmail, "smtp");
    out.count = static_cast<std::uint32_t>(*n);
    return LineStatus::Event;
  }
  // AUTH=server, relay=RELAY, authid=USER, mech=MECH, bits=N
  if (consume(m, "AUTH=server, relay=")) {
    const auto authid = m.find(", authid=");
    if (authid == npos || !sendmail_relay(m.substr(0, authid), addr)) return LineStatus::NoEvent;
    std::string_view user = m.substr(authid + 9);
    user = user.substr(0, user.find(", mech="));
    set_event(out, EventKind::AuthSuccess, addr, Reporter::Sendmail, "smtp", user);
    return LineStatus::Event;
  }
  return LineStatus::NoEvent;
}

// ---------------------------------------------------------------- OpenSMTPD

LineStatus match_opensmtpd(const LogRecord& r, Event& out, OpenSmtpdSessions& sessions) {
  std::string_view m = r.message;
  // "%016llx smtp ..." — the session id the server generated.
  if (m.size() < 22 || m[16] != ' ') return LineStatus::NoEvent;
  std::uint64_t id = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    const char c = m[i];
    if (!is_hex(c)) return LineStatus::NoEvent;
    const unsigned v =
        is_digit(c) ? static_cast<unsigned>(c - '0') : static_cast<unsigned>((c | 0x20) - 'a' + 10);
    id = (id << 4) | v;
  }
  m.remove_prefix(17);
  if (!consume(m, "smtp ")) return LineStatus::NoEvent;
  if (consume(m, "connected address=")) {
    const auto a = parse_address(m.substr(0, m.find(' ')));
    if (!a) return LineStatus::NoEvent;  // "address=local": a Unix-socket client
    sessions.connected(id, *a);
    set_event(out, EventKind::Connect, *a, Reporter::OpenSmtpd, "smtp");
    return LineStatus::Event;
  }
  if (consume(m, "disconnected")) {
    sessions.disconnected(id);
    return LineStatus::NoEvent;
  }
  if (consume(m, "authentication user=")) {
    // "user=USER result=ok|permfail|tempfail": USER is the client's, the result is the last field.
    const auto res = m.rfind(" result=");
    if (res == npos) return LineStatus::NoEvent;
    const std::string_view result = m.substr(res + 8);
    auto* s = sessions.find(id);
    if (s == nullptr) return LineStatus::NoEvent;
    if (result == "permfail") {
      s->failure_reported = true;
      set_event(out, EventKind::AuthFailure, s->address, Reporter::OpenSmtpd, "smtp", m.substr(0, res));
      return LineStatus::Event;
    }
    if (result == "ok") {
      set_event(out, EventKind::AuthSuccess, s->address, Reporter::OpenSmtpd, "smtp", m.substr(0, res));
      return LineStatus::Event;
    }
    return LineStatus::NoEvent;
  }
  if (consume(m, "failed-command command=\"")) {
    // command="AUTH ..." result="535 ...": the command is the client's, the result the server's and
    // last, so the last ' result="' is the server's.
    const auto res = m.rfind("\" result=\"");
    if (res == npos || !iequals_prefix(m, "AUTH")) return LineStatus::NoEvent;
    if (!starts_with(m.substr(res + 10), "535")) return LineStatus::NoEvent;
    auto* s = sessions.find(id);
    if (s == nullptr) return LineStatus::NoEvent;
    if (s->failure_reported) {
      // The same failure as the "authentication ... result=permfail" line before it: count it once.
      s->failure_reported = false;
      return LineStatus::NoEvent;
    }
    set_event(out, EventKind::AuthFailure, s->address, Reporter::OpenSmtpd, "smtp");
    return LineStatus::Event;
  }
  return LineStatus::NoEvent;
}

// ---------------------------------------------------------------- Courier

std::string_view courier_service(std::string_view program) {
  if (program.find("esmtp") != npos) return "smtp";
  if (program.find("pop3") != npos) return "pop3";
  if (program.find("imap") != npos) return "imap";
  return {};
}

// After the last ", ip=[": "ADDR]" then nothing or ", port=[N]..." (the server's fields).
bool courier_ip(std::string_view m, core::Address& addr, std::uint16_t& port, std::size_t& at) {
  at = m.rfind("ip=[");
  if (at == npos || (at != 0 && !(at >= 2 && m[at - 1] == ' ' && m[at - 2] == ','))) return false;
  std::string_view v = m.substr(at + 4);
  const auto close = v.find(']');
  if (close == npos) return false;
  const auto a = parse_address(v.substr(0, close));
  if (!a) return false;
  v.remove_prefix(close + 1);
  port = 0;
  if (consume(v, ", port=[")) {
    const auto pclose = v.find(']');
    if (pclose == npos) return false;
    const auto p = port_number(v.substr(0, pclose));
    if (!p) return false;
    port = *p;
    v.remove_prefix(pclose + 1);
  }
  if (!v.empty() && !starts_with(v, ", ")) return false;
  addr = *a;
  return true;
}

LineStatus match_cyrus(const LogRecord& r, Event& out);

LineStatus match_courier(const LogRecord& r, Event& out) {
  std::string_view m = r.message;
  // Cyrus's imapd and pop3d are also named "imapd"/"pop3d" on some systems: its lines are Cyrus's.
  if (starts_with(m, "badlogin: ") || starts_with(m, "login: ")) return match_cyrus(r, out);
  const std::string_view service = courier_service(r.program);
  core::Address addr;
  std::uint16_t port = 0;
  // courieresmtpd: error,relay=ADDR,port=N,msg="535 Authentication failed.",cmd: AUTH ...
  if (consume(m, "error,relay=")) {
    const auto comma = m.find(',');
    if (comma == npos) return LineStatus::NoEvent;
    const auto a = parse_address(m.substr(0, comma));
    if (!a) return LineStatus::NoEvent;
    m.remove_prefix(comma + 1);
    if (consume(m, "port=")) {
      const auto c2 = m.find(',');
      if (c2 == npos) return LineStatus::NoEvent;
      if (const auto p = port_number(m.substr(0, c2))) port = *p;
      m.remove_prefix(c2 + 1);
    }
    if (consume(m, "msg=\"535")) {
      set_event(out, EventKind::AuthFailure, *a, Reporter::Courier, service.empty() ? "smtp" : service, {},
                port);
      return LineStatus::Event;
    }
    // "error,relay=ADDR,[ident=...,]from=<...>,to=<...>: 550 User unknown." (or "550 User <NAME>
    // unknown"): a guessed recipient. The reply is the server's and ends the line.
    if (ends_with(m, ": 550 User unknown.") ||
        (m.find(": 550 User <") != npos && ends_with(m, "> unknown"))) {
      set_event(out, EventKind::ProtocolAbuse, *a, Reporter::Courier, service.empty() ? "smtp" : service, {},
                port);
      return LineStatus::Event;
    }
    return LineStatus::NoEvent;
  }
  // courieresmtpd: started,ip=[ADDR]
  if (consume(m, "started,ip=[")) {
    const auto close = m.find(']');
    if (close == npos) return LineStatus::NoEvent;
    const auto a = parse_address(m.substr(0, close));
    if (!a) return LineStatus::NoEvent;
    set_event(out, EventKind::Connect, *a, Reporter::Courier, service.empty() ? "smtp" : service);
    return LineStatus::Event;
  }
  std::size_t at = 0;
  // imapd/pop3d: LOGIN FAILED, [method=M, ]user=USER, ip=[ADDR]
  if (consume(m, "LOGIN FAILED, ")) {
    if (!courier_ip(m, addr, port, at)) return LineStatus::NoEvent;
    std::string_view user;
    const auto u = m.find("user=");
    if (u != npos && u + 5 + 2 <= at) user = m.substr(u + 5, at - 2 - u - 5);
    set_event(out, EventKind::AuthFailure, addr, Reporter::Courier, service, user, port);
    return LineStatus::Event;
  }
  // LOGIN, user=USER, ip=[ADDR], port=[N], protocol=IMAP
  if (consume(m, "LOGIN, user=")) {
    if (!courier_ip(m, addr, port, at) || at < 2) return LineStatus::NoEvent;
    set_event(out, EventKind::AuthSuccess, addr, Reporter::Courier, service, m.substr(0, at - 2), port);
    return LineStatus::Event;
  }
  // Connection, ip=[ADDR]
  if (consume(m, "Connection, ")) {
    if (!courier_ip(m, addr, port, at) || at != 0) return LineStatus::NoEvent;
    set_event(out, EventKind::Connect, addr, Reporter::Courier, service, {}, port);
    return LineStatus::Event;
  }
  return LineStatus::NoEvent;
}

// ---------------------------------------------------------------- Cyrus

std::string_view cyrus_service(std::string_view program) {
  if (program.find("imap") != npos) return "imap";
  if (program.find("pop3") != npos) return "pop3";
  if (program.find("sieve") != npos) return "sieve";
  if (program.find("lmtp") != npos) return "lmtp";
  return {};
}

// Cyrus's client host "NAME [ADDR]", "NAME[ADDR]" or "[ADDR]" at the start of `m`, written before any client
// text.
bool cyrus_host(std::string_view& m, core::Address& addr) {
  if (m.empty()) return false;
  if (m[0] != '[') {
    // "NAME [ADDR]" (2.3+) or "NAME[ADDR]" (2.2 and older builds): NAME holds neither.
    const auto sp = find_first_of_chars<' ', '['>(m);
    if (sp == npos) return false;
    m.remove_prefix(m[sp] == ' ' ? sp + 1 : sp);
    if (m.empty() || m[0] != '[') return false;
  }
  const auto close = m.find(']');
  if (close == npos) return false;
  const auto a = parse_address(m.substr(1, close - 1));
  if (!a) return false;
  addr = *a;
  m.remove_prefix(close + 1);
  return m.empty() || m[0] == ' ';
}

LineStatus match_cyrus(const LogRecord& r, Event& out) {
  std::string_view m = r.message;
  core::Address addr;
  const std::string_view service = cyrus_service(r.program);
  // 2.x: badlogin: [NAME ][ADDR] MECH [SASL(-13): ...]  /  badlogin: HOST plaintext USER SASL(-13): ...
  // 3.x: badlogin: HOST MECH (USER) [REASON]  /  badlogin: HOST plaintext (USER) [REASON]  /
  //      badlogin: HOST plaintext (USER) invalid user
  if (consume(m, "badlogin: ")) {
    if (!cyrus_host(m, addr)) return LineStatus::NoEvent;
    std::string_view user;
    if (consume(m, " ")) {
      const auto sp = m.find(' ');
      const bool plaintext = m.substr(0, sp) == "plaintext";
      std::string_view rest = sp == npos ? std::string_view{} : m.substr(sp + 1);
      if (!rest.empty() && rest[0] == '(') {
        std::size_t close = npos;
        if (rest.back() == ']') close = rest.rfind(") [");
        if (ends_with(rest, ") invalid user")) close = rest.size() - 14;
        if (close != npos && close > 0) user = rest.substr(1, close - 1);
        if (user == "(null)") user = {};
      } else if (plaintext) {
        user = rest.substr(0, rest.find(' '));
      }
    }
    set_event(out, EventKind::AuthFailure, addr, Reporter::Cyrus, service, user);
    return LineStatus::Event;
  }
  // login: [NAME ][ADDR] USER MECH ... User logged in
  if (consume(m, "login: ")) {
    if (!cyrus_host(m, addr) || !consume(m, " ")) return LineStatus::NoEvent;
    set_event(out, EventKind::AuthSuccess, addr, Reporter::Cyrus, service, m.substr(0, m.find(' ')));
    return LineStatus::Event;
  }
  return LineStatus::NoEvent;
}

}  // namespace

// ---------------------------------------------------------------- dispatch

std::optional<Server> server_for_program(std::string_view p) {
  if (p.empty()) return std::nullopt;
  switch (p[0]) {
    case 'p':
      if (starts_with(p, "postfix")) return Server::Postfix;
      if (starts_with(p, "pop3-login")) return Server::Dovecot;
      if (starts_with(p, "pop3d")) return Server::Courier;
      if (p == "pop3" || p == "pop3s") return Server::Cyrus;
      return std::nullopt;
    case 'd':
      return p == "dovecot" || p == "dovecot-auth" ? std::optional(Server::Dovecot) : std::nullopt;
    case 'a':
      if (p == "auth" || p == "auth-worker") return Server::Dovecot;
      return std::nullopt;
    case 'i':
      if (p == "imap-login") return Server::Dovecot;
      if (starts_with(p, "imapd")) return Server::Courier;
      if (p == "imap" || p == "imaps") return Server::Cyrus;
      return std::nullopt;
    case 's':
      if (p == "submission-login") return Server::Dovecot;
      if (p == "smtpd") return Server::OpenSmtpd;
      if (p == "sendmail" || starts_with(p, "sm-")) return Server::Sendmail;
      if (p == "saslauthd") return Server::Saslauthd;
      if (p == "sieve") return Server::Cyrus;
      return std::nullopt;
    case 'm':
      return p == "managesieve-login" ? std::optional(Server::Dovecot) : std::nullopt;
    case 'e':
      return p == "exim" || p == "exim4" ? std::optional(Server::Exim) : std::nullopt;
    case 'c':
      if (starts_with(p, "courier")) return Server::Courier;
      if (starts_with(p, "cyrus")) return Server::Cyrus;
      return std::nullopt;
    case 'l':
      return p == "lmtpunix" || p == "lmtp" ? std::optional(Server::Cyrus) : std::nullopt;
    case 't':
      return p == "timsieved" ? std::optional(Server::Cyrus) : std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<Server> server_for_format(std::string_view f) {
  const auto server = core::reporter_named(f);
  if (!server) return std::nullopt;
  switch (*server) {
    case Server::Postfix:
    case Server::Dovecot:
    case Server::Exim:
    case Server::Sendmail:
    case Server::OpenSmtpd:
    case Server::Courier:
    case Server::Cyrus:
      return server;
    default:  // no `format` of its own: saslauthd is read in auto mode only; the others write no log
      return std::nullopt;
  }
}

LineStatus match_server(Server server, const LogRecord& record, Event& out, MatchState& state) {
  switch (server) {
    case Server::Postfix:
      return match_postfix(record, out);
    case Server::Dovecot:
      return match_dovecot(record, out);
    case Server::Exim:
      return match_exim(record, out);
    case Server::Sendmail:
      return match_sendmail(record, out);
    case Server::OpenSmtpd:
      return match_opensmtpd(record, out, state.opensmtpd);
    case Server::Courier:
      return match_courier(record, out);
    case Server::Cyrus:
      return match_cyrus(record, out);
    case Server::Saslauthd:  // "do_auth : auth failure: [user=...] [service=...]": no client address
    default:                 // the reporters that write no log (the wire, the decoy ...)
      return LineStatus::NoEvent;
  }
  return LineStatus::NoEvent;
}

// ---------------------------------------------------------------- OpenSMTPD sessions

OpenSmtpdSessions::OpenSmtpdSessions(std::size_t sets) : slots_(sets * kWays), sets_(sets) {}

std::size_t OpenSmtpdSessions::set_of(std::uint64_t id) const {
  // Session ids are random numbers the server picks; a multiplicative mix spreads them anyway.
  return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ULL) >> 32) % sets_;
}

OpenSmtpdSessions::Session* OpenSmtpdSessions::find(std::uint64_t id) {
  Session* set = &slots_[set_of(id) * kWays];
  for (std::size_t w = 0; w < kWays; ++w) {
    if (set[w].stamp != 0 && set[w].id == id) return &set[w];
  }
  return nullptr;
}

void OpenSmtpdSessions::connected(std::uint64_t id, const core::Address& address) {
  Session* set = &slots_[set_of(id) * kWays];
  Session* victim = &set[0];
  for (std::size_t w = 0; w < kWays; ++w) {
    if (set[w].stamp != 0 && set[w].id == id) {
      victim = &set[w];
      break;
    }
    if (set[w].stamp < victim->stamp) victim = &set[w];
  }
  if (victim->stamp != 0 && victim->id != id) ++evictions_;
  *victim = Session{id, next_stamp_++, address, false};
}

void OpenSmtpdSessions::disconnected(std::uint64_t id) {
  if (auto* s = find(id)) *s = Session{};
}

}  // namespace strikeout::logs::detail
