#include "wire/base64.hpp"

#include <cstdint>

namespace strikeout::wire {

namespace {
int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

bool decode_base64(std::string_view text, char* out, std::size_t capacity, std::size_t& length) {
  length = 0;
  std::size_t end = text.size();
  std::size_t padding = 0;
  while (end > 0 && text[end - 1] == '=' && padding < 2) {
    --end;
    ++padding;
  }
  if (end % 4 == 1) return false;
  if (padding > 0 && (end + padding) % 4 != 0) return false;
  std::uint32_t acc = 0;
  unsigned bits = 0;
  for (std::size_t i = 0; i < end; ++i) {
    const int v = value_of(text[i]);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (length == capacity) return false;
      out[length++] = static_cast<char>((acc >> bits) & 0xffU);
    }
  }
  return true;
}

}  // namespace strikeout::wire
