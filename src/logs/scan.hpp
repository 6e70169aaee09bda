// Small allocation-free scanning helpers shared by the header parser and the matchers.
// Everything here works on std::string_view and never reads outside it.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/address.hpp"

namespace strikeout::logs::detail {

constexpr std::size_t npos = std::string_view::npos;

inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
inline bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Characters that may appear in the text form of an IPv4 or IPv6 address (without zone ids).
inline bool is_address_char(char c) {
  return is_hex(c) || c == ':' || c == '.';
}

inline bool consume(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Parses exactly `n` decimal digits at the start of `s`; nullopt when any is not a digit.
inline std::optional<unsigned> fixed_digits(std::string_view s, std::size_t n) {
  if (s.size() < n) return std::nullopt;
  unsigned v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!is_digit(s[i])) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return v;
}

// A decimal number of 1..`max_digits` digits, all of `s`; nullopt for empty, non-digits or too long.
inline std::optional<std::uint64_t> whole_number(std::string_view s, std::size_t max_digits = 19) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// A TCP port: 1..5 digits, value 0..65535, all of `s`.
inline std::optional<std::uint16_t> port_number(std::string_view s) {
  const auto v = whole_number(s, 5);
  if (!v || *v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(*v);
}

// The common IPv6 forms, without inet_pton: 1..4 hex digits per group, groups separated by ':',
// at most one "::" standing for at least one zero group. Returns false for anything else (an
// embedded IPv4 tail, a lone leading or trailing ':', too many groups, ...), which the caller then
// hands to core::Address::parse: so whatever this accepts, inet_pton accepts with the same bytes.
inline bool parse_plain_ipv6(std::string_view s, core::Address& out) {
  std::uint16_t groups[8] = {};
  int n = 0;
  int gap = -1;  // index in `groups` where the "::" stands
  std::size_t i = 0;
  const std::size_t size = s.size();
  if (size >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    i = 2;
  } else if (size == 0 || s[0] == ':') {
    return false;
  }
  while (i < size) {
    unsigned v = 0;
    const std::size_t start = i;
    while (i < size && i - start < 5 && is_hex(s[i])) {
      const char c = s[i];
      v = v * 16 + static_cast<unsigned>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
      ++i;
    }
    const std::size_t len = i - start;
    if (len == 0 || len > 4 || n == 8) return false;
    groups[n++] = static_cast<std::uint16_t>(v);
    if (i == size) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < size && s[i] == ':') {
      if (gap >= 0) return false;
      gap = n;
      ++i;
    } else if (i == size) {
      return false;  // a lone trailing ':'
    }
  }
  if (gap < 0 ? n != 8 : n > 7) return false;
  core::Address::Bytes b{};
  const int after = gap < 0 ? 0 : n - gap;  // groups written after the "::"
  for (int g = 0; g < n; ++g) {
    const int at = (gap < 0 || g < gap) ? g : 8 - after + (g - gap);
    b[static_cast<std::size_t>(2 * at)] = static_cast<std::uint8_t>(groups[g] >> 8);
    b[static_cast<std::size_t>(2 * at + 1)] = static_cast<std::uint8_t>(groups[g] & 0xff);
  }
  out = core::Address::from_bytes(b);
  return true;
}

// The fast path for the common case: a dotted quad without leading zeros. Falls back to
// core::Address::parse (inet_pton) for IPv6, so both give the same answer for every input.
// A dotted quad without leading zeros, all of `s`; nullopt otherwise.
inline std::optional<core::Address> parse_dotted_quad(std::string_view s) {
  std::uint32_t value = 0;
  std::size_t i = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
    const std::size_t start = i;
    unsigned part = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) {
      part = part * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
    }
    const std::size_t len = i - start;
    if (len == 0 || part > 255 || (len > 1 && s[start] == '0')) return std::nullopt;
    value = (value << 8) | part;
  }
  if (i != s.size()) return std::nullopt;
  return core::Address::from_v4(value);
}

