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
#include "webhook/webhook.hpp"

#include "../support/daemon_process.hpp"
#include "../webhook/receiver.hpp"

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

  // `extra_allow`: more [allow] networks; `extra`: more sections at the end.
  void write_config(const std::string& extra_allow, const std::string& extra = "") {
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

)" + testsupport::state_sections(dir_ / "state" / "state.db", dir_ / "control.sock") +
                                                  extra;
  }

  void start() {
    daemon_ = make_daemon();
    const auto started = daemon_->start();
    ASSERT_TRUE(started) << started.error();
  }

  // A daemon on this test's configuration, fake firewall and clock; not started.
  std::unique_ptr<Daemon> make_daemon() {
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
    return std::make_unique<Daemon>(o, std::move(env));
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

// [[webhook]] (issue 14): a ban reaches a receiver as a signed JSON POST, an unban follows; a second
// webhook whose endpoint reads the request and never answers delays nothing: the bans of a burst are
// in the firewall while that endpoint still holds its first request.
TEST_F(DaemonLoopTest, BansReachTheWebhookSignedAndAHangingEndpointDelaysNoBan) {
  webhook::test::Receiver receiver({200});
  webhook::test::Receiver hanging({0});
  std::ofstream(dir_ / "webhook.secret") << "s3cret\n";
  write_config("", R"(
[[webhook]]
name = "siem"
url = ")" + receiver.url() +
                       R"("
secret_file = ")" + (dir_ / "webhook.secret").string() +
                       R"("

[[webhook]]
name = "stuck"
url = ")" + hanging.url() +
                       R"("
events = ["ban"]
queue = 4
)");
  start();
  for (int i = 1; i <= 20; ++i) {
    const std::string address = "198.51.100." + std::to_string(i);
    for (int k = 1; k <= 3; ++k) fail(address, kStart + std::chrono::seconds(i * 3 + k));
  }
  ASSERT_TRUE(poll_until([&] { return firewall_->bans().size() == 20; }));

  // Every ban to the working endpoint, each signed over the exact body it carries.
  ASSERT_TRUE(poll_until([&] { return receiver.requests().size() >= 20; }));
  const auto requests = receiver.requests();
  for (const auto& request : requests) {
    const auto head_end = request.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    const std::string body = request.substr(head_end + 4);
    EXPECT_NE(body.find("\"event\":\"ban\""), std::string::npos) << body;
    EXPECT_NE(request.find("X-Strikeout-Signature: sha256=" + webhook::hmac_sha256_hex("s3cret", body)),
              std::string::npos)
        << request;
  }
  // The hanging endpoint holds one request; its queue of 4 took 4 more and the rest were dropped.
  const auto status = command(control::Command::Status).result;
  const auto& hooks = status["webhooks"];
  ASSERT_EQ(hooks.size(), 2U);
  EXPECT_EQ(hooks[0]["name"], "siem");
  EXPECT_EQ(hooks[0]["signed"], true);
  EXPECT_EQ(hooks[1]["name"], "stuck");
  EXPECT_GE(hooks[1]["dropped"].get<std::uint64_t>(), 15U);
  EXPECT_NE(daemon_->metrics_text().find("strikeout_webhook_dropped_total"), std::string::npos);

  // The bans end: the unbans go to "siem" (which asked for every event), not to "stuck".
  clock_.set(kStart + 2h);
  daemon_->tick();
  ASSERT_TRUE(poll_until([&] {
    const auto r = receiver.requests();
    return std::count_if(r.begin(), r.end(), [](const std::string& q) {
             return q.find("\"event\":\"unban\"") != std::string::npos;
           }) == 20;
  }));
}

// A webhook whose secret file cannot be read stops the start (naming the webhook and the file), and
// refuses a reload, leaving the running configuration as it was.
TEST_F(DaemonLoopTest, AnUnreadableWebhookSecretRefusesStartAndReload) {
  const std::string unreadable_secret = "\n[[webhook]]\nurl = \"http://127.0.0.1:9/hook\"\nsecret_file = \"" +
                                        (dir_ / "missing.secret").string() + "\"\n";
  write_config("", unreadable_secret);
  EXPECT_FALSE(make_daemon()->start());

  write_config("");
  start();
  write_config("", unreadable_secret);
  const auto reloaded = command(control::Command::Reload);
  EXPECT_FALSE(reloaded.ok);
  EXPECT_NE(reloaded.error.find("missing.secret"), std::string::npos) << reloaded.error;
  EXPECT_EQ(command(control::Command::Status).result["webhooks"].size(), 0U);
}

}  // namespace
}  // namespace strikeout::daemon
