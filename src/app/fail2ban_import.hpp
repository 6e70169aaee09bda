// `strikeout import fail2ban [DIR]`: reads a fail2ban configuration (jail.conf, jail.d/*.conf,
// jail.local, jail.d/*.local, and the filters the enabled jails name) and writes the strikeout.toml
// that does the same for the mail jails, saying plainly what it could not carry over (docs/import.md).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/fail2ban_ini.hpp"

namespace strikeout::app::fail2ban {

// What stands for `%(__prefix_line)s` (fail2ban's syslog header) while a filter's regex is translated:
// strikeout matches after the header, so a regex that begins with it loses it.
inline constexpr std::string_view kPrefixLineMarker = "\x01prefix_line\x01";

// A fail2ban failregex (Python `re`, tags already substituted, `%(__prefix_line)s` as the marker)
// translated to a strikeout [[matcher]] pattern (RE2, <HOST>/<USER>), or the reason it cannot be.
struct Translation {
  std::optional<std::string> pattern;
  std::string reason;              // why not, when !pattern
  std::vector<std::string> notes;  // what differs although it was translated
};
Translation translate_failregex(std::string_view regex);

enum class NoteKind {
  NotCarried,   // left out: strikeout does not do it, or not the way fail2ban does
  Approximate,  // carried over, but what strikeout does differs as the message says
  Skipped,      // a jail that is not a mail jail, left to fail2ban
};
std::string_view note_kind_name(NoteKind kind);  // "not-carried", "approximate", "skipped"

struct Note {
  NoteKind kind = NoteKind::NotCarried;
  std::string jail;  // empty: the whole configuration
  Position at;       // the setting it is about (line 0: no single place)
  std::string message;
};

struct JailOutcome {
  std::string name;
  std::string filter;              // "postfix[mode=auth]" as written after interpolation
  bool mail = false;               // a mail jail strikeout carries over
  std::vector<std::string> rules;  // strikeout rules it became
  Position at;
};

struct ImportResult {
  std::vector<Problem> errors;  // fail2ban's files are unusable as fail2ban would read them
  std::vector<std::string> files_read;
  std::vector<JailOutcome> jails;  // every enabled jail
  std::vector<Note> notes;
  std::string toml;  // empty when there are errors or no mail jail is enabled
};

ImportResult import_fail2ban(const std::filesystem::path& dir);

// The report: one line per note ("FILE:LINE: jail NAME: not carried over: ..."), then a summary.
std::string format_report(const ImportResult& result);
// The same as one JSON object: files, jails, notes, errors, config.
std::string format_json(const ImportResult& result);

}  // namespace strikeout::app::fail2ban
