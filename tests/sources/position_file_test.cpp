// The positions state file: its parser (outside bytes: an operator may edit it, a disk may damage it),
// its round trip, and the atomic commit.
#include "sources/position_file.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace strikeout::sources {
namespace {

namespace fs = std::filesystem;

const PositionMap& ok(const std::variant<PositionMap, std::string>& parsed) {
  if (const auto* error = std::get_if<std::string>(&parsed)) ADD_FAILURE() << *error;
  static const PositionMap empty;
  const auto* map = std::get_if<PositionMap>(&parsed);
  return map != nullptr ? *map : empty;
}

std::string error_of(std::string_view text) {
  const auto parsed = parse_positions(text, "/var/lib/strikeout/positions");
  const auto* error = std::get_if<std::string>(&parsed);
  return error != nullptr ? *error : std::string("(parsed)");
}

TEST(PositionFileFormat, RoundTripsFilesAndJournalCursorsWithAwkwardNames) {
  PositionMap map;
  map.emplace("mail.log", core::FilePosition{1835021, 48213, 0x9f3a0c1d22e4b7a1ULL, 131});
  map.emplace("/var/log/with space/mail.log", core::FilePosition{7, 0, 0, 0});
  map.emplace("journal 100%\n\xc3\xa9", core::JournalCursor{"s=3cf3;i=154;b=149a;m=19b;t=661;x=1c74"});
  map.emplace("empty-journal", core::JournalCursor{""});
  const std::string text = format_positions(map);
  EXPECT_EQ(text.find("with space"), std::string::npos) << "names are escaped: " << text;
  EXPECT_EQ(ok(parse_positions(text, "positions")), map);
}

TEST(PositionFileFormat, ReadsTheDocumentedExample) {
  const auto parsed = parse_positions(
      "# written by strikeout\n"
      "strikeout-positions 1\n"
      "\n"
      "file mail.log inode=1835021 offset=48213 fingerprint=9f3a0c1d22e4b7a1 length=131\n"
      "journal postfix cursor=s=3cf3;i=154\n"
      "end 2\n",
      "positions");
  const auto& map = ok(parsed);
  ASSERT_EQ(map.size(), 2U);
  EXPECT_EQ(std::get<core::FilePosition>(map.at("mail.log")),
            (core::FilePosition{1835021, 48213, 0x9f3a0c1d22e4b7a1ULL, 131}));
  EXPECT_EQ(std::get<core::JournalCursor>(map.at("postfix")).cursor, "s=3cf3;i=154");
}

TEST(PositionFileFormat, ErrorsNameTheFileAndLine) {
  const std::string head = "strikeout-positions 1\n";
  EXPECT_EQ(error_of(""), "/var/lib/strikeout/positions: empty file: no header (the file was cut short)");
  EXPECT_EQ(error_of("strikeout-positions 2\nend 0\n").substr(0, 32), "/var/lib/strikeout/positions:1: ");
  EXPECT_NE(
      error_of(head + "file mail.log inode=12 offset=4").find("positions:2: the last line has no newline"),
      std::string::npos);
  EXPECT_NE(error_of(head + "file mail.log inode=1 offset=10 fingerprint=00000000000000aa length=3\n")
                .find("no 'end' line (the file was cut short)"),
            std::string::npos);
  EXPECT_NE(error_of(head + "end 1\n").find("positions:2: the 'end' line counts 1 entries but 0"),
            std::string::npos);
  EXPECT_NE(error_of(head + "file mail.log inode=x offset=10 fingerprint=00000000000000aa length=3\nend 1\n")
                .find("positions:2: bad inode 'x'"),
            std::string::npos);
  EXPECT_NE(error_of(head + "file mail.log inode=1 offset=99999999999999999999 fingerprint=00000000000000aa "
                            "length=3\nend 1\n")
                .find("bad offset"),
            std::string::npos);
  EXPECT_NE(error_of(head + "file m inode=1 offset=10 fingerprint=00000000000000AA length=3\nend 1\n")
                .find("bad fingerprint"),
            std::string::npos);
  EXPECT_NE(error_of(head + "file m inode=1 offset=10 fingerprint=00000000000000aa length=11\nend 1\n")
                .find("above the offset"),
            std::string::npos);
  EXPECT_NE(error_of(head + "file m inode=1 offset=5000 fingerprint=00000000000000aa length=1025\nend 1\n")
                .find("above 1024"),
            std::string::npos);
  EXPECT_NE(error_of(head + "file m inode=1 offset=5000 fingerprint=00000000000000aa length=0\nend 1\n")
                .find("needs a fingerprint length"),
            std::string::npos);
  EXPECT_NE(error_of(head + "journal j cursor=a\njournal j cursor=b\nend 2\n")
                .find("positions:3: source 'j' appears twice"),
            std::string::npos);
  EXPECT_NE(error_of(head + "journal j%4 cursor=a\nend 1\n").find("bad source name"), std::string::npos);
  EXPECT_NE(error_of(head + "socket j cursor=a\nend 1\n").find("unknown entry kind 'socket'"),
            std::string::npos);
  EXPECT_NE(error_of(head + "end 0\njournal j cursor=a\n").find("text after the 'end' line"),
            std::string::npos);
  EXPECT_NE(error_of(head + "journal j  cursor=a\nend 1\n").find("positions:2:"), std::string::npos);
}

class PositionFileStore : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strikeout-positions-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/positions";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::variant<std::unique_ptr<PositionFile>, std::string> open() { return PositionFile::open(path_); }
  std::string dir_;
  std::string path_;
};

