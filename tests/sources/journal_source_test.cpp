// journald through sd-journal, against a real, standalone systemd-journald: started by the test in a
// mount namespace of its own, with the test's directory bind-mounted on /run, so its sockets and its
// journal files land in that directory and the host's journal (if any) is never touched. There is no
// systemd as init here, hence no _SYSTEMD_UNIT: the matches are on SYSLOG_IDENTIFIER, as Postfix and
// Dovecot write it through syslog.
//
// The test writes records the way programs do: native journal datagrams to .../journal/socket, and
// RFC 3164 syslog datagrams to .../journal/dev-log (what /dev/log is on a systemd host). It waits for
// the source's descriptor with a deadline; never sleeps for a fixed time.
//
// Needs root (a mount namespace and a bind mount) and /lib/systemd/systemd-journald; skipped with the
// reason otherwise.
#include "sources/journal_source.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace strikeout::sources {
namespace {

namespace fs = std::filesystem;
constexpr const char* kJournald = "/lib/systemd/systemd-journald";

struct Record {
  std::string program, host, message;
  std::uint32_t pid = 0;
  std::int64_t micros = 0;
  std::string cursor_after;
};

struct Collector : core::LogSink {
  std::vector<Record> records;
  std::vector<core::SourceNotice> notices;
  void on_line(std::string_view, const core::LineInfo&) override { ADD_FAILURE() << "line from journald"; }
  void on_record(const core::JournalRecord& r, const core::SourcePosition& after) override {
    records.push_back({std::string(r.program), std::string(r.host), std::string(r.message), r.pid,
                       core::to_micros(r.time), std::get<core::JournalCursor>(after).cursor});
  }
  void on_notice(const core::SourceNotice& n) override { notices.push_back(n); }
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.message);
    return out;
  }
};

// Polls with a deadline until `done` holds; false on timeout.
template <typename Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ::poll(nullptr, 0, 10);
  }
  return true;
}

class JournalSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for a mount namespace (standalone journald)";
    if (::access(kJournald, X_OK) != 0) GTEST_SKIP() << kJournald << " is not installed";
    std::ifstream id("/etc/machine-id");
    std::getline(id, machine_id_);
    if (machine_id_.size() != 32)
      GTEST_SKIP() << "no /etc/machine-id: journald would not say where it writes";

    char tmpl[] = "/tmp/strikeout-journal-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/run");
    const std::string script = "mount --bind " + dir_ + "/run /run && mkdir -p /run/systemd/journal " +
                               "/run/log/journal && exec " + kJournald;
    journald_ = ::fork();
    ASSERT_GE(journald_, 0);
    if (journald_ == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execlp("unshare", "unshare", "--mount", "--propagation", "private", "sh", "-c", script.c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    journal_dir_ = dir_ + "/run/log/journal/" + machine_id_;
    const bool up = eventually([&] {
      int status = 0;
      if (::waitpid(journald_, &status, WNOHANG) == journald_) {
        journald_ = -1;
        return true;
      }
      return fs::exists(dir_ + "/run/systemd/journal/socket") && fs::exists(journal_dir_ + "/system.journal");
    });
    if (journald_ < 0)
      GTEST_SKIP() << "a standalone systemd-journald could not be started in a mount namespace here";
    ASSERT_TRUE(up) << "journald did not create its socket and journal in time";
  }

  void TearDown() override {
    source_.reset();
    if (journald_ > 0) {
      ::kill(journald_, SIGTERM);
      int status = 0;
      ::waitpid(journald_, &status, 0);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void send_to(const std::string& socket_name, const std::string& payload) {
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = dir_ + "/run/systemd/journal/" + socket_name;
    ASSERT_LT(path.size(), sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const ssize_t sent = ::sendto(fd, payload.data(), payload.size(), 0,
                                  reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    ::close(fd);
    ASSERT_EQ(sent, static_cast<ssize_t>(payload.size())) << std::strerror(errno);
  }
  // The journal's native protocol, as sd_journal_send() writes it.
  void native(const std::string& identifier, const std::string& message, int pid = 4242) {
    send_to("socket", "SYSLOG_IDENTIFIER=" + identifier + "\nSYSLOG_PID=" + std::to_string(pid) +
                          "\nMESSAGE=" + message + "\n");
  }
  // What Postfix writes through syslog(3) to /dev/log.
  void syslog(const std::string& line) { send_to("dev-log", line); }

  // Opens a source on the test journal and makes the daemon's first read() into `sink`.
  std::unique_ptr<JournalSource> open(std::vector<std::string> matches, std::optional<std::string> cursor,
                                      Collector& sink) {
    JournalSourceOptions options;
    options.name = "journal";
    options.directory = journal_dir_;
    options.matches = std::move(matches);
    options.cursor = std::move(cursor);
    auto opened = JournalSource::open(options);
    if (auto* error = std::get_if<std::string>(&opened)) {
      ADD_FAILURE() << *error;
      return nullptr;
    }
    auto source = std::move(std::get<std::unique_ptr<JournalSource>>(opened));
    source->read(sink, 1000);
    return source;
  }
  std::unique_ptr<JournalSource> open(std::vector<std::string> matches,
                                      std::optional<std::string> cursor = std::nullopt) {
    return open(std::move(matches), std::move(cursor), sink_);
  }

  // Waits for the source's fd and reads until `count` records in all were delivered.
  void wait_for(JournalSource& source, Collector& sink, std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (sink.records.size() < count) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      ASSERT_GT(left.count(), 0) << "timed out; got " << ::testing::PrintToString(sink.messages());
      pollfd p{source.fd(), POLLIN, 0};
      ASSERT_GE(::poll(&p, 1, static_cast<int>(left.count())), 0);
      if (p.revents != 0) source.read(sink, 1000);
    }
    source.read(sink, 1000);
    EXPECT_EQ(sink.records.size(), count) << ::testing::PrintToString(sink.messages());
  }

  // Makes sure journald has written `message` before the test goes on (a source opened later at the
  // tail must not see it): reads the journal from its head until it shows up.
  void wait_written(const std::string& message) {
    Collector probe_sink;
    auto probe = open({"MESSAGE=" + message}, std::string(), probe_sink);
    ASSERT_TRUE(probe);
    wait_for(*probe, probe_sink, 1);
  }

  std::string dir_, machine_id_, journal_dir_;
  pid_t journald_ = -1;
  std::unique_ptr<JournalSource> source_;
  Collector sink_;
};

TEST_F(JournalSourceTest, StartsAtTheTailAndDeliversOnlyMatchingRecordsWithTheirFields) {
  native("postfix/smtpd", "old: written before the source started");
  wait_written("old: written before the source started");
  source_ = open({"SYSLOG_IDENTIFIER=postfix/smtpd", "SYSLOG_IDENTIFIER=dovecot"});
  ASSERT_TRUE(source_);
  native("postfix/smtpd", "warning: unknown[203.0.113.7]: SASL LOGIN authentication failed: x", 101);
  native("CRON", "not ours");
  native("dovecot", "auth: passwd-file(alice,203.0.113.7): Password mismatch", 102);
  native("postfix/submission/smtpd", "not matched: another identifier");
  // journald reads its sockets in no fixed order relative to each other: wait before using the
  // second socket, so the expected order is the order written.
  wait_for(*source_, sink_, 2);
  syslog("<22>Nov 27 01:49:52 postfix/smtpd[4711]: connect from unknown[198.51.100.9]");
  wait_for(*source_, sink_, 3);
  ASSERT_EQ(sink_.records.size(), 3U);
  EXPECT_EQ(sink_.records[0].program, "postfix/smtpd");
  EXPECT_EQ(sink_.records[0].pid, 101U);
  EXPECT_EQ(sink_.records[0].message, "warning: unknown[203.0.113.7]: SASL LOGIN authentication failed: x");
  EXPECT_FALSE(sink_.records[0].host.empty());
  EXPECT_GT(sink_.records[0].micros, 0);
  EXPECT_EQ(sink_.records[1].program, "dovecot");
  EXPECT_EQ(sink_.records[1].pid, 102U);
  // Through syslog: journald split the header; the identifier and pid come from it.
  EXPECT_EQ(sink_.records[2].program, "postfix/smtpd");
  EXPECT_EQ(sink_.records[2].pid, 4711U);
  EXPECT_EQ(sink_.records[2].message, "connect from unknown[198.51.100.9]");
  EXPECT_EQ(std::get<core::JournalCursor>(source_->checkpoint()).cursor, sink_.records[2].cursor_after);
}

// Also a regression test: started when nothing in the journal matched, the first source used to lose
// m1 (libsystemd 252 jumps from the tail to the newest record once records arrive).
TEST_F(JournalSourceTest, SavedCursorResumesRightAfterTheLastRecordDelivered) {
  source_ = open({"SYSLOG_IDENTIFIER=postfix/smtpd"});
  ASSERT_TRUE(source_);
  native("postfix/smtpd", "m1");
  native("postfix/smtpd", "m2");
  wait_for(*source_, sink_, 2);
  const auto saved = std::get<core::JournalCursor>(source_->checkpoint()).cursor;
  ASSERT_FALSE(saved.empty());
  source_.reset();  // the daemon stops

  native("postfix/smtpd", "m3");
  native("CRON", "not ours");
  native("postfix/smtpd", "m4");
  wait_written("m4");
  source_ = open({"SYSLOG_IDENTIFIER=postfix/smtpd"}, saved);
  ASSERT_TRUE(source_);
  wait_for(*source_, sink_, 4);
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
  EXPECT_TRUE(sink_.notices.empty());
}

TEST_F(JournalSourceTest, EmptyCursorMeansTheJournalHadNothingYetAndReadsFromItsHead) {
  native("postfix/smtpd", "h1");
  native("postfix/smtpd", "h2");
  wait_written("h2");
  source_ = open({"SYSLOG_IDENTIFIER=postfix/smtpd"}, std::string());
  ASSERT_TRUE(source_);
  wait_for(*source_, sink_, 2);
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"h1", "h2"}));
}

