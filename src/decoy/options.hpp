// The decoy SMTP server's settings as the decoy's code names them: core::DecoySettings ([decoy] in
// strikeout.toml) and the tarpit modes of the policy (core::TarpitMode).
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/decoy_settings.hpp"
#include "core/policy.hpp"

namespace strikeout::decoy {

// How the decoy answers a connection (chosen per rule, or [decoy] mode). The values cross between the
// supervisor and its workers (channel.hpp): pinned in tests/decoy/channel_values_test.
using Mode = core::TarpitMode;
inline constexpr Mode kLastMode = core::kLastTarpitMode;
inline constexpr const auto& kModeNames = core::kTarpitModeNames;

using WhenFull = core::DecoyWhenFull;
using DecoyOptions = core::DecoySettings;

// Workers needed: each process may hold at most ~19,000 sockets (the open-files limit is 20,000 here
// and cannot be raised), one per core at least.
inline std::uint32_t worker_count(const DecoyOptions& o, std::uint32_t cores) {
  if (o.workers != 0) return o.workers;
  const std::uint32_t by_files = (o.max_connections + 17'999U) / 18'000U;
  return std::max<std::uint32_t>({by_files, cores, 1U});
}

}  // namespace strikeout::decoy
