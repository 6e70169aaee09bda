#include "enforce/nflog.hpp"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>

#include <cstring>

namespace strikeout::enforce {
namespace {

constexpr std::size_t align4(std::size_t n) {
  return (n + 3U) & ~std::size_t{3};
}
constexpr std::size_t kAttrHeader = sizeof(nlattr);

std::uint16_t load16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::optional<LoggedPacket> parse_ip(std::span<const std::uint8_t> pkt) {
  if (pkt.empty()) return std::nullopt;
  LoggedPacket out;
  const unsigned version = pkt[0] >> 4;
  std::size_t l4 = 0;
  bool tcp = false;
  if (version == 4) {
    if (pkt.size() < 20) return std::nullopt;
    const std::size_t ihl = (pkt[0] & 0x0fU) * 4U;
    if (ihl < 20) return std::nullopt;
    out.source = core::Address::from_v4(static_cast<std::uint32_t>(pkt[12]) << 24 |
                                        static_cast<std::uint32_t>(pkt[13]) << 16 |
                                        static_cast<std::uint32_t>(pkt[14]) << 8 | pkt[15]);
    // Only the first fragment carries the TCP header.
    tcp = pkt[9] == 6 && (load16(&pkt[6]) & 0x1fffU) == 0;
    l4 = ihl;
  } else if (version == 6) {
    if (pkt.size() < 40) return std::nullopt;
    core::Address::Bytes b{};
    std::memcpy(b.data(), &pkt[8], 16);
    out.source = core::Address::from_bytes(b);
    tcp = pkt[6] == 6;  // extension headers: the port stays unknown
    l4 = 40;
  } else {
    return std::nullopt;
  }
  if (tcp && pkt.size() >= l4 + 4) out.destination_port = load16(&pkt[l4 + 2]);
  return out;
}

}  // namespace

std::optional<LoggedPacket> parse_nflog_packet(std::span<const std::uint8_t> message) {
  nlmsghdr h{};
  if (message.size() < sizeof h) return std::nullopt;
  std::memcpy(&h, message.data(), sizeof h);
  if (h.nlmsg_len < align4(sizeof(nlmsghdr)) + sizeof(nfgenmsg) || h.nlmsg_len > message.size())
    return std::nullopt;
  if (h.nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)) return std::nullopt;
  std::size_t off = align4(sizeof(nlmsghdr)) + align4(sizeof(nfgenmsg));
  const std::size_t end = h.nlmsg_len;
  while (off + sizeof(nlattr) <= end) {
    nlattr a{};
    std::memcpy(&a, message.data() + off, sizeof a);
    if (a.nla_len < sizeof a || off + a.nla_len > end) return std::nullopt;
    if ((a.nla_type & NLA_TYPE_MASK) == NFULA_PAYLOAD)
      return parse_ip(message.subspan(off + kAttrHeader, a.nla_len - kAttrHeader));
    off += align4(a.nla_len);
  }
  return std::nullopt;
}

}  // namespace strikeout::enforce
