// fail2ban's configuration files as fail2ban reads them: Python's configparser (sections, `key = value`
// or `key: value`, indented continuation lines, `#`/`;` comment lines, ` ;` inline comments, option
// names folded to lower case, a [DEFAULT] section every other one inherits from), fail2ban's
// [INCLUDES] before/after files (each followed by its .local companion), and `%(name)s`,
// `%(section/name)s`, `%(default/name)s`, `%(known/name)s` interpolation.
//
// These files come from another program's users: every byte is outside input. A mistake is a
// Problem naming file:line:column, never an exception or a crash.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strikeout::app::fail2ban {

// Where a value (or a mistake) is: 1-based line and column; column 0 when only the line is known.
struct Position {
  std::string file;
  int line = 0;
  int column = 0;
};

struct Problem {
  Position at;
  std::string message;
};

// Built step by step: GCC 12 warns (maybe-uninitialized) on nested braced initialisers of these.
inline Problem make_problem(const Position& at, std::string message) {
  Problem p;
  p.at = at;
  p.message = std::move(message);
  return p;
}
inline Problem make_problem(std::string file, int line, int column, std::string message) {
  Problem p;
  p.at.file = std::move(file);
  p.at.line = line;
  p.at.column = column;
  p.message = std::move(message);
  return p;
}

// "FILE:LINE:COLUMN: error: MESSAGE" (the shape of check-config's and the compilers' messages).
std::string format_problem(const Problem& problem);

struct Value {
  std::string text;  // raw: continuation lines joined with '\n', inline comments removed
  Position at;       // where the value starts
};

struct Section {
  std::string name;
  Position at;                          // its header, in the file that first declared it
  std::map<std::string, Value> values;  // option names in lower case
};

// All files read so far, merged in reading order: a later file's value replaces an earlier one.
class Document {
 public:
  // Parses one file's text into the document. Returns false (and appends to `problems`) when the
  // file is unusable as fail2ban would find it: a line outside any section, a line that is neither a
  // section, an option nor a continuation, an option or section given twice in one file.
  bool parse(std::string_view text, const std::string& file, std::vector<Problem>& problems);

  const Section* section(std::string_view name) const;
  const Section& defaults() const { return defaults_; }
  // Section names other than DEFAULT and INCLUDES, in the order they were first seen.
  const std::vector<std::string>& section_order() const { return order_; }

  // The raw value of `option` in `section`, falling back to [DEFAULT] as configparser does.
  const Value* raw(std::string_view section, std::string_view option) const;

  // The value with every %(...)s expanded (configparser's BasicInterpolation, fail2ban's section
  // forms). `overrides` are looked up before the section's own options (e.g. a sentinel for
  // `__prefix_line`). nullopt and a Problem at the value when a name is unknown or the expansion
  // nests deeper than configparser allows (10).
  std::optional<std::string> get(std::string_view section, std::string_view option,
                                 std::vector<Problem>& problems,
                                 const std::map<std::string, std::string>& overrides = {}) const;

  // Expands %(...)s in `text` as if it were the value of an option of `section` at `at`.
  std::optional<std::string> interpolate(std::string_view section, std::string_view text, const Position& at,
                                         std::vector<Problem>& problems,
                                         const std::map<std::string, std::string>& overrides = {}) const;

 private:
  std::optional<std::string> expand(std::string_view section, std::string_view text, const Position& at,
                                    int depth, std::vector<Problem>& problems,
                                    const std::map<std::string, std::string>& overrides) const;
  Section* find_or_add(const std::string& name, const Position& at);

  Section defaults_{"DEFAULT", {}, {}};
  std::vector<Section> sections_;
  std::vector<std::string> order_;
};

// Reads `files` in order with their [INCLUDES] (before-files first, after-files last, each followed by
// its .local companion when it exists; a file already read is not read again). A file that is missing
// is skipped silently only when `optional`; unreadable or larger than 4 MiB is a Problem.
struct FileToRead {
  std::filesystem::path path;
  bool optional = false;
};
bool read_files(const std::vector<FileToRead>& files, Document& into, std::vector<Problem>& problems,
                std::vector<std::string>& read);

// fail2ban's time values (bantime, findtime, bantime.maxtime): a number of seconds, or an expression
// such as "10m", "1h 30m", "1d", "2w", "1mo", "1y", "3600*24", "-1". Returns seconds; nullopt and
// `error` (with the 1-based column) when it is not one.
std::optional<double> parse_duration(std::string_view text, std::string& error, int& column);

// "name[key=value, key2="value, with comma"]" as in `filter = postfix[mode=auth]`.
struct NameWithParams {
  std::string name;
  std::map<std::string, std::string> params;
};
std::optional<NameWithParams> parse_name_with_params(std::string_view text, std::string& error);

}  // namespace strikeout::app::fail2ban
