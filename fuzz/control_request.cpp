// Fuzz target: a request line on the control socket (parse_request), and the client's reading of a
// daemon's answer (parse_response). Neither may crash or throw on any bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto request = strikeout::control::parse_request(line);
  if (const auto* r = std::get_if<strikeout::control::Request>(&request)) {
    // What parses must format and parse back to the same request.
    auto again = strikeout::control::parse_request(strikeout::control::format_request(*r));
    if (!std::holds_alternative<strikeout::control::Request>(again)) __builtin_trap();
  }
  (void)strikeout::control::parse_response(line);
  return 0;
}
