// Header and timestamp parsing over arbitrary bytes, with both year anchors and zones with and
// without transitions; also the fixed-offset zone parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "logs/header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strikeout::logs;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const TimeZone utc = TimeZone::utc();
  static const TimeZone plus2 = *TimeZone::parse_fixed("+02:00");
  YearAnchor starting = YearAnchor::starting_in(2026);
  YearAnchor ending = YearAnchor::ending_at(strikeout::core::from_seconds(1800000000));
  detail::Header h;
  for (const TimeZone* zone : {&utc, &plus2}) {
    if (detail::parse_header(text, *zone, starting, h)) {
      // The message is a suffix of the input.
      if (h.message.data() < text.data() || h.message.data() + h.message.size() > text.data() + text.size()) {
        std::abort();
      }
    }
    detail::parse_header(text, *zone, ending, h);
  }
  if (auto z = TimeZone::parse_fixed(text)) (void)z->offset_at_local(0);
  return 0;
}
