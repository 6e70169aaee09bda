// Network addresses and prefixes as the engine keys them.
//
// An Address is always 16 bytes; IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d), so one IPv4
// client seen as "1.2.3.4" in a log and "::ffff:1.2.3.4" on a dual-stack socket is one key.
// Text out is canonical: dotted quad for IPv4 (also for IPv4-mapped IPv6), RFC 5952 for IPv6.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strikeout::core {

class Address {
 public:
  using Bytes = std::array<std::uint8_t, 16>;

  constexpr Address() = default;
  static Address from_v4(std::uint32_t host_order);
  static Address from_bytes(const Bytes& bytes) { return Address{bytes}; }

  // Accepts a dotted-quad IPv4 address or an IPv6 address in any RFC 4291 form (with an optional
  // embedded IPv4 tail). Refuses everything else: surrounding space, brackets, ports, zone ids
  // ("fe80::1%eth0"), leading zeros in IPv4 octets, prefixes.
  static std::optional<Address> parse(std::string_view text);

  bool is_v4() const;        // IPv4 or IPv4-mapped IPv6
  std::uint32_t v4() const;  // host order; only meaningful when is_v4()
  const Bytes& bytes() const { return bytes_; }
  std::string to_string() const;  // canonical form, see above

  // This address with all bits after the first `bits` cleared. For IPv4, `bits` counts IPv4 bits
  // (0..32); for IPv6, IPv6 bits (0..128). Larger values are clamped.
  Address masked(unsigned bits) const;

  friend auto operator<=>(const Address&, const Address&) = default;

 private:
  explicit constexpr Address(const Bytes& b) : bytes_(b) {}
  Bytes bytes_{};
};

// A network: an address with its host bits cleared and a length in the address's own family
// (0..32 for IPv4, 0..128 for IPv6). A single address is a prefix of full length.
class Prefix {
 public:
  constexpr Prefix() = default;
  // Clears the host bits of `addr`.
  Prefix(Address addr, unsigned length);
  static Prefix host(Address addr) { return Prefix{addr, addr.is_v4() ? 32U : 128U}; }

  // Accepts "ADDR" (a host prefix) or "ADDR/LEN". Refuses host bits set after the length only when
  // `strict` is true (configuration wants to catch "10.0.0.1/8" typos; the CLI may be lenient).
  static std::optional<Prefix> parse(std::string_view text, bool strict = false);

  const Address& address() const { return address_; }
  unsigned length() const { return length_; }
  bool is_v4() const { return address_.is_v4(); }
  bool is_host() const { return length_ == (is_v4() ? 32U : 128U); }
  bool contains(const Address& a) const;
  bool contains(const Prefix& p) const;
  // "203.0.113.0/24", "2001:db8::/64"; a host prefix prints as the bare address.
  std::string to_string() const;

  friend auto operator<=>(const Prefix&, const Prefix&) = default;

 private:
  Address address_{};
  std::uint8_t length_ = 0;
};

// A seeded hash for tables keyed by addresses an attacker chooses (see STYLE.md, dnsdist): the seed
// comes from outside the core (the program picks it at random at start; tests fix it).
std::uint64_t hash_address(const Address& a, std::uint64_t seed);

}  // namespace strikeout::core
