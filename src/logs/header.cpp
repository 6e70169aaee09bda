#include "logs/header.hpp"

#include <algorithm>
#include <cstring>

#include "logs/scan.hpp"

namespace strikeout::logs::detail {

namespace {

// 1..12 for "Jan".."Dec", 0 otherwise. Case-sensitive, as syslog writes them.
unsigned month_from_abbrev(std::string_view s) {
  if (s.size() < 3) return 0;
  const char a = s[0], b = s[1], c = s[2];
  switch (a) {
    case 'J':
      if (b == 'a' && c == 'n') return 1;
      if (b == 'u' && c == 'n') return 6;
      if (b == 'u' && c == 'l') return 7;
      return 0;
    case 'F':
      return b == 'e' && c == 'b' ? 2 : 0;
    case 'M':
      if (b == 'a' && c == 'r') return 3;
      if (b == 'a' && c == 'y') return 5;
      return 0;
    case 'A':
      if (b == 'p' && c == 'r') return 4;
      if (b == 'u' && c == 'g') return 8;
      return 0;
    case 'S':
      return b == 'e' && c == 'p' ? 9 : 0;
    case 'O':
      return b == 'c' && c == 't' ? 10 : 0;
    case 'N':
      return b == 'o' && c == 'v' ? 11 : 0;
    case 'D':
      return b == 'e' && c == 'c' ? 12 : 0;
    default:
      return 0;
  }
}

struct Civil {
  std::int64_t year = 1970;
  unsigned month = 1, day = 1, hour = 0, minute = 0, second = 0;
  std::int64_t micros = 0;
};

bool civil_valid(const Civil& c) {
  return c.month >= 1 && c.month <= 12 && c.day >= 1 && c.day <= days_in_month(c.year, c.month) &&
         c.hour <= 23 && c.minute <= 59 && c.second <= 60;
}

std::int64_t local_seconds(const Civil& c) {
  const unsigned second = c.second == 60 ? 59 : c.second;  // a leap second is logged as :60
  return days_from_civil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 + second;
}

core::Time to_time(const Civil& c, std::int64_t offset_seconds) {
  return core::from_micros((local_seconds(c) - offset_seconds) * 1000000 + c.micros);
}

// "HH:MM:SS" at the start of `s`.
bool parse_hms(std::string_view& s, Civil& c) {
  if (s.size() < 8 || s[2] != ':' || s[5] != ':') return false;
  const auto h = fixed_digits(s, 2), m = fixed_digits(s.substr(3), 2), sec = fixed_digits(s.substr(6), 2);
  if (!h || !m || !sec) return false;
  c.hour = *h;
  c.minute = *m;
  c.second = *sec;
  s.remove_prefix(8);
  return true;
}

// Optional ".digits" (any number; the first six give microseconds).
bool parse_fraction(std::string_view& s, Civil& c) {
  if (s.empty() || (s[0] != '.' && s[0] != ',')) return true;
  std::size_t n = 1;
  std::int64_t us = 0;
  while (n < s.size() && is_digit(s[n])) {
    if (n <= 6) us = us * 10 + (s[n] - '0');
    ++n;
  }
  if (n == 1) return false;
  for (std::size_t k = n; k <= 6; ++k) us *= 10;
  c.micros = us;
  s.remove_prefix(n);
  return true;
}

// "Z", "+01:00", "+0100", "+01" at the start of `s`. `present` is false when none is there.
bool parse_offset(std::string_view& s, bool& present, std::int64_t& seconds) {
  present = false;
  if (s.empty()) return true;
  if (s[0] == 'Z' || s[0] == 'z') {
    present = true;
    seconds = 0;
    s.remove_prefix(1);
    return true;
  }
  if (s[0] != '+' && s[0] != '-') return true;
  const int sign = s[0] == '-' ? -1 : 1;
  const auto h = fixed_digits(s.substr(1), 2);
  if (!h) return false;
  std::size_t used = 3;
  unsigned m = 0;
  if (s.size() > 3 && s[3] == ':') {
    const auto mm = fixed_digits(s.substr(4), 2);
    if (!mm) return false;
    m = *mm;
    used = 6;
  } else if (const auto mm = fixed_digits(s.substr(3), 2)) {
    m = *mm;
    used = 5;
  }
  if (*h > 23 || m > 59) return false;
  present = true;
  seconds = sign * static_cast<std::int64_t>(*h * 3600 + m * 60);
  s.remove_prefix(used);
  return true;
}

// "YYYY-MM-DD" at the start of `s`.
bool parse_date(std::string_view& s, Civil& c) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
  const auto y = fixed_digits(s, 4), mo = fixed_digits(s.substr(5), 2), d = fixed_digits(s.substr(8), 2);
  if (!y || !mo || !d) return false;
  c.year = *y;
  c.month = *mo;
  c.day = *d;
  s.remove_prefix(10);
  return true;
}

// Full ISO 8601 / RFC 3339 timestamp; the zone applies when no offset is written.
bool parse_iso(std::string_view& s, const TimeZone& zone, core::Time& out) {
  Civil c;
  if (!parse_date(s, c) || s.empty() || (s[0] != 'T' && s[0] != 't')) return false;
  s.remove_prefix(1);
  if (!parse_hms(s, c) || !parse_fraction(s, c)) return false;
  bool has_offset = false;
  std::int64_t offset = 0;
  if (!parse_offset(s, has_offset, offset) || !civil_valid(c)) return false;
  if (!has_offset) offset = zone.offset_at_local(local_seconds(c)).count();
  out = to_time(c, offset);
  return true;
}

std::string_view next_token(std::string_view& s) {
  const auto sp = find_char(s, ' ');
  std::string_view tok = s.substr(0, sp);
  s.remove_prefix(sp == npos ? s.size() : sp + 1);
  return tok;
}

// A syslog tag "prog[pid]" / "prog(pid)" / "prog<pid>" / "prog" into program and pid, given the
// position of its first '[', '(' or '<' (tag.size() when there is none).
void split_tag_at(std::string_view tag, std::size_t open, std::string_view& program, std::uint32_t& pid) {
  pid = 0;
  program = tag.substr(0, open);
  if (open >= tag.size()) return;
  const char close = tag[open] == '[' ? ']' : tag[open] == '(' ? ')' : '>';
  // The pid is 1..10 digits directly followed by the first `close`: the digits are read as they
  // are scanned (a non-digit before `close`, or no `close`, means no pid).
  std::uint64_t v = 0;
  std::size_t i = open + 1;
  const std::size_t limit = std::min(tag.size(), open + 12);
  while (i < limit && is_digit(tag[i])) {
    v = v * 10 + static_cast<std::uint64_t>(tag[i] - '0');
    ++i;
  }
  const std::size_t digits = i - open - 1;
  if (i < tag.size() && tag[i] == close && digits >= 1 && digits <= 10 && v <= 0xffffffffU) {
    pid = static_cast<std::uint32_t>(v);
  }
}

// A host-less tag "NAME(" at `open`: "NAME(DIGITS): msg" is a process and its pid (Dovecot's
// "auth-worker(1234): "); "NAME(anything else" is a Dovecot request prefix, whose text is the
// client's in part, so the line is handed over whole as program "dovecot" for its matcher to read
// from the end. False when `rest` is neither (a word then "(" without ")").
bool dovecot_request_tag(std::string_view rest, std::size_t open, Header& out) {
  std::size_t i = open + 1;
  while (i < rest.size() && i - open <= 10 && is_digit(rest[i])) ++i;
  if (i > open + 1 && i + 1 < rest.size() && rest[i] == ')' && rest[i + 1] == ':') {
    split_tag_at(rest.substr(0, i + 1), open, out.program, out.pid);
    rest.remove_prefix(i + 2);
    if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    out.message = rest;
    return true;
  }
  if (find_char(rest, ')', open) == npos) return false;
  out.program = "dovecot";
  out.pid = 0;
  out.message = rest;
  return true;
}

// After an RFC 3164 or ISO timestamp and its space: "host tag: msg" or host-less "tag: msg".
// Each byte of the host and the tag is looked at once (find_first_of_chars), since this runs for
// every line of a log.
void parse_host_tag(std::string_view rest, Header& out) {
  std::size_t first_end = std::min(find_first_of_chars<' ', '('>(rest), rest.size());
  if (first_end < rest.size() && rest[first_end] == '(') {
    // A host name never holds '(': a host-less tag with parentheses, Dovecot's "auth-worker(1234): "
    // or 2.4's "auth(USER,ADDR,sasl:MECH)<SESSION>: ", whose USER may hold spaces and ": ".
    if (first_end > 0 && dovecot_request_tag(rest, first_end, out)) return;
    first_end = std::min(find_first_of_chars<' '>(rest, first_end), rest.size());
  }
  if (first_end > 0 && rest[first_end - 1] == ':') {  // host-less (Dovecot's log_path, journal exports)
    const std::string_view tag = rest.substr(0, first_end - 1);
    split_tag_at(tag, std::min(find_first_of_chars<'[', '(', '<'>(tag), tag.size()), out.program, out.pid);
    rest.remove_prefix(first_end);
    if (!rest.empty()) rest.remove_prefix(1);
    out.message = rest;
    return;
  }
  out.host = rest.substr(0, first_end);
  rest.remove_prefix(first_end == rest.size() ? first_end : first_end + 1);
  // One pass over the tag: its end (the space) and its first bracket.
  std::size_t open = find_first_of_chars<' ', '[', '(', '<'>(rest);
  std::size_t tag_end = open;
  if (open != npos && rest[open] != ' ') tag_end = find_first_of_chars<' '>(rest, open + 1);
  if (tag_end == npos) tag_end = rest.size();
  if (open == npos || open > tag_end) open = tag_end;
  if (tag_end > 0 && rest[tag_end - 1] == ':') {
    const std::string_view tag = rest.substr(0, tag_end - 1);
    split_tag_at(tag, std::min(open, tag.size()), out.program, out.pid);
    rest.remove_prefix(tag_end);
    if (!rest.empty()) rest.remove_prefix(1);
  }
  out.message = rest;
}

bool parse_rfc3164(std::string_view s, const TimeZone& zone, YearAnchor& year, Header& out,
                   HeaderCache* cache) {
  if (cache != nullptr) {
    // The same 15 bytes as the last cached line, then the space: the same time. The year anchor is
    // not asked again, which changes nothing: the cache is dropped whenever another line asked it
    // (below), so its last answer was for this very month, and asking again for the same month
    // neither changes its state nor its answer.
    if (cache->valid && s.size() >= 16 && s[15] == ' ' && std::memcmp(s.data(), cache->stamp, 15) == 0) {
      out.time = cache->time;
      out.shape = HeaderShape::Rfc3164;
      parse_host_tag(s.substr(16), out);
      return true;
    }
    cache->valid = false;
  }
  const std::string_view whole = s;
  if (s.size() < 15 || s[3] != ' ') return false;
  Civil c;
  c.month = month_from_abbrev(s);
  if (c.month == 0) return false;
  std::size_t pos = 4;
  if (s[4] == ' ') {  // "Nov  7"
    if (!is_digit(s[5])) return false;
    c.day = static_cast<unsigned>(s[5] - '0');
    pos = 6;
  } else if (is_digit(s[4]) && is_digit(s[5])) {
    c.day = static_cast<unsigned>((s[4] - '0') * 10 + (s[5] - '0'));
    pos = 6;
  } else if (is_digit(s[4]) && s[5] == ' ') {  // "Nov 7" written by some relays
    c.day = static_cast<unsigned>(s[4] - '0');
    pos = 5;
  } else {
    return false;
  }
  if (s[pos] != ' ') return false;
  s.remove_prefix(pos + 1);
  if (!parse_hms(s, c) || !parse_fraction(s, c)) return false;
  if (!s.empty() && s[0] != ' ') return false;
  if (!s.empty()) s.remove_prefix(1);
  c.year = year.year_for(c.month);
  if (!civil_valid(c)) return false;  // Feb 29 in a year without it is refused
  out.time = to_time(c, zone.offset_at_local(local_seconds(c)).count());
  out.shape = HeaderShape::Rfc3164;
  // Cacheable when the timestamp is exactly "Mmm dd hh:mm:ss" followed by a space.
  if (cache != nullptr && whole.size() >= 16 && whole[15] == ' ' &&
      static_cast<std::size_t>(s.data() - whole.data()) == 16) {
    std::memcpy(cache->stamp, whole.data(), 15);
    cache->time = out.time;
    cache->valid = true;
  }
  parse_host_tag(s, out);
  return true;
}

// Skips an RFC 5424 STRUCTURED-DATA field: "-" or one or more "[...]" elements, where '\' escapes
// the next character (so "\]" does not end an element).
bool skip_structured_data(std::string_view& s) {
  if (!s.empty() && s[0] == '-') {
    s.remove_prefix(1);
    return true;
  }
  if (s.empty() || s[0] != '[') return false;
  std::size_t i = 0;
  while (i < s.size() && s[i] == '[') {
    ++i;
    bool closed = false;
    bool quoted = false;
    while (i < s.size()) {
      const char ch = s[i];
      if (ch == '\\') {
        i += 2;
        continue;
      }
      if (ch == '"') quoted = !quoted;
      ++i;
      if (ch == ']' && !quoted) {
        closed = true;
        break;
      }
    }
    if (!closed) return false;
  }
  s.remove_prefix(i > s.size() ? s.size() : i);
  return true;
}

bool parse_rfc5424(std::string_view s, const TimeZone& zone, Header& out) {
  if (!consume(s, "1 ")) return false;
  if (!parse_iso(s, zone, out.time)) return false;  // a nil ("-") timestamp is refused here
  if (!consume(s, " ")) return false;
  std::string_view host = next_token(s);
  std::string_view app = next_token(s);
  std::string_view procid = next_token(s);
  next_token(s);  // MSGID
  if (s.empty() && (host.empty() || app.empty())) return false;
  if (!s.empty() && !skip_structured_data(s)) return false;
  if (!s.empty()) {
    if (s[0] != ' ') return false;
    s.remove_prefix(1);
  }
  consume(s, "\xEF\xBB\xBF");  // the UTF-8 BOM RFC 5424 allows before MSG
  out.host = host == "-" ? std::string_view{} : host;
  out.program = app == "-" ? std::string_view{} : app;
  if (const auto pid = whole_number(procid, 10); pid && *pid <= 0xffffffffU) {
    out.pid = static_cast<std::uint32_t>(*pid);
  }
  out.message = s;
  out.shape = HeaderShape::Rfc5424;
  return true;
}

bool parse_exim(std::string_view s, const TimeZone& zone, Header& out) {
  Civil c;
  if (!parse_date(s, c) || !consume(s, " ") || !parse_hms(s, c) || !parse_fraction(s, c)) return false;
  if (!civil_valid(c)) return false;
  std::int64_t offset = 0;
  bool has_offset = false;
  if (s.size() >= 6 && s[0] == ' ' && (s[1] == '+' || s[1] == '-')) {  // log_timezone = true
    s.remove_prefix(1);
    if (!parse_offset(s, has_offset, offset)) return false;
  }
  if (!s.empty()) {
    if (s[0] != ' ') return false;
    s.remove_prefix(1);
  }
  if (!has_offset) offset = zone.offset_at_local(local_seconds(c)).count();
  out.time = to_time(c, offset);
  out.shape = HeaderShape::EximMainlog;
  // The same date before another writer's line: "host exim[pid]: msg" (an rsyslog template) or a
  // Dovecot tag ("auth-worker(default): Info: ...", "imap-login: Info: ...": its log_timestamp set to
  // this shape). Exim's own first word never ends in ':' nor holds '('.
  const std::size_t first = std::min(find_first_of_chars<' ', '('>(s), s.size());
  if (first < s.size() && s[first] == '(') {
    parse_host_tag(s, out);
    return true;
  }
  if (first > 0 && s[first - 1] == ':' &&
      (ends_with(s.substr(0, first), "-login:") || s.substr(0, first) == "auth:" ||
       s.substr(0, first) == "dovecot:")) {
    parse_host_tag(s, out);
    return true;
  }
  if (first < s.size()) {
    const std::string_view second = s.substr(first + 1, find_char(s, ' ', first + 1) - first - 1);
    if (second.size() > 6 && second.substr(0, 4) == "exim" && ends_with(second, "]:")) {
      parse_host_tag(s, out);
      return true;
    }
  }
  out.program = "exim";
  if (!s.empty() && s[0] == '[') {  // log_selector = +pid
    const auto close = s.find(']');
    if (close != npos) {
      if (const auto pid = whole_number(s.substr(1, close - 1), 10); pid && *pid <= 0xffffffffU) {
        out.pid = static_cast<std::uint32_t>(*pid);
        s.remove_prefix(close + 1);
        if (!s.empty() && s[0] == ' ') s.remove_prefix(1);
      }
    }
  }
  out.message = s;
  out.shape = HeaderShape::EximMainlog;
  return true;
}

// daemontools' multilog stamp "@4000000067468a30123abc00 " (TAI64N: 2^62 + 10 + Unix seconds in 16
// hex digits, nanoseconds in 8) before the program's own line, which has no host ("imap-login: Info:
// ..."). The 10 s are TAI's offset at 1970 as daemontools counts it (it ignores later leap seconds).
bool parse_tai64n(std::string_view s, Header& out) {
  if (s.size() < 26 || s[0] != '@' || s[25] != ' ') return false;
  std::uint64_t secs = 0;
  std::uint64_t nanos = 0;
  for (std::size_t i = 1; i < 25; ++i) {
    const char c = s[i];
    if (!is_hex(c)) return false;
    const auto v = static_cast<std::uint64_t>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    if (i <= 16) {
      secs = (secs << 4) | v;
    } else {
      nanos = (nanos << 4) | v;
    }
  }
  constexpr std::uint64_t kEpoch = (std::uint64_t{1} << 62) + 10;
  // Years 1970..9999 and a nanosecond count below one second: anything else is not a stamp.
  if (secs < kEpoch || secs - kEpoch > 253402300799ULL || nanos > 999999999) return false;
  out.time = core::from_micros(static_cast<std::int64_t>(secs - kEpoch) * 1000000 +
                               static_cast<std::int64_t>(nanos / 1000));
  out.shape = HeaderShape::Tai64n;
  parse_host_tag(s.substr(26), out);
  return true;
}

}  // namespace

