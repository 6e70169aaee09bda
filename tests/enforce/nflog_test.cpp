// The NFLOG parser reads packets an attacker wrote: it must refuse every truncation.
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "enforce/nflog.hpp"

namespace strikeout::enforce {
namespace {

// A netlink NFULNL_MSG_PACKET message whose NFULA_PAYLOAD is `packet`.
std::vector<std::uint8_t> message(const std::vector<std::uint8_t>& packet) {
  std::vector<std::uint8_t> m(16 + 4, 0);
  nlattr a{};
  a.nla_len = static_cast<std::uint16_t>(4 + packet.size());
  a.nla_type = NFULA_PAYLOAD;
  m.resize(m.size() + 4);
  std::memcpy(&m[20], &a, 4);
  m.insert(m.end(), packet.begin(), packet.end());
  while (m.size() % 4 != 0) m.push_back(0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<std::uint32_t>(m.size());
  h.nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
  std::memcpy(m.data(), &h, sizeof h);
  return m;
}

std::vector<std::uint8_t> ipv4_syn(std::uint16_t dport) {
  std::vector<std::uint8_t> p(40, 0);
  p[0] = 0x45;
  p[9] = 6;
  p[12] = 203;
  p[13] = 0;
  p[14] = 113;
  p[15] = 7;
  p[20 + 2] = static_cast<std::uint8_t>(dport >> 8);
  p[20 + 3] = static_cast<std::uint8_t>(dport);
  return p;
}

TEST(NflogPacket, ReadsSourceAndPortOfAnIpv4Syn) {
  const auto got = parse_nflog_packet(message(ipv4_syn(587)));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->source.to_string(), "203.0.113.7");
  EXPECT_EQ(got->destination_port, 587);
}

TEST(NflogPacket, ReadsAnIpv6Source) {
  std::vector<std::uint8_t> p(44, 0);
  p[0] = 0x60;
  p[6] = 6;
  p[8] = 0x20;
  p[9] = 0x01;
  p[10] = 0x0d;
  p[11] = 0xb8;
  p[23] = 7;
  p[42] = 0;
  p[43] = 25;
  const auto got = parse_nflog_packet(message(p));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->source.to_string(), "2001:db8::7");
  EXPECT_EQ(got->destination_port, 25);
}

TEST(NflogPacket, RefusesEveryTruncation) {
  const auto full = message(ipv4_syn(25));
  for (std::size_t n = 0; n < 16 + 4 + 4 + 20; ++n) {
    auto cut = std::vector<std::uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(parse_nflog_packet(cut)) << n;
  }
  // A header claiming more than there is.
  auto lying = full;
  lying[0] = 0xff;
  EXPECT_FALSE(parse_nflog_packet(lying));
  // An IP header shorter than 20 bytes, and IP version 5.
  auto short_ihl = ipv4_syn(25);
  short_ihl[0] = 0x44;
  EXPECT_FALSE(parse_nflog_packet(message(short_ihl)));
  auto v5 = ipv4_syn(25);
  v5[0] = 0x55;
  EXPECT_FALSE(parse_nflog_packet(message(v5)));
}

TEST(NflogPacket, PortUnknownWhenTheTcpHeaderIsCutOff) {
  auto p = ipv4_syn(25);
  p.resize(21);
  const auto got = parse_nflog_packet(message(p));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->destination_port, 0);
}

}  // namespace
}  // namespace strikeout::enforce
