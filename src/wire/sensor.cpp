#include "wire/sensor.hpp"

namespace strikeout::wire {

WireSensor::WireSensor(TrackerSettings settings, WireSink& sink)
    : tracker_(std::move(settings)), sink_(sink) {}

void WireSensor::on_packet(const CapturedPacket& packet) {
  ++decode_.frames;
  TcpSegment segment;
  switch (decode_frame(packet.link, packet.bytes, segment)) {
    case DecodeStatus::Tcp:
      ++decode_.tcp;
      tracker_.on_segment(segment, packet.time, sink_);
      break;
    case DecodeStatus::NotTcp:
      ++decode_.not_tcp;
      break;
    case DecodeStatus::Fragment:
      ++decode_.fragments;
      break;
    case DecodeStatus::Truncated:
      ++decode_.truncated;
      break;
    case DecodeStatus::Malformed:
    case DecodeStatus::TooManyHeaders:
      ++decode_.malformed;
      break;
  }
  if (decode_.frames % kExpireEvery == 0) tracker_.expire(packet.time);
}

}  // namespace strikeout::wire
