// Address and Prefix: parsing, canonical text (RFC 5952; IPv4-mapped written as IPv4), masks,
// containment, and the strict prefix parse the configuration uses.
#include "core/address.hpp"

#include <gtest/gtest.h>

namespace strikeout::core {
namespace {

std::string canon(std::string_view text) {
  auto a = Address::parse(text);
  return a ? a->to_string() : "<refused>";
}

TEST(Address, ParsesIPv4AndWritesDottedQuad) {
  EXPECT_EQ(canon("203.0.113.5"), "203.0.113.5");
  EXPECT_EQ(canon("0.0.0.0"), "0.0.0.0");
  EXPECT_TRUE(Address::parse("192.0.2.1")->is_v4());
  EXPECT_EQ(Address::parse("192.0.2.1")->v4(), 0xc0000201U);
  EXPECT_EQ(Address::from_v4(0xc0000201U), *Address::parse("192.0.2.1"));
}

TEST(Address, WritesIPv6AsRfc5952) {
  EXPECT_EQ(canon("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
  EXPECT_EQ(canon("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");     // first longest run
  EXPECT_EQ(canon("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");  // a single 0 stays
  EXPECT_EQ(canon("::"), "::");
  EXPECT_EQ(canon("::1"), "::1");
}

TEST(Address, IPv4MappedIsOneKeyWithIPv4AndWrittenAsIPv4) {
  EXPECT_EQ(canon("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(canon("::FFFF:c000:0207"), "192.0.2.7");
  EXPECT_EQ(*Address::parse("::ffff:192.0.2.7"), *Address::parse("192.0.2.7"));
}

TEST(Address, RefusesAnythingElse) {
  for (const char* bad : {"", " 192.0.2.1", "192.0.2.1 ", "[2001:db8::1]", "192.0.2.1:25", "fe80::1%eth0",
                          "192.0.2.01", "192.0.2", "192.0.2.256", "1.2.3.4/32", "2001:db8:::1", "unknown",
                          "2001:db8::1::2", "0000000000000000000000000000000000000000000000000001"}) {
    EXPECT_FALSE(Address::parse(bad).has_value()) << bad;
  }
}

TEST(Address, MaskedCountsBitsInTheAddressFamily) {
  EXPECT_EQ(Address::parse("203.0.113.77")->masked(24).to_string(), "203.0.113.0");
  EXPECT_EQ(Address::parse("203.0.113.77")->masked(0).to_string(), "0.0.0.0");
  EXPECT_EQ(Address::parse("2001:db8:1:2:3:4:5:6")->masked(64).to_string(), "2001:db8:1:2::");
  EXPECT_EQ(Address::parse("2001:db8::ff")->masked(121).to_string(), "2001:db8::80");
}

TEST(Prefix, ParseFormatAndStrictness) {
  EXPECT_EQ(Prefix::parse("203.0.113.0/24")->to_string(), "203.0.113.0/24");
  EXPECT_EQ(Prefix::parse("203.0.113.9")->to_string(), "203.0.113.9");  // a host prints bare
  EXPECT_EQ(Prefix::parse("2001:db8::/64")->to_string(), "2001:db8::/64");
  EXPECT_EQ(Prefix::parse("::ffff:10.0.0.0/8")->to_string(), "10.0.0.0/8");
  // Lenient: host bits are cleared. Strict (configuration): refused.
  EXPECT_EQ(Prefix::parse("10.0.0.1/8")->to_string(), "10.0.0.0/8");
  EXPECT_FALSE(Prefix::parse("10.0.0.1/8", true).has_value());
  EXPECT_TRUE(Prefix::parse("10.0.0.0/8", true).has_value());
  for (const char* bad : {"10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1",
                          "10.0.0.0/8/8", "/8", "10.0.0.0/1000", "10.0.0.0/ 8"}) {
    EXPECT_FALSE(Prefix::parse(bad).has_value()) << bad;
  }
}

TEST(Prefix, Contains) {
  const Prefix net = *Prefix::parse("192.0.2.0/24");
  EXPECT_TRUE(net.contains(*Address::parse("192.0.2.200")));
  EXPECT_FALSE(net.contains(*Address::parse("192.0.3.1")));
  EXPECT_FALSE(net.contains(*Address::parse("2001:db8::1")));
  EXPECT_TRUE(net.contains(*Prefix::parse("192.0.2.128/25")));
  EXPECT_FALSE(net.contains(*Prefix::parse("192.0.0.0/16")));
  // ::/0 is IPv6 only: an IPv4 address is not in it (IPv4 has its own 0.0.0.0/0).
  EXPECT_FALSE(Prefix::parse("::/0")->contains(*Address::parse("192.0.2.1")));
  EXPECT_TRUE(Prefix::parse("0.0.0.0/0")->contains(*Address::parse("192.0.2.1")));
  EXPECT_TRUE(Prefix::host(*Address::parse("2001:db8::1")).is_host());
}

TEST(HashAddress, DependsOnTheSeed) {
  const Address a = *Address::parse("192.0.2.1");
  EXPECT_EQ(hash_address(a, 1), hash_address(a, 1));
  EXPECT_NE(hash_address(a, 1), hash_address(a, 2));
  EXPECT_NE(hash_address(a, 1), hash_address(*Address::parse("192.0.2.2"), 1));
}

}  // namespace
}  // namespace strikeout::core
