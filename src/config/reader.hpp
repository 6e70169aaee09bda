// Internal to the config layer: typed, position-aware reading of a parsed TOML document.
//
// Every reader reports what is wrong into a Report and returns nullopt, so the loader can go on and
// find the next mistake; nothing here throws for bad input. A Section remembers which keys the loader
// asked for, so that finish() can name every key nobody asked for as unknown.
#pragma once

#include <toml++/toml.h>  // under /usr/include: a system header, its warnings stay out of ours

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.hpp"
#include "core/time.hpp"

namespace strikeout::config::detail {

// `text` as a double-quoted TOML-like string, with control characters and DEL escaped and anything
// past 80 bytes cut (so a diagnostic stays one readable line whatever the file holds).
std::string quote(std::string_view text);

// "a string", "an integer", ... for "must be X, not Y" messages.
std::string describe_type(const toml::node& node);

// The closest of `candidates` to `word` (case-insensitive optimal string alignment distance), if it
// is close enough to be a plausible typo: at most 2 edits (3 for words of 8 characters or more), and
// fewer edits than the word is long.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates);

// Collects diagnostics for one file.
class Report {
 public:
  explicit Report(std::string file) : file_(std::move(file)) {}
  void at(const toml::source_region& where, std::string key, std::string message);
  void at(const toml::source_position& where, std::string key, std::string message);
  void whole_file(std::string key, std::string message);
  // Where a key of the schema belongs ("[logs]"), for the hint on a key written under the wrong
  // section header; empty when it is no key of any section.
  void set_homes(std::vector<std::pair<std::string, std::string>> homes) { homes_ = std::move(homes); }
  std::string home_of(std::string_view key) const;
  std::size_t count() const { return list_.size(); }
  // Sorted by position (whole-file diagnostics last), in the order found for equal positions.
  Diagnostics take();

 private:
  std::string file_;
  Diagnostics list_;
  std::vector<std::pair<std::string, std::string>> homes_;  // key, its sections
};

// One TOML table of the configuration: the root, [protect], [[rule]] #2, an inline table.
class Section {
 public:
  // `path` is the key path of the table ("" for the root, "rule[2]"); `title` names it in messages
  // ("the top level", "[protect]", "[[rule]] #2").
  Section(Report& report, const toml::table& table, std::string path, std::string title);

  // The value of `key`, or nullptr; either way `key` becomes a known key of this section.
  const toml::node* find(std::string_view key);
  // The key path of `key` in this section ("rule[2].hits").
  std::string path_of(std::string_view key) const;
  const std::string& path() const { return path_; }
  const std::string& title() const { return title_; }
  const toml::table& table() const { return table_; }
  Report& report() { return report_; }

  // Typed readers. Absent: nullopt, and when `required` a diagnostic at the table's position. Present
  // but of the wrong type or out of range: a diagnostic at the value, and nullopt.
  std::optional<std::string> text(std::string_view key, bool required = false);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t lo, std::int64_t hi,
                                      bool required = false);
  // An integer or a float.
  std::optional<double> number(std::string_view key, double lo, double hi);
  std::optional<core::Duration> duration(std::string_view key, core::Duration lo, core::Duration hi,
                                         bool required = false);
  // The index of the value in `choices`.
  std::optional<std::size_t> choice(std::string_view key, std::initializer_list<std::string_view> choices,
                                    bool required = false);
  // Reports that `key` must be present (used when a requirement depends on other keys).
  void missing(std::string_view key, std::string_view example);

  // Reports each key that find() was never asked for, suggesting the closest known one.
  void finish();

 private:
  Report& report_;
  const toml::table& table_;
  std::string path_;
  std::string title_;
  std::vector<std::string> known_;
};

// Readers for a single node (an array element, or a value already found), reporting under `path`.
std::optional<std::string> read_text(Report& report, const toml::node& node, const std::string& path);
std::optional<std::int64_t> read_integer(Report& report, const toml::node& node, const std::string& path,
                                         std::int64_t lo, std::int64_t hi);
std::optional<core::Duration> read_duration(Report& report, const toml::node& node, const std::string& path,
                                            core::Duration lo, core::Duration hi);

}  // namespace strikeout::config::detail
