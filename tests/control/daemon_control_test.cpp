// The real daemon driven by the real CLI, in a network namespace of its own (the test process
// unshares it before the first test, so the host's firewall is never touched): ban, unban, allow and
// list round-trip, and what `list` says is what `nft list set` shows; `watch` shows a live attack
// (failure lines appended to the daemon's log, read back from watch with a deadline); `explain`;
// the metrics endpoint scraped and parsed as strict Prometheus text; a CLI without a daemon.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../metrics/prometheus_parser.hpp"
#include "../support/daemon_process.hpp"

namespace {

namespace fs = std::filesystem;
namespace testsupport = strikeout::testsupport;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

using testsupport::DaemonProcess;
using testsupport::Outcome;
using testsupport::run;
using testsupport::slurp;

std::string sh(const std::string& cmd) {
  return testsupport::shell(cmd);
}

// The elements of every ban set in the kernel table, as list prints them (prefix sets as ADDR/LEN).
std::set<std::string> kernel_bans() {
  std::set<std::string> out;
  const json j = json::parse(sh("nft -j list table inet strikeout"), nullptr, false);
  if (j.is_discarded()) return out;
  for (const auto& item : j["nftables"]) {
    if (!item.contains("set")) continue;
    const auto& set = item["set"];
    const std::string name = set["name"].get<std::string>();
    if (name.rfind("ban", 0) != 0 || !set.contains("elem")) continue;
    // Prefix bans live in one set per length (ban4_24, ban6_64: docs/enforcement.md), holding the
    // network address.
    const std::size_t underscore = name.find('_');
    const std::string length = underscore == std::string::npos ? "" : "/" + name.substr(underscore + 1);
    for (const auto& e : set["elem"]) {
      const json& v = e.contains("elem") ? e["elem"]["val"] : e;
      if (v.is_string()) {
        out.insert(v.get<std::string>() + length);
      } else if (v.contains("prefix")) {
        out.insert(v["prefix"]["addr"].get<std::string>() + "/" +
                   std::to_string(v["prefix"]["len"].get<int>()));
      }
    }
  }
  return out;
}

std::string syslog_now() {
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%b %e %H:%M:%S", &tm);
  return buf;
}

std::string http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return {};
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

class DaemonControl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = testsupport::enter_own_network_namespace();
    if (!skip_.empty()) return;
    dir_ = testsupport::temp_dir("strikeout-daemon");
    socket_ = (dir_ / "run" / "control.sock").string();
    log_ = dir_ / "mail.log";
    std::ofstream(log_) << "";
    std::ofstream(dir_ / "strikeout.toml")
        << R"([protect]
ports = [25, 587]

[allow]
networks = ["127.0.0.0/8", "192.0.2.0/24"]
host_addresses = true

[[rule]]
name = "auth-failures"
on = "auth-failure"
key = "address"
hits = 3
within = "20m"
ban = "20m"
)" + testsupport::file_source_section("postfix", log_) +
               testsupport::state_sections(dir_ / "state" / "state.db", socket_, "127.0.0.1:9753");
    daemon_ = std::make_unique<DaemonProcess>(STRIKEOUT_BINARY, dir_ / "strikeout.toml", dir_ / "daemon.log");
    daemon_->start();
    if (!daemon_->wait_answering(socket_, std::chrono::seconds(30)))
      skip_ = "the daemon did not start:\n" + slurp(dir_ / "daemon.log");
  }

  static void TearDownTestSuite() {
    if (daemon_) daemon_->stop(SIGTERM);
    daemon_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  static Outcome cli(std::vector<std::string> args) {
    args.insert(args.begin(), STRIKEOUT_BINARY);
    args.push_back("--socket");
    args.push_back(socket_);
    return run(args);
  }

  static std::set<std::string> listed() {
    const Outcome r = cli({"list", "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    std::set<std::string> out;
    const json j = json::parse(r.out, nullptr, false);
    if (j.is_discarded()) return out;
    for (const auto& b : j["bans"]) out.insert(b["target"].get<std::string>());
    return out;
  }

  static inline std::string skip_;
  static inline fs::path dir_;
  static inline std::string socket_;
  static inline fs::path log_;
  static inline std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(DaemonControl, BanUnbanAllowAndListMatchTheKernel) {
  Outcome r = cli({"ban", "203.0.113.7", "--for", "1h", "--reason", "seen in the web log"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("banned 203.0.113.7 until"), std::string::npos) << r.out;
  ASSERT_EQ(cli({"ban", "198.51.100.0/24"}).code, 0);
  ASSERT_EQ(cli({"ban", "2001:db8::7", "--for", "10m"}).code, 0);
  // In the kernel before the CLI was answered: no waiting here.
  EXPECT_EQ(listed(), kernel_bans());
  EXPECT_EQ(listed(), (std::set<std::string>{"203.0.113.7", "198.51.100.0/24", "2001:db8::7"}));

  r = cli({"list"});
  EXPECT_NE(r.out.find("seen in the web log"), std::string::npos) << r.out;

  ASSERT_EQ(cli({"unban", "203.0.113.7"}).code, 0);
  EXPECT_EQ(listed(), kernel_bans());
  EXPECT_EQ(listed().count("203.0.113.7"), 0U);
  r = cli({"unban", "203.0.113.7"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is not banned"), std::string::npos) << r.err;

  // The allowlist: the configuration's entry cannot be removed here; a runtime one can, and it
  // takes effect at once (a ban of it is refused, a ban it covers is lifted in the kernel).
  r = cli({"ban", "192.0.2.9"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("allowlist"), std::string::npos) << r.err;
  ASSERT_EQ(cli({"allow", "add", "198.51.100.0/24"}).code, 0);
  EXPECT_EQ(listed().count("198.51.100.0/24"), 0U);
  EXPECT_EQ(listed(), kernel_bans());
  r = cli({"ban", "198.51.100.20"});
  EXPECT_EQ(r.code, 1);
  r = cli({"allow", "list", "--json"});
  ASSERT_EQ(r.code, 0);
  const json allow = json::parse(r.out);
  EXPECT_EQ(allow["runtime"], json::array({"198.51.100.0/24"}));
  EXPECT_EQ(slurp(dir_ / "state" / "allowlist").find("198.51.100.0/24") != std::string::npos, true);
  r = cli({"allow", "remove", "192.0.2.0/24"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("edit the file"), std::string::npos) << r.err;
  ASSERT_EQ(cli({"allow", "remove", "198.51.100.0/24"}).code, 0);
  ASSERT_EQ(cli({"ban", "198.51.100.20", "--for", "5m"}).code, 0);
  EXPECT_EQ(listed(), kernel_bans());

  const Outcome status = cli({"status", "--json"});
  ASSERT_EQ(status.code, 0) << status.err;
  const json s = json::parse(status.out);
  EXPECT_EQ(s["kernel"]["present"], true);
  EXPECT_EQ(s["kernel"]["in_sync"], true);
  EXPECT_EQ(s["sensors"][0]["name"], "postfix");
}

TEST_F(DaemonControl, WatchShowsALiveAttackAndExplainTellsWhy) {
  // `strikeout watch` in the background, its output in a pipe.
  int out[2];
  int err[2];
  ASSERT_EQ(::pipe(out), 0);
  ASSERT_EQ(::pipe(err), 0);
  const pid_t watcher = ::fork();
  if (watcher == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::close(out[0]);
    ::close(err[0]);
    ::execl(STRIKEOUT_BINARY, STRIKEOUT_BINARY, "watch", "--socket", socket_.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  auto read_until = [](int fd, const std::string& needle, std::string& text) {
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (text.find(needle) == std::string::npos && Clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
    }
    return text.find(needle) != std::string::npos;
  };
  std::string err_text;
  ASSERT_TRUE(read_until(err[0], "watching", err_text)) << err_text;

  {
    std::ofstream log(log_, std::ios::app);
    for (int i = 0; i < 3; ++i) {
      log << syslog_now() << " mail postfix/smtpd[" << 9000 + i
          << "]: warning: unknown[203.0.113.66]: SASL LOGIN authentication failed: authentication failure, "
             "sasl_username=alice\n";
    }
  }
  std::string watched;
  EXPECT_TRUE(read_until(out[0], "Go AWAY: SRC=203.0.113.66", watched)) << watched << "\ndaemon log:\n"
                                                                        << slurp(dir_ / "daemon.log");
  EXPECT_NE(watched.find("AUTH failure: SRC=203.0.113.66"), std::string::npos) << watched;
  EXPECT_NE(watched.find("Strike 2"), std::string::npos) << watched;
  ::kill(watcher, SIGTERM);
  ::waitpid(watcher, nullptr, 0);
  ::close(out[0]);
  ::close(err[0]);

  EXPECT_EQ(kernel_bans().count("203.0.113.66"), 1U);
  const Outcome explain = cli({"explain", "203.0.113.66"});
  ASSERT_EQ(explain.code, 0) << explain.err;
  EXPECT_NE(explain.out.find("is banned as 203.0.113.66"), std::string::npos) << explain.out;
  EXPECT_NE(explain.out.find("strike 3 of 3 rule=auth-failures"), std::string::npos) << explain.out;
  EXPECT_NE(explain.out.find("user=\"alice\""), std::string::npos) << explain.out;
  EXPECT_NE(explain.out.find("escalation history"), std::string::npos) << explain.out;

  // The metrics saw it too, and parse as Prometheus text.
  const std::string reply = http_get(9753, "/metrics");
  ASSERT_EQ(reply.rfind("HTTP/1.1 200 OK", 0), 0U) << reply;
  const auto parsed = strikeout::test::parse_prometheus(reply.substr(reply.find("\r\n\r\n") + 4));
  ASSERT_TRUE(parsed.error.empty()) << parsed.error;
  EXPECT_GE(parsed.value("strikeout_bans_total", {{"rule", "auth-failures"}}), 1);
  EXPECT_GE(parsed.sum("strikeout_events_total", {{"sensor", "postfix"}, {"kind", "auth-failure"}}), 3);
  EXPECT_GE(parsed.value("strikeout_ban_latency_seconds_count", {}), 1);
  EXPECT_EQ(parsed.value("strikeout_kernel_table_intact", {}), 1);
}

TEST_F(DaemonControl, MalformedArgumentsAreUsageErrorsNamingThem) {
  Outcome r = cli({"ban", "1.2.3"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("\"1.2.3\""), std::string::npos) << r.err;
  r = cli({"ban", "203.0.113.9", "--for", "5"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--for \"5\""), std::string::npos) << r.err;
  r = cli({"explain", "203.0.113.0/24"});
  EXPECT_EQ(r.code, 2);
}

TEST(ControlCli, WithoutADaemonSaysSoInOneLine) {
  const Outcome r = run({STRIKEOUT_BINARY, "status", "--socket", "/nonexistent/strikeout.sock"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "strikeout status: the strikeout daemon is not running (nothing answers on "
            "/nonexistent/strikeout.sock)\n");
  EXPECT_EQ(r.out, "");
}

}  // namespace
