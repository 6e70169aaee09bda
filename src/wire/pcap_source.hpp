// PacketSource adapters over libpcap: live capture on Linux AF_PACKET, and pcap / pcapng files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wire/packet_source.hpp"

namespace strikeout::wire {

struct LiveCaptureOptions {
  std::string interface = "any";                   // an interface name, or "any" for all of them
  std::vector<std::uint16_t> ports{25, 465, 587};  // the server's SMTP ports (the BPF filter's)
  int buffer_bytes = 8 << 20;                      // kernel ring/buffer size (pcap_set_buffer_size)
  int snap_length = 262'144;                       // bytes kept per frame: whole segments, so no line is lost
};

// The BPF filter the live capture installs, in tcpdump syntax: segments to or from the ports that
// carry payload, plus SYN, FIN and RST (the tracker needs them for connection state). Everything
// else (pure ACKs, other ports) stays in the kernel.
std::string capture_filter(const std::vector<std::uint16_t>& ports);

// Opens a live capture: immediate mode (each frame is delivered as it comes, not when a buffer
// fills), non-blocking, on libpcap's `any` device in Linux cooked mode v2 (SLL2) so every frame says
// whether this host sent or received it (libpcap offers cooked mode on `any` only: a named interface
// is selected with an `ifindex` filter resolved at open), and the filter above compiled in the
// kernel. Needs CAP_NET_RAW. Returns nullptr with `error` naming the interface and the reason (no
// such interface, permission, libpcap too old for SLL2).
std::unique_ptr<PacketSource> open_live_capture(const LiveCaptureOptions& options, std::string& error);

// Opens a pcap or pcapng file ("-" for standard input). Frames keep the file's own timestamps.
// Returns nullptr with `error` naming the file and what is wrong (missing, not a capture, a link type
// the decoder does not know).
std::unique_ptr<PacketSource> open_capture_file(const std::string& path, std::string& error);

}  // namespace strikeout::wire
