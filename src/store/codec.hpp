// How the store writes the engine's state into SQLite columns, and reads it back. Pure functions, no
// SQLite: what the database hands back is outside bytes (a damaged disk, an operator's sqlite3 session,
// a file from another program), so every decoder here checks lengths and ranges before use, refuses
// with a message saying what is wrong, and is a fuzz target (fuzz/store_codec.cpp).
//
// Layouts (all integers little-endian; times are microseconds since the Unix epoch, UTC):
//   - addresses and networks: text, as an administrator writes them ("203.0.113.7", "2001:db8::/64"),
//     read back strictly (no host bits after the length);
//   - a window's timestamps: 8 bytes each, oldest first, at most kMaxWindowTimes;
//   - a campaign's pending sources: 25 bytes each: 16 address bytes (IPv4 as ::ffff:a.b.c.d), 1 prefix
//     length in the address's own family, 8 bytes of time; at most kMaxCampaignSources;
//   - the duplicate filter's reports of one address: 16 bytes each: 8 time, 4 username hash, 1
//     reporter, 1 flags, 2 zero; at most kMaxReports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.hpp"
#include "core/engine_state.hpp"
#include "core/time.hpp"

namespace strikeout::store {

inline constexpr std::size_t kMaxWindowTimes = 4096;  // a rule's hits is far below this
inline constexpr std::size_t kMaxCampaignSources = 4096;
inline constexpr std::size_t kMaxReports = 4;
inline constexpr std::size_t kCampaignSourceBytes = 25;
inline constexpr std::size_t kReportBytes = 16;

using Bytes = std::vector<std::uint8_t>;

// A target or key written as text. Refuses anything Prefix::parse(strict) refuses; `what` names the
// column in the error.
std::optional<core::Prefix> decode_prefix(std::string_view text, std::string& error);

Bytes encode_times(std::span<const core::Time> times);
// Refuses a length that is not a multiple of 8, none at all, more than kMaxWindowTimes, and times out of
// order (each at or after the previous).
std::optional<std::vector<core::Time>> decode_times(std::span<const std::uint8_t> blob, std::string& error);

Bytes encode_campaign_sources(std::span<const core::SavedCampaignSource> sources);
// Refuses a length that is not a multiple of 25, more than kMaxCampaignSources, a prefix length beyond
// its family (32 for IPv4, 128 for IPv6), host bits set after the length, and a source listed twice.
std::optional<std::vector<core::SavedCampaignSource>> decode_campaign_sources(
    std::span<const std::uint8_t> blob, std::string& error);

Bytes encode_reports(std::span<const core::SavedReport> reports);
// Refuses a length that is not a multiple of 16, none or more than kMaxReports, a reporter that is not
// a core::Reporter, flags beyond the filter's four bits, and non-zero padding.
std::optional<std::vector<core::SavedReport>> decode_reports(std::span<const std::uint8_t> blob,
                                                             std::string& error);

}  // namespace strikeout::store
