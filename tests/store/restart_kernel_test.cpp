// The daemon restarted, cleanly or with kill -9, under a steady stream of failure lines: nothing it
// knew is lost and nothing is counted twice (docs/state.md). Label `kernel`: the test process makes a
// network namespace of its own before the first test, and the daemons it starts live in it, so their
// nftables table never touches the host's firewall. Needs root, and the `strikeout` binary
// (STRIKEOUT_BIN, set by CMake).
//
// The log is written by the test itself at a steady pace; every wait polls with a deadline.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "config/loader.hpp"
#include "core/engine.hpp"
#include "core/engine_state.hpp"
#include "logs/decoder.hpp"
#include "../support/daemon_process.hpp"

namespace strikeout {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kTable = "strikeout_restart_test";

using testsupport::poll_until;

std::string run_capture(const std::string& command) {
  return testsupport::shell(command);
}

std::string iso_now_line(const std::string& address, int pid, const std::string& user) {
  const auto now = std::chrono::system_clock::now();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(us % 1'000'000));
  return std::string(stamp) + " mail postfix/submission/smtpd[" + std::to_string(pid) +
         "]: warning: unknown[" + address +
         "]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=" + user + "\n";
}

class RestartTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string why = testsupport::enter_own_network_namespace();
    ASSERT_TRUE(why.empty()) << "the restart tests need a network namespace of their own: " << why;
  }

  void SetUp() override {
    binary_ = STRIKEOUT_BIN;
    ASSERT_TRUE(fs::exists(binary_)) << binary_;
    dir_ = testsupport::temp_dir("strikeout-restart");
    ASSERT_FALSE(dir_.empty());
    log_ = dir_ / "mail.log";
    db_ = dir_ / "state.db";
    std::ofstream(log_).close();
    std::ofstream(dir_ / "strikeout.toml") << R"(
[[rule]]
name = "auth-failures"
on = "auth-failure"
key = "address"
hits = 3
within = "20m"
action = "ban"
ban = "2h"

[[rule]]
name = "username-campaign"
on = "auth-failure"
key = "username"
hits = 4
within = "1h"
action = "notice"

)" + testsupport::file_source_section("mail", log_) +
                                                  R"(
[logs]
timezone = "UTC"

