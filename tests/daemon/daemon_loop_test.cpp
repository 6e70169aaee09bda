// The daemon loop as a whole, without a kernel: log lines in -> strikes, bans, extensions, expiry,
// unban through the control commands, reload keeping windows, and a restart putting the saved bans
// back; the decoy's attempts through the common event path (issue 9: they once skipped watch,
// explain, the events metric and the store). The firewall is core::FakeFirewall, the state a SQLite
// file in a temporary directory, the time a core::FakeClock moved by the test.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "control/client.hpp"
#include "core/fake_firewall.hpp"
#include "daemon/daemon.hpp"
#include "store/sqlite_store.hpp"
#include "../support/daemon_process.hpp"

namespace strikeout::daemon {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr core::Time kStart = core::from_seconds(1796464800);  // 2026-12-05T10:00:00Z

core::Prefix host(const char* text) {
  return *core::Prefix::parse(text);
}

class DaemonLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strikeout-loop-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    log_ = dir_ / "mail.log";
    std::ofstream(log_) << "";
    write_config("");
  }
  void TearDown() override {
    daemon_.reset();
    fs::remove_all(dir_);
  }

  void write_config(const std::string& extra_allow) {
    std::ofstream(dir_ / "strikeout.toml") << R"([protect]
ports = [25, 587]

[allow]
networks = ["127.0.0.0/8")" + extra_allow + R"(]
host_addresses = false

[[rule]]
name = "auth-failures"
on = "auth-failure"
key = "address"
hits = 3
within = "20m"
ban = "20m"
extend_on_retry = true

)" + testsupport::file_source_section("postfix", log_) +
                                                  R"(
[logs]
timezone = "UTC"

)" + testsupport::state_sections(dir_ / "state" / "state.db", dir_ / "control.sock");
  }

  void start() {
    DaemonOptions o;
    o.config_path = (dir_ / "strikeout.toml").string();
    o.config_path_given = true;
    Environment env;
    env.clock = &clock_;
    env.process = false;
    env.open_firewall = [this](const enforce::NftOptions& options,
                               core::Time) -> core::Result<std::unique_ptr<core::Firewall>> {
      auto fw = std::make_unique<core::FakeFirewall>(options.allowlist);
      fw->leave_from_previous_run(left_in_kernel_);
      firewall_ = fw.get();
      return std::unique_ptr<core::Firewall>(std::move(fw));
    };
    daemon_ = std::make_unique<Daemon>(o, std::move(env));
    const auto started = daemon_->start();
    ASSERT_TRUE(started) << started.error();
  }

  // A Postfix SASL failure of `address` at `t` (UTC, RFC 3164 as Postfix writes it).
  void fail(const std::string& address, core::Time t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(t.time_since_epoch())));
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
    std::ofstream(log_, std::ios::app) << stamp << " mail postfix/smtpd[4242]: warning: unknown[" << address
                                       << "]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n";
  }

  // Runs the loop until `done` holds; false after a 10 s deadline (the test then fails, never hangs).
  bool poll_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      daemon_->io().run_one_for(10ms);
    }
    return true;
  }

  control::Reply command(control::Command c, const char* target = nullptr) {
    control::Request r;
    r.command = c;
    if (target != nullptr) r.target = host(target);
    return daemon_->control(r);
  }

  core::LoadedState saved_state() {
    auto opened = store::SqliteStore::open({(dir_ / "state" / "state.db").string()});
    EXPECT_EQ(opened.index(), 0U);
    core::LoadedState loaded;
    EXPECT_FALSE(std::get<0>(opened)->load_state(clock_.now(), loaded));
    return loaded;
  }

  fs::path dir_;
  fs::path log_;
  core::FakeClock clock_{kStart};
  core::FakeFirewall* firewall_ = nullptr;
  std::vector<core::FirewallBan> left_in_kernel_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(DaemonLoopTest, LinesStrikeBanExtendExpireAndTheOperatorUnbans) {
  start();
  const auto attacker = host("198.51.100.7");
  // Three failures within 20 minutes: the third bans for 20 minutes from its own time.
  fail("198.51.100.7", kStart + 1s);
  fail("198.51.100.7", kStart + 2s);
  fail("198.51.100.7", kStart + 3s);
  ASSERT_TRUE(poll_until([&] { return firewall_->contains(attacker); }));
  EXPECT_EQ(firewall_->bans().at(attacker).until, kStart + 3s + 20min);
  EXPECT_NE(daemon_->metrics_text().find("sensor=\"postfix\""), std::string::npos);

  // It keeps knocking while banned: the ban restarts from the retry (the recipe's re-tag).
  clock_.set(kStart + 5min);
  fail("198.51.100.7", kStart + 5min);
  ASSERT_TRUE(poll_until([&] { return firewall_->bans().at(attacker).until == kStart + 5min + 20min; }));

  // Time passes: the ban ends in the engine and in the kernel at the same tick.
  clock_.set(kStart + 26min);
  daemon_->tick();
  EXPECT_FALSE(firewall_->contains(attacker));
  auto listed = command(control::Command::List);
  ASSERT_TRUE(listed.ok);
  EXPECT_TRUE(listed.result["bans"].empty());

  // The operator bans and unbans through the control commands; both are in the kernel and on disk
  // before the answer.
  ASSERT_TRUE(command(control::Command::Ban, "203.0.113.9").ok);
  EXPECT_TRUE(firewall_->contains(host("203.0.113.9")));
  ASSERT_EQ(saved_state().engine.bans.size(), 1U);
  ASSERT_TRUE(command(control::Command::Unban, "203.0.113.9").ok);
  EXPECT_FALSE(firewall_->contains(host("203.0.113.9")));
  EXPECT_TRUE(saved_state().engine.bans.empty());
  EXPECT_EQ(command(control::Command::Unban, "203.0.113.9").code, control::code::kNotFound);
}

