// Fuzz target: the positions state file parser (sources/position_file.hpp). Any bytes: parsed or a
// clear error naming the file and line, never a crash; and what parses survives a round trip
// (format_positions() then parse_positions() gives the same positions back).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sources/position_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = strikeout::sources::parse_positions(text, "positions");
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    if (error->rfind("positions", 0) != 0) std::abort();  // every error names the file
    return 0;
  }
  const auto& positions = std::get<strikeout::sources::PositionMap>(parsed);
  const auto again =
      strikeout::sources::parse_positions(strikeout::sources::format_positions(positions), "positions");
  const auto* reparsed = std::get_if<strikeout::sources::PositionMap>(&again);
  if (reparsed == nullptr || *reparsed != positions) std::abort();
  return 0;
}