inline std::optional<core::Address> parse_address(std::string_view s) {
  if (s.size() >= 7 && s.size() <= 15) {
    // Tried first: nearly every address in a mail log is IPv4. Text without ':' is IPv4 or nothing;
    // with a ':' (which the quad parse refuses at once) it may be IPv6, read below.
    if (auto quad = parse_dotted_quad(s)) return quad;
    if (s.find(':') == npos) return std::nullopt;
  }
  if (s.size() < 2 || s.size() > 45) return std::nullopt;
  bool dotted = false;
  for (char c : s) {
    if (!is_address_char(c)) return std::nullopt;
    dotted = dotted || c == '.';
  }
  if (!dotted) {
    core::Address a;
    if (parse_plain_ipv6(s, a)) return a;
  }
  return core::Address::parse(s);
}

// Position of the last occurrence of `needle` in `hay` that starts before `before`, or npos.
inline std::size_t rfind_before(std::string_view hay, std::string_view needle, std::size_t before) {
  if (before < needle.size()) return npos;
  return hay.rfind(needle, before - needle.size());
}

}  // namespace strikeout::logs::detail

namespace strikeout::logs::detail {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). `month` 1..12,
// `day` 1..31; callers validate ranges first.
constexpr std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

constexpr bool is_leap_year(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(std::int64_t year, unsigned month) {
  constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && is_leap_year(year)) return 29;
  return kDays[(month - 1) % 12];
}

// 0 = Sunday.
constexpr unsigned weekday_from_days(std::int64_t days) {
  return static_cast<unsigned>(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

}  // namespace strikeout::logs::detail

namespace strikeout::logs::detail {

// A plain loop: for the short spans of a log header (a host name, a syslog tag) it is several times
// faster than std::string_view::find, whose memchr call costs more than the scan itself.
inline std::size_t find_char(std::string_view s, char c, std::size_t from = 0) {
  for (std::size_t i = from; i < s.size(); ++i) {
    if (s[i] == c) return i;
  }
  return npos;
}

// Position of the first byte at or after `from` that equals one of `Cs`, or npos. Eight bytes per
// step (SWAR): the header's host and tag, and Postfix's "NAME[ADDR]", are scanned once per line,
// and a 24-byte "postfix/submission/smtpd" costs three steps instead of 24 compares.
template <char... Cs>
inline std::size_t find_first_of_chars(std::string_view s, std::size_t from = 0) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const char* d = s.data();
  const std::size_t n = s.size();
  std::size_t i = from;
#if defined(__SSE2__)
  // 16 bytes per step where SSE2 is there (every x86-64): one compare per character sought.
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i));
    __m128i eq = _mm_setzero_si128();
    ((eq = _mm_or_si128(eq, _mm_cmpeq_epi8(x, _mm_set1_epi8(Cs)))), ...);
    const int mask = _mm_movemask_epi8(eq);
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x = 0;
    std::memcpy(&x, d + i, 8);
    // A byte of x ^ (C * kOnes) is zero where x holds C. The lowest flagged byte is exact (a borrow
    // can only flag bytes above a true match), which is all ctz needs on little-endian machines.
    std::uint64_t hit = 0;
    ((hit |= ((x ^ (kOnes * static_cast<std::uint8_t>(Cs))) - kOnes) &
             ~(x ^ (kOnes * static_cast<std::uint8_t>(Cs))) & kHigh),
     ...);
    if (hit != 0) {
      if constexpr (std::endian::native == std::endian::little) {
        return i + static_cast<std::size_t>(__builtin_ctzll(hit)) / 8;
      } else {
        break;  // find the byte below
      }
    }
  }
  for (; i < n; ++i) {
    const char c = d[i];
    if (((c == Cs) || ...)) return i;
  }
  return npos;
}

inline std::size_t rfind_char(std::string_view s, char c) {
  for (std::size_t i = s.size(); i > 0; --i) {
    if (s[i - 1] == c) return i - 1;
  }
  return npos;
}

}  // namespace strikeout::logs::detail
