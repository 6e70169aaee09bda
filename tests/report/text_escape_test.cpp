// Text an attacker chose must never forge a field, a line or a terminal escape in our output.
#include "report/text_escape.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace strikeout::report {
namespace {

std::string quoted(std::string_view s) {
  std::string out;
  append_quoted(out, s);
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  append_json_escaped(out, s);
  out += '"';
  return out;
}

TEST(AppendQuoted, PlainTextIsQuotedAsIs) {
  EXPECT_EQ(quoted("alice@mail.test"), "\"alice@mail.test\"");
}

TEST(AppendQuoted, QuotesAndBackslashesCannotCloseTheField) {
  // A username that tries to end the quoted field and add its own SRC= field.
  EXPECT_EQ(quoted("x\" SRC=203.0.113.66 \\"), "\"x\\\" SRC=203.0.113.66 \\\\\"");
}

TEST(AppendQuoted, ControlAndHighBytesBecomeHexEscapes) {
  EXPECT_EQ(quoted("a\nb\x1b[31m\x7f\xc3\xa9"), "\"a\\x0ab\\x1b[31m\\x7f\\xc3\\xa9\"");
}

TEST(AppendJsonEscaped, ProducesValidJsonForAnyBytes) {
  const std::string nasty = std::string("a\"b\\c\n\t\r\x01\x7f") + "\xff\xfe" + "\xc3\xa9" + "\xed\xa0\x80";
  const auto parsed = nlohmann::json::parse(json_string(nasty));
  // Valid UTF-8 (é) survives; invalid bytes and the encoded surrogate become U+FFFD.
  EXPECT_EQ(parsed.get<std::string>(), std::string("a\"b\\c\n\t\r\x01\x7f") + "\xef\xbf\xbd\xef\xbf\xbd" +
                                           "\xc3\xa9" + "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(AppendJsonEscaped, RefusesOverlongAndOutOfRangeSequences) {
  // Overlong "/" (0xc0 0xaf) and a code point above U+10FFFF (0xf4 0x90 ...).
  const auto parsed = nlohmann::json::parse(json_string("\xc0\xaf\xf4\x90\x80\x80"));
  EXPECT_EQ(parsed.get<std::string>().find('/'), std::string::npos);
}

// write_json_escaped copies plain text eight bytes at a time: a byte that needs escaping at any
// position of a word, and next to word boundaries, must still be escaped exactly as byte by byte.
TEST(WriteJsonEscaped, EscapesEveryByteAtEveryPositionOfAWord) {
  for (int c = 0; c < 256; ++c) {
    for (std::size_t at = 0; at < 17; ++at) {
      std::string text(17, 'a');
      text[at] = static_cast<char>(c);
      std::string expected;
      for (std::size_t i = 0; i < text.size(); ++i) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b == '"' || b == '\\') {
          expected += '\\';
          expected += text[i];
        } else if (b == '\n') {
          expected += "\\n";
        } else if (b == '\t') {
          expected += "\\t";
        } else if (b == '\r') {
          expected += "\\r";
        } else if (b < 0x20 || b == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          expected += "\\u00";
          expected += kHex[b >> 4];
          expected += kHex[b & 15];
        } else if (b >= 0x80) {
          expected += "\xef\xbf\xbd";  // a lone byte >= 0x80 is never valid UTF-8
        } else {
          expected += text[i];
        }
      }
      std::string out(kMaxJsonEscapedGrowth * text.size(), '\0');
      out.resize(static_cast<std::size_t>(write_json_escaped(out.data(), text) - out.data()));
      EXPECT_EQ(out, expected) << "byte " << c << " at " << at;
    }
  }
}

}  // namespace
}  // namespace strikeout::report