void split_tag(std::string_view tag, std::string_view& program, std::uint32_t& pid) {
  split_tag_at(tag, std::min(find_first_of_chars<'[', '(', '<'>(tag), tag.size()), program, pid);
}

namespace {
bool parse_any_header(std::string_view line, const TimeZone& zone, YearAnchor& year, Header& out,
                      HeaderCache* cache) {
  out = Header{};
  // An optional "<PRI>" as a raw syslog datagram or RFC 5424 file carries it.
  if (!line.empty() && line[0] == '<') {
    std::size_t i = 1;
    while (i < line.size() && i <= 4 && is_digit(line[i])) ++i;
    if (i == 1 || i >= line.size() || line[i] != '>') return false;
    line.remove_prefix(i + 1);
  }
  if (!line.empty() && line[0] == '@') return parse_tai64n(line, out);
  if (line.size() < 15) return false;
  if (line[0] == '1' && line[1] == ' ') return parse_rfc5424(line, zone, out);
  if (is_digit(line[0])) {
    if (line.size() > 10 && (line[10] == 'T' || line[10] == 't')) {
      std::string_view s = line;
      if (!parse_iso(s, zone, out.time)) return false;
      if (!s.empty()) {
        if (s[0] != ' ') return false;
        s.remove_prefix(1);
      }
      out.shape = HeaderShape::Iso8601;
      parse_host_tag(s, out);
      return true;
    }
    if (line.size() > 10 && line[10] == ' ') return parse_exim(line, zone, out);
    return false;
  }
  return parse_rfc3164(line, zone, year, out, cache);
}
}  // namespace

bool parse_header(std::string_view line, const TimeZone& zone, YearAnchor& year, Header& out) {
  return parse_any_header(line, zone, year, out, nullptr);
}

bool parse_header(std::string_view line, const TimeZone& zone, YearAnchor& year, Header& out,
                  HeaderCache& cache) {
  return parse_any_header(line, zone, year, out, &cache);
}

}  // namespace strikeout::logs::detail
