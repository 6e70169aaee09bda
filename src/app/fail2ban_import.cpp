#include "app/fail2ban_import.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <system_error>

#include "core/address.hpp"
#include "report/text_escape.hpp"

namespace strikeout::app::fail2ban {

namespace {

// A filter's text as its author wrote it: the syslog header's marker shown as %(__prefix_line)s.
std::string shown(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, kPrefixLineMarker.size()) == kPrefixLineMarker) {
      out += "%(__prefix_line)s";
      i += kPrefixLineMarker.size();
      continue;
    }
    const auto c = static_cast<unsigned char>(text[i++]);
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  }
  return out;
}

// The limits of strikeout's rules (docs/config.md).
constexpr double kMaxWithin = 7 * 86400.0;
constexpr double kMaxBan = 52 * 7 * 86400.0;
constexpr long kMaxHits = 1000;
// <tag> substitution stops growing a pattern past this (tags repeated in tags grow exponentially); the
// unsubstituted tag left in it is then reported by the translation.
constexpr std::size_t kMaxTaggedBytes = 1u << 16;

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const auto line = trim(text.substr(start, end - start));
    if (!line.empty()) out.emplace_back(line);
    start = end + 1;
  }
  return out;
}

std::vector<std::string> split_words(std::string_view text, std::string_view separators) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && separators.find(text[i]) != std::string_view::npos) ++i;
    const std::size_t start = i;
    while (i < text.size() && separators.find(text[i]) == std::string_view::npos) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

// Python's configparser getboolean().
std::optional<bool> parse_bool(std::string_view text) {
  const std::string v = lower(trim(text));
  if (v == "1" || v == "yes" || v == "true" || v == "on") return true;
  if (v == "0" || v == "no" || v == "false" || v == "off") return false;
  return std::nullopt;
}

// strikeout's duration syntax: whole units, largest first ("1h30m").
std::string format_duration(double seconds) {
  long long s = static_cast<long long>(std::ceil(seconds));
  if (s <= 0) return "0s";
  std::string out;
  for (auto [unit, size] : std::array<std::pair<const char*, long long>, 5>{
           {{"w", 604800}, {"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}}}) {
    if (s >= size) {
      out += fmt::format("{}{}", s / size, unit);
      s %= size;
    }
  }
  return out;
}

// A strikeout name: 1-64 of letters, digits, '-', '_', '.', starting with a letter or digit.
std::string sanitize_name(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      out += c;
    } else {
      out += '-';
    }
  }
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.front()))) out.erase(out.begin());
  if (out.empty()) out = "jail";
  if (out.size() > 64) out.resize(64);
  return out;
}

std::string toml_string(std::string_view s) {
  // A literal string keeps a regex readable (no doubled backslashes) when it can.
  const bool literal_ok =
      s.find('\'') == std::string_view::npos && std::none_of(s.begin(), s.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      });
  if (literal_ok) return fmt::format("'{}'", s);
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Service names fail2ban's jails use in `port` (from /etc/services).
std::optional<int> port_number(std::string_view name) {
  static const std::map<std::string, int, std::less<>> ports = {
      {"smtp", 25},  {"submission", 587}, {"submissions", 465}, {"smtps", 465},  {"ssmtp", 465},
      {"urd", 465},  {"imap", 143},       {"imap2", 143},       {"imaps", 993},  {"imap3", 220},
      {"pop3", 110}, {"pop3s", 995},      {"pop2", 109},        {"sieve", 4190}, {"managesieve", 4190},
      {"http", 80},  {"https", 443},      {"ssh", 22},          {"ftp", 21},     {"ftp-data", 20},
      {"ftps", 990}, {"ftps-data", 989},  {"lmtp", 24},         {"socks", 1080}, {"domain", 53},
  };
  if (auto it = ports.find(lower(name)); it != ports.end()) return it->second;
  if (!name.empty() && name.size() <= 5 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    const int n = std::stoi(std::string(name));
    if (n >= 1 && n <= 65535) return n;
  }
  return std::nullopt;
}

// Filters Debian's fail2ban ships that are not about mail: their jails stay with fail2ban.
bool is_non_mail_filter(std::string_view name) {
  static const std::set<std::string, std::less<>> names = {"3proxy",
                                                           "apache-auth",
                                                           "apache-badbots",
                                                           "apache-botsearch",
                                                           "apache-common",
                                                           "apache-fakegooglebot",
                                                           "apache-modsecurity",
                                                           "apache-nohome",
                                                           "apache-noscript",
                                                           "apache-overflows",
                                                           "apache-pass",
                                                           "apache-shellshock",
                                                           "asterisk",
                                                           "bitwarden",
                                                           "botsearch-common",
                                                           "centreon",
                                                           "counter-strike",
                                                           "directadmin",
                                                           "drupal-auth",
                                                           "dropbear",
                                                           "ejabberd-auth",
                                                           "freeswitch",
                                                           "froxlor-auth",
                                                           "gitlab",
                                                           "grafana",
                                                           "groupoffice",
                                                           "gssftpd",
                                                           "guacamole",
                                                           "haproxy-http-auth",
                                                           "horde",
                                                           "lighttpd-auth",
                                                           "mongodb-auth",
                                                           "monit",
                                                           "monitorix",
                                                           "mssql-auth",
                                                           "murmur",
                                                           "mysqld-auth",
                                                           "nagios",
                                                           "named-refused",
                                                           "nginx-bad-request",
                                                           "nginx-botsearch",
                                                           "nginx-http-auth",
                                                           "nginx-limit-req",
                                                           "nsd",
                                                           "openhab",
                                                           "openwebmail",
                                                           "pam-generic",
                                                           "php-url-fopen",
                                                           "phpmyadmin-syslog",
                                                           "portsentry",
                                                           "proftpd",
                                                           "pure-ftpd",
                                                           "roundcube-auth",
                                                           "screensharingd",
                                                           "selinux-ssh",
                                                           "slapd",
                                                           "softethervpn",
                                                           "sogo-auth",
                                                           "squid",
                                                           "sshd",
                                                           "stunnel",
                                                           "suhosin",
                                                           "tine20",
                                                           "traefik-auth",
                                                           "vsftpd",
                                                           "webmin-auth",
                                                           "wuftpd",
                                                           "xinetd-fail",
                                                           "znc-adminlog",
                                                           "zoneminder"};
  return names.contains(name);
}

// Mail filters that count rejected mail (relay denied, unknown recipients, spam), not logins.
bool is_reject_filter(std::string_view name) {
  return name == "exim-spam" || name == "sendmail-reject" || name == "qmail";
}

enum class Kind { AuthFailure, ProtocolAbuse };
std::string_view kind_name(Kind k) {
  return k == Kind::AuthFailure ? "auth-failure" : "protocol-abuse";
}

