// Addresses and networks written straight into an output buffer, in exactly the canonical text of
// core::Address::to_string() and core::Prefix::to_string() (dotted quad for IPv4 and IPv4-mapped
// IPv6, RFC 5952 as glibc's inet_ntop writes it for IPv6, "/LEN" after a network). For writers that
// print one per line (replay's JSON): no temporary string, and no sprintf per IPv6 group.
#pragma once

#include <cstddef>

#include "core/address.hpp"

namespace strikeout::report {

// Longest text write_prefix() can produce: a 45-character IPv6 address, "/", three digits.
inline constexpr std::size_t kMaxPrefixText = 49;

// Writes `address` at `out` (room for kMaxPrefixText bytes); returns the end.
char* write_address(char* out, const core::Address& address);
// Writes `prefix` at `out` (room for kMaxPrefixText bytes): the bare address for a host prefix,
// else "ADDR/LEN"; returns the end.
char* write_prefix(char* out, const core::Prefix& prefix);

}  // namespace strikeout::report
