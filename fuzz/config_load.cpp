// Fuzz target: the configuration loader over arbitrary bytes. The loader must never crash, throw or
// hang, whatever the file holds: every input ends in a Config or in diagnostics that print.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "config/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  strikeout::config::LoadOptions options;
  // Keep the host's /etc/localtime out of it: "local" is UTC here, so runs are reproducible.
  options.localtime = "/nonexistent/strikeout-fuzz/localtime";
  const strikeout::config::LoadResult result = strikeout::config::load_config(text, "fuzz.toml", options);
  if (const auto* diagnostics = std::get_if<strikeout::config::Diagnostics>(&result)) {
    // A refused input always says why, and each diagnostic formats.
    if (diagnostics->empty()) __builtin_trap();
    for (const auto& d : *diagnostics) {
      if (strikeout::config::format_diagnostic(d).empty()) __builtin_trap();
    }
  }
  return 0;
}
