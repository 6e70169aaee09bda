// `strikeout import fail2ban`: fail2ban's INI dialect (configparser + includes + interpolation),
// its time values, failregex -> RE2 translation, and whole imports of Debian 12's shipped jails and
// of a site's custom jail. Every written configuration must load as check-config loads it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>

#include "app/fail2ban_import.hpp"
#include "app/fail2ban_ini.hpp"
#include "config/loader.hpp"
#include "logs/decoder.hpp"

namespace strikeout::app::fail2ban {
namespace {

const std::filesystem::path kFixtures = std::filesystem::path(STRIKEOUT_FIXTURES_DIR) / "fail2ban";

std::vector<Problem> parse(Document& doc, std::string_view text) {
  std::vector<Problem> problems;
  doc.parse(text, "jail.local", problems);
  return problems;
}

std::string first_message(const std::vector<Problem>& problems) {
  return problems.empty() ? std::string() : format_problem(problems.front());
}

// ---- the INI dialect ----

TEST(Fail2banIni, ReadsValuesAsConfigparserDoes) {
  Document doc;
  const auto problems = parse(doc,
                              "[DEFAULT]\n"
                              "BanTime = 10m ; inline comment after a space\n"
                              "# a comment line\n"
                              "[dovecot]\n"
                              "enabled: true\n"
                              "failregex = ^a#b;c\n"
                              "            ^second line\n"
                              "    ; an indented comment inside the value is dropped\n"
                              "            ^third\n");
  ASSERT_TRUE(problems.empty()) << first_message(problems);
  EXPECT_EQ(doc.raw("dovecot", "bantime")->text, "10m");  // from [DEFAULT], name folded to lower case
  EXPECT_EQ(doc.raw("dovecot", "enabled")->text, "true");
  EXPECT_EQ(doc.raw("dovecot", "failregex")->text, "^a#b;c\n^second line\n^third");
  EXPECT_EQ(doc.raw("dovecot", "failregex")->at.line, 6);
  EXPECT_EQ(doc.raw("dovecot", "failregex")->at.column, 13);
  EXPECT_EQ(doc.section_order(), std::vector<std::string>{"dovecot"});
}

TEST(Fail2banIni, LaterFilesOverrideEarlierOnes) {
  Document doc;
  std::vector<Problem> problems;
  doc.parse("[sshd]\nenabled = true\nport = ssh\n", "jail.conf", problems);
  doc.parse("[sshd]\nenabled = false\n", "jail.local", problems);
  ASSERT_TRUE(problems.empty());
  EXPECT_EQ(doc.raw("sshd", "enabled")->text, "false");
  EXPECT_EQ(doc.raw("sshd", "enabled")->at.file, "jail.local");
  EXPECT_EQ(doc.raw("sshd", "port")->text, "ssh");
}

TEST(Fail2banIni, MistakesNameFileLineAndColumn) {
  Document doc;
  auto problems = parse(doc, "enabled = true\n");
  EXPECT_EQ(first_message(problems), "jail.local:1:1: error: a line before the first [section] header");

  problems = parse(doc, "[a]\nx = 1\n  \n[b]\n   just words\n");
  EXPECT_EQ(first_message(problems),
            "jail.local:5:4: error: expected 'name = value' or a [section] header, not 'just words'");

  problems = parse(doc, "[a]\nx = 1\nX = 2\n");
  EXPECT_EQ(first_message(problems),
            "jail.local:3:1: error: option 'x' given twice in section [a] of this file");

  problems = parse(doc, "[a]\n[a]\n");
  EXPECT_EQ(first_message(problems), "jail.local:2:1: error: section [a] given twice in this file");

  problems = parse(doc, std::string_view("[a]\nx = \0\n", 9));
  EXPECT_EQ(first_message(problems), "jail.local:2:5: error: a NUL byte");
}

TEST(Fail2banIni, InterpolatesLikeFail2ban) {
  Document doc;
  ASSERT_TRUE(parse(doc,
                    "[DEFAULT]\n"
                    "syslog_mail = /var/log/mail.log\n"
                    "postfix_log = %(syslog_mail)s\n"
                    "filter = %(__name__)s[mode=%(mode)s]\n"
                    "mode = normal\n"
                    "[postfix-sasl]\n"
                    "filter = postfix[mode=auth]\n"
                    "logpath = %(postfix_log)s\n"
                    "[dovecot]\n"
                    "mode = aggressive\n"
                    "other = %(postfix-sasl/filter)s and %(default/mode)s, 100%%\n"
                    "loop = %(loop2)s\n"
                    "loop2 = %(loop)s\n"
                    "bad = %(nothing)s\n"
                    "badsyntax = 50%\n")
                  .empty());
  std::vector<Problem> problems;
  EXPECT_EQ(doc.get("postfix-sasl", "logpath", problems), "/var/log/mail.log");
  EXPECT_EQ(doc.get("dovecot", "filter", problems), "dovecot[mode=aggressive]");
  EXPECT_EQ(doc.get("dovecot", "other", problems), "postfix[mode=auth] and normal, 100%");
  ASSERT_TRUE(problems.empty()) << first_message(problems);

  EXPECT_FALSE(doc.get("dovecot", "loop", problems));
  EXPECT_NE(first_message(problems).find("nest deeper than 10"), std::string::npos)
      << first_message(problems);
  problems.clear();
  EXPECT_FALSE(doc.get("dovecot", "bad", problems));
  EXPECT_EQ(first_message(problems),
            "jail.local:14:7: error: %(nothing)s names no option of [dovecot] or [DEFAULT]");
  problems.clear();
  EXPECT_FALSE(doc.get("dovecot", "badsyntax", problems));
  EXPECT_NE(first_message(problems).find("'%' must be followed by"), std::string::npos);
}

TEST(Fail2banIni, ExpansionIsBounded) {
  // Each level repeats the one below 8 times: x9 would be 8^9 bytes. Refused, quickly.
  std::string text = "[a]\nx0 = y\n";
  for (int level = 1; level <= 9; ++level) {
    text += "x" + std::to_string(level) + " = ";
    for (int i = 0; i < 8; ++i) text += "%(x" + std::to_string(level - 1) + ")s";
    text += "\n";
  }
  Document doc;
  ASSERT_TRUE(parse(doc, text).empty());
  std::vector<Problem> problems;
  EXPECT_FALSE(doc.get("a", "x9", problems));
  EXPECT_NE(first_message(problems).find("expands to more than"), std::string::npos)
      << first_message(problems);
  problems.clear();
  EXPECT_EQ(doc.get("a", "x2", problems)->size(), 64u);
}

TEST(Fail2banIni, TimesAsFail2banWritesThem) {
  std::string error;
  int column = 0;
  EXPECT_EQ(parse_duration("600", error, column), 600);
  EXPECT_EQ(parse_duration("10m", error, column), 600);
  EXPECT_EQ(parse_duration("1h 30m", error, column), 5400);
  EXPECT_EQ(parse_duration("1hour+30min", error, column), 5400);
  EXPECT_EQ(parse_duration("3600*24", error, column), 86400);
  EXPECT_EQ(parse_duration("1w", error, column), 604800);
  EXPECT_EQ(parse_duration("2d", error, column), 172800);
  EXPECT_EQ(parse_duration("1y-6mo", error, column), 31557600 - 6 * 2629800);
  EXPECT_EQ(parse_duration("-1", error, column), -1);
  EXPECT_FALSE(parse_duration("10 parsecs", error, column));
  EXPECT_EQ(error, "unknown time unit 'parsecs'");
  EXPECT_EQ(column, 4);
  EXPECT_FALSE(parse_duration("", error, column));
  EXPECT_FALSE(parse_duration("(1h", error, column));
  EXPECT_FALSE(parse_duration("1/0", error, column));
}

TEST(Fail2banIni, FilterNamesWithParameters) {
  std::string error;
  auto f = parse_name_with_params("postfix[mode=auth]", error);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->name, "postfix");
  EXPECT_EQ(f->params.at("mode"), "auth");
  f = parse_name_with_params(R"(myfilter[mode="a, b", other='x'])", error);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->params.at("mode"), "a, b");
  EXPECT_EQ(f->params.at("other"), "x");
  EXPECT_FALSE(parse_name_with_params("postfix[mode=auth", error));
  EXPECT_FALSE(parse_name_with_params("[mode=auth]", error));
}

