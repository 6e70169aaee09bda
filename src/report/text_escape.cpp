#include "report/text_escape.hpp"

#include <cstdint>

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
constexpr bool plain_quoted(std::uint8_t c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }
// True for bytes that append_json_escaped writes as they are (ASCII without escapes).
constexpr bool plain_json(std::uint8_t c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }
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

void append_json_escaped(std::string& out, std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    // Copy the longest run of bytes that need no escaping in one go.
    std::size_t run = i;
    while (run < text.size() && plain_json(static_cast<std::uint8_t>(text[run]))) ++run;
    if (run > i) {
      out.append(text.data() + i, run - i);
      i = run;
      if (i == text.size()) break;
    }
    const auto c = static_cast<std::uint8_t>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(text[i]);
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
      ++i;
    } else if (c < 0x80) {
      out.push_back(text[i]);
      ++i;
    } else {
      const std::size_t len = utf8_sequence_length(text, i);
      if (len == 0) {
        out += "\xef\xbf\xbd";  // U+FFFD REPLACEMENT CHARACTER
        ++i;
      } else {
        out.append(text.substr(i, len));
        i += len;
      }
    }
  }
}

}  // namespace strikeout::report
