// The state database's columns are outside bytes (a damaged disk, an operator's sqlite3 session): the
// store's decoders of window timestamps, campaign sources, pairing reports and address text must
// refuse anything malformed with a message and never crash. The first byte picks the decoder; what a
// decoder accepts must encode back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "store/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  std::string error;
  switch (data[0] % 4) {
    case 0:
      if (auto times = strikeout::store::decode_times(rest, error)) {
        if (strikeout::store::encode_times(*times) != strikeout::store::Bytes(rest.begin(), rest.end()))
          std::abort();
      } else if (error.empty()) {
        std::abort();
      }
      break;
    case 1:
      if (auto sources = strikeout::store::decode_campaign_sources(rest, error)) {
        if (strikeout::store::encode_campaign_sources(*sources) !=
            strikeout::store::Bytes(rest.begin(), rest.end()))
          std::abort();
      } else if (error.empty()) {
        std::abort();
      }
      break;
    case 2:
      if (auto reports = strikeout::store::decode_reports(rest, error)) {
        if (strikeout::store::encode_reports(*reports) != strikeout::store::Bytes(rest.begin(), rest.end()))
          std::abort();
      } else if (error.empty()) {
        std::abort();
      }
      break;
    default: {
      const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
      if (!strikeout::store::decode_prefix(text, error) && error.empty()) std::abort();
      break;
    }
  }
  return 0;
}
