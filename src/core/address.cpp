#include "core/address.hpp"

#include <arpa/inet.h>  // inet_pton/inet_ntop: pure conversions, no system calls

#include <cstring>

namespace strikeout::core {

namespace {
constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}

Address Address::from_v4(std::uint32_t host_order) {
  Bytes b{};
  std::memcpy(b.data(), kMappedPrefix.data(), kMappedPrefix.size());
  b[12] = static_cast<std::uint8_t>(host_order >> 24);
  b[13] = static_cast<std::uint8_t>(host_order >> 16);
  b[14] = static_cast<std::uint8_t>(host_order >> 8);
  b[15] = static_cast<std::uint8_t>(host_order);
  return Address{b};
}

std::optional<Address> Address::parse(std::string_view text) {
  // Longest IPv6 text form is 45 characters; anything longer is not an address.
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (text.find(':') == std::string_view::npos) {
    in_addr quad{};
    if (inet_pton(AF_INET, buf, &quad) != 1) return std::nullopt;
    return from_v4(ntohl(quad.s_addr));
  }
  Bytes b{};
  if (inet_pton(AF_INET6, buf, b.data()) != 1) return std::nullopt;
  return Address{b};
}

bool Address::is_v4() const {
  return std::memcmp(bytes_.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0;
}

std::uint32_t Address::v4() const {
  return (std::uint32_t{bytes_[12]} << 24) | (std::uint32_t{bytes_[13]} << 16) |
         (std::uint32_t{bytes_[14]} << 8) | std::uint32_t{bytes_[15]};
}

std::string Address::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    // By hand: glibc's inet_ntop formats IPv4 through sprintf, and replay prints an address per line.
    char* p = buf;
    for (unsigned i = 12; i < 16; ++i) {
      const unsigned octet = bytes_[i];
      if (octet >= 100) *p++ = static_cast<char>('0' + octet / 100);
      if (octet >= 10) *p++ = static_cast<char>('0' + octet / 10 % 10);
      *p++ = static_cast<char>('0' + octet % 10);
      if (i != 15) *p++ = '.';
    }
    return std::string(buf, p);
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
  }
  return buf;
}

Address Address::masked(unsigned bits) const {
  unsigned total = bits;
  if (is_v4()) {
    total = (bits > 32 ? 32 : bits) + 96;
  } else if (total > 128) {
    total = 128;
  }
  Bytes out = bytes_;
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bit_start = i * 8;
    if (bit_start >= total) {
      out[i] = 0;
    } else if (bit_start + 8 > total) {
      const unsigned keep = total - bit_start;
      out[i] = static_cast<std::uint8_t>(out[i] & static_cast<std::uint8_t>(0xffU << (8 - keep)));
    }
  }
  return Address{out};
}

Prefix::Prefix(Address addr, unsigned length) {
  const unsigned max = addr.is_v4() ? 32U : 128U;
  length_ = static_cast<std::uint8_t>(length > max ? max : length);
  address_ = addr.masked(length_);
}

std::optional<Prefix> Prefix::parse(std::string_view text, bool strict) {
  const auto slash = text.find('/');
  auto addr = Address::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  const unsigned max = addr->is_v4() ? 32U : 128U;
  if (slash == std::string_view::npos) return Prefix{*addr, max};
  const std::string_view len_text = text.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 3) return std::nullopt;
  unsigned len = 0;
  for (char c : len_text) {
    if (c < '0' || c > '9') return std::nullopt;
    len = len * 10 + static_cast<unsigned>(c - '0');
  }
  if (len_text.size() > 1 && len_text[0] == '0') return std::nullopt;
  if (len > max) return std::nullopt;
  Prefix p{*addr, len};
  if (strict && p.address() != *addr) return std::nullopt;
  return p;
}

bool Prefix::contains(const Address& a) const {
  if (a.is_v4() != is_v4()) return false;
  return a.masked(length_) == address_;
}

bool Prefix::contains(const Prefix& p) const {
  return p.length_ >= length_ && contains(p.address_);
}

std::string Prefix::to_string() const {
  if (is_host()) return address_.to_string();
  return address_.to_string() + "/" + std::to_string(length_);
}

std::uint64_t hash_address(const Address& a, std::uint64_t seed) {
  // Two rounds of a 64-bit mixer (splitmix64 finaliser) over the two halves, keyed by the seed.
  auto mix = [](std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
  };
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  std::memcpy(&hi, a.bytes().data(), 8);
  std::memcpy(&lo, a.bytes().data() + 8, 8);
  return mix(mix(hi ^ seed) ^ lo ^ (seed * 0x9e3779b97f4a7c15ULL));
}

}  // namespace strikeout::core
