// parse_nflog_packet() on arbitrary bytes: a rate-limit hit's NFLOG message holds the start of a
// packet from the network. Any input must be refused or parsed, never read out of bounds.
#include <cstddef>
#include <cstdint>
#include <span>

#include "enforce/nflog.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto got = strikeout::enforce::parse_nflog_packet(std::span<const std::uint8_t>(data, size));
  if (got) (void)got->source.to_string();
  return 0;
}