TEST_F(PositionFileStore, MissingFileIsAFirstStartAndCommitWritesItAtomically) {
  auto opened = open();
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<PositionFile>>(opened)) << std::get<std::string>(opened);
  auto& store = *std::get<std::unique_ptr<PositionFile>>(opened);
  EXPECT_FALSE(store.load("mail.log"));
  store.save("mail.log", core::FilePosition{42, 100, 0xabcdefULL, 20});
  store.save("journal", core::JournalCursor{"s=1;i=2"});
  EXPECT_EQ(store.commit(), std::nullopt);
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));

  auto again = open();
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<PositionFile>>(again));
  auto& reread = *std::get<std::unique_ptr<PositionFile>>(again);
  EXPECT_EQ(reread.load("mail.log"), (core::SourcePosition{core::FilePosition{42, 100, 0xabcdefULL, 20}}));
  EXPECT_EQ(reread.load("journal"), (core::SourcePosition{core::JournalCursor{"s=1;i=2"}}));
}

TEST_F(PositionFileStore, TruncatedStateFileIsAClearErrorNamingFileAndLine) {
  {
    auto opened = open();
    auto& store = *std::get<std::unique_ptr<PositionFile>>(opened);
    store.save("a.log", core::FilePosition{1, 10, 1, 10});
    store.save("b.log", core::FilePosition{2, 20, 2, 20});
    ASSERT_EQ(store.commit(), std::nullopt);
  }
  // Cut in the middle of the second entry (a damaged disk, an editor gone wrong).
  const auto size = fs::file_size(path_);
  fs::resize_file(path_, size - 20);
  auto opened = open();
  ASSERT_TRUE(std::holds_alternative<std::string>(opened));
  EXPECT_EQ(std::get<std::string>(opened),
            path_ + ":3: the last line has no newline (the file was cut short)");

  // Cut at a line boundary: the missing 'end' line tells.
  std::ofstream(path_, std::ios::trunc)
      << "strikeout-positions 1\n"
         "file a.log inode=1 offset=10 fingerprint=0000000000000001 length=10\n";
  opened = open();
  ASSERT_TRUE(std::holds_alternative<std::string>(opened));
  EXPECT_EQ(std::get<std::string>(opened), path_ + ": no 'end' line (the file was cut short)");
}

TEST_F(PositionFileStore, CommitFailureNamesTheFileAndKeepsPositionsPending) {
  auto opened = PositionFile::open(dir_ + "/no-such-dir/positions");
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<PositionFile>>(opened));
  auto& store = *std::get<std::unique_ptr<PositionFile>>(opened);
  store.save("a.log", core::FilePosition{1, 10, 1, 10});
  const auto error = store.commit();
  ASSERT_TRUE(error);
  EXPECT_NE(error->find(dir_ + "/no-such-dir/positions.tmp"), std::string::npos) << *error;
  fs::create_directory(dir_ + "/no-such-dir");
  EXPECT_EQ(store.commit(), std::nullopt);  // still pending, written now
  EXPECT_TRUE(fs::exists(dir_ + "/no-such-dir/positions"));
}

}  // namespace
}  // namespace strikeout::sources