// What a filter strikeout has a built-in matcher for becomes: the format and the event kinds, and
// what of the filter is not carried (empty: nothing).
struct BuiltinMapping {
  std::string format;
  std::vector<Kind> kinds;
  std::string not_carried;
  std::string approximate;
};

std::optional<BuiltinMapping> builtin_mapping(std::string_view filter, const std::string& mode) {
  if (filter == "postfix") {
    const std::string rejects =
        "rejected RCPT/HELO/sender lines (relay access denied, unknown users, RBL): strikeout counts failed "
        "logins, not rejected mail";
    if (mode == "auth") return BuiltinMapping{"postfix", {Kind::AuthFailure}, "", ""};
    if (mode == "extra" || mode == "aggressive") {
      return BuiltinMapping{
          "postfix", {Kind::AuthFailure}, fmt::format("postfix[mode={}]'s {}", mode, rejects), ""};
    }
    if (mode == "ddos") {
      return BuiltinMapping{
          "postfix",
          {Kind::ProtocolAbuse},
          "",
          "postfix[mode=ddos] counts 'lost connection after ...', PREGREET, HANGUP and COMMAND "
          "LIMIT lines; strikeout's Postfix protocol-abuse events are 'too many errors after "
          "AUTH' and failed TLS handshakes (docs/log-formats.md)"};
    }
    return BuiltinMapping{
        "", {}, fmt::format("postfix[mode={}] counts {}", mode.empty() ? "more" : mode, rejects), ""};
  }
  if (filter == "dovecot") {
    BuiltinMapping m{
        "dovecot",
        {Kind::AuthFailure},
        "",
        "dovecot's 'tried to use disabled plaintext auth' counts as a failure in fail2ban; strikeout "
        "counts it as protocol-abuse"};
    if (mode == "aggressive") m.kinds.push_back(Kind::ProtocolAbuse);
    return m;
  }
  if (filter == "sieve" || filter == "cyrus-imap")
    return BuiltinMapping{"cyrus", {Kind::AuthFailure}, "", ""};
  if (filter == "sendmail-auth") return BuiltinMapping{"sendmail", {Kind::AuthFailure}, "", ""};
  if (filter == "courier-auth") return BuiltinMapping{"courier", {Kind::AuthFailure}, "", ""};
  if (filter == "courier-smtp") {
    return BuiltinMapping{
        "courier",
        {Kind::ProtocolAbuse},
        "",
        "courier-smtp's '550 User unknown' lines are protocol-abuse events in strikeout; its "
        "'535 Authentication failed' lines are not read"};
  }
  if (filter == "exim") {
    return BuiltinMapping{"exim",
                          {Kind::AuthFailure, Kind::ProtocolAbuse},
                          "exim's sender-verify and rejected-RCPT lines (rejected mail, not logins)" +
                              std::string(mode == "aggressive" ? " and its reverse-DNS lines" : ""),
                          "exim's protocol errors (synchronization, too many nonmail commands, AUTH when not "
                          "advertised) are protocol-abuse events in strikeout, counted by their own rule"};
  }
  return std::nullopt;
}

// One [[rule]] to write; jails with equal settings share it.
struct RuleSpec {
  Kind kind = Kind::AuthFailure;
  long hits = 5;
  double within = 600;
  double ban = 600;
  double factor = 1.0;
  std::optional<double> ban_max;
  std::optional<double> forget_after;
  bool recidive_escalation = false;

  auto key() const {
    return std::make_tuple(static_cast<int>(kind), hits, within, ban, factor, ban_max.value_or(-1),
                           forget_after.value_or(-1));
  }
};

struct RuleOut {
  std::string name;
  RuleSpec spec;
  std::vector<std::string> jails;
  std::vector<Position> at;
};

struct SourceOut {
  bool journal = false;
  std::string path;                  // file
  std::vector<std::string> matches;  // journald
  std::set<std::string> formats;     // built-in format names or matcher names that read it
  std::vector<std::string> jails;
};

struct MatcherOut {
  std::string name;
  std::vector<std::string> patterns;
  std::string program;
  std::string filter;
};

class Importer {
 public:
  explicit Importer(std::filesystem::path dir) : dir_(std::move(dir)) {}

  ImportResult run() {
    std::vector<FileToRead> files;
    files.push_back(FileToRead{dir_ / "jail.conf", true});
    for (const auto& f : sorted_glob(dir_ / "jail.d", ".conf")) files.push_back(FileToRead{f, true});
    files.push_back(FileToRead{dir_ / "jail.local", true});
    for (const auto& f : sorted_glob(dir_ / "jail.d", ".local")) files.push_back(FileToRead{f, true});
    std::error_code ec;
    if (!std::filesystem::is_directory(dir_, ec)) {
      result_.errors.push_back(make_problem(dir_.string(), 0, 0, "not a directory"));
      return std::move(result_);
    }
    read_files(files, jails_, result_.errors, result_.files_read);
    if (result_.files_read.empty() && result_.errors.empty()) {
      result_.errors.push_back(make_problem(
          dir_.string(), 0, 0, "no jail.conf, jail.local or jail.d/*: not a fail2ban configuration"));
    }
    if (!result_.errors.empty()) return std::move(result_);
    for (const auto& name : jails_.section_order()) jail(name);
    if (!result_.errors.empty()) return std::move(result_);
    if (rules_.empty()) {
      result_.errors.push_back(
          make_problem(dir_.string(), 0, 0,
                       "no enabled mail jail to carry over (enable one, e.g. [postfix-sasl] or [dovecot], "
                       "or start from 'strikeout default-config')"));
      return std::move(result_);
    }
    apply_recidive();
    name_rules();
    result_.toml = write_toml();
    return std::move(result_);
  }

