// Fuzz target: a whole capture file (pcap or pcapng) through libpcap's offline reader and the wire
// sensor, via a temporary file as replay reads it.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "wire/pcap_source.hpp"
#include "wire/sensor.hpp"

namespace {
struct NullSink final : strikeout::wire::WireSink {
  void on_event(const strikeout::core::Event&) override {}
  void on_notice(const strikeout::wire::WireNotice&) override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strikeout::wire;
  char path[] = "/tmp/fuzz_wire_pcap_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return 0;
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = write(fd, data + written, size - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  close(fd);
  std::string error;
  auto source = open_capture_file(path, error);
  if (source) {
    NullSink sink;
    TrackerSettings settings;
    settings.require_outgoing = false;
    WireSensor sensor(settings, sink);
    for (int rounds = 0; rounds < 1000; ++rounds) {
      const auto r = source->read(sensor, 256);
      if (r.finished || !r.error.empty()) break;
    }
  } else if (error.empty()) {
    __builtin_trap();  // a refusal always says why
  }
  unlink(path);
  return 0;
}