[enforce]
table = ")" + std::string(kTable) + R"("

)" + testsupport::state_sections(db_, dir_ / "control.sock");
    (void)run_capture(std::string("nft delete table inet ") + kTable + " 2>/dev/null");
  }

  void TearDown() override {
    stop_daemon(SIGKILL);
    (void)run_capture(std::string("nft delete table inet ") + kTable + " 2>/dev/null");
    if (!HasFailure())
      fs::remove_all(dir_);
    else
      std::fprintf(stderr, "kept %s for a look (daemon.log)\n", dir_.c_str());
  }

  void start_daemon() {
    daemon_.emplace(binary_, dir_ / "strikeout.toml", dir_ / "daemon.log");
    daemon_->start();
  }

  // Waits until the daemon has its table in the kernel and has written its state once: it is running.
  bool wait_started() {
    return daemon_->wait_ready(
        [&] {
          return fs::exists(db_) &&
                 run_capture(std::string("nft list table inet ") + kTable + " 2>/dev/null").find("chain") !=
                     std::string::npos;
        },
        std::chrono::seconds(20));
  }

  void stop_daemon(int sig) {
    if (daemon_) daemon_->stop(sig);
  }

  // What the database says, read with its own connection (WAL: readers see the last commit).
  struct Saved {
    std::set<std::string> bans;
    std::map<std::string, std::size_t> window_sizes;  // address -> timestamps, rule auth-failures
    std::uint64_t offset = 0;                         // the log source's saved position
  };
  Saved read_store() {
    Saved s;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(db);
      return s;
    }
    sqlite3_busy_timeout(db, 2000);
    auto each = [&](const char* sql, const std::function<void(sqlite3_stmt*)>& row) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) return;
      while (sqlite3_step(st) == SQLITE_ROW) row(st);
      sqlite3_finalize(st);
    };
    auto text = [](sqlite3_stmt* st, int i) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      return std::string(p == nullptr ? "" : p);
    };
    each("SELECT target FROM bans", [&](sqlite3_stmt* st) { s.bans.insert(text(st, 0)); });
    each("SELECT key, length(times) FROM windows WHERE rule = 'auth-failures'", [&](sqlite3_stmt* st) {
      s.window_sizes[text(st, 0)] = static_cast<std::size_t>(sqlite3_column_int64(st, 1) / 8);
    });
    each("SELECT \"offset\" FROM positions WHERE source = 'mail'",
         [&](sqlite3_stmt* st) { s.offset = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0)); });
    sqlite3_close(db);
    return s;
  }

  std::set<std::string> kernel_bans() {
    const std::string out = run_capture(std::string("nft list set inet ") + kTable + " ban4 2>/dev/null");
    std::set<std::string> found;
    static const std::regex address(R"(\b10\.\d+\.\d+\.\d+\b)");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), address); it != std::sregex_iterator();
         ++it) {
      found.insert(it->str());
    }
    return found;
  }

  // The same lines through the same engine in one go, as `strikeout replay` does.
  struct Replayed {
    std::set<std::string> bans;
    std::map<std::string, std::size_t> window_sizes;
  };
  Replayed replay() {
    Replayed r;
    auto loaded = config::load_config_file(dir_ / "strikeout.toml");
    EXPECT_TRUE(std::holds_alternative<config::Config>(loaded));
    const auto& cfg = std::get<config::Config>(loaded);
    logs::DecoderOptions d;
    d.format = "postfix";
    d.zone = cfg.logs.timezone;
    d.sensor = "mail";
    auto decoder = std::get<logs::LineDecoder>(logs::LineDecoder::create(std::move(d)));
    core::Engine engine(cfg.policy);
    struct Ignore : core::DecisionSink {
      void on_decision(const core::Decision&) override {}
    } ignore;
    std::ifstream in(log_);
    std::string line;
    while (std::getline(in, line)) {
      core::Event e;
      if (decoder.decode(line, e) == logs::LineStatus::Event) engine.on_event(e, ignore);
    }
    for (const auto& b : engine.active_bans()) r.bans.insert(b.target.to_string());
    for (const auto& w : engine.export_state().windows) {
      if (w.rule == "auth-failures") r.window_sizes[w.key.to_string()] = w.times.size();
    }
    return r;
  }

  std::string binary_;
  fs::path dir_, log_, db_;
  std::optional<testsupport::DaemonProcess> daemon_;
};

TEST_F(RestartTest, ARestartInTheMiddleOfAnAttackKeepsTheStrikes) {
  start_daemon();
  ASSERT_TRUE(wait_started()) << "the daemon did not start; see " << (dir_ / "daemon.log");
  {
    std::ofstream out(log_, std::ios::app);
    out << iso_now_line("10.9.9.9", 100, "alice") << iso_now_line("10.9.9.9", 100, "alice");
  }
  // Strikes 1 and 2 are committed within one store interval...
  ASSERT_TRUE(
      poll_until([&] { return read_store().window_sizes["10.9.9.9"] == 2; }, std::chrono::seconds(10)));
  // ... the daemon dies without a word ...
  stop_daemon(SIGKILL);
  start_daemon();
  ASSERT_TRUE(wait_started());
  EXPECT_TRUE(kernel_bans().empty());
  // ... and the attacker's next failure bans it: strike 3.
  { std::ofstream(log_, std::ios::app) << iso_now_line("10.9.9.9", 101, "alice"); }
  EXPECT_TRUE(poll_until([&] { return kernel_bans().count("10.9.9.9") == 1; }, std::chrono::seconds(10)))
      << "not banned after the restart: the strikes were forgotten";
  EXPECT_TRUE(poll_until([&] { return read_store().bans.count("10.9.9.9") == 1; }, std::chrono::seconds(5)));
}