// ---- failregex translation ----

std::string prefixed(std::string_view body) {
  return "^" + std::string(kPrefixLineMarker) + std::string(body);
}

TEST(Fail2banRegex, TranslatesWhatMeansTheSame) {
  auto t = translate_failregex(prefixed(R"(Login failed user=\S* host=.*\[<HOST>\]\s*$)"));
  ASSERT_TRUE(t.pattern) << t.reason;
  EXPECT_EQ(*t.pattern, R"(Login failed user=\S* host=.*\[<HOST>\]\s*$)");

  t = translate_failregex(prefixed(R"(auth failed for <F-USER>.*</F-USER> from <ADDR>\Z)"));
  ASSERT_TRUE(t.pattern) << t.reason;
  EXPECT_EQ(*t.pattern, R"(auth failed for <USER> from <HOST>\z)");

  t = translate_failregex(prefixed(R"(user=<F-USER>\S+</F-USER> id=<F-ID>\d+</F-ID> ip=<HOST>)"));
  ASSERT_TRUE(t.pattern) << t.reason;
  EXPECT_EQ(*t.pattern, R"(user=(?:\S+) id=(?:\d+) ip=<HOST>)");
  EXPECT_EQ(t.notes.size(), 1u);  // the username is not reported

  t = translate_failregex(prefixed(R"((?i)errors{,3} from <HOST>(?#a comment)[]x])"));
  ASSERT_TRUE(t.pattern) << t.reason;
  EXPECT_EQ(*t.pattern, R"((?i)errors{0,3} from <HOST>[]x])");

  t = translate_failregex(R"(failed from <HOST>)");  // not anchored: Python's search()
  ASSERT_TRUE(t.pattern) << t.reason;
  EXPECT_EQ(*t.pattern, R"(.*?failed from <HOST>)");
}