TEST_F(DaemonLoopTest, ReloadKeepsTheWindowsAndARestartPutsSavedBansBack) {
  start();
  fail("198.51.100.20", kStart + 1s);
  fail("198.51.100.20", kStart + 2s);
  ASSERT_TRUE(
      poll_until([&] { return command(control::Command::Status).result["engine"]["events_failure"] == 2; }));
  // A reload that changes the allowlist keeps the rule, so its two strikes stay.
  write_config(", \"192.0.2.0/24\"");
  const auto reloaded = command(control::Command::Reload);
  ASSERT_TRUE(reloaded.ok) << reloaded.error;
  EXPECT_EQ(firewall_->allowlist().size(), 2U);
  fail("198.51.100.20", kStart + 3s);
  ASSERT_TRUE(poll_until([&] { return firewall_->contains(host("198.51.100.20")); }));

  // A restart: the kernel lost the table (a reboot); the saved ban goes back in.
  daemon_.reset();
  firewall_ = nullptr;
  clock_.set(kStart + 1min);
  start();
  ASSERT_NE(firewall_, nullptr);
  EXPECT_TRUE(firewall_->contains(host("198.51.100.20")));
  EXPECT_EQ(firewall_->bans().at(host("198.51.100.20")).until, kStart + 3s + 20min);
}

TEST_F(DaemonLoopTest, BansFoundInTheKernelAreTakenOverSilently) {
  left_in_kernel_ = {core::FirewallBan{host("198.51.100.66"), kStart + 10min, false}};
  start();
  const auto listed = command(control::Command::List);
  ASSERT_EQ(listed.result["bans"].size(), 1U);
  EXPECT_EQ(listed.result["bans"][0]["target"], "198.51.100.66");
  // Not news: explain has no entry for it (adopted bans reach only the enforcer, store and metrics).
  const auto explained = command(control::Command::Explain, "198.51.100.66");
  EXPECT_TRUE(explained.result["activity"].empty());
  EXPECT_EQ(saved_state().engine.bans.size(), 1U);
}

// Issue 9: the decoy's AUTH attempts called the engine directly and never reached watch, explain,
// strikeout_events_total or the store's windows.
TEST_F(DaemonLoopTest, DecoyAttemptShowsInWatchExplainMetricsAndTheStoredWindows) {
  start();
  std::atomic<bool> watching{false};
  std::atomic<bool> seen{false};
  std::thread watcher([&] {
    auto connected = control::ControlClient::connect((dir_ / "control.sock").string());
    if (connected.index() != 0) return;
    auto& client = std::get<0>(connected);
    control::Request r;
    r.command = control::Command::Watch;
    if (client.call(r, 10s).index() != 0) return;
    watching = true;
    client.follow([&](const control::Response& event) {
      if (event.result.value("sensor", "") == "decoy" && event.result.value("address", "") == "203.0.113.5") {
        seen = true;
        return false;
      }
      return true;
    });
  });
  ASSERT_TRUE(poll_until([&] { return watching.load(); }));

  core::Event e;
  e.time = kStart + 10s;
  e.kind = core::EventKind::AuthFailure;
  e.source = host("203.0.113.5").address();
  e.service = "smtp";
  e.user = "admin";
  e.reporter = core::Reporter::Decoy;
  e.sensor = "decoy";
  daemon_->decoy_attempt(e);
  const bool shown = poll_until([&] { return seen.load(); });
  if (!shown) daemon_->stop();  // ends the watcher's stream
  watcher.join();
  EXPECT_TRUE(shown) << "the decoy attempt never reached watch";

  const auto explained = command(control::Command::Explain, "203.0.113.5");
  ASSERT_EQ(explained.result["activity"].size(), 2U);  // the attempt, and the strike it made
  EXPECT_EQ(explained.result["activity"][0]["sensor"], "decoy");
  EXPECT_NE(daemon_->metrics_text().find("sensor=\"decoy\""), std::string::npos);
  daemon_.reset();  // commits the state
  bool stored = false;
  for (const auto& w : saved_state().engine.windows) stored |= w.key == host("203.0.113.5");
  EXPECT_TRUE(stored) << "the decoy attempt's window is not in the store";
}

}  // namespace
}  // namespace strikeout::daemon
