// Reading what an SMTP client sends the decoy: one command line, base64, and the AUTH PLAIN message.
// Pure functions over bytes an attacker wrote: lengths are checked before use, any surprise is a
// refusal (nullopt / Verb::Unknown), never a crash. Fuzzed (fuzz/decoy_smtp.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace strikeout::decoy {

enum class Verb : std::uint8_t {
  Empty,
  Unknown,
  Ehlo,
  Helo,
  Auth,
  Mail,
  Rcpt,
  Data,
  Bdat,
  Rset,
  Noop,
  Quit,
  StartTls,
  Vrfy,
  Expn,
  Help,
};

struct Command {
  Verb verb = Verb::Empty;
  std::string_view argument;  // after the verb and its spaces, trailing spaces removed
};

// One command line without its CRLF. The verb is matched case-insensitively and must be followed by a
// space or the end of the line ("MAIL FROM:<a>" is Mail with argument "FROM:<a>", "EHLOX" is Unknown).
Command parse_command(std::string_view line);

// The values cross between the decoy's workers and supervisor (channel.hpp): pinned in
// tests/decoy/channel_values_test.
enum class Mechanism : std::uint8_t { Plain = 0, Login = 1, Other = 2 };
inline constexpr Mechanism kLastMechanism = Mechanism::Other;
inline constexpr const char* kMechanismNames[] = {"PLAIN", "LOGIN", "other"};

// "PLAIN", "login", ... (case-insensitive) from an AUTH argument's first word; `rest` gets what follows
// it (the initial response, possibly empty).
Mechanism parse_mechanism(std::string_view argument, std::string_view& rest);

// Strict RFC 4648 base64 (the alphabet with '+' and '/', '=' padding to a multiple of 4, nothing else).
// Writes the decoded bytes to `out` and returns their number; nullopt for anything that is not base64
// or does not fit. The empty string decodes to zero bytes ("=" alone, RFC 4954's empty response, too).
std::optional<std::size_t> decode_base64(std::string_view text, std::span<char> out);

// RFC 4616's message: authzid NUL authcid NUL passwd. Refuses anything without exactly two NULs or
// with an empty authcid.
struct PlainCredentials {
  std::string_view authzid;
  std::string_view user;
  std::string_view password;
};
std::optional<PlainCredentials> split_auth_plain(std::string_view message);

}  // namespace strikeout::decoy
