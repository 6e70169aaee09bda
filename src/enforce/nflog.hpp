// Reads the connection-rate limit's hits from NFLOG messages. The packet inside comes from the
// network (attacker-chosen bytes), so this parser checks every length before use and is a fuzz target
// (fuzz/targets/enforce.cmake).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "core/address.hpp"

namespace strikeout::enforce {

struct LoggedPacket {
  core::Address source{};
  std::uint16_t destination_port = 0;  // 0 when the packet is not TCP or too short to say
};

// Accepts one netlink message (header included) of type NFULNL_MSG_PACKET whose NFULA_PAYLOAD holds
// an IPv4 or IPv6 packet; refuses (nullopt) anything else: another message type, a truncated header
// or attribute, a payload too short for its IP header, an IP version other than 4 or 6.
std::optional<LoggedPacket> parse_nflog_packet(std::span<const std::uint8_t> message);

}  // namespace strikeout::enforce
