// decode() allocates nothing per line for the built-in formats (the decoder contract): this binary
// counts every operator new, and decoding every fixture line after warm-up must not add to it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "fixture_support.hpp"
#include "logs/decoder.hpp"

namespace {
std::atomic<std::size_t> g_allocations{0};
}

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace strikeout::logs {
namespace {

TEST(Allocation, DecodeAllocatesNothingForBuiltinFormats) {
  std::vector<std::string> lines;
  for (const auto& server : builtin_format_names()) {
    for (auto& f : testing::read_fixture(std::string(STRIKEOUT_FIXTURES_DIR) + "/logs/" + server + ".log")) {
      lines.push_back(std::move(f.text));
    }
  }
  DecoderOptions options;
  options.year = YearAnchor::starting_in(2026);
  options.sensor = "mail.log";
  auto made = LineDecoder::create(options);
  auto& decoder = std::get<LineDecoder>(made);
  core::Event e;
  std::size_t events = 0;
  const std::size_t before = g_allocations.load();
  for (int round = 0; round < 3; ++round) {
    for (const auto& line : lines) events += decoder.decode(line, e) == LineStatus::Event ? 1U : 0U;
  }
  EXPECT_EQ(g_allocations.load() - before, 0U);
  EXPECT_GT(events, 100U);
}

}  // namespace
}  // namespace strikeout::logs
