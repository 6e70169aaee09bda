#include "decoy/smtp_command.hpp"

#include <array>

namespace strikeout::decoy {
namespace {

char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

bool equals_upper(std::string_view text, std::string_view upper_word) {
  if (text.size() != upper_word.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (upper(text[i]) != upper_word[i]) return false;
  return true;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// 0-63 for a base64 character, 64 for anything else.
constexpr std::array<std::uint8_t, 256> kBase64 = [] {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 64;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
  return t;
}();

}  // namespace

Command parse_command(std::string_view line) {
  static constexpr std::pair<std::string_view, Verb> kVerbs[] = {
      {"EHLO", Verb::Ehlo}, {"HELO", Verb::Helo}, {"AUTH", Verb::Auth},         {"MAIL", Verb::Mail},
      {"RCPT", Verb::Rcpt}, {"DATA", Verb::Data}, {"BDAT", Verb::Bdat},         {"RSET", Verb::Rset},
      {"NOOP", Verb::Noop}, {"QUIT", Verb::Quit}, {"STARTTLS", Verb::StartTls}, {"VRFY", Verb::Vrfy},
      {"EXPN", Verb::Expn}, {"HELP", Verb::Help}};
  line = trim_spaces(line);
  if (line.empty()) return {};
  const std::size_t space = line.find_first_of(" \t");
  const std::string_view word = line.substr(0, space);
  Command c;
  c.verb = Verb::Unknown;
  for (const auto& [name, verb] : kVerbs) {
    if (equals_upper(word, name)) {
      c.verb = verb;
      break;
    }
  }
  if (space != std::string_view::npos) c.argument = trim_spaces(line.substr(space));
  return c;
}

Mechanism parse_mechanism(std::string_view argument, std::string_view& rest) {
  argument = trim_spaces(argument);
  const std::size_t space = argument.find_first_of(" \t");
  const std::string_view word = argument.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view{} : trim_spaces(argument.substr(space));
  if (equals_upper(word, "PLAIN")) return Mechanism::Plain;
  if (equals_upper(word, "LOGIN")) return Mechanism::Login;
  return Mechanism::Other;
}

std::optional<std::size_t> decode_base64(std::string_view text, std::span<char> out) {
  if (text == "=") return 0;  // RFC 4954: an empty initial response
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::uint32_t bits = 0;
    std::size_t pad = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=') {
        // Padding only at the end of the last quantum, at most two.
        if (!last || j < 2) return std::nullopt;
        ++pad;
        bits <<= 6U;
        continue;
      }
      if (pad != 0) return std::nullopt;  // data after padding
      const std::uint8_t v = kBase64[static_cast<unsigned char>(c)];
      if (v == 64) return std::nullopt;
      bits = (bits << 6U) | v;
    }
    const std::size_t bytes = 3 - pad;
    if (n + bytes > out.size()) return std::nullopt;
    out[n++] = static_cast<char>((bits >> 16U) & 0xffU);
    if (bytes > 1) out[n++] = static_cast<char>((bits >> 8U) & 0xffU);
    if (bytes > 2) out[n++] = static_cast<char>(bits & 0xffU);
  }
  return n;
}

std::optional<PlainCredentials> split_auth_plain(std::string_view message) {
  const std::size_t first = message.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (message.find('\0', second + 1) != std::string_view::npos) return std::nullopt;
  PlainCredentials c{message.substr(0, first), message.substr(first + 1, second - first - 1),
                     message.substr(second + 1)};
  if (c.user.empty()) return std::nullopt;
  return c;
}

}  // namespace strikeout::decoy
