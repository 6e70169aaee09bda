// What the daemon's start-up asks of the system, apart from the parts: its log, a random hash seed,
// the nftables options the configuration implies, and giving up the privileges it no longer needs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "enforce/nft_options.hpp"

namespace strikeout::daemon {

// The daemon's log to standard error (journald takes it from there under systemd).
void setup_logging();

// 64 random bits (getrandom), for the hash tables keyed by addresses attackers choose.
std::uint64_t random_seed();

// The table, sets and rules [protect], [enforce], [allow] and the rules' prefix lengths ask for.
enforce::NftOptions firewall_options(const config::Config& cfg);

// Raises RLIMIT_NOFILE, then keeps only CAP_NET_ADMIN, CAP_DAC_READ_SEARCH and (for a wire capture)
// CAP_NET_RAW. Returns what could not be done; the daemon goes on (a non-root test run has nothing to
// drop).
std::vector<std::string> drop_privileges(bool keep_net_raw);

}  // namespace strikeout::daemon
