// The detector's cost: on_event for auth-failure events over a few thousand attacking addresses
// (IPv4 and IPv6), with the recipe's rules, and the memory held per tracked address.
//
//   bench_engine --benchmark_filter=OnEvent      ns per failure event (items_per_second)
//   bench_engine --benchmark_filter=Memory       bytes per tracked address, from the engine's own
//                                                accounting and from the growth of the process RSS
#include <benchmark/benchmark.h>

#include <malloc.h>  // malloc_trim: return freed table buffers before reading the RSS

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/engine.hpp"

namespace {

using namespace strikeout::core;
using namespace std::chrono_literals;

struct CountingSink : DecisionSink {
  std::uint64_t strikes = 0, bans = 0;
  void on_decision(const Decision& d) override {
    if (d.kind == DecisionKind::Strike) ++strikes;
    if (d.kind == DecisionKind::Ban) ++bans;
  }
};

Rule make_rule(const char* name, KeyKind key, std::uint32_t hits, Duration within) {
  Rule r;
  r.name = name;
  r.key = key;
  r.hits = hits;
  r.within = within;
  return r;
}

Address nth_address(std::uint32_t i) {
  if (i % 4 == 3) {  // a quarter IPv6, one /64 each
    Address::Bytes b{0x20, 0x01, 0x0d, 0xb8};
    b[4] = static_cast<std::uint8_t>(i >> 8);
    b[5] = static_cast<std::uint8_t>(i);
    b[15] = 1;
    return Address::from_bytes(b);
  }
  return Address::from_v4(0xc6336400U + i * 7919U);  // spread over many /24s
}

// Events: `n` failures, spread over `addresses` attackers in a random order, `gap_us` apart, a
// dozen usernames.
std::vector<Event> make_events(std::size_t n, std::uint32_t addresses, std::int64_t gap_us) {
  static const std::vector<std::string> users = {"admin", "info",   "test", "bob", "alice", "root",
                                                 "sales", "office", "user", "web", "mail",  "support"};
  std::mt19937 rng(7);
  std::vector<Event> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    Event& e = out[i];
    e.time = from_micros(1'795'737'600'000'000LL + static_cast<std::int64_t>(i) * gap_us);
    e.kind = EventKind::AuthFailure;
    e.source = nth_address(static_cast<std::uint32_t>(rng() % addresses));
    e.user = users[rng() % users.size()];
    e.reporter = Reporter::Postfix;
    e.sensor = "mail.log";
    e.service = "submission";
  }
  return out;
}

// range(0): attacking addresses; range(1): microseconds between failures.
void run(benchmark::State& state, std::vector<Rule> rules) {
  const auto events = make_events(1 << 20, static_cast<std::uint32_t>(state.range(0)), state.range(1));
  Policy p;
  p.rules = std::move(rules);
  p.allowlist = {*Prefix::parse("127.0.0.0/8"), *Prefix::parse("::1")};
  p.limits.hash_seed = 0x5eed;
  auto engine = std::make_unique<Engine>(p);
  CountingSink sink;
  std::size_t i = 0;
  std::int64_t shift = 0;  // each pass over the events moves time on, so windows keep sliding
  for (auto _ : state) {
    Event e = events[i];
    e.time += Duration{shift};
    engine->on_event(e, sink);
    if (++i == events.size()) {
      i = 0;
      shift += static_cast<std::int64_t>(events.size()) * state.range(1) + 3'600'000'000LL;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["strikes"] = static_cast<double>(sink.strikes);
  state.counters["bans"] = static_cast<double>(sink.bans);
  state.counters["tracked"] = static_cast<double>(engine->stats().tracked_keys);
}

// The address rule only: the hot path the <100 ns target is about. Two shapes over 4000
// addresses: failures 150 ms apart (each address fails every 10 minutes: every event is counted
// and struck, none reaches a ban), and 1.5 ms apart (each address every 6 s: a flood where most
// events come from banned addresses and re-tag their bans).
void BM_OnEvent_AddressRule(benchmark::State& state) {
  run(state, {make_rule("auth-failures", KeyKind::Address, 3, 20min)});
}
BENCHMARK(BM_OnEvent_AddressRule)->Args({4000, 150'000})->Args({4000, 1500});

// The recipe's default set: address (3 in 20m), network (/24, /64: 10 in 20m), campaign (10
// distinct sources on one username in 1h).
void BM_OnEvent_RecipeRules(benchmark::State& state) {
  Rule campaign = make_rule("campaign", KeyKind::Username, 10, 1h);
  run(state, {make_rule("auth-failures", KeyKind::Address, 3, 20min),
              make_rule("networks", KeyKind::Prefix, 10, 20min), campaign});
}
BENCHMARK(BM_OnEvent_RecipeRules)->Args({4000, 150'000})->Args({4000, 1500});

std::uint64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");  // the benchmark, not the core, reads the kernel
  std::uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

// Memory per tracked address for a 6-hit address rule: 1M addresses (arg 0: IPv4, 1: IPv6), each
// with 5 failures (a full window of hits-1 timestamps) spread over the window.
void BM_Memory_PerTrackedAddress(benchmark::State& state) {
  const bool v6 = state.range(0) == 1;
  constexpr std::uint32_t kAddresses = 1'000'000;
  for (auto _ : state) {
    Policy p;
    p.rules = {make_rule("auth-failures", KeyKind::Address, 6, 1h)};
    p.limits.hash_seed = 1;
    p.limits.max_tracked_keys = 2'000'000;
    malloc_trim(0);
    const std::uint64_t rss_before = rss_bytes();
    auto engine = std::make_unique<Engine>(p);
    CountingSink sink;
    Event e;
    e.reporter = Reporter::Postfix;
    for (std::uint32_t round = 0; round < 5; ++round) {
      for (std::uint32_t i = 0; i < kAddresses; ++i) {
        // 10 minutes per round, so the duplicate filter has forgotten the earlier rounds.
        e.time = from_micros(1'795'737'600'000'000LL + round * 600'000'000LL + i * 100LL);
        if (v6) {
          Address::Bytes b{0x20, 0x01, 0x0d, 0xb8};
          b[8] = static_cast<std::uint8_t>(i >> 16);
          b[9] = static_cast<std::uint8_t>(i >> 8);
          b[10] = static_cast<std::uint8_t>(i);
          b[15] = 0x42;
          e.source = Address::from_bytes(b);
        } else {
          e.source = Address::from_v4(0x0a000000U + i);
        }
        engine->on_event(e, sink);
      }
      // Let the periodic sweep drop the duplicate filter's old records before the next round.
      engine->advance(e.time + 5min, sink);
    }
    const auto& s = engine->stats();
    malloc_trim(0);
    const std::uint64_t rss_after = rss_bytes();
    state.counters["tracked"] = static_cast<double>(s.tracked_keys);
    state.counters["window_bytes_per_addr"] =
        static_cast<double>(s.window_bytes) / static_cast<double>(s.tracked_keys);
    state.counters["all_bytes_per_addr"] =
        static_cast<double>(s.memory_bytes) / static_cast<double>(s.tracked_keys);
    state.counters["rss_bytes_per_addr"] =
        static_cast<double>(rss_after - rss_before) / static_cast<double>(s.tracked_keys);
    benchmark::DoNotOptimize(sink.strikes);
  }
}
BENCHMARK(BM_Memory_PerTrackedAddress)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
