// The wire sensor: captured frames in (a PacketSink), authentication events out (a WireSink).
// Decodes each frame (packet.hpp) and hands its TCP segment to the ConnectionTracker (tracker.hpp).
// Pure: the frames' own timestamps are the only time it knows.
#pragma once

#include <cstdint>

#include "wire/packet_source.hpp"
#include "wire/tracker.hpp"

namespace strikeout::wire {

struct DecodeStats {
  std::uint64_t frames = 0;
  std::uint64_t tcp = 0;
  std::uint64_t not_tcp = 0;
  std::uint64_t fragments = 0;
  std::uint64_t truncated = 0;
  std::uint64_t malformed = 0;  // Malformed and TooManyHeaders
};

class WireSensor final : public PacketSink {
 public:
  WireSensor(TrackerSettings settings, WireSink& sink);
  void on_packet(const CapturedPacket& packet) override;
  // Idle connections are expired every kExpireEvery frames; call this too when the capture is quiet.
  void expire(core::Time now) { tracker_.expire(now); }

  const DecodeStats& decode_stats() const { return decode_; }
  const WireStats& stats() const { return tracker_.stats(); }

  static constexpr std::uint64_t kExpireEvery = 4096;

 private:
  ConnectionTracker tracker_;
  WireSink& sink_;
  DecodeStats decode_;
};

}  // namespace strikeout::wire
