// Custom matchers: the first line is a pattern (validated; RE2 errors are reported, never thrown),
// the other lines are decoded with it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "logs/decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strikeout;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  logs::CustomMatcherSpec spec;
  spec.name = "fuzz";
  spec.patterns.emplace_back(input.substr(0, nl));
  input.remove_prefix(nl == std::string_view::npos ? input.size() : nl + 1);
  if (logs::validate_custom_matcher(spec)) return 0;
  logs::DecoderOptions options;
  options.format = "fuzz";
  options.custom.push_back(spec);
  auto made = logs::LineDecoder::create(options);
  auto* decoder = std::get_if<logs::LineDecoder>(&made);
  if (decoder == nullptr) return 0;
  core::Event e;
  while (!input.empty()) {
    const auto end = input.find('\n');
    decoder->decode(input.substr(0, end), e);
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  }
  return 0;
}
