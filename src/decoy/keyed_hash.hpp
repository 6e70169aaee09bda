// SipHash-2-4: a keyed hash (Aumasson & Bernstein). The decoy uses it where an attacker chooses the
// input and must not predict the output without the per-install secret: which (source, username,
// password) gets a fake success, and the salted hash that stands for a password in the records.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace strikeout::decoy {

using HashKey = std::array<std::uint8_t, 16>;

// SipHash-2-4 of `data` under `key` (the reference implementation's output, little-endian words).
std::uint64_t siphash24(const HashKey& key, std::string_view data);

// The per-install secret: two independent keys, one per use, so that knowing which passwords "worked"
// says nothing about the password hashes in the records.
struct DecoySecret {
  HashKey verdict{};   // keys the fake-success decision
  HashKey password{};  // salts the password hashes in the records
};

}  // namespace strikeout::decoy
