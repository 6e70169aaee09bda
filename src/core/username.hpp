// Usernames as the engine compares them: attacker text, so bounded in length, compared with ASCII
// case folding ("Bob" and "bob" are one account on every mail server we know of; folding non-ASCII
// bytes would need a locale and would let two different UTF-8 names collide), and hashed with a
// seed when they key a table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace strikeout::core::detail {

// The longest username the engine stores or compares; longer ones are cut to this many bytes
// (RFC 5321 limits a local part to 64 octets and a mailbox to 254, so nothing real is cut).
inline constexpr std::size_t kMaxUsernameBytes = 256;

// Writes the ASCII-lowercased first kMaxUsernameBytes bytes of `user` into `out` (which must hold
// kMaxUsernameBytes bytes) and returns the folded view.
inline std::string_view fold_username(std::string_view user, char* out) {
  const std::size_t n = user.size() < kMaxUsernameBytes ? user.size() : kMaxUsernameBytes;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = user[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return {out, n};
}

// A seeded 64-bit hash of already folded text: 8-byte words mixed into the seeded state and a
// splitmix64 finaliser, so equal-hash sets an attacker computes offline do not carry over to the
// seed the program picked at start.
inline std::uint64_t hash_folded(std::string_view folded, std::uint64_t seed) {
  auto mix = [](std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
  };
  std::uint64_t h = mix(seed ^ (folded.size() * 0x9e3779b97f4a7c15ULL));
  std::size_t i = 0;
  for (; i + 8 <= folded.size(); i += 8) {
    std::uint64_t w = 0;
    for (std::size_t b = 0; b < 8; ++b) {
      w |= std::uint64_t{static_cast<unsigned char>(folded[i + b])} << (8 * b);
    }
    h = mix(h ^ w) + seed;
  }
  std::uint64_t tail = 0;
  for (std::size_t b = 0; i + b < folded.size(); ++b) {
    tail |= std::uint64_t{static_cast<unsigned char>(folded[i + b])} << (8 * b);
  }
  return mix(h ^ tail ^ 0xa0761d6478bd642fULL);
}

}  // namespace strikeout::core::detail