TEST_F(JournalSourceTest, UnusableCursorIsNoticedAndReadingStartsAtTheTail) {
  native("postfix/smtpd", "before");
  wait_written("before");
  source_ = open({"SYSLOG_IDENTIFIER=postfix/smtpd"}, std::string("not a cursor"));
  ASSERT_TRUE(source_);
  ASSERT_EQ(sink_.notices.size(), 1U);
  EXPECT_EQ(sink_.notices[0].kind, core::SourceNoticeKind::CursorNotFound);
  EXPECT_NE(sink_.notices[0].message.find("saved journal cursor of journal is not usable"), std::string::npos)
      << sink_.notices[0].message;
  native("postfix/smtpd", "after");
  wait_for(*source_, sink_, 1);
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"after"}));
}

TEST_F(JournalSourceTest, MatchesOnDifferentFieldsAreAnded) {
  source_ = open({"SYSLOG_IDENTIFIER=postfix/smtpd", "SYSLOG_IDENTIFIER=dovecot", "SYSLOG_PID=7"});
  ASSERT_TRUE(source_);
  native("postfix/smtpd", "p6", 6);
  native("postfix/smtpd", "p7", 7);
  native("CRON", "c7", 7);
  native("dovecot", "d7", 7);
  wait_for(*source_, sink_, 2);
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"p7", "d7"}));
}

TEST(JournalSourceOptions, MalformedMatchesAreRefusedNamingThem) {
  EXPECT_EQ(validate_journal_match("SYSLOG_IDENTIFIER=postfix/smtpd"), std::nullopt);
  EXPECT_EQ(validate_journal_match("_SYSTEMD_UNIT=postfix@-.service"), std::nullopt);
  EXPECT_EQ(*validate_journal_match("postfix"), "journal match 'postfix': expected FIELD=value");
  EXPECT_NE(validate_journal_match("syslog_identifier=x")->find("upper-case"), std::string::npos);
  EXPECT_NE(validate_journal_match("=x")->find("empty"), std::string::npos);
  JournalSourceOptions options;
  options.directory = "/nonexistent-journal-dir";
  options.matches = {"SYSLOG_IDENTIFIER=postfix/smtpd", "bad match"};
  auto opened = JournalSource::open(options);
  ASSERT_TRUE(std::holds_alternative<std::string>(opened));
  EXPECT_EQ(std::get<std::string>(opened), "journal match 'bad match': expected FIELD=value");
}

}  // namespace
}  // namespace strikeout::sources
