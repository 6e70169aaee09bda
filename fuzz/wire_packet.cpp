// Fuzz target: one captured frame of any link type through the decoder, and the segment through the
// connection tracker. Input: byte 0 picks the link type (and direction for unmarked links); the
// rest is the frame.
#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/packet.hpp"
#include "wire/tracker.hpp"

namespace {
struct NullSink final : strikeout::wire::WireSink {
  void on_event(const strikeout::core::Event&) override {}
  void on_notice(const strikeout::wire::WireNotice&) override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strikeout::wire;
  if (size < 1) return 0;
  static constexpr LinkType kLinks[] = {LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2,
                                        LinkType::RawIp,    LinkType::RawIpv4,  LinkType::RawIpv6,
                                        LinkType::Null};
  const LinkType link = kLinks[data[0] % 7];
  TcpSegment segment;
  const std::span<const std::uint8_t> frame(data + 1, size - 1);
  if (decode_frame(link, frame, segment) != DecodeStatus::Tcp) return 0;
  // The payload must lie inside the frame.
  if (!segment.payload.empty() &&
      (segment.payload.data() < frame.data() ||
       segment.payload.data() + segment.payload.size() > frame.data() + frame.size())) {
    __builtin_trap();
  }
  static ConnectionTracker* tracker = [] {
    TrackerSettings s;
    s.require_outgoing = false;
    s.max_connections = 64;
    return new ConnectionTracker(s);
  }();
  NullSink sink;
  tracker->on_segment(segment, strikeout::core::from_seconds(1), sink);
  return 0;
}
