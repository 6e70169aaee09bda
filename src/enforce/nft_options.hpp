// How the nftables enforcer sets up its table. Built by the configuration loader (`[enforce]`) or by
// tests; validate() says everything that is wrong at once. See docs/enforcement.md for the table.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/address.hpp"

namespace strikeout::enforce {

enum class BanVerdict : std::uint8_t {
  Reject,  // answer every packet with a TCP reset: the client learns at once that it is shut out
  Drop,    // answer nothing: the client waits for its own timeouts
};

struct RateLimitOptions {
  bool enabled = true;
  std::uint32_t connections = 6;   // new connections ...
  std::chrono::seconds per{60};    // ... per this period (1s, 1m, 1h or 1d: nftables' units)
  std::uint32_t burst = 5;         // connections a quiet source may open back to back (token bucket)
  std::uint32_t set_size = 65536;  // sources tracked at once; beyond it new sources are not limited
};

struct NftOptions {
  std::string table = "strikeout";                 // inet family; nothing outside it is ever touched
  std::vector<std::uint16_t> ports{25, 465, 587};  // protected ports (TCP)
  BanVerdict verdict = BanVerdict::Reject;
  std::uint32_t set_size = 1'048'576;  // elements per ban set (the kernel's limit for the set)
  // Prefix lengths whose sets exist from the start; other lengths get a set on first use.
  std::vector<unsigned> prefix_lengths4{24};
  std::vector<unsigned> prefix_lengths6{64};
  // Refuse bans broader than these (a /0 would shut out the whole Internet).
  unsigned min_prefix4 = 8;
  unsigned min_prefix6 = 16;
  std::vector<core::Prefix> allowlist;  // never stopped (operator's netblocks)
  bool allow_host_addresses = true;     // the host's own addresses are on the allowlist too
  RateLimitOptions rate_limit;
  std::optional<std::uint16_t> nflog_group = 25;  // NFLOG group of rate-limit hits; nullopt: counter only
  std::uint16_t decoy_port = 2525;                // tarpitted sources' new connections are redirected here
  bool end_sessions = true;                       // destroy open sockets of newly banned sources (sock_diag)
  // Above this many elements in one change, the notification subscription is paused during the
  // batch (the kernel would otherwise build one notification per element) and the table is checked
  // right after.
  std::size_t quiet_batch_threshold = 512;
};

// Every problem with `options`, one message each, naming the field; empty when valid.
std::vector<std::string> validate(const NftOptions& options);

}  // namespace strikeout::enforce
