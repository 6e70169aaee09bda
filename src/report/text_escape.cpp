#include "report/text_escape.hpp"

#include <cstdint>
#include <cstring>

namespace strikeout::report {

namespace {
constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is not valid (overlong forms,
// surrogates and code points above U+10FFFF are refused, as RFC 3629 says).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto b0 = static_cast<std::uint8_t>(text[i]);
  auto cont = [&](std::size_t k) {
    return i + k < text.size() && (static_cast<std::uint8_t>(text[i + k]) & 0xc0U) == 0x80U;
  };
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const auto b1 = static_cast<std::uint8_t>(text[i + 1]);
    if (b0 == 0xe0 && b1 < 0xa0) return 0;  // overlong
    if (b0 == 0xed && b1 > 0x9f) return 0;  // surrogates
    return 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const auto b1 = static_cast<std::uint8_t>(text[i + 1]);
    if (b0 == 0xf0 && b1 < 0x90) return 0;  // overlong
    if (b0 == 0xf4 && b1 > 0x8f) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}
}  // namespace

namespace {
// True for bytes that append_quoted writes as they are.
constexpr bool plain_quoted(std::uint8_t c) {
  return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}
// True for bytes that append_json_escaped writes as they are (ASCII without escapes).
constexpr bool plain_json(std::uint8_t c) {
  return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}
}  // namespace

void append_quoted(std::string& out, std::string_view text) {
  out.push_back('"');
  // Fast path: most usernames need no escaping at all.
  std::size_t plain = 0;
  while (plain < text.size() && plain_quoted(static_cast<std::uint8_t>(text[plain]))) ++plain;
  out.append(text.data(), plain);
  text.remove_prefix(plain);
  for (char ch : text) {
    const auto c = static_cast<std::uint8_t>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

namespace {
// SWAR test of eight bytes at once: true when every byte is one append_json_escaped writes as it
// is (0x20..0x7e except '"' and '\\'). Replay writes a few hundred thousand JSON strings per
// second, nearly all plain, so the common case is one load and a few word operations per 8 bytes.
inline bool plain_json_word(std::uint64_t x) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const std::uint64_t below_space = (x - kOnes * 0x20) & ~x & kHigh;  // a byte < 0x20
  const std::uint64_t above_tilde = ((x + kOnes * 1) | x) & kHigh;    // a byte >= 0x7f
  const std::uint64_t q = x ^ (kOnes * '"');
  const std::uint64_t b = x ^ (kOnes * '\\');
  const std::uint64_t quote = (q - kOnes) & ~q & kHigh;
  const std::uint64_t backslash = (b - kOnes) & ~b & kHigh;
  return (below_space | above_tilde | quote | backslash) == 0;
}
}  // namespace

char* write_json_escaped(char* p, std::string_view text) {
  const char* s = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // Copy the longest run of bytes that need no escaping: 8 at a time, then byte by byte.
    while (i + 8 <= n) {
      std::uint64_t word = 0;
      std::memcpy(&word, s + i, 8);
      if (!plain_json_word(word)) break;
      std::memcpy(p, &word, 8);
      p += 8;
      i += 8;
    }
    if (i + 8 > n && n >= 8 && i < n) {
      // Fewer than 8 bytes left of a string of at least 8: test the last 8 bytes as one word (some
      // already copied); if they are all plain, the rest is copied in one go and we are done.
      std::uint64_t word = 0;
      std::memcpy(&word, s + n - 8, 8);
      if (plain_json_word(word)) {
        // Stored whole, over the bytes before i that were copied as they are (the same bytes).
        std::memcpy(p - (i - (n - 8)), &word, 8);
        p += n - i;
        break;
      }
    }
    while (i < n && plain_json(static_cast<std::uint8_t>(s[i]))) *p++ = s[i++];
    if (i == n) break;
    const auto c = static_cast<std::uint8_t>(s[i]);
    if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = s[i];
      ++i;
    } else if (c == '\n') {
      *p++ = '\\';
      *p++ = 'n';
      ++i;
    } else if (c == '\t') {
      *p++ = '\\';
      *p++ = 't';
      ++i;
    } else if (c == '\r') {
      *p++ = '\\';
      *p++ = 'r';
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      std::memcpy(p, "\\u00", 4);
      p += 4;
      *p++ = kHex[c >> 4];
      *p++ = kHex[c & 0xf];
      ++i;
    } else {
      const std::size_t len = utf8_sequence_length(text, i);
      if (len == 0) {
        std::memcpy(p, "\xef\xbf\xbd", 3);  // U+FFFD REPLACEMENT CHARACTER
        p += 3;
        ++i;
      } else {
        std::memcpy(p, s + i, len);
        p += len;
        i += len;
      }
    }
  }
  return p;
}

void append_json_escaped(std::string& out, std::string_view text) {
  const std::size_t old = out.size();
  out.resize(old + kMaxJsonEscapedGrowth * text.size());
  char* end = write_json_escaped(out.data() + old, text);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

}  // namespace strikeout::report
