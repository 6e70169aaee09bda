// The host's own addresses, which go on the kernel allowlist by default so that a ban can never shut
// the mail server out of itself (a local client relaying through 127.0.0.1, a monitoring probe).
#pragma once

#include <string>
#include <vector>

#include "core/address.hpp"

namespace strikeout::enforce {

// Every IPv4 and IPv6 address configured on an interface of this network namespace (host prefixes),
// plus 127.0.0.0/8 and ::1. On failure returns the loopback prefixes and fills `error`.
std::vector<core::Prefix> host_addresses(std::string& error);

}  // namespace strikeout::enforce