TEST(Fail2banRegex, RefusesWhatRe2CannotMeanAndSaysWhy) {
  const std::pair<std::string, std::string> cases[] = {
      {prefixed("bad login from <HOST> (?!trusted)"), "lookahead"},
      {prefixed("(?<=x)<HOST>"), "lookbehind"},
      {prefixed(R"((\w+) retried from <HOST> as \1)"), "back-reference"},
      {prefixed("(?P<who>\\w+) from <HOST> as (?P=who)"), "named back-reference"},
      {prefixed("client <DNS> failed"), "<DNS>"},
      {prefixed("from <HOST>(?(1)a|b)"), "conditional"},
      {prefixed("from <HOST> a*+"), "possessive"},
      {prefixed("from <HOST> (?>atomic)"), "atomic"},
      {prefixed("(?x) from <HOST>"), "verbose"},
      {prefixed("from <HOST> x(?i)y"), "not at the start"},
      {prefixed("<F-NOFAIL>from</F-NOFAIL> <HOST>"), "no-failure"},
      {prefixed("<F-MLFID>x</F-MLFID> <HOST>"), "multi-line"},
      {prefixed("<SKIPLINES>from <HOST>"), "SKIPLINES"},
      {prefixed("from <HOST> to <HOST>"), "more than once"},
      {prefixed("from nowhere"), "missing"},
      {prefixed("[[:alpha:]]+ <HOST>"), "POSIX class"},
      {"^Timestamp-less <HOST>", "without %(__prefix_line)s"},
      {prefixed("a") + std::string(kPrefixLineMarker) + "<HOST>", "in the middle"},
      {prefixed("(unclosed <HOST>"), "RE2 does not take it"},
  };
  for (const auto& [regex, why] : cases) {
    const auto t = translate_failregex(regex);
    EXPECT_FALSE(t.pattern) << regex << " -> " << t.pattern.value_or("");
    EXPECT_NE(t.reason.find(why), std::string::npos) << regex << ": " << t.reason;
  }
}

