// `strikeout replay` end to end on real and crafted logs: golden output, counts checked independently
// of the matchers, attacker text that must never choose the punished address, and errors.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "app/line_reader.hpp"
#include "replay_support.hpp"

namespace strikeout::app {
namespace {

using testing::capture_replay;
using testing::json_lines;
using testing::read_file;

const std::string kSource = STRIKEOUT_SOURCE_DIR;
const std::string kGolden = kSource + "/tests/app/golden/";
const std::string kRealLogs = std::string(STRIKEOUT_FIXTURES_DIR) + "/real-logs/";
const std::string kPostfix = kRealLogs + "postfix-3.7-submission-sasl.full.log";
const std::string kDovecot = kRealLogs + "dovecot-2.3-auth.full.log";

ReplayOptions golden_options(std::vector<std::string> files, bool json) {
  auto cfg = testing::load_test_config(read_file(kGolden + "config.toml"));
  ReplayOptions o = testing::options_from(cfg);
  o.files = std::move(files);
  o.json = json;
  o.year = 2026;
  return o;
}

// Compares with the golden file; STRIKEOUT_UPDATE_GOLDEN=1 rewrites it instead (review the diff!).
void expect_golden(const std::string& actual, const std::string& name) {
  const std::string path = kGolden + name;
  if (std::getenv("STRIKEOUT_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  const std::string expected = read_file(path);
  ASSERT_FALSE(expected.empty()) << path << " is missing; run with STRIKEOUT_UPDATE_GOLDEN=1";
  EXPECT_EQ(actual, expected) << "replay output differs from " << path;
}

TEST(ReplayGolden, RealPostfixAndDovecotLogsJson) {
  const auto c = capture_replay(golden_options({kPostfix, kDovecot}, true));
  ASSERT_EQ(c.status, 0) << c.err;
  expect_golden(c.out, "real-logs.jsonl");
}

TEST(ReplayGolden, MixedLogJsonAndHuman) {
  const auto json = capture_replay(golden_options({kGolden + "mixed.log"}, true));
  ASSERT_EQ(json.status, 0) << json.err;
  expect_golden(json.out, "mixed.jsonl");
  const auto human = capture_replay(golden_options({kGolden + "mixed.log"}, false));
  ASSERT_EQ(human.status, 0) << human.err;
  expect_golden(human.out, "mixed.txt");
}

TEST(Replay, SameInputGivesTheSameBytes) {
  const auto a = capture_replay(golden_options({kPostfix, kDovecot}, true));
  const auto b = capture_replay(golden_options({kPostfix, kDovecot}, true));
  EXPECT_EQ(a.out, b.out);
}

// Counts every failure line of the real logs with plain string searches, independently of the
// matchers, and checks replay counted exactly those and no connect/disconnect line as a failure.
TEST(Replay, CountsEveryRealFailureLineAndNothingElse) {
  std::uint64_t postfix_failures = 0;
  std::uint64_t postfix_connects = 0;
  {
    std::ifstream in(kPostfix);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("authentication failed") != std::string::npos &&
          line.find("Connection lost to authentication server") == std::string::npos) {
        ++postfix_failures;
      }
      if (line.find("]: connect from ") != std::string::npos) ++postfix_connects;
    }
  }
  std::uint64_t dovecot_failures = 0;
  {
    std::ifstream in(kDovecot);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("): Password mismatch") != std::string::npos ||
          line.find("): unknown user") != std::string::npos) {
        ++dovecot_failures;
      }
    }
  }
  ASSERT_GT(postfix_failures, 100U);
  ASSERT_GT(dovecot_failures, 100U);

  const auto c = capture_replay(golden_options({kPostfix, kDovecot}, true));
  ASSERT_EQ(c.status, 0) << c.err;
  const auto lines = json_lines(c.out);
  const auto& summary = lines.back();
  ASSERT_EQ(summary["action"], "summary");
  std::uint64_t failures = 0;
  std::uint64_t connects = 0;
  std::uint64_t successes = 0;
  for (const auto& e : summary["events"]) {
    if (e["kind"] == "auth-failure") failures += e["count"].get<std::uint64_t>();
    if (e["kind"] == "connect") connects += e["count"].get<std::uint64_t>();
    if (e["kind"] == "auth-success") successes += e["count"].get<std::uint64_t>();
  }
  EXPECT_EQ(failures, postfix_failures + dovecot_failures);
  EXPECT_EQ(connects, postfix_connects);
  EXPECT_EQ(successes, 0U);
  // Both servers report each failure: the engine pairs them, so most of Dovecot's are duplicates.
  EXPECT_GT(summary["engine"]["duplicates"].get<std::uint64_t>(), dovecot_failures / 2);
}

