// Decoding of captured frames down to one TCP segment: link layer (Ethernet with up to two VLAN tags,
// Linux cooked capture v1 and v2 as libpcap gives them for `any` and in cooked mode, raw IP, BSD
// loopback) -> IPv4 or IPv6 (extension headers followed, at most kMaxIpv6Extensions of them) -> TCP.
//
// Pure functions over bytes: no I/O, no libpcap types (the adapter maps libpcap's DLT numbers to
// LinkType). Every length is checked before it is used; anything odd discards the whole frame with a
// reason (DecodeStatus), never a crash. Checksums are NOT verified: a capture of outgoing packets on a
// host with checksum offload sees them before the NIC fills them in, so they are often "wrong".
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/address.hpp"

namespace strikeout::wire {

enum class LinkType : std::uint8_t {
  Ethernet,   // DLT_EN10MB
  LinuxSll,   // DLT_LINUX_SLL: 16-byte cooked header with the packet type (direction)
  LinuxSll2,  // DLT_LINUX_SLL2: 20-byte cooked header (libpcap >= 1.10 on `any`)
  RawIp,      // DLT_RAW / LINKTYPE_RAW: the frame starts with an IPv4 or IPv6 header
  RawIpv4,    // DLT_IPV4
  RawIpv6,    // DLT_IPV6
  Null,       // DLT_NULL / DLT_LOOP: 4-byte address family (either byte order)
};

// Where the frame went, as the capture says. Only Linux cooked headers carry it in the bytes; for the
// other link types the adapter knows it (or it is unknown, as in most capture files).
// On a loopback device (cooked header hatype ARPHRD_LOOPBACK) every frame is Outgoing: only this host
// can put packets there.
enum class Direction : std::uint8_t {
  Unknown,   // the frame does not say (Ethernet, raw IP in a capture file)
  Inbound,   // received by this host (PACKET_HOST, BROADCAST, MULTICAST, OTHERHOST)
  Outgoing,  // sent by this host (PACKET_OUTGOING)
};

// TCP header flags we use.
inline constexpr std::uint8_t kTcpFin = 0x01;
inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpRst = 0x04;
inline constexpr std::uint8_t kTcpAck = 0x10;

// One TCP segment. `payload` points into the frame handed to decode_frame().
struct TcpSegment {
  core::Address source{};
  core::Address destination{};
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
  Direction direction = Direction::Unknown;  // from the link header when it says
  std::span<const std::uint8_t> payload{};
};

enum class DecodeStatus : std::uint8_t {
  Tcp,             // `segment` is filled in
  NotTcp,          // a well-formed frame of another protocol (ARP, UDP, ICMP, ...): not ours
  Fragment,        // an IP fragment: not reassembled (SMTP replies are never fragmented in practice)
  Truncated,       // the frame ends inside a header (snap length too small, or garbage)
  Malformed,       // a header field is impossible (IHL < 5, TCP data offset < 5, length mismatch)
  TooManyHeaders,  // more IPv6 extension headers (or VLAN tags) than we follow
};

inline constexpr std::size_t kMaxIpv6Extensions = 8;
inline constexpr std::size_t kMaxVlanTags = 2;

// Decodes one captured frame of the given link type. Accepts exactly the stacks listed at the top;
// refuses (with the status saying why) everything else. On Tcp, `segment` is filled in and its
// payload is bounded by the IP header's own length (Ethernet padding is not payload).
DecodeStatus decode_frame(LinkType link, std::span<const std::uint8_t> frame, TcpSegment& segment);

// Decodes an IPv4 or IPv6 packet (by its version nibble).
DecodeStatus decode_ip(std::span<const std::uint8_t> packet, TcpSegment& segment);

std::string_view to_string(DecodeStatus status);
std::string_view to_string(LinkType link);

}  // namespace strikeout::wire
