// Each mistake an administrator can make in strikeout.toml is refused with its exact line and column,
// and a message that names the setting and says what would be right. (check-config's promise.)
#include <gtest/gtest.h>

#include <string>

#include "config/loader.hpp"
#include "config_test_util.hpp"

namespace strikeout::config {
namespace {

using testing::errors_of;
using testing::has_error;
using testing::kValidRule;

std::string with_rule(std::string_view text) {
  return std::string(text) + "\n" + std::string(kValidRule);
}

TEST(ConfigMistakes, UnknownKeyInARuleIsNamedWithASuggestion) {
  const auto d = errors_of(R"([[rule]]
name = "auth-failures"
on = "auth-failure"
hit = 3
within = "20m"
)");
  // 'hit' is unknown, and 'hits' (required) is missing: both are said.
  EXPECT_TRUE(has_error(d, 4, 1, "unknown key 'hit' in [[rule]] #1 \"auth-failures\"; did you mean 'hits'?"));
  EXPECT_TRUE(has_error(d, 1, 1, "[[rule]] #1 \"auth-failures\" has no 'hits'"));
  EXPECT_EQ(d.size(), 2U);
}

TEST(ConfigMistakes, UnknownSectionAtTheTopLevel) {
  const auto d = errors_of(with_rule("[protekt]\nports = [25]\n"));
  EXPECT_TRUE(has_error(d, 1, 2, "unknown key 'protekt' at the top level; did you mean 'protect'?"));
  EXPECT_EQ(d.size(), 1U);
}

TEST(ConfigMistakes, KeyBelowTheWrongSectionHeaderSaysWhereItBelongs) {
  // Meant for [logs], written after the last [[rule]]: TOML puts it in that rule.
  const auto d = errors_of(std::string(kValidRule) + "timezone = \"UTC\"\n");
  EXPECT_TRUE(has_error(d, 6, 1,
                        "unknown key 'timezone' in [[rule]] #1 \"auth-failures\"; it is a setting of [logs], "
                        "and in TOML a key belongs to the section header above it"));
  EXPECT_EQ(d.size(), 1U);
}

TEST(ConfigMistakes, RuleWrittenAsOneTableInsteadOfAnArrayOfTables) {
  const auto d = errors_of("[rule]\nname = \"x\"\n");
  EXPECT_TRUE(
      has_error(d, 1, 1, "rule must be written as [[rule]] sections (an array of tables), not a table"));
}

TEST(ConfigMistakes, WrongType) {
  const auto d = errors_of(R"([[rule]]
name = "auth-failures"
on = "auth-failure"
hits = "3"
within = 20
extend_on_retry = "yes"
)");
  EXPECT_TRUE(has_error(d, 4, 8, "rule[1].hits must be an integer, not a string"));
  EXPECT_TRUE(has_error(
      d, 5, 10, "rule[1].within must be a duration string such as \"20m\" or \"1h30m\", not an integer"));
  EXPECT_TRUE(has_error(d, 6, 19, "rule[1].extend_on_retry must be true or false, not a string"));
  EXPECT_EQ(d.size(), 3U);
}

TEST(ConfigMistakes, HitsZeroAndTooLarge) {
  const auto d = errors_of(R"([[rule]]
name = "a"
on = "auth-failure"
hits = 0
within = "20m"

[[rule]]
name = "b"
on = "connect"
hits = 100000
within = "1m"
)");
  EXPECT_TRUE(has_error(d, 4, 8, "rule[1].hits must be between 1 and 1000, not 0"));
  EXPECT_TRUE(has_error(d, 10, 8, "rule[2].hits must be between 1 and 1000, not 100000"));
  EXPECT_EQ(d.size(), 2U);
}

TEST(ConfigMistakes, BadDurations) {
  const auto d = errors_of(R"([[rule]]
name = "a"
on = "auth-failure"
hits = 3
within = "20 minutes"
ban = "-5m"

[[rule]]
name = "b"
on = "auth-failure"
hits = 3
within = "0s"
ban = "1h"
forget_after = "0s"
)");
  EXPECT_TRUE(has_error(d, 5, 10, "rule[1].within: \"20 minutes\" is not a duration"));
  EXPECT_TRUE(has_error(d, 6, 7, "rule[1].ban: \"-5m\" is not a duration"));
  EXPECT_TRUE(has_error(d, 12, 10, "rule[2].within must be between 1s and 1w, not \"0s\""));
  // forget_after = "0s" is allowed: escalation then forgets at once.
  EXPECT_EQ(d.size(), 3U);
}

TEST(ConfigMistakes, WithinAndBanOutOfRange) {
  const auto d = errors_of(R"([[rule]]
name = "a"
on = "auth-failure"
hits = 3
within = "30d"
ban = "400d"
)");
  EXPECT_TRUE(has_error(d, 5, 10, "rule[1].within must be between 1s and 1w, not \"30d\""));
  EXPECT_TRUE(has_error(d, 6, 7, "rule[1].ban must be between 1s and 52w, not \"400d\""));
  EXPECT_EQ(d.size(), 2U);
}

TEST(ConfigMistakes, UnknownOnKeyAndAction) {
  const auto d = errors_of(R"([[rule]]
name = "a"
on = "auth-failed"
key = "adress"
hits = 3
within = "20m"
action = "block"
)");
  EXPECT_TRUE(has_error(
      d, 3, 6,
      "rule[1].on must be one of \"auth-failure\", \"auth-success\", \"connect\", \"protocol-abuse\", not "
      "\"auth-failed\"; did you mean \"auth-failure\"?"));
  EXPECT_TRUE(has_error(d, 4, 7, "did you mean \"address\"?"));
  EXPECT_TRUE(
      has_error(d, 7, 10, "rule[1].action must be one of \"ban\", \"notice\", \"tarpit\", not \"block\""));
  EXPECT_EQ(d.size(), 3U);
}

TEST(ConfigMistakes, TarpitIsRefusedWhenTheDecoyIsDisabled) {
  const auto d = errors_of(R"([[rule]]
name = "a"
on = "auth-failure"
hits = 3
within = "20m"
action = "tarpit"

[decoy]
enabled = false
)");
  EXPECT_TRUE(has_error(d, 6, 10, "rule \"a\" sends sources to the decoy, but [decoy] enabled = false"));
  EXPECT_EQ(d.size(), 1U);
}

TEST(ConfigMistakes, DecoySettingsOutOfRange) {
  const auto d = errors_of(with_rule(R"([decoy]
port = 587
mode = "rude"
insults = ["ok", "caf\u00e9", 3]
success_probability = 1.5
passwords = "/tmp/p"
)"));
  EXPECT_TRUE(has_error(d, 2, 8, "decoy.port 587 is a protected port"));
  EXPECT_TRUE(
      has_error(d, 3, 8, "decoy.mode must be one of \"insult\", \"stutter\", \"decoy\", \"endless\""));
  EXPECT_TRUE(has_error(d, 4, 18, "decoy.insults[2]"));
  EXPECT_TRUE(has_error(d, 4, 18, "printable ASCII"));
  EXPECT_TRUE(has_error(d, 4, 31, "decoy.insults[3] must be a string"));
  EXPECT_TRUE(has_error(d, 5, 23, "decoy.success_probability"));
  EXPECT_TRUE(has_error(d, 6, 13, "decoy.passwords has no effect: store_passwords is false, so"));
}

TEST(ConfigMistakes, DecoyKeysOfARuleThatSendsNobodyThere) {
  const auto d = errors_of(R"([[rule]]
name = "a"
on = "auth-failure"
hits = 3
within = "20m"
action = "notice"
decoy_mode = "insult"

[[rule]]
name = "b"
on = "auth-failure"
hits = 3
within = "20m"
decoy_mode = "insult"

[[rule]]
name = "c"
on = "auth-failure"
hits = 3
within = "20m"
action = "tarpit"
tarpit_from_offence = 2
)");
  EXPECT_TRUE(has_error(d, 7, 14, "rule[1].decoy_mode has no effect: this rule's action is \"notice\""));
  EXPECT_TRUE(has_error(d, 14, 14, "rule[2].decoy_mode has no effect: this rule sends nobody to the decoy"));
  EXPECT_TRUE(has_error(d, 22, 23, "rule[3].tarpit_from_offence has no effect"));
  EXPECT_EQ(d.size(), 3U);
}

TEST(ConfigMistakes, DuplicateRuleName) {
  const auto d = errors_of(std::string(kValidRule) + "\n" + std::string(kValidRule));
  EXPECT_TRUE(has_error(d, 8, 8, "duplicate rule name \"auth-failures\" (first at line 2)"));
  EXPECT_EQ(d.size(), 1U);
}

TEST(ConfigMistakes, BadNetworksAndHostBits) {
  const auto d = errors_of(with_rule(R"([allow]
networks = ["10.0.0.1/8", "10.0.0.0/33", "mail.example.org", "192.0.2.0/24", "192.0.2.0/24", 7]
)"));
  EXPECT_TRUE(has_error(d, 2, 13,
                        "allow.networks[1]: \"10.0.0.1/8\" has host bits set after the prefix length; "
                        "did you mean \"10.0.0.0/8\"?"));
  EXPECT_TRUE(has_error(d, 2, 27, "allow.networks[2]: \"10.0.0.0/33\" is not a network"));
  EXPECT_TRUE(has_error(d, 2, 42, "allow.networks[3]: \"mail.example.org\" is not a network"));
  EXPECT_TRUE(has_error(d, 2, 78, "192.0.2.0/24 is listed twice in allow.networks"));
  EXPECT_TRUE(has_error(d, 2, 94, "allow.networks[6] must be a string, not an integer"));
  EXPECT_EQ(d.size(), 5U);
}

TEST(ConfigMistakes, AllowlistingEverythingIsRefused) {
  const auto d = errors_of(with_rule(R"([allow]
networks = ["0.0.0.0/0",
            "::/0"]
)"));
  EXPECT_TRUE(
      has_error(d, 2, 13, "\"0.0.0.0/0\" would allowlist every IPv4 address, so strikeout would never ban"));
  EXPECT_TRUE(has_error(d, 3, 13, "\"::/0\" would allowlist every IPv6 address"));
  EXPECT_EQ(d.size(), 2U);
}

TEST(ConfigMistakes, PortsOutOfRangeAndDuplicated) {
  const auto d = errors_of(with_rule(R"([protect]
ports = [0, 25, 70000, 587, 25]
)"));
  EXPECT_TRUE(has_error(d, 2, 10, "protect.ports[1] must be between 1 and 65535, not 0"));
  EXPECT_TRUE(has_error(d, 2, 17, "protect.ports[3] must be between 1 and 65535, not 70000"));
  EXPECT_TRUE(has_error(d, 2, 29, "port 25 is listed twice in protect.ports"));
  EXPECT_EQ(d.size(), 3U);
}

TEST(ConfigMistakes, EmptyPortList) {
  const auto d = errors_of(with_rule("[protect]\nports = []\n"));
  EXPECT_TRUE(has_error(d, 2, 9, "protect.ports is empty"));
}

TEST(ConfigMistakes, PrefixLengthsOutOfRange) {
  const auto d = errors_of(R"([[rule]]
name = "networks"
on = "auth-failure"
key = "prefix"
prefix4 = 33
prefix6 = 129
hits = 10
within = "1h"
)");
  EXPECT_TRUE(has_error(d, 5, 11, "rule[1].prefix4 must be between 8 and 32, not 33"));
  EXPECT_TRUE(has_error(d, 6, 11, "rule[1].prefix6 must be between 16 and 128, not 129"));
  EXPECT_EQ(d.size(), 2U);
}

TEST(ConfigMistakes, PrefixLengthOnAnAddressRuleDoesNothing) {
  const auto d = errors_of(R"([[rule]]
name = "a"
on = "auth-failure"
prefix4 = 24
hits = 3
within = "20m"
)");
  EXPECT_TRUE(
      has_error(d, 4, 11, "rule[1].prefix4 has no effect: prefix lengths apply only with key = \"prefix\""));
}

TEST(ConfigMistakes, UnknownSourceType) {
  const auto d = errors_of(with_rule(R"([[source]]
type = "syslog"
path = "/var/log/mail.log"
)"));
  EXPECT_TRUE(has_error(d, 2, 8, "source[1].type must be one of \"file\", \"journald\", not \"syslog\""));
  EXPECT_EQ(d.size(), 1U);
}

TEST(ConfigMistakes, FileSourceWithoutPathOrWithARelativeOne) {
  const auto d = errors_of(with_rule(R"([[source]]
type = "file"

[[source]]
type = "file"
path = "var/log/mail.log"
)"));
  EXPECT_TRUE(has_error(d, 1, 1, "[[source]] #1 has no 'path'"));
  EXPECT_TRUE(has_error(
      d, 6, 8, "source[2].path must be an absolute path (starting with '/'), not \"var/log/mail.log\""));
  EXPECT_EQ(d.size(), 2U);
}

TEST(ConfigMistakes, UnknownFormat) {
  const auto d = errors_of(with_rule(R"([[source]]
type = "file"
path = "/var/log/mail.log"
format = "postfixx"
)"));
  EXPECT_TRUE(has_error(d, 4, 10,
                        "source[1].format: unknown format \"postfixx\"; use \"auto\", a built-in format ("));
  EXPECT_TRUE(has_error(d, 4, 10, "did you mean \"postfix\"?"));
}

TEST(ConfigMistakes, JournaldSettingsOnAFileSourceAndTheReverse) {
  const auto d = errors_of(with_rule(R"([[source]]
type = "file"
path = "/var/log/mail.log"
matches = ["SYSLOG_IDENTIFIER=postfix/smtpd"]

[[source]]
type = "journald"
path = "/var/log/mail.log"
matches = ["syslog_identifier=dovecot", "SYSLOG_IDENTIFIER"]
)"));
  EXPECT_TRUE(has_error(d, 4, 11, "source[1].matches has no effect: it is a setting of journald sources"));
  EXPECT_TRUE(has_error(d, 8, 8, "source[2].path has no effect: it is a setting of file sources"));
  EXPECT_TRUE(
      has_error(d, 9, 12, "source[2].matches[1]: \"syslog_identifier=dovecot\" is not a journal match"));
  EXPECT_TRUE(has_error(d, 9, 41, "source[2].matches[2]: \"SYSLOG_IDENTIFIER\" is not a journal match"));
  EXPECT_EQ(d.size(), 4U);
}

TEST(ConfigMistakes, SourceNamesAndPathsMustBeUnique) {
  const auto d = errors_of(with_rule(R"([[source]]
type = "journald"

[[source]]
type = "journald"

[[source]]
type = "file"
path = "/var/log/mail.log"

[[source]]
type = "file"
name = "mail-again"
path = "/var/log/mail.log"
)"));
  EXPECT_TRUE(has_error(d, 4, 1, "two sources are named \"journal\" (source[1] and source[2])"));
  EXPECT_TRUE(has_error(d, 14, 8, "source[4] reads /var/log/mail.log, as source[3] does already"));
  EXPECT_EQ(d.size(), 2U);
}

TEST(ConfigMistakes, FallbackForAnUnknownSource) {
  const auto d = errors_of(with_rule(R"([[source]]
type = "file"
path = "/var/log/mail.log"
fallback_for = "jornal"
)"));
  EXPECT_TRUE(has_error(d, 4, 16, "source[1].fallback_for: no source is named \"jornal\""));
}

TEST(ConfigMistakes, UnknownTimezone) {
  const auto d = errors_of(with_rule(R"([logs]
timezone = "Europe/Atlantis"
)"));
  EXPECT_TRUE(has_error(d, 2, 12, "logs.timezone: unknown time zone \"Europe/Atlantis\""));
  EXPECT_EQ(d.size(), 1U);
}

TEST(ConfigMistakes, TimezoneNameCannotLeaveTheZoneinfoDirectory) {
  const auto d = errors_of(with_rule(R"([logs]
timezone = "../../etc/passwd"
)"));
  EXPECT_TRUE(has_error(d, 2, 12, "logs.timezone: \"../../etc/passwd\" is not a time zone"));
}

TEST(ConfigMistakes, BanFactorBelowOneAndBanMaxBelowBan) {
  const auto d = errors_of(R"([[rule]]
name = "a"
on = "auth-failure"
hits = 3
within = "20m"
ban = "2h"
ban_factor = 0.5
ban_max = "1h"
)");
  EXPECT_TRUE(has_error(d, 7, 14, "rule[1].ban_factor must be between 1 and 100, not 0.5"));
  EXPECT_TRUE(has_error(d, 8, 11, "rule[1].ban_max (1h) is shorter than ban (2h)"));
  EXPECT_EQ(d.size(), 2U);
}

TEST(ConfigMistakes, DistinctOnARuleThatIsNotAUsernameRule) {
  const auto d = errors_of(R"([[rule]]
name = "a"
on = "auth-failure"
hits = 3
within = "20m"
distinct = "prefix"
)");
  EXPECT_TRUE(
      has_error(d, 6, 12, "rule[1].distinct has no effect: only key = \"username\" rules count distinct"));
  EXPECT_EQ(d.size(), 1U);
}

TEST(ConfigMistakes, UsernameRuleOnConnectAndWithOneSource) {
  const auto d = errors_of(R"([[rule]]
name = "a"
on = "connect"
key = "username"
hits = 1
within = "1h"
)");
  EXPECT_TRUE(has_error(d, 4, 7, "a connect event carries no username"));
  EXPECT_TRUE(has_error(d, 5, 8, "rule[1].hits must be at least 2 in a username rule"));
  EXPECT_EQ(d.size(), 2U);
}

TEST(ConfigMistakes, BanSettingsOnANoticeRule) {
  const auto d = errors_of(R"([[rule]]
name = "a"
on = "auth-failure"
hits = 3
within = "20m"
action = "notice"
ban = "1h"
)");
  EXPECT_TRUE(has_error(d, 7, 7, "rule[1].ban has no effect: this rule's action is \"notice\""));
  EXPECT_EQ(d.size(), 1U);
}

TEST(ConfigMistakes, NoRulesAtAll) {
  const auto d = errors_of("[protect]\nports = [25]\n");
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].line, 0U);
  EXPECT_EQ(d[0].key, "rule");
  EXPECT_EQ(format_diagnostic(d[0]),
            "t.toml: error: no [[rule]]: without a rule strikeout never bans anyone; start from the default "
            "configuration (strikeout.toml) or see docs/config.md");
  const auto empty = errors_of("rule = []\n");
  EXPECT_TRUE(has_error(empty, 1, 8, "no [[rule]]"));
}

TEST(ConfigMistakes, EnforceStateControlMetrics) {
  const auto d = errors_of(with_rule(R"([enforce]
backend = "iptables"
reject = "refuse"
rate_limit = { connections = 0, per = "90s" }
[state]
path = "state.db"
[control]
socket = "/run/strikeout/a-very-long-directory-name-that-goes-on-and-on/and-on-and-on/and-on-and-on-and-on/control.socket"
group = "Mail Admins"
[metrics]
listen = "localhost:9753"
)"));
  EXPECT_TRUE(has_error(d, 2, 11, "enforce.backend must be one of \"nftables\", not \"iptables\""));
  EXPECT_TRUE(has_error(d, 3, 10, "enforce.reject must be one of \"reset\", \"drop\", not \"refuse\""));
  EXPECT_TRUE(has_error(d, 4, 30, "enforce.rate_limit.connections must be between 1 and 1000000, not 0"));
  EXPECT_TRUE(
      has_error(d, 4, 39, "enforce.rate_limit.per must be \"1s\", \"1m\" (or \"60s\"), \"1h\" or \"1d\""));
  EXPECT_TRUE(has_error(d, 6, 8, "state.path must be an absolute path"));
  EXPECT_TRUE(has_error(d, 8, 10, "control.socket is longer than 107 bytes"));
  EXPECT_TRUE(has_error(d, 9, 9, "control.group: \"Mail Admins\" is not a group name"));
  EXPECT_TRUE(has_error(d, 11, 10, "metrics.listen: \"localhost:9753\" is not ADDRESS:PORT"));
  EXPECT_EQ(d.size(), 8U);
}

TEST(ConfigMistakes, ControlCharactersInValuesAreEscapedInMessages) {
  // A diagnostic is printed to a terminal: the file's bytes must not be able to move the cursor.
  const auto d = errors_of(with_rule("[metrics]\nlisten = \"\\u001b[2J\\n:1\"\n"));
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].message.find('\x1b'), std::string::npos);
  EXPECT_NE(d[0].message.find("\"\\x1b[2J\\n:1\""), std::string::npos) << d[0].message;
}

TEST(ConfigMistakes, SyntaxErrorIsTheFirstOneWithItsPosition) {
  const auto d = errors_of("[protect]\nports = [25,\nhits == 3\n");
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].line, 3U);
  EXPECT_NE(d[0].message.find("TOML syntax: "), std::string::npos);
  EXPECT_EQ(format_diagnostic(d[0]).rfind("t.toml:3:", 0), 0U) << format_diagnostic(d[0]);
}

TEST(ConfigMistakes, DuplicateKeyIsASyntaxError) {
  const auto d = errors_of(std::string(kValidRule) + "hits = 4\n");
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].line, 6U);
  EXPECT_NE(d[0].message.find("hits"), std::string::npos) << d[0].message;
}

TEST(ConfigMistakes, InvalidUtf8IsASyntaxErrorNotACrash) {
  const auto d = errors_of(std::string(kValidRule) + "[logs]\ntimezone = \"\xff\xfe\"\n");
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].line, 7U);
}

}  // namespace
}  // namespace strikeout::config
