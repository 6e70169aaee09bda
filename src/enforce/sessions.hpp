// Ends the open TCP sessions of newly banned sources at once, through NETLINK_SOCK_DIAG's
// SOCK_DESTROY (what `ss -K` does). Needs CONFIG_INET_DIAG_DESTROY in the kernel (Debian 12 has it)
// and CAP_NET_ADMIN. Without it the ban still stops every packet of the session (see
// docs/enforcement.md); the server's socket then lingers until its own timeout.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/address.hpp"

namespace strikeout::enforce {

struct SessionsEnded {
  std::uint64_t ended = 0;   // sockets destroyed
  std::uint64_t failed = 0;  // sockets found but not destroyed
  std::string error;         // why (the first failure), empty when none
};

// Destroys every TCP socket, IPv4 and IPv6 (IPv4-mapped peers included), whose local port is one of
// `ports` and whose peer address is inside one of `sources`. Listening and TIME_WAIT sockets are
// never touched. Accepts any number of sources; a host prefix is looked up in a hash table, other
// prefixes are tested one by one.
SessionsEnded end_sessions(std::span<const core::Prefix> sources, std::span<const std::uint16_t> ports);

}  // namespace strikeout::enforce
