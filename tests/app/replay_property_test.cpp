// Property: on random Postfix logs, replay bans exactly the addresses a brute-force oracle says had N
// failures within T (with the documented ban-and-clear semantics), at exactly the same times, and never
// an allowlisted address. The oracle is deliberately naive (a list of times per address, scanned again
// for every event) and shares no code with the engine or the matchers.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "replay_support.hpp"

namespace strikeout::app {
namespace {

constexpr int kHits = 3;
constexpr std::int64_t kWithin = 20 * 60;
constexpr std::int64_t kBan = 20 * 60;

const char* kConfig = R"(
[allow]
networks = ["192.0.2.0/24"]
[logs]
timezone = "UTC"
[[rule]]
name = "auth-failures"
on = "auth-failure"
key = "address"
hits = 3
within = "20m"
action = "ban"
ban = "20m"
ban_factor = 1.0
extend_on_retry = false
)";

struct Failure {
  std::int64_t t;  // seconds since 2026-01-01T00:00:00Z
  std::string address;
};

// (address, ban time) pairs the oracle expects, in time order.
std::vector<std::pair<std::string, std::int64_t>> oracle(const std::vector<Failure>& failures) {
  std::map<std::string, std::vector<std::int64_t>> window;
  std::map<std::string, std::int64_t> banned_until;
  std::vector<std::pair<std::string, std::int64_t>> bans;
  for (const auto& f : failures) {
    if (f.address.rfind("192.0.2.", 0) == 0) continue;  // allowlisted
    auto it = banned_until.find(f.address);
    if (it != banned_until.end() && f.t < it->second) continue;  // banned: no new strikes
    auto& times = window[f.address];
    times.push_back(f.t);
    // Keep only events that could be the first of N within T ending at f.t.
    std::vector<std::int64_t> kept;
    for (auto t : times) {
      if (f.t - t <= kWithin) kept.push_back(t);
    }
    times = kept;
    if (static_cast<int>(times.size()) >= kHits) {
      bans.emplace_back(f.address, f.t);
      banned_until[f.address] = f.t + kBan;
      times.clear();
    }
  }
  return bans;
}

std::string syslog_time(std::int64_t t) {
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // Within January and February 2026 only (the generator keeps to that).
  const std::int64_t day = t / 86400;
  const int month = day < 31 ? 0 : 1;
  const auto mday = static_cast<int>(day < 31 ? day + 1 : day - 31 + 1);
  const std::int64_t sod = t % 86400;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s %2d %02d:%02d:%02d", months[month], mday, static_cast<int>(sod / 3600),
                static_cast<int>(sod / 60 % 60), static_cast<int>(sod % 60));
  return buf;
}

TEST(ReplayProperty, BansExactlyWhatTheOracleSays) {
  const auto cfg = testing::load_test_config(kConfig);
  const auto dir = std::filesystem::temp_directory_path() / ("strikeout-prop-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::size_t total_bans = 0;
  for (unsigned seed = 1; seed <= 30; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> addresses;
    for (int i = 0; i < 12; ++i) addresses.push_back("198.51.100." + std::to_string(i + 1));
    for (int i = 0; i < 4; ++i) addresses.push_back("2001:db8::" + std::to_string(i + 1));
    for (int i = 0; i < 3; ++i) addresses.push_back("192.0.2." + std::to_string(i + 1));
    // Bursts of failures at random gaps around the window length, so many windows end right at the edge.
    std::vector<Failure> failures;
    std::int64_t t = 3600;
    const int events = 150 + static_cast<int>(rng() % 150);
    for (int i = 0; i < events; ++i) {
      const auto pick = rng() % 4;
      t += pick == 0   ? 0
           : pick == 1 ? static_cast<std::int64_t>(rng() % 30)
           : pick == 2 ? static_cast<std::int64_t>(rng() % 600)
                       : kWithin - 5 + static_cast<std::int64_t>(rng() % 11);
      failures.push_back({t, addresses[rng() % addresses.size()]});
    }
    ASSERT_LT(t, 59LL * 86400) << "generator must stay within January and February";
    const auto path = (dir / ("random-" + std::to_string(seed) + ".log")).string();
    {
      std::ofstream out(path);
      int pid = 1000;
      for (const auto& f : failures) {
        // Noise lines between the failures, and the real failure shape (IPv6 with a reverse name).
        out << syslog_time(f.t) << " mx postfix/submission/smtpd[" << pid << "]: connect from unknown["
            << f.address << "]\n";
        out << syslog_time(f.t) << " mx postfix/submission/smtpd[" << pid
            << "]: warning: " << (f.address.find(':') != std::string::npos ? "host.example.net" : "unknown")
            << "[" << f.address << "]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=user"
            << (pid % 7) << "\n";
        out << syslog_time(f.t) << " mx postfix/qmgr[77]: 4F2A91C0123: removed\n";
        ++pid;
      }
    }
    // The same with the log decoded on 1, 2 and 4 threads, in parts small enough that each run
    // crosses many part boundaries (replay --jobs).
    for (const unsigned jobs : {1U, 2U, 4U}) {
      ReplayOptions o = testing::options_from(cfg);
      o.files = {path};
      o.json = true;
      o.year = 2026;
      o.jobs = jobs;
      o.chunk_bytes = 4096;
      const auto c = testing::capture_replay(o);
      ASSERT_EQ(c.status, 0) << c.err;
      std::vector<std::pair<std::string, std::int64_t>> actual;
      for (const auto& j : testing::json_lines(c.out)) {
        if (j["action"] != "ban" || j["extended"].get<bool>()) continue;
        // Times are whole seconds from 2026-01-01: rebuild them from the RFC 3339 text.
        const auto time = j["time"].get<std::string>();
        const int month = std::stoi(time.substr(5, 2));
        const int mday = std::stoi(time.substr(8, 2));
        const std::int64_t secs = (month == 1 ? mday - 1 : 31 + mday - 1) * 86400LL +
                                  std::stoi(time.substr(11, 2)) * 3600LL +
                                  std::stoi(time.substr(14, 2)) * 60LL + std::stoi(time.substr(17, 2));
        actual.emplace_back(j["address"].get<std::string>(), secs);
      }
      EXPECT_EQ(actual, oracle(failures)) << "seed " << seed << ", jobs " << jobs;
    }
    total_bans += oracle(failures).size();
  }
  std::filesystem::remove_all(dir);
  EXPECT_GT(total_bans, 30U) << "the generator must produce bans for the test to mean anything";
}

}  // namespace
}  // namespace strikeout::app
