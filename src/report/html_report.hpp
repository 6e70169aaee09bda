// `strikeout report`: one self-contained HTML page of what the engine saw and did (docs/report.md).
//
// HtmlReport collects events and decisions as they come (from replay's engine, or from the running
// daemon's answers) into bounded summaries, then writes one HTML file: inline CSS, plots as SVG written
// here, no script, and a Content-Security-Policy that forbids the page any request, so it can be mailed
// to a colleague or opened from an incident ticket without anything leaving the reader's machine.
//
// Attacker text (usernames) is written quoted (report::append_quoted) and HTML-escaped: a username can
// never become markup.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/address.hpp"
#include "core/decision.hpp"
#include "core/event.hpp"
#include "core/time.hpp"

namespace strikeout::report {

// What the page says about where its figures come from.
struct ReportSource {
  std::string title = "strikeout report";
  std::string origin;            // "replay of mail.log" or "the daemon at /run/strikeout/control.sock"
  std::string generated;         // RFC 3339 time the page was written
  std::uint64_t lines_read = 0;  // replay only: lines read, with an event, not recognised
  std::uint64_t lines_with_event = 0;
  std::uint64_t lines_unrecognised = 0;
  std::vector<std::string> notes;  // plain sentences shown under the title (e.g. what --from-daemon lacks)
};

class HtmlReport {
 public:
  // `campaign_rules`: names of the rules keyed by username; their bans are listed as campaigns.
  // `top`: entries in each top list.
  HtmlReport(std::vector<std::string> campaign_rules, std::size_t top);

  void add_event(const core::Event& e);
  void add_decision(const core::Decision& d);
  // Counts a sensor reported without the events themselves (the daemon's status): sensor, event kind
  // ("auth-failure", ...), count.
  void add_sensor_count(std::string_view sensor, std::string_view kind, std::uint64_t count);

  // The whole page.
  std::string render(const ReportSource& source) const;

  // Figures for tests and the command's closing line.
  std::uint64_t failures() const { return failures_; }
  std::uint64_t bans() const { return bans_; }

 private:
  struct Bucket {  // one minute
    std::uint64_t failures = 0;
    std::uint64_t strikes = 0;
    std::uint64_t bans = 0;
  };
  struct PrefixHash {
    std::size_t operator()(const core::Prefix& p) const;
  };
  struct Campaign {
    std::string rule;
    std::uint64_t bans = 0;
    core::Time first{};
    core::Time last{};
    std::vector<core::Prefix> targets;  // the first kMaxCampaignTargets banned
  };

  Bucket& bucket_at(core::Time t);
  std::string render_timeline() const;

  std::vector<std::string> campaign_rules_;
  std::size_t top_;
  std::map<std::int64_t, Bucket> minutes_;  // minute since the epoch -> counts
  std::int64_t last_minute_ = -1;           // the bucket of the previous call: input comes in time order
  Bucket* last_bucket_ = nullptr;
  std::unordered_map<core::Prefix, std::uint64_t, PrefixHash> by_address_;  // failures
  std::unordered_map<core::Prefix, std::uint64_t, PrefixHash> by_network_;  // failures per /24, /64
  std::unordered_map<std::string, std::uint64_t> by_user_;                  // failures, lowercased
  std::uint64_t other_users_ = 0;  // failures of usernames beyond the cap (attacker text is bounded)
  std::string user_buffer_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> by_sensor_;  // (sensor, kind) -> events
  std::map<std::string, std::uint64_t> bans_by_rule_;
  std::map<std::pair<std::string, std::int64_t>, std::uint64_t> ban_lengths_;  // (rule, seconds) -> bans
  std::map<std::uint32_t, std::uint64_t> bans_by_offence_;
  std::map<std::string, Campaign> campaigns_;  // lowercased username -> campaign
  std::vector<core::Decision> recent_bans_;    // the last kRecentBans bans, oldest first
  std::uint64_t failures_ = 0;
  std::uint64_t successes_ = 0;
  std::uint64_t strikes_ = 0;
  std::uint64_t bans_ = 0;
  std::uint64_t extensions_ = 0;
  std::uint64_t unbans_ = 0;
  core::Time first_{core::Time::max()};
  core::Time last_{core::Time::min()};
};

// HTML-escapes `text` (& < > " ') onto `out`. The text must already be valid, printable text.
void append_html_escaped(std::string& out, std::string_view text);

}  // namespace strikeout::report
