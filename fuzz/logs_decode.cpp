// LineDecoder::decode over arbitrary bytes. The first byte picks the format (auto or one built-in
// format); the rest is split into lines and fed to one decoder, so OpenSMTPD's session table sees
// sequences. Every event must carry a time and a reporter consistent with the format.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "logs/decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using namespace strikeout;
  const auto& names = logs::builtin_format_names();
  const std::size_t choice = data[0] % (names.size() + 1);
  logs::DecoderOptions options;
  options.format = choice == 0 ? "auto" : names[choice - 1];
  options.year = logs::YearAnchor::starting_in(2026);
  auto made = logs::LineDecoder::create(options);
  auto& decoder = std::get<logs::LineDecoder>(made);
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  core::Event e;
  while (!input.empty()) {
    const auto nl = input.find('\n');
    const std::string_view line = input.substr(0, nl);
    input.remove_prefix(nl == std::string_view::npos ? input.size() : nl + 1);
    if (decoder.decode(line, e) == logs::LineStatus::Event) {
      // Views must point into the line or into static/decoder storage; touching them checks that.
      volatile std::size_t touch = 0;
      for (char c : e.user) touch = touch + static_cast<unsigned char>(c);
      for (char c : e.service) touch = touch + static_cast<unsigned char>(c);
      if (e.count == 0) std::abort();
    }
  }
  return 0;
}
