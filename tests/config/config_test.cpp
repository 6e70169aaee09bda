// What a valid configuration turns into: the default one (the recipe), a full one with every setting,
// the documented defaults of a minimal one, time zones, custom matchers, and check_config on files.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "config/loader.hpp"
#include "config_test_util.hpp"

namespace strikeout::config {
namespace {

using namespace std::chrono_literals;
using testing::config_of;
using testing::errors_of;
using testing::has_error;
using testing::hermetic_options;
using testing::kValidRule;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

core::Prefix prefix(std::string_view text) {
  return *core::Prefix::parse(text, true);
}

const core::Rule* find_rule(const Config& c, std::string_view name) {
  for (const auto& r : c.policy.rules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

// A temporary directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "strikeout-config-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, std::string_view text) const {
    const auto file = path_ / name;
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }

 private:
  std::filesystem::path path_;
};

TEST(DefaultConfig, IsTheShippedFileByteForByte) {
  EXPECT_EQ(default_config_text(), read_file(STRIKEOUT_SOURCE_DIR "/etc/strikeout.toml"));
}

TEST(DefaultConfig, ReproducesTheRecipe) {
  LoadResult result = load_default_config(hermetic_options());
  ASSERT_TRUE(std::holds_alternative<Config>(result)) << testing::dump(std::get<Diagnostics>(result));
  const Config& c = std::get<Config>(result);
  EXPECT_EQ(c.origin, "<built-in>");
  EXPECT_EQ(c.ports, (std::vector<std::uint16_t>{25, 465, 587}));
  EXPECT_EQ(c.policy.allowlist, (std::vector<core::Prefix>{prefix("127.0.0.0/8"), prefix("::1/128")}));
  EXPECT_TRUE(c.allow_host_addresses);
  ASSERT_EQ(c.policy.rules.size(), 3U);

  // The recipe's connection rate: the 6th new connection within 60 s.
  const core::Rule* rate = find_rule(c, "connection-rate");
  ASSERT_NE(rate, nullptr);
  EXPECT_EQ(rate->on, core::EventKind::Connect);
  EXPECT_EQ(rate->key, core::KeyKind::Address);
  EXPECT_EQ(rate->hits, 6U);
  EXPECT_EQ(rate->within, 60s);
  EXPECT_EQ(rate->action, core::RuleAction::Ban);
  EXPECT_EQ(rate->ban, 1min);

  // The recipe's 3 failures within 20 minutes, escalating for repeat offenders.
  const core::Rule* auth = find_rule(c, "auth-failures");
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->on, core::EventKind::AuthFailure);
  EXPECT_EQ(auth->key, core::KeyKind::Address);
  EXPECT_EQ(auth->hits, 3U);
  EXPECT_EQ(auth->within, 20min);
  EXPECT_EQ(auth->ban, 20min);
  EXPECT_DOUBLE_EQ(auth->ban_factor, 2.0);
  EXPECT_EQ(auth->ban_max, 7 * 24h);
  EXPECT_TRUE(auth->extend_on_retry);

  // The pool attacker: one username from 5 distinct addresses within an hour.
  const core::Rule* campaign = find_rule(c, "username-campaign");
  ASSERT_NE(campaign, nullptr);
  EXPECT_EQ(campaign->key, core::KeyKind::Username);
  EXPECT_EQ(campaign->distinct, core::KeyKind::Address);
  EXPECT_EQ(campaign->hits, 5U);
  EXPECT_EQ(campaign->within, 1h);

  // The journal is the source; mail.log only where it exists and the journal does not.
  ASSERT_EQ(c.sources.size(), 2U);
  EXPECT_EQ(c.sources[0].name, "journal");
  ASSERT_EQ(c.sources[0].type(), SourceType::Journald);
  const auto& matches = std::get<JournaldSource>(c.sources[0].settings).matches;
  for (const char* id :
       {"postfix/smtpd", "postfix/submission/smtpd", "postfix/smtps/smtpd", "dovecot", "exim", "sendmail"}) {
    EXPECT_NE(std::find(matches.begin(), matches.end(), std::string("SYSLOG_IDENTIFIER=") + id),
              matches.end())
        << id;
  }
  EXPECT_EQ(c.sources[1].name, "mail.log");
  ASSERT_EQ(c.sources[1].type(), SourceType::File);
  EXPECT_EQ(std::get<FileSource>(c.sources[1].settings).path, "/var/log/mail.log");
  EXPECT_TRUE(std::get<FileSource>(c.sources[1].settings).optional);
  EXPECT_EQ(c.sources[1].fallback_for, "journal");
  EXPECT_EQ(c.find_source("mail.log"), &c.sources[1]);

