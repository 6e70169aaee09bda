#include "logs/matchers.hpp"

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

std::size_t count_occurrences(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

LineStatus match_dovecot_auth(std::string_view m, Event& out) {
  // auth_verbose_passwords=sha1 appends " (SHA1 of given password: HEX)": server text, strip it.
  if (!m.empty() && m.back() == ')') {
    const auto sha = m.rfind(" (SHA1 of given password: ");
    if (sha != npos) {
      const std::string_view hex = m.substr(sha + 26, m.size() - sha - 27);
      bool all_hex = !hex.empty();
      for (char c : hex) all_hex = all_hex && is_hex(c);
      if (all_hex) m = m.substr(0, sha);
    }
  }
  std::size_t colon = npos;
  for (std::string_view text : {"): Password mismatch", "): unknown user", "): invalid credentials"}) {
    if (ends_with(m, text)) {
      colon = m.size() - text.size();
      break;
    }
    // auth_verbose_passwords=plain: "...: Password mismatch (given password: PASSWORD)". The password
    // is the client's and may repeat the marker, so only a line with exactly one marker is read.
    const auto given = m.find(" (given password: ");
    if (given != npos && m.back() == ')') {
      const auto at = m.find(text);
      if (at != npos && at + text.size() == given) {
        if (count_occurrences(m, "): ") > count_occurrences(m.substr(0, at), "): ") + 1) {
          return LineStatus::NoEvent;  // ambiguous: refuse rather than guess
        }
        colon = at;
        break;
      }
    }
  }
  if (colon == npos) {
    // pam(USER,ADDR,<S>): pam_authenticate() failed: REASON. REASON is PAM's text, not the client's,
    // so the last marker is the server's.
    const auto pam = m.rfind("): pam_authenticate() failed: ");
    if (pam == npos) return LineStatus::NoEvent;
    colon = pam;
  }
  core::Address addr;
  std::string_view user;
  if (!dovecot_prefix(m, colon, addr, user)) return LineStatus::NoEvent;
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
  at = m.rfind(", rip=");
  if (at == npos || at < from) return false;
  std::string_view v = m.substr(at + 6);
  v = v.substr(0, v.find(','));
  const auto a = parse_address(v);
  if (!a) return false;
  addr = *a;
  return true;
}

// USER from "user=<USER>, method=..., rip=" given the position of the last ", rip=".
std::string_view dovecot_login_user(std::string_view m, std::size_t rip_at) {
  const auto open = m.find("user=<");
  if (open == npos || open > rip_at) return {};
  const std::string_view upto = m.substr(0, rip_at);
  std::size_t close = upto.rfind(">, method=");
  if (close == npos || close < open) close = upto.size() > 0 && upto.back() == '>' ? upto.size() - 1 : npos;
  if (close == npos || close < open + 6) return {};
  return m.substr(open + 6, close - open - 6);
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
  // ...)", "Login aborted: Connection closed (auth failed, ...) (auth_failed): user=<...>". Everything
  // before the first "): " is the server's text.
  const auto prefix_end = m.find("): ");
  if (prefix_end == npos) return LineStatus::NoEvent;
  const auto af = m.substr(0, prefix_end).find("(auth failed, ");
  if (af == npos) return LineStatus::NoEvent;
  std::string_view counts = m.substr(af + 14);
  std::size_t n = 0;
  while (n < counts.size() && n < 9 && is_digit(counts[n])) ++n;
  const auto attempts = whole_number(counts.substr(0, n), 9);
  counts.remove_prefix(n);
  if (!attempts || !consume(counts, " attempts in ")) return LineStatus::NoEvent;
  n = 0;
  while (n < counts.size() && n < 9 && is_digit(counts[n])) ++n;
  const auto secs = whole_number(counts.substr(0, n), 9);
  counts.remove_prefix(n);
  if (!secs || !consume(counts, " secs)")) return LineStatus::NoEvent;
  if (!dovecot_rip(m, prefix_end, addr, rip_at)) return LineStatus::NoEvent;
  set_event(out, EventKind::AuthFailure, addr, Reporter::Dovecot, service, dovecot_login_user(m, rip_at));
  out.count = *attempts == 0 ? 1U : static_cast<std::uint32_t>(*attempts);
  out.summary_span = std::chrono::seconds{static_cast<std::int64_t>(*secs)};
  return LineStatus::Event;
}

LineStatus match_dovecot(const LogRecord& r, Event& out) {
  std::string_view process = r.program;
  std::string_view m = r.message;
  if (process == "dovecot") {
    // Through syslog: "dovecot: auth: passwd-file(...)...", "dovecot: imap-login: Disconnected ...".
    const auto colon = m.find(": ");
    if (colon == npos) return LineStatus::NoEvent;
    std::uint32_t pid = 0;
    split_tag(m.substr(0, colon), process, pid);
    m.remove_prefix(colon + 2);
  }
  m = strip_dovecot_level(m);
  if (process == "auth" || process == "auth-worker") return match_dovecot_auth(m, out);
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

LineStatus match_exim(const LogRecord& r, Event& out) {
  std::string_view m = r.message;
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
  if (consume(m, "SMTP connection from ")) {
    if (!exim_host(m, {" (", ""}, addr, port, rest)) return LineStatus::NoEvent;
    set_event(out, EventKind::Connect, addr, Reporter::Exim, "smtp", {}, port);
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

LineStatus match_courier(const LogRecord& r, Event& out) {
  std::string_view m = r.message;
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
    if (!consume(m, "msg=\"535")) return LineStatus::NoEvent;
    set_event(out, EventKind::AuthFailure, *a, Reporter::Courier, service.empty() ? "smtp" : service, {},
              port);
    return LineStatus::Event;
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

// Cyrus's client host "NAME [ADDR]" or "[ADDR]" at the start of `m`, written before any client text.
bool cyrus_host(std::string_view& m, core::Address& addr) {
  if (m.empty()) return false;
  if (m[0] != '[') {
    const auto sp = m.find(' ');
    if (sp == npos) return false;
    m.remove_prefix(sp + 1);
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
  // badlogin: [NAME ][ADDR] MECH [SASL(-13): ...]  /  badlogin: HOST plaintext USER SASL(-13): ...
  if (consume(m, "badlogin: ")) {
    if (!cyrus_host(m, addr)) return LineStatus::NoEvent;
    std::string_view user;
    if (consume(m, " plaintext ")) user = m.substr(0, m.find(' '));
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

Server server_for_program(std::string_view p) {
  if (p.empty()) return Server::None;
  switch (p[0]) {
    case 'p':
      if (starts_with(p, "postfix")) return Server::Postfix;
      if (starts_with(p, "pop3-login")) return Server::Dovecot;
      if (starts_with(p, "pop3d")) return Server::Courier;
      if (p == "pop3" || p == "pop3s") return Server::Cyrus;
      return Server::None;
    case 'd':
      return p == "dovecot" ? Server::Dovecot : Server::None;
    case 'a':
      if (p == "auth" || p == "auth-worker") return Server::Dovecot;
      return Server::None;
    case 'i':
      if (p == "imap-login") return Server::Dovecot;
      if (starts_with(p, "imapd")) return Server::Courier;
      if (p == "imap" || p == "imaps") return Server::Cyrus;
      return Server::None;
    case 's':
      if (p == "submission-login") return Server::Dovecot;
      if (p == "smtpd") return Server::OpenSmtpd;
      if (p == "sendmail" || p == "sm-mta") return Server::Sendmail;
      if (p == "saslauthd") return Server::Saslauthd;
      if (p == "sieve") return Server::Cyrus;
      return Server::None;
    case 'm':
      return p == "managesieve-login" ? Server::Dovecot : Server::None;
    case 'e':
      return p == "exim" || p == "exim4" ? Server::Exim : Server::None;
    case 'c':
      if (starts_with(p, "courier")) return Server::Courier;
      if (starts_with(p, "cyrus")) return Server::Cyrus;
      return Server::None;
    case 'l':
      return p == "lmtpunix" || p == "lmtp" ? Server::Cyrus : Server::None;
    case 't':
      return p == "timsieved" ? Server::Cyrus : Server::None;
    default:
      return Server::None;
  }
}

Server server_for_format(std::string_view f) {
  if (f == "postfix") return Server::Postfix;
  if (f == "dovecot") return Server::Dovecot;
  if (f == "exim") return Server::Exim;
  if (f == "sendmail") return Server::Sendmail;
  if (f == "opensmtpd") return Server::OpenSmtpd;
  if (f == "courier") return Server::Courier;
  if (f == "cyrus") return Server::Cyrus;
  return Server::None;
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
    case Server::None:
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
