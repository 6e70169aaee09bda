// Where the wire sensor's packets come from: a narrow interface over live capture (libpcap on
// AF_PACKET) and capture files, so the daemon's event loop, replay and tests drive the same sensor.
//
// A source has no threads and no callbacks of its own. A live source exposes a pollable file
// descriptor; the loop waits for it to be readable and calls read(), which never blocks and hands
// up to `max_packets` captured frames to a PacketSink. A file source has no descriptor (fd() is -1):
// call read() until it says `finished`.
//
// Pure declarations: nothing here reads a clock or makes a system call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/time.hpp"
#include "wire/packet.hpp"

namespace strikeout::wire {

// One captured frame. The bytes are valid only during PacketSink::on_packet().
struct CapturedPacket {
  core::Time time{};  // the capture's own timestamp (a file's: when it was recorded)
  LinkType link = LinkType::Ethernet;
  std::span<const std::uint8_t> bytes{};  // what was captured (at most the snap length)
  std::uint32_t wire_length = 0;          // the frame's length on the wire (>= bytes.size())
};

class PacketSink {
 public:
  virtual ~PacketSink() = default;
  virtual void on_packet(const CapturedPacket& packet) = 0;
};

struct CaptureStats {
  std::uint64_t packets = 0;    // frames delivered to the sink
  std::uint64_t bytes = 0;      // captured bytes delivered
  std::uint64_t truncated = 0;  // frames cut at the snap length
  std::uint64_t dropped = 0;    // live: frames the kernel dropped (buffer full), from pcap_stats
  std::uint64_t errors = 0;     // failed reads
};

struct PacketReadResult {
  std::size_t delivered = 0;  // frames handed to the sink in this call
  bool more = false;          // the budget ran out with input left: call read() again soon
  bool finished = false;      // a file ended (or a live capture's interface went away)
  std::string error;          // non-empty: what failed, naming the interface or file
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  // "any", "eth0", or the capture file's path: for reports.
  virtual const std::string& name() const = 0;
  // Readable when read() has something to do; -1 for a file (read until finished).
  virtual int fd() const = 0;
  // Delivers up to `max_packets` frames in capture order. Never blocks.
  virtual PacketReadResult read(PacketSink& sink, std::size_t max_packets) = 0;
  virtual const CaptureStats& stats() const = 0;
};

}  // namespace strikeout::wire
