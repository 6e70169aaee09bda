#include "decoy/records.hpp"

#include <array>

namespace strikeout::decoy {

std::string escape_field(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c > 0x20 && c < 0x7f && c != '\\') {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4U];
      out += kHex[c & 0xfU];
    }
  }
  return out;
}

std::optional<RecordLine> parse_record_line(std::string_view line) {
  std::array<std::string, 8> fields;
  std::size_t field = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '\t') {
      if (field == fields.size()) return std::nullopt;
      fields[field++] = std::string(line.substr(start, i - start));
      start = i + 1;
    }
  }
  if (field != fields.size()) return std::nullopt;
  return RecordLine{fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], fields[7]};
}

}  // namespace strikeout::decoy