TEST_F(RestartTest, KillNineUnderASteadyAttackLosesAndDoublesNothing) {
  const int kills =
      std::getenv("STRIKEOUT_KILLS") != nullptr ? std::atoi(std::getenv("STRIKEOUT_KILLS")) : 20;
  // The attack: 400 addresses, each failing 1 to 4 times, lines interleaved at random, written at a
  // steady 250 lines/s. An address with 3 or more is banned, one with fewer holds that many strikes.
  std::mt19937 rng(20261127);
  std::vector<std::string> lines_for;  // one entry per line to write: the address
  std::map<std::string, int> failures;
  for (int i = 0; i < 400; ++i) {
    const std::string a = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    const int n = 1 + static_cast<int>(rng() % 4);
    failures[a] = n;
    for (int k = 0; k < n; ++k) lines_for.push_back(a);
  }
  std::shuffle(lines_for.begin(), lines_for.end(), rng);
  // The first start finds no saved position and begins at the end of the log: start it before the
  // attack.
  start_daemon();
  ASSERT_TRUE(wait_started()) << "see " << (dir_ / "daemon.log");
  std::atomic<std::size_t> written{0};
  std::thread writer([&] {
    std::ofstream out(log_, std::ios::app);
    const auto start = SteadyClock::now();
    for (std::size_t i = 0; i < lines_for.size(); ++i) {
      // A steady pace: line i is due 4 ms * i after the start (250 lines/s).
      std::this_thread::sleep_until(start + std::chrono::microseconds(4000 * i));
      out << iso_now_line(lines_for[i], 2000 + static_cast<int>(i % 50), "user" + std::to_string(i % 7));
      out.flush();
      written.store(i + 1);
    }
  });

  int restarts = 0;
  std::uniform_int_distribution<std::size_t> ahead(1,
                                                   lines_for.size() / (2 * static_cast<std::size_t>(kills)));
  while (restarts < kills && written.load() < lines_for.size()) {
    if (restarts > 0) start_daemon();
    ASSERT_TRUE(wait_started()) << "the daemon did not start after " << restarts << " kills; see "
                                << (dir_ / "daemon.log");
    // A random moment: after a random number of further lines were written.
    const std::size_t kill_at = std::min(lines_for.size(), written.load() + ahead(rng));
    ASSERT_TRUE(poll_until([&] { return written.load() >= kill_at; }, std::chrono::seconds(30)));
    stop_daemon(SIGKILL);
    ++restarts;
  }
  writer.join();

  // A last start reads what is left, then stops cleanly.
  start_daemon();
  ASSERT_TRUE(wait_started());
  const auto size = fs::file_size(log_);
  ASSERT_TRUE(poll_until([&] { return read_store().offset == size; }, std::chrono::seconds(30)))
      << "the daemon did not catch up with the log";
  stop_daemon(SIGTERM);

  const Saved saved = read_store();
  const std::set<std::string> kernel = kernel_bans();
  const Replayed replayed = replay();
  std::set<std::string> expected_bans;
  std::map<std::string, std::size_t> expected_windows;
  for (const auto& [a, n] : failures) {
    if (n >= 3)
      expected_bans.insert(a);
    else
      expected_windows[a] = static_cast<std::size_t>(n);
  }
  std::printf(
      "kill -9 test: %d kills at random moments, %zu lines from %zu addresses; checked %zu bans in the "
      "kernel set, %zu in the store, %zu in the replay (expected %zu); %zu pending windows in the store, %zu "
      "in "
      "the replay (expected %zu)\n",
      restarts, lines_for.size(), failures.size(), kernel.size(), saved.bans.size(), replayed.bans.size(),
      expected_bans.size(), saved.window_sizes.size(), replayed.window_sizes.size(), expected_windows.size());
  EXPECT_GE(restarts, kills / 2) << "the stream ended before most kills";
  EXPECT_EQ(replayed.bans, expected_bans);
  EXPECT_EQ(replayed.window_sizes, expected_windows);
  EXPECT_EQ(kernel, expected_bans) << "kernel set and replay disagree";
  EXPECT_EQ(saved.bans, expected_bans) << "store and replay disagree";
  EXPECT_EQ(saved.window_sizes, expected_windows) << "a strike was lost or counted twice";
}

}  // namespace
}  // namespace strikeout
