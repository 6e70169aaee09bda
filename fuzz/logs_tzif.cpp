// TimeZone::from_tzif over arbitrary bytes: refuses or builds a zone whose lookups stay in range.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "logs/timezone.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto zone = strikeout::logs::TimeZone::from_tzif(bytes, "fuzz");
  if (!zone) return 0;
  for (std::int64_t t : {INT64_C(-4000000000), INT64_C(0), INT64_C(1800000000), INT64_C(4000000000)}) {
    const auto off = zone->offset_at_local(t).count();
    if (off <= -26 * 3600 || off >= 26 * 3600) std::abort();
  }
  return 0;
}
