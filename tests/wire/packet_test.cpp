// The frame decoder: every link type and IP version we accept, and refusals for what we do not.
#include <gtest/gtest.h>

#include <deque>

#include "frame_builder.hpp"
#include "wire/base64.hpp"
#include "wire/packet.hpp"

namespace strikeout::wire {
namespace {

using testing::Frame;
using testing::Segment;

const core::Address kClient4 = *core::Address::parse("203.0.113.7");
const core::Address kServer4 = *core::Address::parse("192.0.2.25");
const core::Address kClient6 = *core::Address::parse("2001:db8::7");
const core::Address kServer6 = *core::Address::parse("2001:db8::25");

Segment reply4() {
  return Segment{kServer4, kClient4, 587, 40000, 111, 222, kTcpAck, "535 5.7.8 no\r\n"};
}

// Frames outlive the segments decoded from them (a segment's payload points into its frame).
const Frame& hold(Frame f) {
  static std::deque<Frame> frames;  // a deque: references stay valid as it grows
  frames.push_back(std::move(f));
  return frames.back();
}

std::string payload_of(const TcpSegment& s) {
  return {reinterpret_cast<const char*>(s.payload.data()), s.payload.size()};
}

TEST(FrameDecoder, EthernetIpv4) {
  TcpSegment s;
  ASSERT_EQ(decode_frame(LinkType::Ethernet, hold(testing::ethernet(testing::ip_packet(reply4()))), s),
            DecodeStatus::Tcp);
  EXPECT_EQ(s.source, kServer4);
  EXPECT_EQ(s.destination, kClient4);
  EXPECT_EQ(s.source_port, 587);
  EXPECT_EQ(s.destination_port, 40000);
  EXPECT_EQ(s.seq, 111U);
  EXPECT_EQ(s.ack, 222U);
  EXPECT_EQ(s.flags, kTcpAck);
  EXPECT_EQ(s.direction, Direction::Unknown);
  EXPECT_EQ(payload_of(s), "535 5.7.8 no\r\n");
}

TEST(FrameDecoder, EthernetPaddingIsNotPayload) {
  Segment seg = reply4();
  seg.payload = "";
  Frame f = testing::ethernet(testing::ip_packet(seg));
  f.resize(60, 0xAA);  // minimum Ethernet frame: padded
  TcpSegment s;
  ASSERT_EQ(decode_frame(LinkType::Ethernet, f, s), DecodeStatus::Tcp);
  EXPECT_TRUE(s.payload.empty());
}

TEST(FrameDecoder, VlanTag) {
  TcpSegment s;
  ASSERT_EQ(decode_frame(LinkType::Ethernet, hold(testing::ethernet(testing::ip_packet(reply4()), true)), s),
            DecodeStatus::Tcp);
  EXPECT_EQ(payload_of(s), "535 5.7.8 no\r\n");
}

TEST(FrameDecoder, CookedHeadersCarryDirection) {
  TcpSegment s;
  ASSERT_EQ(decode_frame(LinkType::LinuxSll, hold(testing::sll(testing::ip_packet(reply4()), 4)), s),
            DecodeStatus::Tcp);
  EXPECT_EQ(s.direction, Direction::Outgoing);
  ASSERT_EQ(decode_frame(LinkType::LinuxSll, hold(testing::sll(testing::ip_packet(reply4()), 0)), s),
            DecodeStatus::Tcp);
  EXPECT_EQ(s.direction, Direction::Inbound);
  ASSERT_EQ(decode_frame(LinkType::LinuxSll2, hold(testing::sll2(testing::ip_packet(reply4()), 4)), s),
            DecodeStatus::Tcp);
  EXPECT_EQ(s.direction, Direction::Outgoing);
  EXPECT_EQ(payload_of(s), "535 5.7.8 no\r\n");
  ASSERT_EQ(decode_frame(LinkType::LinuxSll2, hold(testing::sll2(testing::ip_packet(reply4()), 3)), s),
            DecodeStatus::Tcp);
  EXPECT_EQ(s.direction, Direction::Inbound);  // PACKET_OTHERHOST: not sent by us
}

TEST(FrameDecoder, Ipv6WithExtensionHeaders) {
  Segment seg{kServer6, kClient6, 25, 50000, 1, 2, kTcpAck, "535 no\r\n"};
  TcpSegment s;
  ASSERT_EQ(decode_frame(LinkType::RawIp, hold(testing::ip_packet(seg, 3)), s), DecodeStatus::Tcp);
  EXPECT_EQ(s.source, kServer6);
  EXPECT_EQ(payload_of(s), "535 no\r\n");
  ASSERT_EQ(decode_frame(LinkType::RawIpv6, hold(testing::ip_packet(seg)), s), DecodeStatus::Tcp);
  // More extension headers than we follow: refused, not looped over.
  EXPECT_EQ(decode_frame(LinkType::RawIp, hold(testing::ip_packet(seg, kMaxIpv6Extensions + 1)), s),
            DecodeStatus::TooManyHeaders);
}

TEST(FrameDecoder, RefusesIpv4MappedAddressesInIpv6) {
  Segment seg{kServer6, kClient6, 25, 50000, 1, 2, kTcpAck, "x"};
  Frame f = testing::ip_packet(seg);
  // Source ::ffff:203.0.113.7
  for (int i = 0; i < 10; ++i) f[8 + static_cast<std::size_t>(i)] = 0;
  f[18] = 0xff;
  f[19] = 0xff;
  TcpSegment s;
  EXPECT_EQ(decode_frame(LinkType::RawIp, f, s), DecodeStatus::Malformed);
}

TEST(FrameDecoder, EthertypeMustMatchIpVersion) {
  Frame f = testing::ethernet(testing::ip_packet(reply4()));
  f[12] = 0x86;
  f[13] = 0xDD;
  TcpSegment s;
  EXPECT_EQ(decode_frame(LinkType::Ethernet, f, s), DecodeStatus::Malformed);
}

TEST(FrameDecoder, Fragments) {
  Frame ip = testing::ip_packet(reply4());
  ip[6] = 0x20;  // more fragments
  TcpSegment s;
  EXPECT_EQ(decode_frame(LinkType::RawIp, ip, s), DecodeStatus::Fragment);
  ip[6] = 0x00;
  ip[7] = 0x10;  // offset
  EXPECT_EQ(decode_frame(LinkType::RawIp, ip, s), DecodeStatus::Fragment);
}

TEST(FrameDecoder, ImpossibleHeaderLengths) {
  Frame ip = testing::ip_packet(reply4());
  ip[0] = 0x44;  // IHL 4
  TcpSegment s;
  EXPECT_EQ(decode_frame(LinkType::RawIp, ip, s), DecodeStatus::Malformed);
  ip = testing::ip_packet(reply4());
  ip[20 + 12] = 0x40;  // TCP data offset 4
  EXPECT_EQ(decode_frame(LinkType::RawIp, ip, s), DecodeStatus::Malformed);
  ip = testing::ip_packet(reply4());
  ip[20 + 12] = 0xF0;  // TCP data offset 60: past the end
  EXPECT_EQ(decode_frame(LinkType::RawIp, ip, s), DecodeStatus::Truncated);
}

TEST(FrameDecoder, EveryTruncationIsRefused) {
  for (const Frame& full :
       {testing::ethernet(testing::ip_packet(reply4()), true),
        testing::sll2(testing::ip_packet(Segment{kServer6, kClient6, 25, 5, 1, 2, kTcpAck, "535 x\r\n"}, 2),
                      4)}) {
    for (std::size_t n = 0; n < full.size(); ++n) {
      TcpSegment s;
      const Frame cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_NE(decode_frame(full[0] == 0x02 ? LinkType::Ethernet : LinkType::LinuxSll2, cut, s),
                DecodeStatus::Tcp)
          << "cut at " << n;
    }
  }
}

TEST(FrameDecoder, NotTcp) {
  Frame ip = testing::ip_packet(reply4());
  ip[9] = 17;  // UDP
  TcpSegment s;
  EXPECT_EQ(decode_frame(LinkType::RawIp, ip, s), DecodeStatus::NotTcp);
  Frame arp = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x06, 0, 1};
  EXPECT_EQ(decode_frame(LinkType::Ethernet, arp, s), DecodeStatus::NotTcp);
}

TEST(FrameDecoder, BsdLoopback) {
  Frame f = {2, 0, 0, 0};
  const Frame ip = testing::ip_packet(reply4());
  f.insert(f.end(), ip.begin(), ip.end());
  TcpSegment s;
  EXPECT_EQ(decode_frame(LinkType::Null, f, s), DecodeStatus::Tcp);
}

TEST(Base64, DecodesAndRefuses) {
  char out[64];
  std::size_t n = 0;
  ASSERT_TRUE(decode_base64("YWxpY2U=", out, sizeof out, n));
  EXPECT_EQ(std::string(out, n), "alice");
  ASSERT_TRUE(decode_base64("AGJvYgBzZWNyZXQ=", out, sizeof out, n));
  EXPECT_EQ(std::string(out, n), std::string("\0bob\0secret", 11));
  ASSERT_TRUE(decode_base64("", out, sizeof out, n));
  EXPECT_EQ(n, 0U);
  EXPECT_FALSE(decode_base64("YW=xpY2U", out, sizeof out, n));  // padding inside
  EXPECT_FALSE(decode_base64("YWxpY", out, sizeof out, n));     // 4n+1 characters
  EXPECT_FALSE(decode_base64("YWx*Y2U=", out, sizeof out, n));  // not the alphabet
  EXPECT_FALSE(decode_base64("YWxpY2U=", out, 3, n));           // does not fit
}

}  // namespace
}  // namespace strikeout::wire

namespace strikeout::wire {
namespace {

// libpcap's `any` shows loopback traffic only as received; on a loopback device everything was sent by
// this host, so the decoder says Outgoing whatever the packet type.
TEST(FrameDecoder, LoopbackFramesAreSentByThisHost) {
  const core::Address a = *core::Address::parse("127.0.0.1");
  const core::Address b = *core::Address::parse("127.0.0.2");
  testing::Frame f =
      testing::sll2(testing::ip_packet(testing::Segment{a, b, 587, 40000, 1, 2, kTcpAck, "535 x\r\n"}), 0);
  f[8] = 0x03;  // hatype 772 = ARPHRD_LOOPBACK
  f[9] = 0x04;
  TcpSegment s;
  ASSERT_EQ(decode_frame(LinkType::LinuxSll2, f, s), DecodeStatus::Tcp);
  EXPECT_EQ(s.direction, Direction::Outgoing);
}

}  // namespace
}  // namespace strikeout::wire
