// Builds captured frames in memory for the wire sensor's tests, fuzz seeds and the benchmark's
// capture generator: IPv4/IPv6 TCP segments in Ethernet, Linux cooked (SLL, SLL2) or raw IP framing,
// and whole SMTP conversations with correct sequence numbers. Header-only; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.hpp"
#include "wire/packet.hpp"

namespace strikeout::wire::testing {

using Frame = std::vector<std::uint8_t>;

inline void put16(Frame& f, std::uint16_t v) {
  f.push_back(static_cast<std::uint8_t>(v >> 8));
  f.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Frame& f, std::uint32_t v) {
  put16(f, static_cast<std::uint16_t>(v >> 16));
  put16(f, static_cast<std::uint16_t>(v));
}

struct Segment {
  core::Address source;
  core::Address destination;
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = kTcpAck;
  std::string payload;
};

inline Frame tcp_bytes(const Segment& s) {
  Frame f;
  put16(f, s.source_port);
  put16(f, s.destination_port);
  put32(f, s.seq);
  put32(f, s.ack);
  f.push_back(0x50);  // data offset 5
  f.push_back(s.flags);
  put16(f, 65535);
  put16(f, 0);  // checksum (not checked)
  put16(f, 0);
  f.insert(f.end(), s.payload.begin(), s.payload.end());
  return f;
}

// An IPv4 or IPv6 packet (by the source address's family) carrying the segment.
inline Frame ip_packet(const Segment& s, std::uint8_t ipv6_extension_headers = 0) {
  const Frame tcp = tcp_bytes(s);
  Frame f;
  if (s.source.is_v4()) {
    f.push_back(0x45);
    f.push_back(0);
    put16(f, static_cast<std::uint16_t>(20 + tcp.size()));
    put16(f, 0x1234);
    put16(f, 0x4000);  // don't fragment
    f.push_back(64);
    f.push_back(6);
    put16(f, 0);
    put32(f, s.source.v4());
    put32(f, s.destination.v4());
  } else {
    f.push_back(0x60);
    f.push_back(0);
    put16(f, 0);
    put16(f, static_cast<std::uint16_t>(tcp.size() + 8U * ipv6_extension_headers));
    f.push_back(ipv6_extension_headers > 0 ? 60 : 6);  // destination options, or TCP
    f.push_back(64);
    for (auto b : s.source.bytes()) f.push_back(b);
    for (auto b : s.destination.bytes()) f.push_back(b);
    for (std::uint8_t i = 0; i < ipv6_extension_headers; ++i) {
      f.push_back(i + 1 == ipv6_extension_headers ? 6 : 60);
      f.push_back(0);                                           // 8 bytes
      for (int k = 0; k < 6; ++k) f.push_back(k == 0 ? 1 : 0);  // PadN
    }
  }
  f.insert(f.end(), tcp.begin(), tcp.end());
  return f;
}

inline Frame ethernet(const Frame& ip, bool vlan = false) {
  Frame f = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
  if (vlan) {
    put16(f, 0x8100);
    put16(f, 42);
  }
  put16(f, (ip[0] >> 4) == 4 ? 0x0800 : 0x86DD);
  f.insert(f.end(), ip.begin(), ip.end());
  return f;
}

// Linux cooked v1; pkttype 4 = PACKET_OUTGOING (sent by this host), 0 = PACKET_HOST (received).
inline Frame sll(const Frame& ip, std::uint8_t pkttype) {
  Frame f;
  put16(f, pkttype);
  put16(f, 1);  // ARPHRD_ETHER
  put16(f, 6);
  for (int i = 0; i < 8; ++i) f.push_back(i < 6 ? 2 : 0);
  put16(f, (ip[0] >> 4) == 4 ? 0x0800 : 0x86DD);
  f.insert(f.end(), ip.begin(), ip.end());
  return f;
}

inline Frame sll2(const Frame& ip, std::uint8_t pkttype) {
  Frame f;
  put16(f, (ip[0] >> 4) == 4 ? 0x0800 : 0x86DD);
  put16(f, 0);
  put32(f, 2);  // ifindex
  put16(f, 1);
  f.push_back(pkttype);
  f.push_back(6);
  for (int i = 0; i < 8; ++i) f.push_back(i < 6 ? 2 : 0);
  f.insert(f.end(), ip.begin(), ip.end());
  return f;
}

// One TCP connection between a client and the server, producing segments with running sequence
// numbers in both directions, as a capture on the server would see them.
class Conversation {
 public:
  Conversation(core::Address client, std::uint16_t client_port, core::Address server,
               std::uint16_t server_port, std::uint32_t client_isn = 1000, std::uint32_t server_isn = 500000)
      : client_(client),
        server_(server),
        client_port_(client_port),
        server_port_(server_port),
        client_next_(client_isn),
        server_next_(server_isn) {}

  Segment syn() { return client({}, kTcpSyn, 1); }
  Segment syn_ack() { return server({}, kTcpSyn | kTcpAck, 1); }
  Segment ack() { return client({}, kTcpAck, 0); }
  // The next bytes of each direction (the sequence numbers advance).
  Segment client(std::string payload, std::uint8_t flags = kTcpAck, std::uint32_t extra = 0) {
    Segment s{client_,      server_,      client_port_, server_port_,
              client_next_, server_next_, flags,        std::move(payload)};
    client_next_ += static_cast<std::uint32_t>(s.payload.size()) + extra;
    return s;
  }
  Segment server(std::string payload, std::uint8_t flags = kTcpAck, std::uint32_t extra = 0) {
    Segment s{server_,      client_,      server_port_, client_port_,
              server_next_, client_next_, flags,        std::move(payload)};
    server_next_ += static_cast<std::uint32_t>(s.payload.size()) + extra;
    return s;
  }
  Segment client_fin() { return client({}, kTcpFin | kTcpAck, 1); }
  Segment server_fin() { return server({}, kTcpFin | kTcpAck, 1); }

 private:
  core::Address client_;
  core::Address server_;
  std::uint16_t client_port_;
  std::uint16_t server_port_;
  std::uint32_t client_next_;
  std::uint32_t server_next_;
};

// "alice" -> base64 of "\0alice\0password" (AUTH PLAIN's response).
inline std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(in[i + 1])} << 8) |
                            std::uint32_t{static_cast<unsigned char>(in[i + 2])};
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(v >> (6 * k)) & 63]);
  }
  if (i + 1 == in.size()) {
    const std::uint32_t v = std::uint32_t{static_cast<unsigned char>(in[i])} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (i + 2 == in.size()) {
    const std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(in[i + 1])} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out += '=';
  }
  return out;
}

inline std::string plain_response(std::string_view user, std::string_view password) {
  std::string raw;
  raw += '\0';
  raw += user;
  raw += '\0';
  raw += password;
  return base64(raw);
}

}  // namespace strikeout::wire::testing
