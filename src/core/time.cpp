#include "core/time.hpp"

#include <array>
#include <charconv>
#include <limits>

namespace strikeout::core {

namespace {

// Days from civil date (Howard Hinnant's algorithm), inverse direction: days since epoch -> y/m/d.
struct CivilDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

CivilDate civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<std::uint64_t>(z - era * 146097);
  const std::uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const std::uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::uint64_t mp = (5 * doy + 2) / 153;
  const auto d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const auto m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  return {m <= 2 ? y + 1 : y, m, d};
}

void append_padded(std::string& out, std::int64_t value, int width) {
  std::array<char, 24> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  (void)ec;
  const auto len = static_cast<int>(end - buf.data());
  for (int i = len; i < width; ++i) out.push_back('0');
  out.append(buf.data(), end);
}

}  // namespace

std::string format_rfc3339(Time t) {
  const std::int64_t us = to_micros(t);
  std::int64_t secs = us / 1'000'000;
  std::int64_t frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    secs -= 1;
  }
  std::int64_t days = secs / 86400;
  std::int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  const CivilDate date = civil_from_days(days);
  std::string out;
  out.reserve(32);
  append_padded(out, date.year, 4);
  out.push_back('-');
  append_padded(out, date.month, 2);
  out.push_back('-');
  append_padded(out, date.day, 2);
  out.push_back('T');
  append_padded(out, sod / 3600, 2);
  out.push_back(':');
  append_padded(out, (sod / 60) % 60, 2);
  out.push_back(':');
  append_padded(out, sod % 60, 2);
  if (frac != 0) {
    out.push_back('.');
    if (frac % 1000 == 0) {
      append_padded(out, frac / 1000, 3);
    } else {
      append_padded(out, frac, 6);
    }
  }
  out.push_back('Z');
  return out;
}

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::uint64_t number = 0;
    const char* begin = text.data() + i;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, number);
    if (ec != std::errc{} || ptr == begin) return std::nullopt;
    i = static_cast<std::size_t>(ptr - text.data());
    std::size_t unit_end = i;
    while (unit_end < text.size() && text[unit_end] >= 'a' && text[unit_end] <= 'z') ++unit_end;
    const std::string_view unit = text.substr(i, unit_end - i);
    i = unit_end;
    std::int64_t scale = 0;
    if (unit == "us")
      scale = 1;
    else if (unit == "ms")
      scale = 1'000;
    else if (unit == "s")
      scale = 1'000'000;
    else if (unit == "m")
      scale = 60'000'000;
    else if (unit == "h")
      scale = 3'600'000'000;
    else if (unit == "d")
      scale = 86'400'000'000;
    else if (unit == "w")
      scale = 604'800'000'000;
    else
      return std::nullopt;
    constexpr auto max = std::numeric_limits<std::int64_t>::max();
    if (number > static_cast<std::uint64_t>(max / scale)) return std::nullopt;
    const auto part = static_cast<std::int64_t>(number) * scale;
    if (total > max - part) return std::nullopt;
    total += part;
  }
  return Duration{total};
}

std::string format_duration(Duration d) {
  std::int64_t us = d.count();
  if (us == 0) return "0s";
  std::string out;
  if (us < 0) {
    out.push_back('-');
    us = -us;
  }
  struct Unit {
    std::int64_t scale;
    const char* name;
  };
  static constexpr std::array<Unit, 7> units{{{604'800'000'000, "w"},
                                              {86'400'000'000, "d"},
                                              {3'600'000'000, "h"},
                                              {60'000'000, "m"},
                                              {1'000'000, "s"},
                                              {1'000, "ms"},
                                              {1, "us"}}};
  for (const auto& unit : units) {
    if (us >= unit.scale) {
      out += std::to_string(us / unit.scale);
      out += unit.name;
      us %= unit.scale;
    }
  }
  return out;
}

}  // namespace strikeout::core
