// ns per line of LineDecoder::decode() for typical Postfix lines, format "auto": an authentication
// failure, a connect, and the noise most of a mail log is (other Postfix programs), plus a realistic
// mix (about a quarter failures, IPv4 and IPv6, a few thousand addresses) that estimates lines/s.
//   cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build/release --target
//   bench_matchers build/release/bench/bench_matchers
#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "logs/decoder.hpp"

namespace {

using strikeout::logs::DecoderOptions;
using strikeout::logs::LineDecoder;
using strikeout::logs::LineStatus;
using strikeout::logs::YearAnchor;

LineDecoder make_decoder() {
  DecoderOptions o;
  o.year = YearAnchor::starting_in(2026);
  return std::move(std::get<LineDecoder>(LineDecoder::create(std::move(o))));
}

void run_one(benchmark::State& state, const std::string& line, LineStatus expected) {
  auto decoder = make_decoder();
  strikeout::core::Event e;
  if (decoder.decode(line, e) != expected) state.SkipWithError("unexpected status");
  for (auto _ : state) {
    benchmark::DoNotOptimize(decoder.decode(line, e));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_PostfixFailure(benchmark::State& state) {
  run_one(state,
          "Nov 27 01:49:52 mail postfix/submission/smtpd[9936]: warning: unknown[10.77.1.1]: SASL LOGIN "
          "authentication failed: (reason unavailable), sasl_username=alice@mail.test",
          LineStatus::Event);
}
void BM_PostfixFailureIpv6(benchmark::State& state) {
  run_one(state,
          "Nov 27 01:49:52 mail postfix/submission/smtpd[9936]: warning: unknown[2001:db8:1::42]: SASL PLAIN "
          "authentication failed: (reason unavailable), sasl_username=alice@mail.test",
          LineStatus::Event);
}
void BM_PostfixConnect(benchmark::State& state) {
  run_one(state, "Nov 27 01:49:51 mail postfix/submission/smtpd[9936]: connect from unknown[10.77.1.1]",
          LineStatus::Event);
}
void BM_PostfixDisconnect(benchmark::State& state) {
  run_one(state,
          "Nov 27 01:50:05 mail postfix/submission/smtpd[9936]: disconnect from unknown[10.77.1.1] ehlo=1 "
          "auth=1/3 commands=2/4",
          LineStatus::NoEvent);
}
void BM_PostfixNoise(benchmark::State& state) {
  run_one(state,
          "Nov 27 01:51:33 mail postfix/qmgr[812]: 3F2A1B2C3D: from=<bob@example.com>, size=1234, nrcpt=1 "
          "(queue active)",
          LineStatus::NoEvent);
}
void BM_DovecotAuthFailure(benchmark::State& state) {
  run_one(state, "Nov 27 01:49:52 auth: Info: passwd-file(alice@mail.test,10.77.1.1): Password mismatch",
          LineStatus::Event);
}

// A realistic mix, generated once: per connection a connect, 0..3 failures (some IPv6), a disconnect,
// and noise from the queue manager and the delivery agents.
std::vector<std::string> mixed_lines(std::size_t n) {
  std::mt19937 rng(42U);
  auto next = [&rng] { return static_cast<unsigned>(rng()); };
  std::vector<std::string> lines;
  lines.reserve(n);
  char buf[512];
  unsigned second = 0;
  while (lines.size() < n) {
    const unsigned host = next() % 4000;
    const bool v6 = host % 5 == 0;
    char addr[64];
    if (v6) {
      std::snprintf(addr, sizeof addr, "2001:db8:%x::%x", host / 256, host % 256 + 1);
    } else {
      std::snprintf(addr, sizeof addr, "198.51.%u.%u", host / 250, host % 250 + 1);
    }
    ++second;
    const unsigned h = (second / 3600) % 24, m = (second / 60) % 60, s = second % 60;
    const unsigned pid = 1000 + host;
    std::snprintf(buf, sizeof buf,
                  "Nov 27 %02u:%02u:%02u mail postfix/submission/smtpd[%u]: connect from unknown[%s]", h, m,
                  s, pid, addr);
    lines.emplace_back(buf);
    const unsigned failures = next() % 4;
    for (unsigned f = 0; f < failures; ++f) {
      std::snprintf(buf, sizeof buf,
                    "Nov 27 %02u:%02u:%02u mail postfix/submission/smtpd[%u]: warning: unknown[%s]: SASL %s "
                    "authentication failed: (reason unavailable), sasl_username=user%u@mail.test",
                    h, m, s, pid, addr, f % 2 == 0 ? "LOGIN" : "PLAIN", host % 97);
      lines.emplace_back(buf);
    }
    std::snprintf(
        buf, sizeof buf,
        "Nov 27 %02u:%02u:%02u mail postfix/submission/smtpd[%u]: disconnect from unknown[%s] ehlo=1 "
        "auth=0/%u commands=1/%u",
        h, m, s, pid, addr, failures, failures + 1);
    lines.emplace_back(buf);
    for (int k = 0; k < 2; ++k) {
      std::snprintf(
          buf, sizeof buf,
          "Nov 27 %02u:%02u:%02u mail postfix/qmgr[812]: %08X%02X: from=<bob@example.com>, size=%u, "
          "nrcpt=1 (queue active)",
          h, m, s, next(), k, 1000 + host);
      lines.emplace_back(buf);
    }
  }
  lines.resize(n);
  return lines;
}

void BM_PostfixMix(benchmark::State& state) {
  static const auto lines = mixed_lines(std::size_t{1} << 16);
  auto decoder = make_decoder();
  strikeout::core::Event e;
  std::size_t i = 0;
  std::size_t events = 0;
  for (auto _ : state) {
    if (decoder.decode(lines[i], e) == LineStatus::Event) ++events;
    i = (i + 1) & (lines.size() - 1);
  }
  benchmark::DoNotOptimize(events);
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_PostfixFailure);
BENCHMARK(BM_PostfixFailureIpv6);
BENCHMARK(BM_PostfixConnect);
BENCHMARK(BM_PostfixDisconnect);
BENCHMARK(BM_PostfixNoise);
BENCHMARK(BM_DovecotAuthFailure);
BENCHMARK(BM_PostfixMix);
BENCHMARK_MAIN();
