// Quoting of text an attacker chose (usernames, HELO names) for log lines and JSON, so it can never
// forge a field, a line break or a terminal escape.
#pragma once

#include <string>
#include <string_view>

namespace strikeout::report {

// Appends `text` between double quotes: `"` and `\` are backslash-escaped, bytes below 0x20, 0x7f and
// every byte >= 0x80 are written as \xNN. The result is plain printable ASCII on one line.
void append_quoted(std::string& out, std::string_view text);

// Appends `text` as the contents of a JSON string (without the quotes): `"`, `\` and control bytes
// escaped (\n, \t, \u00NN); bytes that are not valid UTF-8 are replaced with U+FFFD so the output is
// always valid JSON.
void append_json_escaped(std::string& out, std::string_view text);

// The same escaping written at `out`, which must have room for kMaxJsonEscapedGrowth * text.size()
// bytes (the worst case: every byte a control byte, written as \u00NN). Returns the end of what
// was written. For writers that format straight into their output buffer (replay).
inline constexpr std::size_t kMaxJsonEscapedGrowth = 6;
char* write_json_escaped(char* out, std::string_view text);

}  // namespace strikeout::report