 private:
  static std::vector<std::filesystem::path> sorted_glob(const std::filesystem::path& dir,
                                                        std::string_view ext) {
    std::vector<std::filesystem::path> out;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      if (it->path().extension() == ext) out.push_back(it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  void note(NoteKind kind, const std::string& jail, const Position& at, std::string message) {
    Note n;
    n.kind = kind;
    n.jail = jail;
    n.at = at;
    n.message = shown(message);
    result_.notes.push_back(std::move(n));
  }

  Position where(const std::string& section, std::string_view option) const {
    if (const Value* v = jails_.raw(section, option)) return v->at;
    if (const Section* s = jails_.section(section)) return s->at;
    return {};
  }

  std::optional<std::string> value(const std::string& section, std::string_view option) {
    return jails_.get(section, option, result_.errors);
  }

  std::optional<double> duration(const std::string& section, std::string_view option, double fallback) {
    const auto text = value(section, option);
    if (!text || trim(*text).empty()) return fallback;
    std::string error;
    int column = 0;
    auto seconds = parse_duration(*text, error, column);
    if (!seconds) {
      Position at = where(section, option);
      if (at.column > 0 && text->find('%') == std::string::npos) at.column += column - 1;
      result_.errors.push_back(
          make_problem(at, fmt::format("{}: '{}' is not a time: {}", option, *text, error)));
    }
    return seconds;
  }

  void jail(const std::string& name) {
    const auto enabled_text = value(name, "enabled");
    if (!enabled_text) return;
    const auto enabled = parse_bool(*enabled_text);
    if (!enabled) {
      result_.errors.push_back(make_problem(
          where(name, "enabled"), fmt::format("enabled: '{}' is not true or false", *enabled_text)));
      return;
    }
    if (!*enabled) return;
    JailOutcome outcome;
    outcome.name = name;
    outcome.at = jails_.section(name)->at;
    const auto filter_text = value(name, "filter").value_or("");
    outcome.filter = std::string(trim(filter_text));
    const std::size_t jail_index = result_.jails.size();
    result_.jails.push_back(outcome);
    if (outcome.filter.empty()) {
      note(NoteKind::Skipped, name, outcome.at,
           "no filter: bans only from outside commands; nothing to read");
      return;
    }
    std::string error;
    auto filter = parse_name_with_params(split_lines(outcome.filter).front(), error);
    if (!filter) {
      result_.errors.push_back(make_problem(where(name, "filter"), fmt::format("filter: {}", error)));
      return;
    }
    if (split_lines(outcome.filter).size() > 1) {
      note(NoteKind::NotCarried, name, where(name, "filter"),
           "only the first of several filters is carried over");
    }
    if (filter->name == "recidive") {
      recidive(name);
      return;
    }
    if (is_non_mail_filter(filter->name)) {
      note(NoteKind::Skipped, name, outcome.at,
           fmt::format(
               "not a mail jail (filter {}): strikeout protects SMTP AUTH and the mail logins; leave it to "
               "fail2ban",
               filter->name));
      return;
    }
    if (is_reject_filter(filter->name)) {
      note(NoteKind::NotCarried, name, outcome.at,
           fmt::format("filter {} counts rejected mail, not failed logins: strikeout does not count it",
                       filter->name));
      return;
    }

    // The filter's own file: journalmatch for every filter, the patterns for those without a built-in.
    Document filter_doc;
    std::vector<std::string> filter_files;
    const bool have_filter_file = read_filter(filter->name, filter_doc, filter_files);
    const std::string mode = filter->params.contains("mode")
                                 ? filter->params.at("mode")
                                 : filter_value(filter_doc, *filter, "mode").value_or("");
    std::vector<Kind> kinds;
    std::set<std::string> formats;
    if (auto builtin = builtin_mapping(filter->name, mode)) {
      if (!builtin->not_carried.empty()) {
        note(NoteKind::NotCarried, name, where(name, "filter"), builtin->not_carried);
      }
      if (!builtin->approximate.empty())
        note(NoteKind::Approximate, name, where(name, "filter"), builtin->approximate);
      kinds = builtin->kinds;
      if (!builtin->format.empty()) formats.insert(builtin->format);
    } else {
      if (!have_filter_file) {
        note(NoteKind::NotCarried, name, where(name, "filter"),
             fmt::format("filter {}: no filter.d/{}.conf or .local to read its patterns from", filter->name,
                         filter->name));
        return;
      }
      if (auto matcher = translate_filter(name, *filter, filter_doc)) {
        formats.insert(matcher->name);
        matchers_.push_back(std::move(*matcher));
        kinds = {Kind::AuthFailure};
      }
    }
    if (kinds.empty()) return;

    // Counting and banning.
    RuleSpec spec;
    const auto maxretry_text = value(name, "maxretry").value_or("5");
    long maxretry = 0;
    try {
      std::size_t used = 0;
      maxretry = std::stol(std::string(trim(maxretry_text)), &used);
      if (used != trim(maxretry_text).size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      result_.errors.push_back(make_problem(
          where(name, "maxretry"), fmt::format("maxretry: '{}' is not a whole number", maxretry_text)));
      return;
    }
    spec.hits = std::clamp(maxretry, 1L, kMaxHits);
    if (spec.hits != maxretry) {
      note(NoteKind::Approximate, name, where(name, "maxretry"),
           fmt::format("maxretry = {} is outside strikeout's 1-1000: hits = {}", maxretry, spec.hits));
    }
    const auto findtime = duration(name, "findtime", 600);
    const auto bantime = duration(name, "bantime", 600);
    if (!findtime || !bantime) return;
    spec.within = std::max(1.0, *findtime);
    if (*findtime > kMaxWithin) {
      spec.within = kMaxWithin;
      note(NoteKind::Approximate, name, where(name, "findtime"),
           fmt::format("findtime {} is longer than strikeout's longest window (1w): within = \"1w\"",
                       format_duration(*findtime)));
    }
    spec.ban = *bantime;
    if (*bantime < 0) {
      spec.ban = kMaxBan;
      note(NoteKind::Approximate, name, where(name, "bantime"),
           "bantime is negative (a ban for ever): strikeout's longest ban is 52w, renewed at each new "
           "offence");
    } else if (*bantime > kMaxBan) {
      spec.ban = kMaxBan;
      note(NoteKind::Approximate, name, where(name, "bantime"),
           fmt::format("bantime {} is longer than strikeout's longest ban: 52w", format_duration(*bantime)));
    } else if (*bantime < 1) {
      spec.ban = 1;
    }
    if (!escalation(name, spec)) return;

    for (Kind k : kinds) {
      RuleSpec s = spec;
      s.kind = k;
      add_rule(name, s);
    }
    result_.jails[jail_index].mail = true;
    allowlist(name);
    protect_ports(name);
    sources(name, *filter, filter_doc, have_filter_file, formats);
    if (auto action = jails_.raw(name, "action"); action != nullptr && trim(action->text) != "%(action_)s") {
      note(
          NoteKind::NotCarried, name, action->at,
          fmt::format("action = {}: strikeout bans in its own nftables table; other actions (mail, reports, "
                      "other firewalls) are not carried over",
                      split_lines(action->text).empty() ? std::string() : split_lines(action->text).front()));
    }
    if (auto banaction = value(name, "banaction");
        banaction && banaction->find("allports") != std::string::npos) {
      note(NoteKind::NotCarried, name, where(name, "banaction"),
           "banaction bans all ports: strikeout bans the [protect] ports (add others there)");
    }
    for (const char* option : {"ignorecommand", "ignorecache"}) {
      if (auto v = value(name, option); v && !trim(*v).empty()) {
        note(NoteKind::NotCarried, name, where(name, option),
             fmt::format("{} = {}: strikeout runs no commands to decide; list the networks in [allow]",
                         option, *v));
      }
    }
  }

  // bantime.increment and its friends -> ban_factor, ban_max, forget_after.
  bool escalation(const std::string& name, RuleSpec& spec) {
    const auto increment_text = value(name, "bantime.increment");
    std::optional<bool> increment = false;
    if (increment_text && !trim(*increment_text).empty()) increment = parse_bool(*increment_text);
    if (!increment) {
      result_.errors.push_back(
          make_problem(where(name, "bantime.increment"),
                       fmt::format("bantime.increment: '{}' is not true or false", *increment_text)));
      return false;
    }
    if (!*increment) {
      spec.factor = 1.0;  // fail2ban's bans do not grow unless asked
      return true;
    }
    // fail2ban: the n-th ban of an address it remembers (n >= 1) lasts bantime * factor * 2^n (the
    // default formula) or bantime * factor * multipliers[n]; never more than bantime.maxtime.
    double factor = 1.0;
    if (auto f = value(name, "bantime.factor"); f && !trim(*f).empty()) {
      std::string error;
      int column = 0;
      auto v = parse_duration(*f, error, column);  // a plain number: seconds are numbers
      if (!v || *v <= 0) {
        result_.errors.push_back(make_problem(where(name, "bantime.factor"),
                                              fmt::format("bantime.factor: '{}' is not a number", *f)));
        return false;
      }
      factor = *v;
    }
    std::vector<double> multipliers;
    if (auto m = value(name, "bantime.multipliers"); m && !trim(*m).empty()) {
      for (const auto& word : split_words(*m, " \t\n")) {
        std::string error;
        int column = 0;
        auto v = parse_duration(word, error, column);
        if (!v) {
          result_.errors.push_back(
              make_problem(where(name, "bantime.multipliers"),
                           fmt::format("bantime.multipliers: '{}' is not a number", word)));
          return false;
        }
        multipliers.push_back(*v);
      }
    }
    const double base = spec.ban;
    double ratio = 2.0;
    bool exact = true;
    std::optional<double> cap;
    if (!multipliers.empty()) {
      // Exact when the n-th ban (n >= 1) is base * ratio^n up to the last multiplier, which then stays.
      ratio = multipliers.size() > 1 ? multipliers[1] * factor : 1.0;
      for (std::size_t n = 1; n < multipliers.size(); ++n) {
        if (std::abs(multipliers[n] * factor - std::pow(ratio, static_cast<double>(n))) >
            1e-9 * std::pow(ratio, n)) {
          exact = false;
        }
      }
      cap = base * factor * multipliers.back();
      if (!exact) {
        note(NoteKind::Approximate, name, where(name, "bantime.multipliers"),
             fmt::format(
                 "bantime.multipliers = {} is not a geometric series: strikeout multiplies each ban by "
                 "ban_factor = {}, up to the last multiplier",
                 *value(name, "bantime.multipliers"), ratio));
      }
    } else {
      if (auto formula = value(name, "bantime.formula");
          formula && !trim(*formula).empty() &&
          trim(*formula) != "ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor") {
        note(NoteKind::Approximate, name, where(name, "bantime.formula"),
             fmt::format("bantime.formula = {}: strikeout doubles each ban (ban_factor = 2.0) instead",
                         *formula));
      }
      if (factor != 1.0) {
        note(NoteKind::Approximate, name, where(name, "bantime.factor"),
             fmt::format(
                 "bantime.factor = {}: fail2ban's second ban is {} times the first; strikeout's is 2 times",
                 factor, 2 * factor));
      }
      cap = base * std::pow(2.0, 20) * factor;  // fail2ban's formula stops doubling after 20 bans
    }
    if (auto maxtime = duration(name, "bantime.maxtime", -1); !maxtime) {
      return false;
    } else if (*maxtime > 0) {
      cap = cap ? std::min(*cap, *maxtime) : *maxtime;
    }
    spec.factor = std::clamp(ratio, 1.0, 100.0);
    if (spec.factor != ratio) {
      note(NoteKind::Approximate, name, where(name, "bantime.multipliers"),
           fmt::format("the growth of {} per ban is outside strikeout's 1-100", ratio));
    }
    spec.ban_max = std::clamp(cap.value_or(kMaxBan), spec.ban, kMaxBan);
    // fail2ban remembers bans for dbpurgeage (fail2ban.conf, 1d by default).
    spec.forget_after = 86400;
    if (!escalation_noted_) {
      escalation_noted_ = true;
      note(NoteKind::Approximate, "", where(name, "bantime.increment"),
           "bantime.increment: fail2ban escalates while its database remembers the address (dbpurgeage, 1 "
           "day by "
           "default): strikeout forgets an offender 1 day after its last ban ended (forget_after = \"1d\")");
    }
    if (auto rnd = value(name, "bantime.rndtime"); rnd && !trim(*rnd).empty()) {
      note(NoteKind::NotCarried, name, where(name, "bantime.rndtime"),
           "bantime.rndtime (a random extra time): strikeout's bans end when they say");
    }
    if (auto overall = value(name, "bantime.overalljails"); overall && parse_bool(*overall).value_or(false)) {
      note(NoteKind::Approximate, name, where(name, "bantime.overalljails"),
           "bantime.overalljails: strikeout counts an address's earlier bans per rule");
    }
    return true;
  }

  // A rule of one jail is named after it; a rule several jails share, after what it counts.
  void name_rules() {
    std::set<std::string> taken;
    for (auto& r : rules_) {
      std::string base =
          r.jails.size() == 1
              ? sanitize_name(r.jails.front() + (r.spec.kind == Kind::ProtocolAbuse ? "-abuse" : ""))
              : std::string(r.spec.kind == Kind::AuthFailure ? "auth-failures" : "protocol-abuse");
      r.name = base;
      for (int n = 2; !taken.insert(r.name).second; ++n)
        r.name = sanitize_name(fmt::format("{}-{}", base, n));
      for (auto& j : result_.jails) {
        if (std::find(r.jails.begin(), r.jails.end(), j.name) != r.jails.end()) j.rules.push_back(r.name);
      }
    }
  }

  std::string add_rule(const std::string& jail, const RuleSpec& spec) {
    for (auto& r : rules_) {
      if (r.spec.key() == spec.key()) {
        r.jails.push_back(jail);
        r.at.push_back(jails_.section(jail)->at);
        return r.name;
      }
    }
    RuleOut r;
    std::string base = sanitize_name(jail);
    if (spec.kind == Kind::ProtocolAbuse) base = sanitize_name(base + "-abuse");
    r.name = base;
    for (int n = 2;
         std::any_of(rules_.begin(), rules_.end(), [&](const RuleOut& o) { return o.name == r.name; }); ++n) {
      r.name = sanitize_name(fmt::format("{}-{}", base, n));
    }
    r.spec = spec;
    r.jails.push_back(jail);
    r.at.push_back(jails_.section(jail)->at);
    rules_.push_back(std::move(r));
    return rules_.back().name;
  }

  void recidive(const std::string& name) {
    const auto bantime = duration(name, "bantime", 600);
    const auto findtime = duration(name, "findtime", 600);
    const auto maxretry = value(name, "maxretry").value_or("5");
    if (!bantime || !findtime) return;
    recidive_ = RecidiveSpec{name, *bantime, *findtime, std::string(trim(maxretry))};
  }

  // recidive bans an address fail2ban banned maxretry times within findtime for bantime, on every
  // port. strikeout has no rule over bans; its rules escalate repeat offenders themselves.
  void apply_recidive() {
    if (!recidive_) return;
    const auto& r = *recidive_;
    const double cap = r.bantime < 0 ? kMaxBan : std::min(r.bantime, kMaxBan);
    bool changed = false;
    for (auto& rule : rules_) {
      if (rule.spec.factor == 1.0) {
        changed = true;
        rule.spec.factor = 2.0;
        rule.spec.ban_max = std::clamp(cap, rule.spec.ban, kMaxBan);
        rule.spec.forget_after = std::min(r.findtime, kMaxBan);
        rule.spec.recidive_escalation = true;
      }
    }
    const std::string what = fmt::format(
        "recidive (a ban of {} after {} bans within {}, all ports) has no rule in "
        "strikeout",
        format_duration(cap), r.maxretry, format_duration(r.findtime));
    note(NoteKind::Approximate, r.name, where(r.name, "bantime"),
         changed ? fmt::format(
                       "{}: the rules without bantime.increment now double each ban of a returning address "
                       "up to {} (ban_factor = 2.0, ban_max), forgetting it after {} quiet",
                       what, format_duration(cap), format_duration(std::min(r.findtime, kMaxBan)))
                 : fmt::format("{}: every rule already escalates the bans of a returning address "
                               "(bantime.increment)",
                               what));
  }

  bool read_filter(const std::string& filter, Document& doc, std::vector<std::string>& files) {
    const auto base = dir_ / "filter.d" / filter;
    std::vector<FileToRead> list;
    list.push_back(FileToRead{base.string() + ".conf", true});
    for (const auto& f : sorted_glob(base.string() + ".d", ".conf")) list.push_back(FileToRead{f, true});
    list.push_back(FileToRead{base.string() + ".local", true});
    for (const auto& f : sorted_glob(base.string() + ".d", ".local")) list.push_back(FileToRead{f, true});
    read_files(list, doc, result_.errors, files);
    for (const auto& f : files) {
      if (std::find(result_.files_read.begin(), result_.files_read.end(), f) == result_.files_read.end()) {
        result_.files_read.push_back(f);
      }
    }
    return !files.empty();
  }

  // The interpolation overrides that keep the syslog header recognisable (see kPrefixLineMarker).
  static std::map<std::string, std::string> prefix_overrides(const Document& doc, bool own) {
    std::map<std::string, std::string> o{{"known/__prefix_line", std::string(kPrefixLineMarker)},
                                         {"default/__prefix_line", std::string(kPrefixLineMarker)}};
    if (!own) o["__prefix_line"] = std::string(kPrefixLineMarker);
    (void)doc;
    return o;
  }

  // A filter option: [Init] (and the jail's filter[...] parameters) before [Definition].
  std::optional<std::string> filter_value(const Document& doc, const NameWithParams& filter,
                                          std::string_view option) {
    if (auto p = filter.params.find(lower(option)); p != filter.params.end()) return p->second;
    const Section* def = doc.section("Definition");
    const bool own_prefix = def != nullptr && def->values.contains("__prefix_line");
    for (const char* section : {"Init", "Definition"}) {
      const Section* s = doc.section(section);
      if (s == nullptr) continue;
      if (auto it = s->values.find(lower(option)); it != s->values.end()) {
        return doc.interpolate("Definition", it->second.text, it->second.at, result_.errors,
                               prefix_overrides(doc, own_prefix));
      }
    }
    if (auto it = doc.defaults().values.find(lower(option)); it != doc.defaults().values.end()) {
      return doc.interpolate("Definition", it->second.text, it->second.at, result_.errors,
                             prefix_overrides(doc, own_prefix));
    }
    return std::nullopt;
  }

  // fail2ban's <tag> substitution (substituteRecursiveTags): a tag whose name is a filter option or a
  // parameter becomes its value, innermost first; <HOST>, <F-...> and unknown names stay.
  std::string substitute_tags(const Document& doc, const NameWithParams& filter, std::string text) {
    for (int round = 0; round < 50; ++round) {
      bool changed = false;
      std::size_t i = 0;
      while ((i = text.find('<', i)) != std::string::npos) {
        std::size_t j = i + 1;
        while (j < text.size() && text[j] != '<' && text[j] != '>' && text[j] != ' ') ++j;
        if (j >= text.size() || text[j] != '>' || j == i + 1) {
          ++i;
          continue;
        }
        const std::string name = text.substr(i + 1, j - i - 1);
        static const std::set<std::string> reserved = {"HOST", "ADDR", "IP4",    "IP6",
                                                       "DNS",  "CIDR", "SUBNET", "SKIPLINES"};
        if (reserved.contains(name) || starts_with(name, "F-") || starts_with(name, "/F-")) {
          i = j + 1;
          continue;
        }
        std::vector<Problem> ignored;
        std::optional<std::string> v;
        if (auto p = filter.params.find(lower(name)); p != filter.params.end()) {
          v = p->second;
        } else if (name.find('/') == std::string::npos) {
          v = filter_value(doc, filter, name);
        }
        if (!v) {
          i = j + 1;
          continue;
        }
        if (text.size() + v->size() > kMaxTaggedBytes) return text;  // see kMaxTaggedBytes
        text.replace(i, j - i + 1, *v);
        changed = true;
      }
      if (!changed) break;
    }
    return text;
  }

  std::optional<MatcherOut> translate_filter(const std::string& jail, const NameWithParams& filter,
                                             const Document& doc) {
    const Position filter_at = where(jail, "filter");
    const Section* def = doc.section("Definition");
    auto pos_of = [&](std::string_view option) {
      if (def != nullptr) {
        if (auto it = def->values.find(std::string(option)); it != def->values.end()) return it->second.at;
      }
      return filter_at;
    };
    if (auto maxlines = filter_value(doc, filter, "maxlines");
        maxlines && trim(*maxlines) != "" && trim(*maxlines) != "1") {
      note(NoteKind::NotCarried, jail, pos_of("maxlines"),
           fmt::format("filter {} matches over {} lines (maxlines): strikeout matches one line at a time",
                       filter.name, *maxlines));
      return std::nullopt;
    }
    const auto failregex = filter_value(doc, filter, "failregex");
    if (!failregex || trim(*failregex).empty()) {
      note(NoteKind::NotCarried, jail, filter_at, fmt::format("filter {} has no failregex", filter.name));
      return std::nullopt;
    }
    // prefregex: the common start of every line; failregex then runs on its <F-CONTENT> part.
    std::string pref_before;
    bool pref = false;
    if (auto p = filter_value(doc, filter, "prefregex"); p && !trim(*p).empty()) {
      const std::string text = substitute_tags(doc, filter, std::string(trim(*p)));
      const std::size_t open = text.find("<F-CONTENT>");
      const std::size_t close = text.find("</F-CONTENT>");
      const std::string inner = open == std::string::npos || close == std::string::npos || close < open
                                    ? std::string()
                                    : text.substr(open + 11, close - open - 11);
      const std::string after = close == std::string::npos ? std::string() : text.substr(close + 12);
      if ((inner != ".+" && inner != ".*") || (!after.empty() && after != "$")) {
        note(NoteKind::NotCarried, jail, pos_of("prefregex"),
             fmt::format(
                 "filter {}: its prefregex '{}' cannot be joined exactly with its failregex (strikeout wants "
                 "'<F-CONTENT>.+</F-CONTENT>' at its end)",
                 filter.name, text));
        return std::nullopt;
      }
      pref = true;
      pref_before = text.substr(0, open);
    }
    MatcherOut m;
    m.filter = filter.name;
    m.name = sanitize_name("fail2ban-" + filter.name);
    for (int n = 2; std::any_of(matchers_.begin(), matchers_.end(),
                                [&](const MatcherOut& o) { return o.name == m.name; });
         ++n) {
      m.name = sanitize_name(fmt::format("fail2ban-{}-{}", filter.name, n));
    }
    std::set<std::string> notes_given;
    for (const auto& raw_line : split_lines(substitute_tags(doc, filter, *failregex))) {
      std::string line = raw_line;
      if (pref) {
        // failregex is searched in the content; anchored with '^' it starts where the content does.
        line = pref_before + (starts_with(line, "^") ? line.substr(1) : ".*?" + line);
      }
      Translation t = translate_failregex(line);
      if (!t.pattern) {
        note(NoteKind::NotCarried, jail, pos_of("failregex"),
             fmt::format("filter {}: failregex '{}' not translated: {}", filter.name, raw_line, t.reason));
        continue;
      }
      for (const auto& n : t.notes) {
        if (notes_given.insert(n).second) {
          note(NoteKind::Approximate, jail, pos_of("failregex"),
               fmt::format("filter {}: {}", filter.name, n));
        }
      }
      if (m.patterns.size() == 32) {
        note(NoteKind::NotCarried, jail, pos_of("failregex"),
             fmt::format("filter {}: more than 32 patterns; '{}' and later ones left out", filter.name,
                         raw_line));
        break;
      }
      m.patterns.push_back(std::move(*t.pattern));
    }
    if (m.patterns.empty()) {
      note(NoteKind::NotCarried, jail, filter_at,
           fmt::format("filter {}: no failregex could be translated; the jail is not carried over",
                       filter.name));
      return std::nullopt;
    }
    note(NoteKind::Approximate, jail, pos_of("failregex"),
         fmt::format(
             "filter {}: <HOST> matches addresses only (fail2ban's also matches host names and resolves "
             "them); strikeout never takes an address from DNS",
             filter.name));
    if (auto ignore = filter_value(doc, filter, "ignoreregex"); ignore && !trim(*ignore).empty()) {
      note(NoteKind::NotCarried, jail, pos_of("ignoreregex"),
           fmt::format(
               "filter {}: ignoreregex '{}': strikeout has no ignore patterns; lines it excluded count if a "
               "failregex matches them",
               filter.name, split_lines(*ignore).front()));
    }
    if (auto daemon = filter_value(doc, filter, "_daemon"); daemon && !trim(*daemon).empty()) {
      const std::string d(trim(*daemon));
      const bool plain = std::all_of(d.begin(), d.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/' || c == '.';
      });
      if (plain) {
        m.program = d;
      } else if (d != "\\S*") {
        note(NoteKind::Approximate, jail, pos_of("_daemon"),
             fmt::format("filter {}: _daemon = {} is a pattern: the matcher reads the lines of every program",
                         filter.name, d));
      }
    }
    return m;
  }

  void allowlist(const std::string& name) {
    const auto ignoreip = value(name, "ignoreip").value_or("");
    std::set<std::string> mine;
    for (const auto& word : split_words(ignoreip, " \t\n,")) {
      auto strict = core::Prefix::parse(word, true);
      auto lenient = strict ? strict : core::Prefix::parse(word, false);
      if (!lenient) {
        note(NoteKind::NotCarried, name, where(name, "ignoreip"),
             fmt::format("ignoreip '{}' is not an address or network (host names are not resolved)", word));
        continue;
      }
      const std::string text = lenient->to_string();
      if (lenient->length() == 0) {
        note(NoteKind::NotCarried, name, where(name, "ignoreip"),
             fmt::format("ignoreip '{}' is every address: strikeout refuses to allowlist everything", word));
        continue;
      }
      if (!strict && allow_noted_.insert(word).second) {
        note(NoteKind::Approximate, name, where(name, "ignoreip"),
             fmt::format("ignoreip '{}' has bits set after its length: written as '{}'", word, text));
      }
      mine.insert(text);
      if (std::find(allow_.begin(), allow_.end(), text) == allow_.end()) allow_.push_back(text);
    }
    allow_sets_.push_back(mine);
    const auto self = value(name, "ignoreself");
    const bool ignoreself = self ? parse_bool(*self).value_or(true) : true;
    ignoreself_any_ = ignoreself_any_ || ignoreself;
    ignoreself_all_ = ignoreself_all_ && ignoreself;
  }

  void protect_ports(const std::string& name) {
    const auto text = value(name, "port").value_or("");
    for (const auto& word : split_words(text, " \t\n,")) {
      if (word.find(':') != std::string::npos) {
        note(NoteKind::NotCarried, name, where(name, "port"),
             fmt::format(
                 "port range {}: strikeout bans on the [protect] ports; the mail ports 25, 465 and 587 stay",
                 word));
        continue;
      }
      auto port = port_number(word);
      if (!port) {
        note(NoteKind::NotCarried, name, where(name, "port"),
             fmt::format("port '{}' is not a known service name", word));
        continue;
      }
      ports_.insert(*port);
    }
  }

  void sources(const std::string& name, const NameWithParams& filter, const Document& filter_doc,
               bool have_filter, const std::set<std::string>& formats) {
    const auto backend_text = value(name, "backend").value_or("auto");
    std::string error;
    const auto backend = parse_name_with_params(backend_text.empty() ? "auto" : backend_text, error);
    if (!backend) {
      result_.errors.push_back(make_problem(where(name, "backend"), fmt::format("backend: {}", error)));
      return;
    }
    if (backend->name == "systemd") {
      std::optional<std::string> match = value(name, "journalmatch");
      if ((!match || trim(*match).empty()) && have_filter)
        match = filter_value(filter_doc, filter, "journalmatch");
      if (!match || trim(*match).empty()) {
        add_source(true, "", {}, formats, name);
        note(NoteKind::Approximate, name, where(name, "backend"),
             "backend = systemd without journalmatch: the whole journal is read");
        return;
      }
      if (match->find("_SYSTEMD_UNIT=postfix.service") != std::string::npos) {
        note(NoteKind::Approximate, name, where(name, "backend"),
             "journalmatch _SYSTEMD_UNIT=postfix.service is carried as it is, but Debian's Postfix runs as "
             "postfix@-.service, so it matches nothing there (in fail2ban too); strikeout's default reads "
             "SYSLOG_IDENTIFIER=postfix/smtpd and postfix/submission/smtpd instead");
      }
      // journalmatch: FIELD=value terms; '+' starts an alternative set of terms.
      std::vector<std::string> group;
      for (const auto& word : split_words(*match, " \t\n")) {
        if (word == "+") {
          add_source(true, "", group, formats, name);
          group.clear();
          continue;
        }
        group.push_back(word);
      }
      add_source(true, "", group, formats, name);
      return;
    }
    if (backend->name != "auto" && backend->name != "pyinotify" && backend->name != "gamin" &&
        backend->name != "polling") {
      note(NoteKind::NotCarried, name, where(name, "backend"),
           fmt::format("backend {} is not one strikeout reads", backend->name));
      return;
    }
    const auto logpath = value(name, "logpath").value_or("");
    bool any = false;
    for (auto line : split_lines(logpath)) {
      // "PATH tail" / "PATH head": where fail2ban starts reading a new file.
      for (std::string_view suffix : {" tail", " head"}) {
        if (line.size() > suffix.size() && line.substr(line.size() - suffix.size()) == suffix) {
          line = std::string(trim(line.substr(0, line.size() - suffix.size())));
        }
      }
      if (line.find_first_of("*?[") != std::string::npos) {
        note(
            NoteKind::NotCarried, name, where(name, "logpath"),
            fmt::format("logpath {} is a pattern: strikeout follows named files; add one [[source]] per file",
                        line));
        continue;
      }
      if (line.empty() || line.front() != '/') {
        note(NoteKind::NotCarried, name, where(name, "logpath"),
             fmt::format("logpath '{}' is not an absolute path", line));
        continue;
      }
      add_source(false, line, {}, formats, name);
      any = true;
    }
    if (!any && split_lines(logpath).empty()) {
      note(NoteKind::NotCarried, name, where(name, "logpath"), "no logpath: nothing to read");
    }
  }

  void add_source(bool journal, const std::string& path, const std::vector<std::string>& matches,
                  const std::set<std::string>& formats, const std::string& jail) {
    for (auto& s : sources_) {
      if (s.journal == journal && s.path == path && s.matches == matches) {
        s.formats.insert(formats.begin(), formats.end());
        s.jails.push_back(jail);
        return;
      }
    }
    SourceOut s;
    s.journal = journal;
    s.path = path;
    s.matches = matches;
    s.formats = formats;
    s.jails.push_back(jail);
    sources_.push_back(std::move(s));
  }

  std::string write_toml() {
    if (ignoreself_any_ != ignoreself_all_) {
      note(NoteKind::Approximate, "", {},
           "ignoreself differs between jails: the host's addresses are never banned");
    }
    if (std::any_of(allow_sets_.begin(), allow_sets_.end(),
                    [&](const auto& s) { return s != allow_sets_.front(); })) {
      note(NoteKind::Approximate, "", {},
           "ignoreip differs between jails: strikeout's allowlist is one list, so an address one jail "
           "ignored is "
           "never banned by any rule");
    }
    if (rules_.size() > 1) {
      note(NoteKind::Approximate, "", {},
           "strikeout's rules are not per log: every rule counts the events of every source, so the "
           "strictest rule "
           "applies to all the servers' failures (a failure Postfix and Dovecot both report counts once)");
    }
    std::string out;
    out += "# strikeout.toml written by 'strikeout import fail2ban' from:\n";
    for (const auto& f : result_.files_read) out += fmt::format("#   {}\n", f);
    out += "# What fail2ban did that this file does not (or not the same way) is listed below and in\n";
    out += "# the command's report; docs/import.md explains each difference.\n";
    for (const auto& n : result_.notes) {
      out += fmt::format("#   {}{}: {}\n", n.jail.empty() ? "" : fmt::format("[{}] ", n.jail),
                         note_kind_name(n.kind), n.message);
    }
    out += "\n[protect]\n";
    std::set<int> ports = ports_;
    for (int p : {25, 465, 587}) ports.insert(p);  // strikeout's purpose: SMTP AUTH is always protected
    out += "ports = [";
    bool first = true;
    for (int p : ports) {
      out += fmt::format("{}{}", first ? "" : ", ", p);
      first = false;
    }
    out += "]\n\n[allow]\n";
    out += "# ignoreip of the jails (strikeout's allowlist holds for every rule)\nnetworks = [";
    first = true;
    for (const auto& a : allow_) {
      out += fmt::format("{}{}", first ? "" : ", ", toml_string(a));
      first = false;
    }
    out += "]\n";
    out += fmt::format("host_addresses = {}  # ignoreself\n", ignoreself_any_ ? "true" : "false");
    for (const auto& r : rules_) {
      out += "\n";
      for (std::size_t i = 0; i < r.jails.size(); ++i) {
        out += fmt::format("# jail [{}] ({}:{})\n", r.jails[i], r.at[i].file, r.at[i].line);
      }
      out += "[[rule]]\n";
      out += fmt::format("name = {}\n", toml_string(r.name));
      out += fmt::format("on = \"{}\"\n", kind_name(r.spec.kind));
      out += "key = \"address\"\n";
      out += fmt::format("hits = {}  # maxretry\n", r.spec.hits);
      out += fmt::format("within = \"{}\"  # findtime\n", format_duration(r.spec.within));
      out += "action = \"ban\"\n";
      out += fmt::format("ban = \"{}\"  # bantime\n", format_duration(r.spec.ban));
      if (r.spec.factor == 1.0) {
        out += "ban_factor = 1.0  # bantime.increment = false: every ban lasts bantime\n";
      } else {
        out += fmt::format("ban_factor = {:.1f}  # {}\n", r.spec.factor,
                           r.spec.recidive_escalation ? "recidive, approximately" : "bantime.increment");
        out += fmt::format("ban_max = \"{}\"\n", format_duration(r.spec.ban_max.value_or(kMaxBan)));
        out += fmt::format("forget_after = \"{}\"\n", format_duration(r.spec.forget_after.value_or(86400)));
      }
      out +=
          "# fail2ban never restarts a ban when a banned address tries again; true is the recipe's re-tag\n";
      out += "extend_on_retry = false\n";
    }
    int journals = 0;
    std::set<std::string> names;
    for (const auto& s : sources_) {
      out += fmt::format("\n# jails {}\n[[source]]\n", fmt::join(s.jails, ", "));
      std::string name;
      if (s.journal) {
        out += "type = \"journald\"\n";
        name = journals++ == 0 ? "journal" : fmt::format("journal-{}", journals);
      } else {
        out += "type = \"file\"\n";
        name = sanitize_name(std::filesystem::path(s.path).filename().string());
      }
      const std::string base = name;
      for (int n = 2; !names.insert(name).second; ++n) name = sanitize_name(fmt::format("{}-{}", base, n));
      out += fmt::format("name = {}\n", toml_string(name));
      out += fmt::format("format = {}\n", toml_string(s.formats.size() == 1 ? *s.formats.begin() : "auto"));
      if (s.journal) {
        if (!s.matches.empty()) {
          out += "matches = [";
          for (std::size_t i = 0; i < s.matches.size(); ++i)
            out += fmt::format("{}{}", i ? ", " : "", toml_string(s.matches[i]));
          out += "]\n";
        }
      } else {
        out += fmt::format("path = {}\n", toml_string(s.path));
        out +=
            "optional = true  # fail2ban starts without a missing log's jail; strikeout reads it once it "
            "exists\n";
      }
    }
    for (const auto& m : matchers_) {
      out += fmt::format("\n# failregex of filter {}, translated to RE2\n[[matcher]]\n", m.filter);
      out += fmt::format("name = {}\n", toml_string(m.name));
      out += "regex = [\n";
      for (const auto& p : m.patterns) out += fmt::format("  {},\n", toml_string(p));
      out += "]\nkind = \"auth-failure\"\n";
      if (!m.program.empty()) out += fmt::format("program = {}\n", toml_string(m.program));
    }
    return out;
  }

  struct RecidiveSpec {
    std::string name;
    double bantime = 0;
    double findtime = 0;
    std::string maxretry;
  };

  std::filesystem::path dir_;
  Document jails_;
  ImportResult result_;
  std::vector<RuleOut> rules_;
  std::vector<SourceOut> sources_;
  std::vector<MatcherOut> matchers_;
  std::vector<std::string> allow_;
  std::vector<std::set<std::string>> allow_sets_;
  std::set<std::string> allow_noted_;
  bool escalation_noted_ = false;
  bool ignoreself_any_ = false;
  bool ignoreself_all_ = true;
  std::set<int> ports_;
  std::optional<RecidiveSpec> recidive_;
};

}  // namespace

std::string_view note_kind_name(NoteKind kind) {
  switch (kind) {
    case NoteKind::NotCarried:
      return "not carried over";
    case NoteKind::Approximate:
      return "approximate";
    case NoteKind::Skipped:
      return "skipped";
  }
  return "";
}

ImportResult import_fail2ban(const std::filesystem::path& dir) {
  return Importer(dir).run();
}

std::string format_report(const ImportResult& result) {
  std::string out;
  for (const auto& e : result.errors) out += format_problem(e) + "\n";
  for (const auto& n : result.notes) {
    std::string where = n.at.file.empty()
                            ? std::string("fail2ban")
                            : (n.at.line > 0 ? fmt::format("{}:{}", n.at.file, n.at.line) : n.at.file);
    out += fmt::format("{}: {}{}: {}\n", where, n.jail.empty() ? "" : fmt::format("jail {}: ", n.jail),
                       note_kind_name(n.kind), n.message);
  }
  std::size_t mail = 0;
  for (const auto& j : result.jails) mail += j.mail ? 1 : 0;
  out += fmt::format("{} enabled jail{}, {} carried over; {} note{}\n", result.jails.size(),
                     result.jails.size() == 1 ? "" : "s", mail, result.notes.size(),
                     result.notes.size() == 1 ? "" : "s");
  return out;
}

std::string format_json(const ImportResult& result) {
  auto str = [](std::string_view s) {
    std::string out = "\"";
    report::append_json_escaped(out, s);
    return out + "\"";
  };
  auto position = [&](const Position& p) {
    return fmt::format("\"file\":{},\"line\":{},\"column\":{}", str(p.file), p.line, p.column);
  };
  std::string out = "{\"files\":[";
  for (std::size_t i = 0; i < result.files_read.size(); ++i)
    out += (i ? "," : "") + str(result.files_read[i]);
  out += "],\"jails\":[";
  for (std::size_t i = 0; i < result.jails.size(); ++i) {
    const auto& j = result.jails[i];
    out += fmt::format("{}{{\"name\":{},\"filter\":{},\"carried_over\":{},\"rules\":[", i ? "," : "",
                       str(j.name), str(j.filter), j.mail ? "true" : "false");
    bool first = true;
    for (const auto& r : j.rules) {
      if (r.empty()) continue;
      out += (first ? "" : ",") + str(r);
      first = false;
    }
    out += "]," + position(j.at) + "}";
  }
  out += "],\"notes\":[";
  for (std::size_t i = 0; i < result.notes.size(); ++i) {
    const auto& n = result.notes[i];
    out += fmt::format("{}{{\"kind\":{},\"jail\":{},{},\"message\":{}}}", i ? "," : "",
                       str(n.kind == NoteKind::NotCarried    ? "not-carried"
                           : n.kind == NoteKind::Approximate ? "approximate"
                                                             : "skipped"),
                       str(n.jail), position(n.at), str(n.message));
  }
  out += "],\"errors\":[";
  for (std::size_t i = 0; i < result.errors.size(); ++i) {
    out += fmt::format("{}{{{},\"message\":{}}}", i ? "," : "", position(result.errors[i].at),
                       str(result.errors[i].message));
  }
  out += "],\"config\":" + (result.toml.empty() ? std::string("null") : str(result.toml)) + "}\n";
  return out;
}

}  // namespace strikeout::app::fail2ban
