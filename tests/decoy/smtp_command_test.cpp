// The decoy's readers of attacker bytes: command lines, base64, AUTH PLAIN; and the keyed hash against
// the SipHash reference vectors.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "decoy/keyed_hash.hpp"
#include "decoy/records.hpp"
#include "decoy/smtp_command.hpp"

namespace strikeout::decoy {
namespace {

TEST(DecoyCommand, VerbsAreCaseInsensitiveAndNeedASpaceOrTheEnd) {
  EXPECT_EQ(parse_command("ehlo foo").verb, Verb::Ehlo);
  EXPECT_EQ(parse_command("ehlo foo").argument, "foo");
  EXPECT_EQ(parse_command("MAIL FROM:<a@b>  ").argument, "FROM:<a@b>");
  EXPECT_EQ(parse_command("EHLOX").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("  ").verb, Verb::Empty);
  EXPECT_EQ(parse_command("quit").verb, Verb::Quit);
  EXPECT_EQ(parse_command("StartTLS").verb, Verb::StartTls);
}

TEST(DecoyCommand, Mechanisms) {
  std::string_view rest;
  EXPECT_EQ(parse_mechanism("plain dGVzdA==", rest), Mechanism::Plain);
  EXPECT_EQ(rest, "dGVzdA==");
  EXPECT_EQ(parse_mechanism("LOGIN", rest), Mechanism::Login);
  EXPECT_EQ(rest, "");
  EXPECT_EQ(parse_mechanism("CRAM-MD5", rest), Mechanism::Other);
}

TEST(DecoyCommand, Base64IsStrict) {
  std::array<char, 16> out{};
  auto n = decode_base64("YWRtaW4=", out);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::string_view(out.data(), *n), "admin");
  EXPECT_EQ(decode_base64("", out), 0U);
  EXPECT_EQ(decode_base64("=", out), 0U);
  EXPECT_FALSE(decode_base64("YWRtaW4", out));    // not a multiple of 4
  EXPECT_FALSE(decode_base64("YW=taW4=", out));   // data after padding
  EXPECT_FALSE(decode_base64("YWRt aW4=", out));  // space
  EXPECT_FALSE(decode_base64("Y===", out));       // three padding characters
  std::array<char, 2> tiny{};
  EXPECT_FALSE(decode_base64("YWRtaW4=", tiny));  // does not fit
}

TEST(DecoyCommand, AuthPlainNeedsExactlyTwoNulsAndAUser) {
  auto c = split_auth_plain(std::string_view("\0bob\0pw", 7));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "bob");
  EXPECT_EQ(c->password, "pw");
  EXPECT_EQ(c->authzid, "");
  EXPECT_FALSE(split_auth_plain(std::string_view("bob\0pw", 6)));
  EXPECT_FALSE(split_auth_plain(std::string_view("\0\0pw", 4)));
  EXPECT_FALSE(split_auth_plain(std::string_view("\0a\0b\0c", 6)));
}

TEST(DecoyKeyedHash, SipHashReferenceVectors) {
  HashKey key{};
  for (std::uint8_t i = 0; i < 16; ++i) key[i] = i;
  EXPECT_EQ(siphash24(key, ""), 0x726fdb47dd0e0e31ULL);
  std::string msg;
  for (char i = 0; i < 15; ++i) msg += i;
  EXPECT_EQ(siphash24(key, msg), 0xa129ca6149be45e5ULL);
}

TEST(DecoyRecords, FieldsAreEscapedToOnePrintableLineAndReadBack) {
  EXPECT_EQ(escape_field("ad min\t\n\\\xc3\xa9"), "ad\\x20min\\x09\\x0a\\x5c\\xc3\\xa9");
  auto line = parse_record_line("t\ts\t1\tdecoy\tLOGIN\trefused\tadmin\tabcd");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->user, "admin");
  EXPECT_EQ(line->password_hash, "abcd");
  EXPECT_FALSE(parse_record_line("t\ts\t1"));
  EXPECT_FALSE(parse_record_line("a\tb\tc\td\te\tf\tg\th\ti"));
}

}  // namespace
}  // namespace strikeout::decoy
