#include "wire/packet.hpp"

#include <array>

namespace strikeout::wire {

namespace {

using Bytes = std::span<const std::uint8_t>;

std::uint16_t be16(Bytes b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
std::uint32_t be32(Bytes b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) |
         std::uint32_t{b[at + 3]};
}

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86DD;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88A8;
constexpr std::uint8_t kProtoTcp = 6;
// Everything on a loopback device was sent by this host: the kernel never receives a packet from
// outside on it. (libpcap's `any` shows only the received copy of loopback traffic, so without this
// a reply to a local client would look received.)
constexpr std::uint16_t kArphrdLoopback = 772;

// Linux's sll_pkttype values (linux/if_packet.h).
Direction direction_of(std::uint8_t pkttype) {
  switch (pkttype) {
    case 4:
      return Direction::Outgoing;  // PACKET_OUTGOING
    case 0:
    case 1:
    case 2:
    case 3:
      return Direction::Inbound;  // HOST, BROADCAST, MULTICAST, OTHERHOST
    default:
      return Direction::Unknown;  // loopback copies etc.
  }
}

DecodeStatus by_ethertype(std::uint16_t type, Bytes rest, TcpSegment& s) {
  if (type != kEtherIpv4 && type != kEtherIpv6) return DecodeStatus::NotTcp;
  const DecodeStatus st = decode_ip(rest, s);
  // The ethertype must agree with the IP version nibble: a mismatch is a crafted frame.
  if (st == DecodeStatus::Tcp && (type == kEtherIpv4) != s.source.is_v4()) return DecodeStatus::Malformed;
  return st;
}

DecodeStatus decode_tcp(Bytes tcp, TcpSegment& s) {
  if (tcp.size() < 20) return DecodeStatus::Truncated;
  const std::size_t offset = static_cast<std::size_t>(tcp[12] >> 4) * 4;
  if (offset < 20) return DecodeStatus::Malformed;
  if (offset > tcp.size()) return DecodeStatus::Truncated;
  s.source_port = be16(tcp, 0);
  s.destination_port = be16(tcp, 2);
  s.seq = be32(tcp, 4);
  s.ack = be32(tcp, 8);
  s.flags = tcp[13];
  s.payload = tcp.subspan(offset);
  return DecodeStatus::Tcp;
}

DecodeStatus decode_ipv4(Bytes p, TcpSegment& s) {
  if (p.size() < 20) return DecodeStatus::Truncated;
  const std::size_t ihl = static_cast<std::size_t>(p[0] & 0x0f) * 4;
  if (ihl < 20) return DecodeStatus::Malformed;
  const std::size_t total = be16(p, 2);
  if (total < ihl) return DecodeStatus::Malformed;
  // A capture with segmentation offload can record a "super packet" whose total length field is 0
  // (TSO over 64 KiB); then the captured length is all we have.
  const std::size_t length = total == 0 ? p.size() : total;
  if (length > p.size()) return DecodeStatus::Truncated;
  if (ihl > length) return DecodeStatus::Truncated;
  const std::uint16_t frag = be16(p, 6);
  if ((frag & 0x2000) != 0 || (frag & 0x1fff) != 0) return DecodeStatus::Fragment;
  if (p[9] != kProtoTcp) return DecodeStatus::NotTcp;
  s.source = core::Address::from_v4(be32(p, 12));
  s.destination = core::Address::from_v4(be32(p, 16));
  return decode_tcp(p.subspan(ihl, length - ihl), s);
}

DecodeStatus decode_ipv6(Bytes p, TcpSegment& s) {
  if (p.size() < 40) return DecodeStatus::Truncated;
  const std::size_t payload_length = be16(p, 4);
  // Payload length 0 is a jumbogram (or a TSO super packet): take what was captured.
  const std::size_t end = payload_length == 0 ? p.size() : 40 + payload_length;
  if (end > p.size()) return DecodeStatus::Truncated;
  core::Address::Bytes src{};
  core::Address::Bytes dst{};
  for (std::size_t i = 0; i < 16; ++i) {
    src[i] = p[8 + i];
    dst[i] = p[24 + i];
  }
  std::uint8_t next = p[6];
  std::size_t at = 40;
  for (std::size_t n = 0;; ++n) {
    if (next == kProtoTcp) break;
    if (n == kMaxIpv6Extensions) return DecodeStatus::TooManyHeaders;
    switch (next) {
      case 0:     // hop-by-hop options
      case 43:    // routing
      case 60: {  // destination options
        if (at + 8 > end) return DecodeStatus::Truncated;
        const std::size_t len = (std::size_t{p[at + 1]} + 1) * 8;
        if (at + len > end) return DecodeStatus::Truncated;
        next = p[at];
        at += len;
        break;
      }
      case 44: {  // fragment
        if (at + 8 > end) return DecodeStatus::Truncated;
        const std::uint16_t off = be16(p, at + 2);
        if ((off & 0xfff9) != 0) return DecodeStatus::Fragment;  // offset or more-fragments set
        next = p[at];                                            // an atomic fragment: go on
        at += 8;
        break;
      }
      case 51: {  // authentication header: length in 4-byte units, minus 2
        if (at + 8 > end) return DecodeStatus::Truncated;
        const std::size_t len = (std::size_t{p[at + 1]} + 2) * 4;
        if (at + len > end) return DecodeStatus::Truncated;
        next = p[at];
        at += len;
        break;
      }
      default:
        return DecodeStatus::NotTcp;  // ESP (encrypted), no next header, UDP, ICMPv6, ...
    }
  }
  s.source = core::Address::from_bytes(src);
  s.destination = core::Address::from_bytes(dst);
  // An IPv4-mapped address in an IPv6 header is not a real IPv6 packet: refuse it, or a crafted frame
  // could make an IPv6 packet look like one from an IPv4 client.
  if (s.source.is_v4() || s.destination.is_v4()) return DecodeStatus::Malformed;
  return decode_tcp(p.subspan(at, end - at), s);
}

}  // namespace

DecodeStatus decode_ip(Bytes packet, TcpSegment& segment) {
  if (packet.empty()) return DecodeStatus::Truncated;
  switch (packet[0] >> 4) {
    case 4:
      return decode_ipv4(packet, segment);
    case 6:
      return decode_ipv6(packet, segment);
    default:
      return DecodeStatus::NotTcp;
  }
}

DecodeStatus decode_frame(LinkType link, Bytes frame, TcpSegment& segment) {
  segment = TcpSegment{};
  switch (link) {
    case LinkType::Ethernet: {
      if (frame.size() < 14) return DecodeStatus::Truncated;
      std::uint16_t type = be16(frame, 12);
      std::size_t at = 14;
      for (std::size_t tags = 0; type == kEtherVlan || type == kEtherQinQ; ++tags) {
        if (tags == kMaxVlanTags) return DecodeStatus::TooManyHeaders;
        if (at + 4 > frame.size()) return DecodeStatus::Truncated;
        type = be16(frame, at + 2);
        at += 4;
      }
      return by_ethertype(type, frame.subspan(at), segment);
    }
    case LinkType::LinuxSll: {
      // pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
      if (frame.size() < 16) return DecodeStatus::Truncated;
      if (frame[0] != 0) return DecodeStatus::Malformed;
      const Direction dir = be16(frame, 2) == kArphrdLoopback ? Direction::Outgoing : direction_of(frame[1]);
      const DecodeStatus st = by_ethertype(be16(frame, 14), frame.subspan(16), segment);
      segment.direction = dir;
      return st;
    }
    case LinkType::LinuxSll2: {
      // protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
      if (frame.size() < 20) return DecodeStatus::Truncated;
      const Direction dir = be16(frame, 8) == kArphrdLoopback ? Direction::Outgoing : direction_of(frame[10]);
      const DecodeStatus st = by_ethertype(be16(frame, 0), frame.subspan(20), segment);
      segment.direction = dir;
      return st;
    }
    case LinkType::RawIp:
      return decode_ip(frame, segment);
    case LinkType::RawIpv4:
      if (!frame.empty() && (frame[0] >> 4) != 4) return DecodeStatus::Malformed;
      return decode_ip(frame, segment);
    case LinkType::RawIpv6:
      if (!frame.empty() && (frame[0] >> 4) != 6) return DecodeStatus::Malformed;
      return decode_ip(frame, segment);
    case LinkType::Null: {
      if (frame.size() < 4) return DecodeStatus::Truncated;
      // The family is in the writer's byte order: AF_INET is 2; AF_INET6 is 10, 24, 28 or 30.
      std::uint32_t family = std::uint32_t{frame[0]} | (std::uint32_t{frame[1]} << 8) |
                             (std::uint32_t{frame[2]} << 16) | (std::uint32_t{frame[3]} << 24);
      if ((family & 0xffff) == 0) family >>= 24;  // big-endian writer
      if (family != 2 && family != 10 && family != 24 && family != 28 && family != 30) {
        return DecodeStatus::NotTcp;
      }
      return decode_ip(frame.subspan(4), segment);
    }
  }
  return DecodeStatus::NotTcp;
}

std::string_view to_string(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::Tcp:
      return "tcp";
    case DecodeStatus::NotTcp:
      return "not-tcp";
    case DecodeStatus::Fragment:
      return "fragment";
    case DecodeStatus::Truncated:
      return "truncated";
    case DecodeStatus::Malformed:
      return "malformed";
    case DecodeStatus::TooManyHeaders:
      return "too-many-headers";
  }
  return "?";
}

std::string_view to_string(LinkType link) {
  switch (link) {
    case LinkType::Ethernet:
      return "ethernet";
    case LinkType::LinuxSll:
      return "linux-sll";
    case LinkType::LinuxSll2:
      return "linux-sll2";
    case LinkType::RawIp:
      return "raw-ip";
    case LinkType::RawIpv4:
      return "raw-ipv4";
    case LinkType::RawIpv6:
      return "raw-ipv6";
    case LinkType::Null:
      return "null";
  }
  return "?";
}

}  // namespace strikeout::wire
