// The wire sensor over a capture file, as `replay --pcap` reads it: libpcap's offline reader, frame
// decoding, connection tracking and the SMTP reader, events counted (not printed).
//   bench_wire_pcap FILE [--runs N]
// Prints packets, seconds (best of N), packets/s and what was found.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "wire/pcap_source.hpp"
#include "wire/sensor.hpp"

namespace {
struct Counter final : strikeout::wire::WireSink {
  std::uint64_t failures = 0;
  std::uint64_t successes = 0;
  void on_event(const strikeout::core::Event& e) override {
    (e.kind == strikeout::core::EventKind::AuthFailure ? failures : successes) += 1;
  }
  void on_notice(const strikeout::wire::WireNotice&) override {}
};
}  // namespace

int main(int argc, char** argv) {
  using namespace strikeout::wire;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [--runs N]\n", argv[0]);
    return 2;
  }
  int runs = 3;
  if (argc >= 4 && std::strcmp(argv[2], "--runs") == 0) runs = std::atoi(argv[3]);
  double best = 1e30;
  Counter found;
  std::uint64_t packets = 0;
  WireStats stats{};
  for (int run = 0; run < runs; ++run) {
    std::string error;
    const auto start = std::chrono::steady_clock::now();
    auto source = open_capture_file(argv[1], error);
    if (!source) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    Counter counter;
    TrackerSettings settings;
    settings.require_outgoing = false;
    WireSensor sensor(settings, counter);
    for (;;) {
      const auto r = source->read(sensor, 4096);
      if (r.finished) break;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (secs < best) best = secs;
    found = counter;
    packets = sensor.decode_stats().frames;
    stats = sensor.stats();
  }
  std::printf(
      "packets %llu seconds %.3f packets_per_s %.0f failures %llu successes %llu starttls %llu implicit_tls "
      "%llu\n",
      static_cast<unsigned long long>(packets), best, static_cast<double>(packets) / best,
      static_cast<unsigned long long>(found.failures), static_cast<unsigned long long>(found.successes),
      static_cast<unsigned long long>(stats.starttls_sessions),
      static_cast<unsigned long long>(stats.implicit_tls_connections));
  return 0;
}