// ---- whole imports ----

std::filesystem::path copy_of(const std::filesystem::path& fixture, std::string_view name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("strikeout-f2b-" + std::string(name) + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::copy(fixture, dir, std::filesystem::copy_options::recursive);
  return dir;
}

void write(const std::filesystem::path& path, std::string_view text) {
  std::ofstream(path, std::ios::binary) << text;
}

config::Config load(const ImportResult& r) {
  auto loaded = config::load_config(r.toml, "<imported>");
  if (auto* d = std::get_if<config::Diagnostics>(&loaded)) {
    ADD_FAILURE() << config::format_diagnostic(d->front()) << "\n" << r.toml;
    return {};
  }
  return std::get<config::Config>(std::move(loaded));
}

const core::Rule* rule(const config::Config& c, std::string_view name) {
  for (const auto& r : c.policy.rules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

bool has_note(const ImportResult& r, std::string_view jail, std::string_view text) {
  return std::any_of(r.notes.begin(), r.notes.end(), [&](const Note& n) {
    return n.jail == jail && n.message.find(text) != std::string::npos;
  });
}

TEST(Fail2banImport, DebianAsShippedHasNoMailJail) {
  // Debian 12 enables only [sshd]: nothing to carry over, and the report says so.
  const auto r = import_fail2ban(kFixtures / "debian12");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("no enabled mail jail"), std::string::npos);
  ASSERT_EQ(r.jails.size(), 1u);
  EXPECT_EQ(r.jails[0].name, "sshd");
  EXPECT_TRUE(has_note(r, "sshd", "not a mail jail"));
  EXPECT_TRUE(r.toml.empty());
}

TEST(Fail2banImport, DebianMailJailsRoundTrip) {
  // Every mail jail Debian ships, enabled the way an administrator does it: a jail.local.
  const auto dir = copy_of(kFixtures / "debian12", "debian");
  write(dir / "jail.local",
        "[DEFAULT]\n"
        "ignoreip = 127.0.0.1/8 ::1 192.0.2.0/24\n"
        "[postfix-sasl]\nenabled = true\n"
        "[postfix]\nenabled = true\n"
        "[dovecot]\nenabled = true\nmaxretry = 3\nbantime = 1h\n"
        "[sieve]\nenabled = true\n"
        "[exim]\nenabled = true\n"
        "[exim-spam]\nenabled = true\n"
        "[sendmail-auth]\nenabled = true\n"
        "[sendmail-reject]\nenabled = true\n"
        "[courier-auth]\nenabled = true\n"
        "[courier-smtp]\nenabled = true\n"
        "[cyrus-imap]\nenabled = true\n"
        "[uwimap-auth]\nenabled = true\n"
        "[perdition]\nenabled = true\n"
        "[solid-pop3d]\nenabled = true\nlogpath = /var/log/mail.log\n"
        "[recidive]\nenabled = true\n");
  const auto r = import_fail2ban(dir);
  ASSERT_TRUE(r.errors.empty()) << format_problem(r.errors.front());
  const auto c = load(r);

  // Debian's defaults: maxretry 5, findtime 10m, bantime 10m, no increment (recidive adds doubling).
  const auto* auth = rule(c, "auth-failures");
  ASSERT_NE(auth, nullptr) << r.toml;
  EXPECT_EQ(auth->on, core::EventKind::AuthFailure);
  EXPECT_EQ(auth->hits, 5u);
  EXPECT_EQ(auth->within, std::chrono::minutes(10));
  EXPECT_EQ(auth->ban, std::chrono::minutes(10));
  EXPECT_EQ(auth->ban_factor, 2.0);  // recidive, approximately
  EXPECT_EQ(auth->ban_max, std::chrono::hours(24 * 7));
  EXPECT_FALSE(auth->extend_on_retry);
  const auto* dovecot = rule(c, "dovecot");
  ASSERT_NE(dovecot, nullptr);
  EXPECT_EQ(dovecot->hits, 3u);
  EXPECT_EQ(dovecot->ban, std::chrono::hours(1));
  // exim's and courier-smtp's protocol errors, with equal settings: one rule.
  const auto* abuse = rule(c, "protocol-abuse");
  ASSERT_NE(abuse, nullptr) << r.toml;
  EXPECT_EQ(abuse->on, core::EventKind::ProtocolAbuse);

  // ignoreip: 127.0.0.1/8 has host bits set; written as the network.
  std::vector<std::string> allow;
  for (const auto& p : c.policy.allowlist) allow.push_back(p.to_string());
  EXPECT_EQ(allow, (std::vector<std::string>{"127.0.0.0/8", "::1", "192.0.2.0/24"}));
  EXPECT_TRUE(c.allow_host_addresses);
  // The jails' ports: pop3, imap, sieve as well as SMTP.
  for (int port : {25, 110, 143, 465, 587, 993, 995, 4190}) {
    EXPECT_NE(std::find(c.ports.begin(), c.ports.end(), static_cast<std::uint16_t>(port)), c.ports.end())
        << port;
  }
  // /var/log/mail.log for most, Exim's main log for exim; the three translated filters are matchers.
  ASSERT_EQ(c.sources.size(), 2u) << r.toml;
  EXPECT_EQ(c.sources[0].format, "auto");
  EXPECT_EQ(std::get<config::FileSource>(c.sources[0].settings).path, "/var/log/mail.log");
  EXPECT_EQ(c.sources[1].format, "exim");
  std::vector<std::string> matchers;
  for (const auto& m : c.matchers) matchers.push_back(m.name);
  EXPECT_EQ(matchers,
            (std::vector<std::string>{"fail2ban-solid-pop3d", "fail2ban-perdition", "fail2ban-uwimap-auth"}));

  // What is not carried over is said, per jail.
  EXPECT_TRUE(has_note(r, "postfix", "rejected RCPT"));
  EXPECT_TRUE(has_note(r, "exim-spam", "rejected mail"));
  EXPECT_TRUE(has_note(r, "sendmail-reject", "rejected mail"));
  EXPECT_TRUE(has_note(r, "recidive", "no rule in strikeout"));
  EXPECT_TRUE(has_note(r, "sshd", "not a mail jail"));
  EXPECT_TRUE(has_note(r, "", "not per log"));
  std::filesystem::remove_all(dir);
}

TEST(Fail2banImport, IncrementBecomesEscalation) {
  const auto dir = copy_of(kFixtures / "debian12", "increment");
  write(dir / "jail.local",
        "[DEFAULT]\nbantime.increment = true\nbantime.maxtime = 2d\nbantime.rndtime = 10m\n"
        "[postfix-sasl]\nenabled = true\nbantime = 30m\nfindtime = 1h\nmaxretry = 3\n");
  const auto r = import_fail2ban(dir);
  ASSERT_TRUE(r.errors.empty()) << format_problem(r.errors.front());
  const auto c = load(r);
  const auto* sasl = rule(c, "postfix-sasl");
  ASSERT_NE(sasl, nullptr) << r.toml;
  EXPECT_EQ(sasl->hits, 3u);
  EXPECT_EQ(sasl->within, std::chrono::hours(1));
  EXPECT_EQ(sasl->ban, std::chrono::minutes(30));
  EXPECT_EQ(sasl->ban_factor, 2.0);
  EXPECT_EQ(sasl->ban_max, std::chrono::hours(48));
  EXPECT_EQ(sasl->forget_after, std::chrono::hours(24));
  EXPECT_TRUE(has_note(r, "postfix-sasl", "bantime.rndtime"));
  std::filesystem::remove_all(dir);
}

TEST(Fail2banImport, SystemdBackendReadsTheJournal) {
  const auto dir = copy_of(kFixtures / "debian12", "systemd");
  write(dir / "jail.local",
        "[DEFAULT]\nbackend = systemd\n[postfix-sasl]\nenabled = true\n[dovecot]\nenabled = true\n");
  const auto r = import_fail2ban(dir);
  ASSERT_TRUE(r.errors.empty()) << format_problem(r.errors.front());
  const auto c = load(r);
  ASSERT_EQ(c.sources.size(), 2u) << r.toml;
  EXPECT_EQ(std::get<config::JournaldSource>(c.sources[0].settings).matches,
            std::vector<std::string>{"_SYSTEMD_UNIT=dovecot.service"});
  EXPECT_EQ(c.sources[0].format, "dovecot");
  EXPECT_EQ(std::get<config::JournaldSource>(c.sources[1].settings).matches,
            std::vector<std::string>{"_SYSTEMD_UNIT=postfix.service"});
  EXPECT_TRUE(has_note(r, "postfix-sasl", "postfix@-.service"));
  ASSERT_EQ(c.policy.rules.size(), 1u);  // equal settings: one rule for both jails
  EXPECT_EQ(c.policy.rules[0].name, "auth-failures");
  std::filesystem::remove_all(dir);
}

TEST(Fail2banImport, CustomJailTranslatedWhereExactAndReportedElsewhere) {
  const auto r = import_fail2ban(kFixtures / "custom");
  ASSERT_TRUE(r.errors.empty()) << format_problem(r.errors.front());
  const auto c = load(r);

  ASSERT_EQ(c.matchers.size(), 2u) << r.toml;
  const auto& normal = c.matchers[0];
  EXPECT_EQ(normal.name, "fail2ban-myapp-smtp");
  EXPECT_EQ(normal.program, "myapp-smtpd");
  EXPECT_EQ(normal.patterns,
            (std::vector<std::string>{R"(auth failed for <USER> from <HOST>$)",
                                      R"(AUTH rejected: user=(?:\S+) ip=\[<HOST>\](?: port=\d+)?\z)"}));
  EXPECT_EQ(c.matchers[1].patterns.back(), "too many errors{0,3} from <HOST>");  // mode=strict's own line

  // Each line not translated is reported with its reason, and so is what else fail2ban did.
  EXPECT_TRUE(has_note(r, "myapp-smtp", "(?!trusted)' not translated: a lookahead"));
  EXPECT_TRUE(has_note(r, "myapp-smtp", "not translated: a named back-reference"));
  EXPECT_TRUE(has_note(r, "myapp-smtp", "<DNS>"));
  EXPECT_TRUE(has_note(r, "myapp-smtp", "without %(__prefix_line)s"));
  EXPECT_TRUE(has_note(r, "myapp-smtp", "ignoreregex"));
  EXPECT_TRUE(has_note(r, "myapp-smtp", "office.example.org"));
  EXPECT_TRUE(has_note(r, "myapp-journal", "bantime is negative"));

  // bantime.multipliers 1 2 4 8 16 is doubling up to 16 times bantime.
  const auto* smtp = rule(c, "myapp-smtp");
  ASSERT_NE(smtp, nullptr) << r.toml;
  EXPECT_EQ(smtp->hits, 4u);
  EXPECT_EQ(smtp->within, std::chrono::minutes(30));
  EXPECT_EQ(smtp->ban, std::chrono::hours(1));
  EXPECT_EQ(smtp->ban_factor, 2.0);
  EXPECT_EQ(smtp->ban_max, std::chrono::hours(16));
  const auto* journal = rule(c, "myapp-journal");
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->ban, std::chrono::hours(24 * 7 * 52));

  // The file source reads with the translated matcher; journalmatch's '+' gave two journal sources.
  ASSERT_EQ(c.sources.size(), 3u) << r.toml;
  EXPECT_EQ(c.sources[0].format, "fail2ban-myapp-smtp");
  const auto& j1 = std::get<config::JournaldSource>(c.sources[1].settings);
  const auto& j2 = std::get<config::JournaldSource>(c.sources[2].settings);
  EXPECT_EQ(j1.matches, std::vector<std::string>{"_SYSTEMD_UNIT=myapp.service"});
  EXPECT_EQ(j2.matches, std::vector<std::string>{"SYSLOG_IDENTIFIER=myapp-smtpd"});
  std::vector<std::uint16_t> ports(c.ports.begin(), c.ports.end());
  std::sort(ports.begin(), ports.end());
  EXPECT_EQ(ports, (std::vector<std::uint16_t>{25, 465, 587, 2525}));

  // The translated matcher reads the server's lines: the address from <HOST>, the user from <USER>.
  logs::DecoderOptions options;
  options.format = normal.name;
  options.custom = c.matchers;
  auto made = logs::LineDecoder::create(options);
  auto* decoder = std::get_if<logs::LineDecoder>(&made);
  ASSERT_NE(decoder, nullptr) << std::get<std::string>(made);
  core::Event e;
  ASSERT_EQ(decoder->decode("Dec  5 10:00:00 mx myapp-smtpd[123]: auth failed for bob from 203.0.113.7", e),
            logs::LineStatus::Event);
  EXPECT_EQ(e.source.to_string(), "203.0.113.7");
  EXPECT_EQ(e.user, "bob");
  ASSERT_EQ(decoder->decode(
                "Dec  5 10:00:01 mx myapp-smtpd[123]: AUTH rejected: user=eve ip=[2001:db8::5] port=587", e),
            logs::LineStatus::Event);
  EXPECT_EQ(e.source.to_string(), "2001:db8::5");
  // Another program's line of the same shape is not this server's.
  EXPECT_NE(decoder->decode("Dec  5 10:00:02 mx other[1]: auth failed for bob from 203.0.113.8", e),
            logs::LineStatus::Event);
}

TEST(Fail2banImport, BrokenFilesStopTheImportWithPositions) {
  const auto dir = copy_of(kFixtures / "custom", "broken");
  write(dir / "jail.local", "[myapp-smtp]\nenabled = yes\nfindtime = 10 parsecs\nfilter = myapp-smtp\n");
  auto r = import_fail2ban(dir);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(format_problem(r.errors.front()),
            (dir / "jail.local").string() +
                ":3:15: error: findtime: '10 parsecs' is not a time: unknown time unit "
                "'parsecs'");
  EXPECT_TRUE(r.toml.empty());

  write(dir / "jail.local", "[myapp-smtp]\nenabled = maybe\n");
  r = import_fail2ban(dir);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(format_problem(r.errors.front()),
            (dir / "jail.local").string() + ":2:11: error: enabled: 'maybe' is not true or false");

  r = import_fail2ban(dir / "no-such-dir");
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors.front().message.find("not a directory"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Fail2banImport, JsonCarriesTheReportAndTheConfiguration) {
  const auto r = import_fail2ban(kFixtures / "custom");
  const std::string json = format_json(r);
  EXPECT_NE(json.find("\"jails\":[{\"name\":\"myapp-smtp\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"kind\":\"not-carried\""), std::string::npos);
  EXPECT_NE(json.find("\"config\":\"# strikeout.toml"), std::string::npos);
}

}  // namespace
}  // namespace strikeout::app::fail2ban