// The mixed log holds usernames that contain "unknown[203.0.113.66]", "rip=203.0.113.66",
// "relay=[203.0.113.66]" and a #012-escaped forged second line: that address is never punished,
// and the real client 198.51.100.7 is.
TEST(Replay, AttackerTextNeverChoosesTheAddress) {
  const auto c = capture_replay(golden_options({kGolden + "mixed.log"}, true));
  ASSERT_EQ(c.status, 0) << c.err;
  std::set<std::string> banned;
  for (const auto& j : json_lines(c.out)) {
    if (j["action"] == "summary") continue;
    EXPECT_EQ(j["address"].get<std::string>().find("203.0.113.66"), std::string::npos) << j.dump();
    if (j["action"] == "ban") banned.insert(j["address"].get<std::string>());
  }
  EXPECT_TRUE(banned.count("198.51.100.7"));
  EXPECT_TRUE(banned.count("2001:db8::66"));
  EXPECT_FALSE(banned.count("192.0.2.10")) << "allowlisted";
  EXPECT_FALSE(banned.count("203.0.113.20")) << "Connection lost to authentication server is not a failure";
}

TEST(Replay, GzipIsReadLikePlainText) {
  const auto dir = std::filesystem::temp_directory_path() / ("strikeout-gz-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string gz_path = (dir / "postfix-3.7-submission-sasl.full.log").string();
  const std::string text = read_file(kPostfix);
  gzFile gz = gzopen(gz_path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(gz);
  auto plain_opts = golden_options({kPostfix}, true);
  auto gz_opts = golden_options({gz_path}, true);
  const auto plain = capture_replay(plain_opts);
  const auto zipped = capture_replay(gz_opts);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(zipped.status, 0) << zipped.err;
  EXPECT_EQ(zipped.out, plain.out);
}

TEST(Replay, UnreadableFileIsAnErrorNamingItAndNothingIsReplayed) {
  const auto c = capture_replay(golden_options({kPostfix, "/nonexistent/mail.log"}, true));
  EXPECT_EQ(c.status, 1);
  EXPECT_NE(c.err.find("'/nonexistent/mail.log'"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("No such file or directory"), std::string::npos) << c.err;
  EXPECT_TRUE(c.out.empty());
}

TEST(Replay, DirectoryIsAnErrorNamingIt) {
  const auto c = capture_replay(golden_options({kRealLogs}, false));
  EXPECT_EQ(c.status, 1);
  EXPECT_NE(c.err.find("Is a directory"), std::string::npos) << c.err;
}

TEST(Replay, SeveralFilesAreMergedInTimeOrder) {
  const auto c = capture_replay(golden_options({kDovecot, kPostfix, kGolden + "mixed.log"}, true));
  ASSERT_EQ(c.status, 0) << c.err;
  std::string previous;
  for (const auto& j : json_lines(c.out)) {
    if (j["action"] == "summary") continue;
    const auto t = j["time"].get<std::string>();
    EXPECT_LE(previous, t);
    previous = t;
  }
}

// LineReader reads plain files through a mapping of the file as it was when opened: lines are the
// same as through read() (CRLF, a last line without a newline, over-long lines cut at 64 KiB and
// counted), and bytes the file gains after it was opened are still read, the line that straddles
// the mapping's end whole.
std::vector<std::string> all_lines(LineReader& reader) {
  std::vector<std::string> out;
  std::string_view line;
  while (reader.next(line)) out.emplace_back(line);
  return out;
}

// A generated log with every shape the parallel decoding of `replay --jobs` has to hand over in order:
// Postfix and Dovecot failures, OpenSMTPD sessions whose connect and failure lines fall in different
// chunks (their matcher keeps state), lines no header fits, an over-long line, CRLF endings, a last line
// without a newline, and a December-to-January turn of the year that the year anchor follows.
std::string generated_log(unsigned seed, int lines) {
  std::mt19937_64 rng(seed);
  std::string out;
  int month = 11;  // December
  int day = 28;
  int second = 0;
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < lines; ++i) {
    second += static_cast<int>(rng() % 40);
    if (second >= 86400) {
      second -= 86400;
      if (++day > (month == 11 ? 31 : 28)) {
        day = 1;
        month = (month + 1) % 12;
      }
    }
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "%s %2d %02d:%02d:%02d", kMonths[month], day, second / 3600,
                  second / 60 % 60, second % 60);
    const std::string addr = "198.51." + std::to_string(rng() % 4) + "." + std::to_string(1 + rng() % 40);
    const std::string session = "00000000000" + std::to_string(10000 + rng() % 50);
    switch (rng() % 10) {
      case 0:
      case 1:
      case 2:
        out += std::string(stamp) + " mx postfix/submission/smtpd[" + std::to_string(100 + rng() % 9) +
               "]: warning: unknown[" + addr +
               "]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=u" +
               std::to_string(rng() % 5) + "\n";
        break;
      case 3:
        out += std::string(stamp) + " mx dovecot: auth: passwd-file(u" + std::to_string(rng() % 5) + "," +
               addr + "): unknown user\r\n";
        break;
      case 4:
        out += std::string(stamp) + " mx smtpd[4242]: " + session + " smtp connected address=" + addr +
               " host=<unknown>\n";
        break;
      case 5:
        out += std::string(stamp) + " mx smtpd[4242]: " + session +
               " smtp authentication user=admin result=permfail\n";
        break;
      case 6:
        out += "not a syslog line at all " + std::to_string(i) + "\n";
        break;
      case 7:
        if (rng() % 50 == 0)
          out += std::string(stamp) + " mx postfix/smtpd[1]: " + std::string(70000, 'x') + "\n";
        break;
      default:
        out += std::string(stamp) + " mx postfix/qmgr[77]: 4F2A91C0123: removed\n";
        break;
    }
  }
  out +=
      "Jan  9 10:00:00 mx postfix/smtpd[1]: warning: unknown[198.51.0.1]: SASL PLAIN authentication failed:";
  return out;
}

TEST(Replay, JobsGiveTheSameBytesAsOneJob) {
  const auto dir = std::filesystem::temp_directory_path() / ("strikeout-jobs-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string a = (dir / "a.log").string();
  const std::string b = (dir / "b.log").string();
  std::ofstream(a, std::ios::binary) << generated_log(1, 8000);
  std::ofstream(b, std::ios::binary) << generated_log(2, 3000);
  for (const bool json : {true, false}) {
    for (const bool with_year : {true, false}) {
      ReplayOptions o = golden_options({a, b}, json);
      if (!with_year) o.year.reset();
      o.jobs = 1;
      const auto one = capture_replay(o);
      ASSERT_EQ(one.status, 0) << one.err;
      ASSERT_GT(one.out.size(), 10000U);
      for (const unsigned jobs : {2U, 4U}) {
        for (const std::size_t chunk : {std::size_t{0}, std::size_t{4096}}) {
          o.jobs = jobs;
          o.chunk_bytes = chunk;
          const auto many = capture_replay(o);
          ASSERT_EQ(many.status, 0) << many.err;
          EXPECT_EQ(many.out, one.out) << "jobs " << jobs << ", chunk " << chunk << ", json " << json;
        }
      }
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(LineReader, MappedFileGivesTheSameLinesAsReadingIt) {
  const auto dir = std::filesystem::temp_directory_path() / ("strikeout-lr-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "mail.log").string();
  const std::string long_line(100'000, 'x');
  const std::string text = "first\r\nsecond\n" + long_line + "\nafter the long one\n\nlast without newline";
  std::ofstream(path, std::ios::binary) << text;
  std::string error;
  auto reader = LineReader::open(path, error);
  ASSERT_NE(reader, nullptr) << error;
  const auto lines = all_lines(*reader);
  ASSERT_EQ(lines.size(), 6U);
  EXPECT_EQ(lines[0], "first");
  EXPECT_EQ(lines[1], "second");
  EXPECT_EQ(lines[2], long_line.substr(0, LineReader::kMaxLine));
  EXPECT_EQ(lines[3], "after the long one");
  EXPECT_EQ(lines[4], "");
  EXPECT_EQ(lines[5], "last without newline");
  EXPECT_EQ(reader->long_lines(), 1U);
  EXPECT_TRUE(reader->error().empty());

  // The same bytes through the read() path (gzip is never mapped): the same lines.
  const std::string gz_path = (dir / "mail.log.gz").string();
  gzFile gz = gzopen(gz_path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(gz);
  auto zipped = LineReader::open(gz_path, error);
  ASSERT_NE(zipped, nullptr) << error;
  EXPECT_EQ(all_lines(*zipped), lines);
  EXPECT_EQ(zipped->long_lines(), 1U);
  std::filesystem::remove_all(dir);
}

TEST(LineReader, BytesWrittenAfterOpeningAreReadToo) {
  const auto dir = std::filesystem::temp_directory_path() / ("strikeout-lr2-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "mail.log").string();
  std::ofstream(path, std::ios::binary) << "one\ntw";
  std::string error;
  auto reader = LineReader::open(path, error);
  ASSERT_NE(reader, nullptr) << error;
  std::ofstream(path, std::ios::binary | std::ios::app) << "o\nthree\n";
  EXPECT_EQ(all_lines(*reader), (std::vector<std::string>{"one", "two", "three"}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strikeout::app
