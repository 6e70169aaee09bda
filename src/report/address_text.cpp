#include "report/address_text.hpp"

#include <charconv>
#include <cstdint>

namespace strikeout::report {

namespace {

char* write_quad(char* p, const std::uint8_t* b) {
  for (unsigned i = 0; i < 4; ++i) {
    const unsigned octet = b[i];
    if (octet >= 100) *p++ = static_cast<char>('0' + octet / 100);
    if (octet >= 10) *p++ = static_cast<char>('0' + octet / 10 % 10);
    *p++ = static_cast<char>('0' + octet % 10);
    if (i != 3) *p++ = '.';
  }
  return p;
}

char* write_hex_group(char* p, unsigned word) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (word >= 0x1000) *p++ = kHex[(word >> 12) & 0xf];
  if (word >= 0x100) *p++ = kHex[(word >> 8) & 0xf];
  if (word >= 0x10) *p++ = kHex[(word >> 4) & 0xf];
  *p++ = kHex[word & 0xf];
  return p;
}

}  // namespace

char* write_address(char* p, const core::Address& address) {
  const auto& b = address.bytes();
  if (address.is_v4()) return write_quad(p, b.data() + 12);
  // glibc's inet_ntop6, step for step (so the text is the one Address::to_string() gives): the
  // first longest run of at least two zero groups becomes "::"; lower-case hex without leading
  // zeros; the IPv4-compatible forms ::a.b.c.d (and ::ffff:a.b.c.d) end in a dotted quad.
  unsigned words[8];
  for (unsigned i = 0; i < 8; ++i) words[i] = (unsigned{b[2 * i]} << 8) | b[2 * i + 1];
  int best_base = -1, best_len = 0, cur_base = -1, cur_len = 0;
  for (int i = 0; i < 8; ++i) {
    if (words[i] == 0) {
      if (cur_base == -1) {
        cur_base = i;
        cur_len = 1;
      } else {
        ++cur_len;
      }
    } else if (cur_base != -1) {
      if (best_base == -1 || cur_len > best_len) {
        best_base = cur_base;
        best_len = cur_len;
      }
      cur_base = -1;
    }
  }
  if (cur_base != -1 && (best_base == -1 || cur_len > best_len)) {
    best_base = cur_base;
    best_len = cur_len;
  }
  if (best_base != -1 && best_len < 2) best_base = -1;
  for (int i = 0; i < 8; ++i) {
    if (best_base != -1 && i >= best_base && i < best_base + best_len) {
      if (i == best_base) *p++ = ':';
      continue;
    }
    if (i != 0) *p++ = ':';
    if (i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
      return write_quad(p, b.data() + 12);
    }
    p = write_hex_group(p, words[i]);
  }
  if (best_base != -1 && best_base + best_len == 8) *p++ = ':';
  return p;
}

char* write_prefix(char* p, const core::Prefix& prefix) {
  p = write_address(p, prefix.address());
  if (!prefix.is_host()) {
    *p++ = '/';
    p = std::to_chars(p, p + 3, prefix.length()).ptr;
  }
  return p;
}

}  // namespace strikeout::report