  EXPECT_EQ(c.logs.timezone_name, "local");
  ASSERT_TRUE(c.enforce.rate_limit.has_value());
  EXPECT_EQ(c.enforce.rate_limit->connections, 6U);
  EXPECT_EQ(c.enforce.rate_limit->per, 60s);
  EXPECT_EQ(c.enforce.reject, RejectWith::Reset);
  EXPECT_EQ(c.state.path, "/var/lib/strikeout/state.db");
  EXPECT_EQ(c.control.socket, "/run/strikeout/control.sock");
  ASSERT_TRUE(c.metrics.listen.has_value());
  EXPECT_EQ(c.metrics.listen->to_string(), "127.0.0.1:9753");
}

TEST(DefaultConfig, CheckConfigAcceptsTheShippedFile) {
  EXPECT_TRUE(check_config(STRIKEOUT_SOURCE_DIR "/etc/strikeout.toml", hermetic_options()).empty());
}

TEST(Config, AMinimalFileGetsTheDocumentedDefaults) {
  const Config c = config_of(kValidRule);
  const Config defaults;
  EXPECT_EQ(c.ports, (std::vector<std::uint16_t>{25, 465, 587}));
  EXPECT_TRUE(c.policy.allowlist.empty());
  EXPECT_TRUE(c.sources.empty());
  ASSERT_EQ(c.policy.rules.size(), 1U);
  const core::Rule& r = c.policy.rules[0];
  EXPECT_EQ(r.key, core::KeyKind::Address);
  EXPECT_EQ(r.action, core::RuleAction::Ban);
  EXPECT_EQ(r.ban, 20min);
  EXPECT_DOUBLE_EQ(r.ban_factor, 2.0);
  EXPECT_EQ(r.ban_max, 7 * 24h);
  EXPECT_EQ(r.forget_after, 24h);
  EXPECT_TRUE(r.extend_on_retry);
  EXPECT_EQ(r.prefix4, 24);
  EXPECT_EQ(r.prefix6, 64);
  EXPECT_EQ(c.policy.limits.max_tracked_keys, 1'000'000U);
  EXPECT_EQ(c.policy.limits.reorder_tolerance, 30s);
  EXPECT_EQ(c.policy.limits.duplicate_window, 20s);
  EXPECT_EQ(c.logs.timezone_name, "local");
  EXPECT_EQ(c.logs.timezone.name(), "UTC");  // no localtime file: UTC, as the C library does
  EXPECT_EQ(c.enforce.table, "strikeout");
  EXPECT_FALSE(c.enforce.flush_on_exit);
  EXPECT_EQ(c.enforce.set_size, defaults.enforce.set_size);
  EXPECT_TRUE(c.enforce.rate_limit.has_value());
  EXPECT_EQ(c.control.group, "");
  EXPECT_EQ(c.metrics.listen->to_string(), "127.0.0.1:9753");
}

TEST(Config, DecoyDefaultsAndTarpitRules) {
  const Config c = config_of(R"([[rule]]
name = "to-the-decoy"
on = "auth-failure"
hits = 3
within = "20m"
action = "tarpit"
decoy_mode = "insult"

[[rule]]
name = "ban-then-decoy"
on = "auth-failure"
hits = 5
within = "1h"
tarpit_from_offence = 2
)");
  ASSERT_EQ(c.policy.rules.size(), 2U);
  EXPECT_EQ(c.policy.rules[0].action, core::RuleAction::Tarpit);
  EXPECT_EQ(c.policy.rules[1].action, core::RuleAction::Ban);
  const core::DecoySettings& d = c.decoy;
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.port, 2525);
  EXPECT_EQ(d.mode, core::TarpitMode::Decoy);
  EXPECT_EQ(c.policy.decoy_mode, core::TarpitMode::Decoy);
  const core::Rule* to_decoy = core::find_rule(c.policy, "to-the-decoy");
  const core::Rule* ban_then = core::find_rule(c.policy, "ban-then-decoy");
  ASSERT_TRUE(to_decoy != nullptr && ban_then != nullptr);
  EXPECT_EQ(to_decoy->tarpit_mode, core::TarpitMode::Insult);
  EXPECT_EQ(ban_then->tarpit_mode, std::nullopt);
  EXPECT_EQ(ban_then->tarpit_from_offence, 2U);
  // "tarpit" rules always, in their own mode; "ban" rules from their tarpit_from_offence-th ban on,
  // in [decoy] mode.
  const auto choice = [&](const core::Rule* r, std::uint32_t offence) {
    return core::tarpit_choice(c.policy, r, r->action, offence);
  };
  EXPECT_EQ(choice(to_decoy, 1), core::TarpitMode::Insult);
  EXPECT_EQ(choice(ban_then, 1), std::nullopt);
  EXPECT_EQ(choice(ban_then, 2), core::TarpitMode::Decoy);
  EXPECT_EQ(choice(ban_then, 3), core::TarpitMode::Decoy);
  EXPECT_EQ(d.insults.size(), 3U);
  EXPECT_EQ(d.max_connections, 100'000U);
  EXPECT_EQ(d.redirected_from, c.ports);
  EXPECT_TRUE(d.only_redirected);
  EXPECT_FALSE(d.store_passwords);
}

TEST(Config, DecoySectionRoundTrips) {
  const Config c = config_of(std::string(kValidRule) + R"(
[decoy]
port = 2626
mode = "endless"
hostname = "mx1.example.org"
insults = ["Go away"]
success_probability = 0.25
max_connections = 200000
per_source = 10
when_full = "refuse"
idle_timeout = "2m"
max_duration = "30m"
reply_delay = "500ms"
stutter_interval = "3s"
endless_interval = "15s"
output_allowance = 8192
output_per_input = 3
workers = 12
only_redirected = false
record = "/srv/d/attempts.tsv"
stats = "/srv/d/stats.json"
secret = "/srv/d/key"
store_passwords = true
passwords = "/srv/d/passwords.tsv"
)");
  const core::DecoySettings& d = c.decoy;
  EXPECT_EQ(d.port, 2626);
  EXPECT_EQ(d.mode, core::TarpitMode::Endless);
  EXPECT_EQ(d.hostname, "mx1.example.org");
  EXPECT_EQ(d.insults, std::vector<std::string>{"Go away"});
  EXPECT_DOUBLE_EQ(d.success_probability, 0.25);
  EXPECT_EQ(d.max_connections, 200'000U);
  EXPECT_EQ(d.per_source, 10U);
  EXPECT_EQ(d.when_full, core::DecoyWhenFull::Refuse);
  EXPECT_EQ(d.idle_timeout, 2min);
  EXPECT_EQ(d.max_duration, 30min);
  EXPECT_EQ(d.reply_delay, 500ms);
  EXPECT_EQ(d.stutter_interval, 3s);
  EXPECT_EQ(d.endless_interval, 15s);
  EXPECT_EQ(d.output_allowance, 8192U);
  EXPECT_EQ(d.output_per_input, 3U);
  EXPECT_EQ(d.workers, 12U);
  EXPECT_FALSE(d.only_redirected);
  EXPECT_EQ(d.record, "/srv/d/attempts.tsv");
  EXPECT_EQ(d.stats, "/srv/d/stats.json");
  EXPECT_EQ(d.secret, "/srv/d/key");
  EXPECT_TRUE(d.store_passwords);
  EXPECT_EQ(d.passwords, "/srv/d/passwords.tsv");
}

TEST(Config, ALongBanRaisesTheDefaultCap) {
  const Config c = config_of(std::string(kValidRule) + "ban = \"30d\"\n");
  EXPECT_EQ(c.policy.rules[0].ban_max, 30 * 24h);
}

// Every setting given, every value different from its default: each one lands where it belongs.
TEST(Config, AFullConfigurationRoundTripsIntoThePolicy) {
  const Config c = config_of(R"(
[protect]
ports = [587, 25, 465, 993]

[allow]
networks = ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]
host_addresses = false

[engine]
max_tracked = 50000
reorder_tolerance = "2m"
duplicate_window = "5s"

[logs]
timezone = "+02:00"

[[matcher]]
name = "my-smtpd"
regex = ['auth failed for (?P<u>\S+) from <HOST>', 'login refused: <HOST>']
kind = "auth-failure"
service = "smtp"
program = "my-smtpd"

[[source]]
type = "file"
path = "/srv/mail/log/smtpd.log"
format = "my-smtpd"

[[source]]
type = "journald"
name = "dovecot-journal"
format = "dovecot"
matches = ["SYSLOG_IDENTIFIER=dovecot", "_SYSTEMD_UNIT=dovecot.service"]
directory = "/var/log/journal"

[[rule]]
name = "net-failures"
on = "auth-failure"
key = "prefix"
prefix4 = 16
prefix6 = 48
hits = 20
within = "2h"
action = "ban"
ban = "1h"
ban_factor = 3
ban_max = "4w"
forget_after = "0s"
extend_on_retry = false

[[rule]]
name = "campaign"
on = "auth-failure"
key = "username"
distinct = "prefix"
prefix4 = 20
hits = 7
within = "6h"

[[rule]]
name = "watch-logins"
on = "auth-success"
hits = 1
within = "1s"
action = "notice"

[enforce]
backend = "nftables"
table = "strikeout_test"
reject = "drop"
flush_on_exit = true
set_size = 4096
rate_limit = { connections = 30, per = "1h" }

[state]
path = "/srv/strikeout/state.db"

[control]
socket = "/srv/strikeout/control.sock"
group = "mailadm"

[metrics]
listen = "[::1]:9100"
)");
  EXPECT_EQ(c.ports, (std::vector<std::uint16_t>{587, 25, 465, 993}));
  EXPECT_EQ(c.policy.allowlist, (std::vector<core::Prefix>{prefix("192.0.2.0/24"), prefix("2001:db8::/32"),
                                                           prefix("198.51.100.7")}));
  EXPECT_FALSE(c.allow_host_addresses);
  EXPECT_EQ(c.policy.limits.max_tracked_keys, 50'000U);
  EXPECT_EQ(c.policy.limits.reorder_tolerance, 2min);
  EXPECT_EQ(c.policy.limits.duplicate_window, 5s);
  EXPECT_EQ(c.logs.timezone_name, "+02:00");
  EXPECT_EQ(c.logs.timezone.offset_at_local(0), 2h);

  ASSERT_EQ(c.matchers.size(), 1U);
  EXPECT_EQ(c.matchers[0].name, "my-smtpd");
  EXPECT_EQ(c.matchers[0].patterns.size(), 2U);
  EXPECT_EQ(c.matchers[0].patterns[1], "login refused: <HOST>");
  EXPECT_EQ(c.matchers[0].kind, core::EventKind::AuthFailure);
  EXPECT_EQ(c.matchers[0].service, "smtp");
  EXPECT_EQ(c.matchers[0].program, "my-smtpd");

  ASSERT_EQ(c.sources.size(), 2U);
  EXPECT_EQ(c.sources[0].name, "smtpd.log");  // a file source is named after its file
  EXPECT_EQ(c.sources[0].format, "my-smtpd");
  EXPECT_EQ(std::get<FileSource>(c.sources[0].settings).path, "/srv/mail/log/smtpd.log");
  EXPECT_FALSE(std::get<FileSource>(c.sources[0].settings).optional);
  EXPECT_EQ(c.sources[1].name, "dovecot-journal");
  EXPECT_EQ(c.sources[1].format, "dovecot");
  const auto& journal = std::get<JournaldSource>(c.sources[1].settings);
  EXPECT_EQ(journal.matches,
            (std::vector<std::string>{"SYSLOG_IDENTIFIER=dovecot", "_SYSTEMD_UNIT=dovecot.service"}));
  EXPECT_EQ(journal.directory, "/var/log/journal");

  ASSERT_EQ(c.policy.rules.size(), 3U);
  const core::Rule& net = c.policy.rules[0];
  EXPECT_EQ(net.name, "net-failures");
  EXPECT_EQ(net.on, core::EventKind::AuthFailure);
  EXPECT_EQ(net.key, core::KeyKind::Prefix);
  EXPECT_EQ(net.prefix4, 16);
  EXPECT_EQ(net.prefix6, 48);
  EXPECT_EQ(net.hits, 20U);
  EXPECT_EQ(net.within, 2h);
  EXPECT_EQ(net.action, core::RuleAction::Ban);
  EXPECT_EQ(net.ban, 1h);
  EXPECT_DOUBLE_EQ(net.ban_factor, 3.0);
  EXPECT_EQ(net.ban_max, 4 * 7 * 24h);
  EXPECT_EQ(net.forget_after, 0s);
  EXPECT_FALSE(net.extend_on_retry);
  const core::Rule& campaign = c.policy.rules[1];
  EXPECT_EQ(campaign.key, core::KeyKind::Username);
  EXPECT_EQ(campaign.distinct, core::KeyKind::Prefix);
  EXPECT_EQ(campaign.prefix4, 20);
  EXPECT_EQ(campaign.prefix6, 64);
  EXPECT_EQ(campaign.hits, 7U);
  const core::Rule& notice = c.policy.rules[2];
  EXPECT_EQ(notice.on, core::EventKind::AuthSuccess);
  EXPECT_EQ(notice.action, core::RuleAction::Notice);
  EXPECT_EQ(notice.hits, 1U);

  EXPECT_EQ(c.enforce.table, "strikeout_test");
  EXPECT_EQ(c.enforce.reject, RejectWith::Drop);
  EXPECT_TRUE(c.enforce.flush_on_exit);
  EXPECT_EQ(c.enforce.set_size, 4096U);
  ASSERT_TRUE(c.enforce.rate_limit.has_value());
  EXPECT_EQ(c.enforce.rate_limit->connections, 30U);
  EXPECT_EQ(c.enforce.rate_limit->per, 1h);
  EXPECT_EQ(c.state.path, "/srv/strikeout/state.db");
  EXPECT_EQ(c.control.socket, "/srv/strikeout/control.sock");
  EXPECT_EQ(c.control.group, "mailadm");
  ASSERT_TRUE(c.metrics.listen.has_value());
  EXPECT_EQ(c.metrics.listen->to_string(), "[::1]:9100");
}

TEST(Config, RateLimitAndMetricsCanBeTurnedOff) {
  const Config c = config_of(std::string(kValidRule) + R"(
[enforce]
rate_limit = false
[metrics]
listen = "off"
)");
  EXPECT_FALSE(c.enforce.rate_limit.has_value());
  EXPECT_FALSE(c.metrics.listen.has_value());
}

TEST(Config, NamedTimeZoneIsReadFromZoneinfo) {
  const Config c = config_of(std::string(kValidRule) + "[logs]\ntimezone = \"Europe/Berlin\"\n");
  EXPECT_EQ(c.logs.timezone_name, "Europe/Berlin");
  // 2026-07-01 12:00 and 2026-01-15 12:00 local wall-clock time: summer and winter time.
  EXPECT_EQ(c.logs.timezone.offset_at_local(1782907200), 2h);
  EXPECT_EQ(c.logs.timezone.offset_at_local(1768478400), 1h);
}

TEST(Config, LocalTimeZoneIsTheHostsLocaltimeFile) {
  LoadOptions options = hermetic_options();
  options.localtime = "/usr/share/zoneinfo/Asia/Tokyo";
  const Config c = config_of(kValidRule, options);
  EXPECT_EQ(c.logs.timezone.offset_at_local(1782907200), 9h);
}

TEST(Config, UnreadableLocalTimeZoneIsAnError) {
  LoadOptions options = hermetic_options();
  options.localtime = STRIKEOUT_SOURCE_DIR "/etc/strikeout.toml";  // exists, is not TZif
  const auto implicit = errors_of(kValidRule, options);
  ASSERT_EQ(implicit.size(), 1U);
  EXPECT_EQ(implicit[0].line, 0U);  // no [logs] in the file: the mistake is the host's, not a line's
  EXPECT_NE(implicit[0].message.find("is not a time zone file"), std::string::npos);
  const auto explicit_local = errors_of(std::string(kValidRule) + "[logs]\ntimezone = \"local\"\n", options);
  EXPECT_TRUE(has_error(explicit_local, 7, 12, "logs.timezone = \"local\": "));
}

TEST(Config, CustomMatcherNamedByASource) {
  const Config c = config_of(std::string(kValidRule) + R"(
[[matcher]]
name = "relay"
regex = 'relay denied for <HOST> user=<USER>'

[[source]]
type = "file"
path = "/var/log/relay.log"
format = "relay"
)");
  ASSERT_EQ(c.matchers.size(), 1U);
  EXPECT_EQ(c.matchers[0].patterns, (std::vector<std::string>{"relay denied for <HOST> user=<USER>"}));
  EXPECT_EQ(c.matchers[0].kind, core::EventKind::AuthFailure);  // the default kind
  EXPECT_EQ(c.sources[0].format, "relay");
}

TEST(ConfigMistakes, CustomMatcherThatDoesNotCompileOrLacksHost) {
  const auto d = errors_of(std::string(kValidRule) + R"(
[[matcher]]
name = "broken"
regex = ['failed from <HOST> (', 'failed for <USER>']

[[matcher]]
name = "postfix"
regex = 'x <HOST>'
)");
  EXPECT_TRUE(has_error(d, 9, 10, "matcher[1].regex[1] is not usable: missing )"));
  EXPECT_TRUE(has_error(d, 9, 34, "matcher[1].regex[2] is not usable: <HOST> is missing"));
  EXPECT_TRUE(has_error(d, 12, 8, "matcher[2].name: \"postfix\" is the name of a built-in format"));
  EXPECT_EQ(d.size(), 3U);
}

// Regression (found by fuzz_config_load): <HOST> inside a character class compiles to a pattern
// without the host group, and the matcher compiler threw instead of answering. The loader must refuse
// the pattern at its position, never crash.
TEST(ConfigMistakes, HostPlaceholderInsideACharacterClassIsRefused) {
  const auto d = errors_of(std::string(kValidRule) + R"(
[[matcher]]
name = "relay"
regex = 'relay denied(for [<HOST> user=<USER>'
)");
  EXPECT_TRUE(has_error(d, 9, 9, "matcher[1].regex is not usable: "));
  EXPECT_EQ(d.size(), 1U);
}

TEST(CheckConfig, ReportsNothingForAGoodFileAndEverythingForABadOne) {
  TempDir dir;
  const auto good = dir.write("good.toml", kValidRule);
  EXPECT_TRUE(check_config(good, hermetic_options()).empty());

  const auto bad = dir.write("bad.toml", "[protect]\nports = [0]\n[[rule]]\nname = \"a\"\non = \"x\"\n");
  const Diagnostics d = check_config(bad, hermetic_options());
  ASSERT_EQ(d.size(), 4U) << testing::dump(d);
  EXPECT_EQ(format_diagnostic(d[0]),
            bad.string() + ":2:10: error: protect.ports[1] must be between 1 and 65535, not 0");
  EXPECT_EQ(d[0].key, "protect.ports[1]");
  EXPECT_EQ(d[1].line, 3U);  // missing hits and within, at the [[rule]] header
  EXPECT_EQ(d[2].line, 3U);
  EXPECT_EQ(format_diagnostic(d[3]).rfind(bad.string() + ":5:6: error: rule[1].on must be one of", 0), 0U);
}

TEST(CheckConfig, AFileThatCannotBeReadIsOneDiagnosticNamingIt) {
  TempDir dir;
  const Diagnostics missing = check_config(dir.path() / "nope.toml", hermetic_options());
  ASSERT_EQ(missing.size(), 1U);
  EXPECT_EQ(format_diagnostic(missing[0]),
            (dir.path() / "nope.toml").string() +
                ": error: cannot read the configuration: No such file or directory");
  const Diagnostics directory = check_config(dir.path(), hermetic_options());
  ASSERT_EQ(directory.size(), 1U);
  EXPECT_NE(directory[0].message.find("not a regular file"), std::string::npos);
}

TEST(Diagnostic, FormatIsGccStyle) {
  EXPECT_EQ(
      format_diagnostic({"/etc/strikeout/strikeout.toml", 12, 8, "rule[2].hits", "rule[2].hits must be ..."}),
      "/etc/strikeout/strikeout.toml:12:8: error: rule[2].hits must be ...");
  EXPECT_EQ(format_diagnostic({"a.toml", 0, 0, "rule", "no [[rule]]"}), "a.toml: error: no [[rule]]");
}

TEST(ConfigMistakes, EveryMistakeAtOnceInFileOrder) {
  // A file with one mistake in each section: all are reported, sorted by position.
  const auto d = errors_of(R"([protect]
ports = [25, 25]
[allow]
networks = ["::/0"]
[engine]
max_tracked = 10
[logs]
timezone = "Mars/Olympus"
[[rule]]
name = "a"
on = "connect"
hits = 0
within = "1m"
[[source]]
type = "wire"
[enforce]
reject = "refuse"
[metrics]
listen = "9753"
)");
  std::vector<std::uint32_t> lines;
  for (const auto& x : d) lines.push_back(x.line);
  EXPECT_EQ(lines, (std::vector<std::uint32_t>{2, 4, 6, 8, 12, 15, 17, 19})) << testing::dump(d);
}

}  // namespace
}  // namespace strikeout::config
