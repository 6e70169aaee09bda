#include "logs/timezone.hpp"

#include <algorithm>
#include <cstring>

#include "logs/scan.hpp"

namespace strikeout::logs {

namespace {

// Limits that keep a hostile file from costing much: real zones have a few hundred transitions and
// a handful of types.
constexpr std::uint32_t kMaxTransitions = 20000;
constexpr std::uint32_t kMaxTypes = 256;
constexpr std::int64_t kMaxOffsetSeconds = 26 * 3600;  // RFC 8536 allows -25h59m59s .. +25h59m59s
// The POSIX rule of a v2+ footer is expanded into explicit transitions up to this year, so lookups
// stay one binary search.
constexpr std::int64_t kLastRuleYear = 2100;
// Transition times beyond this are refused (tzdata's "big bang" is -2^59).
constexpr std::int64_t kMaxAbsTime = std::int64_t{1} << 61;

// A bounded big-endian reader over the file's bytes.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool take(std::size_t n, std::string_view& out) {
    if (bytes_.size() - pos_ < n) return false;
    out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool skip(std::uint64_t n) {
    if (n > bytes_.size() - pos_) return false;
    pos_ += static_cast<std::size_t>(n);
    return true;
  }
  bool be32(std::uint32_t& v) {
    std::string_view b;
    if (!take(4, b)) return false;
    v = 0;
    for (char c : b) v = (v << 8) | static_cast<unsigned char>(c);
    return true;
  }
  bool be64(std::int64_t& v) {
    std::string_view b;
    if (!take(8, b)) return false;
    std::uint64_t u = 0;
    for (char c : b) u = (u << 8) | static_cast<unsigned char>(c);
    v = static_cast<std::int64_t>(u);
    return true;
  }
  std::string_view rest() const { return bytes_.substr(pos_); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

struct Header {
  char version = 0;
  std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

bool read_header(Reader& r, Header& h) {
  std::string_view magic;
  if (!r.take(4, magic) || magic != "TZif") return false;
  std::string_view version;
  if (!r.take(1, version)) return false;
  h.version = version[0];
  if (h.version != '\0' && h.version != '2' && h.version != '3' && h.version != '4') return false;
  if (!r.skip(15)) return false;
  return r.be32(h.isutcnt) && r.be32(h.isstdcnt) && r.be32(h.leapcnt) && r.be32(h.timecnt) &&
         r.be32(h.typecnt) && r.be32(h.charcnt);
}

bool header_sane(const Header& h) {
  return h.typecnt >= 1 && h.typecnt <= kMaxTypes && h.timecnt <= kMaxTransitions &&
         (h.isutcnt == 0 || h.isutcnt == h.typecnt) && (h.isstdcnt == 0 || h.isstdcnt == h.typecnt) &&
         h.leapcnt <= kMaxTransitions && h.charcnt <= 65536;
}

// Reads one data block; `time_size` is 4 (v1) or 8 (v2+).
bool read_block(Reader& r, const Header& h, std::size_t time_size, std::vector<std::int64_t>& times,
                std::vector<std::int32_t>& offsets) {
  times.clear();
  offsets.clear();
  std::vector<std::uint8_t> index(h.timecnt);
  for (std::uint32_t i = 0; i < h.timecnt; ++i) {
    std::int64_t t = 0;
    if (time_size == 8) {
      if (!r.be64(t)) return false;
    } else {
      std::uint32_t u = 0;
      if (!r.be32(u)) return false;
      t = static_cast<std::int32_t>(u);
    }
    if (t < -kMaxAbsTime || t > kMaxAbsTime) return false;  // keeps offset arithmetic in range
    if (!times.empty() && t <= times.back()) return false;  // must ascend strictly
    times.push_back(t);
  }
  for (std::uint32_t i = 0; i < h.timecnt; ++i) {
    std::string_view b;
    if (!r.take(1, b)) return false;
    index[i] = static_cast<std::uint8_t>(b[0]);
    if (index[i] >= h.typecnt) return false;
  }
  std::vector<std::int32_t> type_offsets(h.typecnt);
  for (std::uint32_t i = 0; i < h.typecnt; ++i) {
    std::uint32_t utoff = 0;
    std::string_view rest;
    if (!r.be32(utoff) || !r.take(2, rest)) return false;
    const auto off = static_cast<std::int32_t>(utoff);
    if (off <= -kMaxOffsetSeconds || off >= kMaxOffsetSeconds) return false;
    type_offsets[i] = off;
  }
  const std::uint64_t tail = std::uint64_t{h.charcnt} + std::uint64_t{h.leapcnt} * (time_size + 4) +
                             std::uint64_t{h.isstdcnt} + std::uint64_t{h.isutcnt};
  if (!r.skip(tail)) return false;
  offsets.push_back(type_offsets[0]);  // RFC 8536: type 0 applies before the first transition
  for (std::uint32_t i = 0; i < h.timecnt; ++i) offsets.push_back(type_offsets[index[i]]);
  return true;
}

// ---- POSIX TZ strings (the v2+ footer), e.g. "CET-1CEST,M3.5.0,M10.5.0/3" ----

bool parse_tz_name(std::string_view& s) {
  if (!s.empty() && s[0] == '<') {
    const auto close = s.find('>');
    if (close == detail::npos || close < 4) return false;
    s.remove_prefix(close + 1);
    return true;
  }
  std::size_t n = 0;
  while (n < s.size() && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z'))) ++n;
  if (n < 3) return false;
  s.remove_prefix(n);
  return true;
}

// [+-]hh[:mm[:ss]], hours up to 167 (RFC 8536 extension). Returns seconds.
bool parse_tz_time(std::string_view& s, std::int64_t& out) {
  int sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  std::int64_t parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (s.empty() || s[0] != ':') break;
      s.remove_prefix(1);
    }
    std::size_t n = 0;
    std::int64_t v = 0;
    while (n < s.size() && n < 3 && detail::is_digit(s[n])) v = v * 10 + (s[n++] - '0');
    if (n == 0) return false;
    s.remove_prefix(n);
    parts[i] = v;
  }
  if (parts[0] > 167 || parts[1] > 59 || parts[2] > 59) return false;
  out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

struct MonthRule {
  unsigned month = 0, week = 0, weekday = 0;
  std::int64_t time = 7200;  // local time of day of the change, default 02:00
};

bool parse_rule(std::string_view& s, MonthRule& rule) {
  if (s.empty() || s[0] != 'M') return false;  // Jn and n forms are not used by tzdata zones
  s.remove_prefix(1);
  unsigned vals[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (s.empty() || s[0] != '.') return false;
      s.remove_prefix(1);
    }
    std::size_t n = 0;
    unsigned v = 0;
    while (n < s.size() && n < 2 && detail::is_digit(s[n])) v = v * 10 + static_cast<unsigned>(s[n++] - '0');
    if (n == 0) return false;
    s.remove_prefix(n);
    vals[i] = v;
  }
  if (vals[0] < 1 || vals[0] > 12 || vals[1] < 1 || vals[1] > 5 || vals[2] > 6) return false;
  rule.month = vals[0];
  rule.week = vals[1];
  rule.weekday = vals[2];
  if (!s.empty() && s[0] == '/') {
    s.remove_prefix(1);
    if (!parse_tz_time(s, rule.time)) return false;
  }
  return true;
}

// Local seconds (as if UTC) at which `rule` fires in `year`.
std::int64_t rule_local_seconds(const MonthRule& rule, std::int64_t year) {
  const std::int64_t first = detail::days_from_civil(year, rule.month, 1);
  const unsigned first_wd = detail::weekday_from_days(first);
  unsigned day = 1 + (rule.weekday + 7 - first_wd) % 7 + (rule.week - 1) * 7;
  const unsigned dim = detail::days_in_month(year, rule.month);
  while (day > dim) day -= 7;  // week 5 means "the last"
  return (first + day - 1) * 86400 + rule.time;
}

struct PosixZone {
  std::int32_t std_offset = 0;  // east of UTC
  bool has_dst = false;
  std::int32_t dst_offset = 0;
  MonthRule start, end;
};

bool parse_posix_tz(std::string_view s, PosixZone& z) {
  std::int64_t west = 0;
  if (!parse_tz_name(s) || !parse_tz_time(s, west)) return false;
  if (west <= -kMaxOffsetSeconds || west >= kMaxOffsetSeconds) return false;
  z.std_offset = static_cast<std::int32_t>(-west);
  if (s.empty()) return true;
  if (!parse_tz_name(s)) return false;
  z.has_dst = true;
  z.dst_offset = z.std_offset + 3600;
  if (z.dst_offset >= kMaxOffsetSeconds) return false;
  if (!s.empty() && s[0] != ',') {
    std::int64_t dst_west = 0;
    if (!parse_tz_time(s, dst_west) || dst_west <= -kMaxOffsetSeconds || dst_west >= kMaxOffsetSeconds) {
      return false;
    }
    z.dst_offset = static_cast<std::int32_t>(-dst_west);
  }
  if (s.empty() || s[0] != ',') return false;
  s.remove_prefix(1);
  if (!parse_rule(s, z.start)) return false;
  if (s.empty() || s[0] != ',') return false;
  s.remove_prefix(1);
  if (!parse_rule(s, z.end)) return false;
  return s.empty();
}

// Appends the transitions `z` makes after `times.back()` (or from 1970 when there are none) through
// kLastRuleYear.
void extend_with_rule(const PosixZone& z, std::vector<std::int64_t>& times,
                      std::vector<std::int32_t>& offsets) {
  if (!z.has_dst) return;
  std::int64_t first_year = 1970;
  if (!times.empty()) {
    const std::int64_t days = times.back() / 86400;
    // civil year of `days`, close enough to start from the year before
    first_year = 1970 + days / 366 - 1;
    if (first_year < 1970) first_year = 1970;
  }
  for (std::int64_t y = first_year; y <= kLastRuleYear; ++y) {
    std::int64_t on = rule_local_seconds(z.start, y) - z.std_offset;  // local standard time
    std::int64_t off = rule_local_seconds(z.end, y) - z.dst_offset;   // local daylight time
    std::pair<std::int64_t, std::int32_t> changes[2] = {{on, z.dst_offset}, {off, z.std_offset}};
    if (off < on) std::swap(changes[0], changes[1]);
    for (const auto& [when, offset] : changes) {
      if (!times.empty() && when <= times.back()) continue;
      times.push_back(when);
      offsets.push_back(offset);
    }
  }
}

}  // namespace

TimeZone TimeZone::utc() {
  return TimeZone{};
}

TimeZone TimeZone::fixed(std::chrono::seconds offset_east_of_utc, std::string name) {
  TimeZone z;
  z.name_ = std::move(name);
  z.fixed_offset_ = static_cast<std::int32_t>(offset_east_of_utc.count());
  return z;
}

std::optional<TimeZone> TimeZone::from_tzif(std::string_view bytes, std::string name) {
  Reader r(bytes);
  Header h;
  if (!read_header(r, h) || !header_sane(h)) return std::nullopt;
  std::vector<std::int64_t> times;
  std::vector<std::int32_t> offsets;
  if (!read_block(r, h, 4, times, offsets)) return std::nullopt;
  if (h.version != '\0') {
    // v2+: the 64-bit block follows and supersedes the 32-bit one, then the footer.
    Header h2;
    if (!read_header(r, h2) || !header_sane(h2)) return std::nullopt;
    if (!read_block(r, h2, 8, times, offsets)) return std::nullopt;
    const std::string_view footer = r.rest();
    if (footer.size() < 2 || footer[0] != '\n') return std::nullopt;
    const auto end = footer.find('\n', 1);
    if (end == detail::npos) return std::nullopt;
    const std::string_view tz = footer.substr(1, end - 1);
    PosixZone z;
    // An empty footer says "no rule"; one we cannot read leaves the explicit transitions alone.
    if (!tz.empty() && parse_posix_tz(tz, z)) {
      if (!z.has_dst && times.empty()) offsets.assign(1, z.std_offset);
      extend_with_rule(z, times, offsets);
    }
  }
  TimeZone zone;
  zone.name_ = std::move(name);
  zone.transitions_ = std::move(times);
  zone.offsets_ = std::move(offsets);
  zone.fixed_offset_ = zone.offsets_.empty() ? 0 : zone.offsets_.front();
  return zone;
}

std::optional<TimeZone> TimeZone::parse_fixed(std::string_view text) {
  if (text == "UTC" || text == "Z" || text == "GMT") return utc();
  if (text.size() < 3 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
  const int sign = text[0] == '-' ? -1 : 1;
  std::string_view rest = text.substr(1);
  const auto hours = detail::fixed_digits(rest, 2);
  if (!hours) return std::nullopt;
  rest.remove_prefix(2);
  unsigned minutes = 0;
  if (!rest.empty()) {
    if (rest[0] == ':') rest.remove_prefix(1);
    const auto m = detail::fixed_digits(rest, 2);
    if (!m || rest.size() != 2) return std::nullopt;
    minutes = *m;
  }
  if (*hours > 23 || minutes > 59) return std::nullopt;
  return fixed(std::chrono::seconds{sign * static_cast<int>(*hours * 3600 + minutes * 60)},
               std::string(text));
}

std::chrono::seconds TimeZone::offset_at_local(std::int64_t local_seconds) const {
  if (transitions_.empty()) {
    return std::chrono::seconds{offsets_.empty() ? fixed_offset_ : offsets_.front()};
  }
  // Transition i takes effect, in local time, at transitions_[i] + the larger of the offsets around
  // it: in a gap (clocks forward) and in an overlap (clocks back) the earlier offset stays in force.
  std::size_t lo = 0;
  std::size_t hi = transitions_.size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const std::int64_t effective = transitions_[mid] + std::max(offsets_[mid], offsets_[mid + 1]);
    if (effective <= local_seconds) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return std::chrono::seconds{offsets_[lo]};
}

}  // namespace strikeout::logs
