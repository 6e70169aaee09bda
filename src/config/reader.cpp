#include "config/reader.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace strikeout::config::detail {

namespace {

constexpr std::size_t kQuoteLimit = 80;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive.
// Keys are short, so the quadratic table is a few hundred cells at most; longer words are not typos
// of any key and are cut off early by the caller.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      std::size_t best = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
        best = std::min(best, at(i - 2, j - 2) + 1);
      }
      at(i, j) = best;
    }
  }
  return at(n, m);
}

std::string format_number(double value) {
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  if (ec != std::errc{}) return "?";
  return std::string(buf.data(), end);
}

}  // namespace

std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  const std::size_t shown = std::min(text.size(), kQuoteLimit);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  if (shown < text.size()) out += "...";
  out += '"';
  return out;
}

std::string describe_type(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.size() > 64) return std::nullopt;
  std::optional<std::string> best;
  // At most 2 edits, or 3 for words of 8 characters or more ("auth-failed" for "auth-failure").
  const std::size_t allowed = word.size() >= 8 ? 3 : 2;
  std::size_t best_distance = allowed + 1;
  for (const std::string& c : candidates) {
    if (c.size() > 64) continue;
    const std::size_t dist = edit_distance(word, c);
    if (dist < best_distance && dist < word.size()) {
      best_distance = dist;
      best = c;
    }
  }
  return best;
}

void Report::at(const toml::source_region& where, std::string key, std::string message) {
  at(where.begin, std::move(key), std::move(message));
}

void Report::at(const toml::source_position& where, std::string key, std::string message) {
  list_.push_back(Diagnostic{file_, where.line, where.column, std::move(key), std::move(message)});
}

void Report::whole_file(std::string key, std::string message) {
  list_.push_back(Diagnostic{file_, 0, 0, std::move(key), std::move(message)});
}

std::string Report::home_of(std::string_view key) const {
  for (const auto& [name, home] : homes_) {
    if (name == key) return home;
  }
  return {};
}

Diagnostics Report::take() {
  // Whole-file diagnostics (line 0) go last: they are about what the file lacks, after what it holds.
  auto order = [](const Diagnostic& d) {
    const std::uint64_t line = d.line == 0 ? std::numeric_limits<std::uint32_t>::max() : d.line;
    return (line << 32) | d.column;
  };
  std::stable_sort(list_.begin(), list_.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return order(a) < order(b); });
  return std::move(list_);
}

Section::Section(Report& report, const toml::table& table, std::string path, std::string title)
    : report_(report), table_(table), path_(std::move(path)), title_(std::move(title)) {}

const toml::node* Section::find(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  return table_.get(key);
}

std::string Section::path_of(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  std::string out = path_;
  out += '.';
  out += key;
  return out;
}

void Section::missing(std::string_view key, std::string_view example) {
  std::string message = title_ + " has no '" + std::string(key) + "'";
  if (!example.empty()) {
    message += "; add one, e.g. ";
    message += example;
  }
  report_.at(table_.source(), path_of(key), std::move(message));
}

std::optional<std::string> read_text(Report& report, const toml::node& node, const std::string& path) {
  if (const auto* v = node.as_string()) return v->get();
  report.at(node.source(), path, path + " must be a string, not " + describe_type(node));
  return std::nullopt;
}

std::optional<std::int64_t> read_integer(Report& report, const toml::node& node, const std::string& path,
                                         std::int64_t lo, std::int64_t hi) {
  const auto* v = node.as_integer();
  if (v == nullptr) {
    report.at(node.source(), path, path + " must be an integer, not " + describe_type(node));
    return std::nullopt;
  }
  const std::int64_t value = v->get();
  if (value < lo || value > hi) {
    report.at(node.source(), path,
              path + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", not " +
                  std::to_string(value));
    return std::nullopt;
  }
  return value;
}

std::optional<core::Duration> read_duration(Report& report, const toml::node& node, const std::string& path,
                                            core::Duration lo, core::Duration hi) {
  const auto* v = node.as_string();
  if (v == nullptr) {
    report.at(node.source(), path,
              path + " must be a duration string such as \"20m\" or \"1h30m\", not " + describe_type(node));
    return std::nullopt;
  }
  const std::optional<core::Duration> d = core::parse_duration(v->get());
  if (!d) {
    report.at(node.source(), path,
              path + ": " + quote(v->get()) +
                  " is not a duration; write whole numbers with units, e.g. \"20m\" or \"1h30m\" (units: ms, "
                  "s, m, h, d, w)");
    return std::nullopt;
  }
  if (*d < lo || *d > hi) {
    report.at(node.source(), path,
              path + " must be between " + core::format_duration(lo) + " and " + core::format_duration(hi) +
                  ", not " + quote(v->get()));
    return std::nullopt;
  }
  return d;
}

std::optional<std::string> Section::text(std::string_view key, bool required) {
  const toml::node* n = find(key);
  if (n == nullptr) {
    if (required) missing(key, "");
    return std::nullopt;
  }
  return read_text(report_, *n, path_of(key));
}

std::optional<bool> Section::boolean(std::string_view key) {
  const toml::node* n = find(key);
  if (n == nullptr) return std::nullopt;
  if (const auto* v = n->as_boolean()) return v->get();
  report_.at(n->source(), path_of(key), path_of(key) + " must be true or false, not " + describe_type(*n));
  return std::nullopt;
}

std::optional<std::int64_t> Section::integer(std::string_view key, std::int64_t lo, std::int64_t hi,
                                             bool required) {
  const toml::node* n = find(key);
  if (n == nullptr) {
    if (required) missing(key, "");
    return std::nullopt;
  }
  return read_integer(report_, *n, path_of(key), lo, hi);
}

std::optional<double> Section::number(std::string_view key, double lo, double hi) {
  const toml::node* n = find(key);
  if (n == nullptr) return std::nullopt;
  double value = 0;
  if (const auto* i = n->as_integer()) {
    value = static_cast<double>(i->get());
  } else if (const auto* f = n->as_floating_point()) {
    value = f->get();
  } else {
    report_.at(n->source(), path_of(key), path_of(key) + " must be a number, not " + describe_type(*n));
    return std::nullopt;
  }
  if (!(value >= lo && value <= hi)) {  // also refuses nan
    report_.at(n->source(), path_of(key),
               path_of(key) + " must be between " + format_number(lo) + " and " + format_number(hi) +
                   ", not " + format_number(value));
    return std::nullopt;
  }
  return value;
}

std::optional<core::Duration> Section::duration(std::string_view key, core::Duration lo, core::Duration hi,
                                                bool required) {
  const toml::node* n = find(key);
  if (n == nullptr) {
    if (required) missing(key, "\"" + core::format_duration(lo) + "\" or longer");
    return std::nullopt;
  }
  return read_duration(report_, *n, path_of(key), lo, hi);
}

std::optional<std::size_t> Section::choice(std::string_view key,
                                           std::initializer_list<std::string_view> choices, bool required) {
  std::string listed;
  std::vector<std::string> names;
  for (std::string_view c : choices) {
    if (!listed.empty()) listed += ", ";
    listed += quote(c);
    names.emplace_back(c);
  }
  const toml::node* n = find(key);
  if (n == nullptr) {
    if (required) missing(key, std::string(key) + " = " + quote(names.front()) + " (one of " + listed + ")");
    return std::nullopt;
  }
  const std::optional<std::string> value = read_text(report_, *n, path_of(key));
  if (!value) return std::nullopt;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == *value) return i;
  }
  std::string message = path_of(key) + " must be one of " + listed + ", not " + quote(*value);
  if (auto near = closest(*value, names)) message += "; did you mean " + quote(*near) + "?";
  report_.at(n->source(), path_of(key), std::move(message));
  return std::nullopt;
}

void Section::finish() {
  for (auto&& [key, value] : table_) {
    const std::string_view name = key.str();
    if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
    // Keys are shown in single quotes, as in "unknown key 'hit'": strip quote()'s double quotes but
    // keep its escaping, since a key may hold any character.
    const std::string quoted = quote(name);
    std::string message = "unknown key '" + quoted.substr(1, quoted.size() - 2) + "' " +
                          (path_.empty() ? "at the top level" : "in " + title_);
    if (auto near = closest(name, known_)) {
      message += "; did you mean '" + *near + "'?";
    } else if (const std::string home = report_.home_of(name); !home.empty()) {
      // The classic TOML slip: a key written below the wrong [section] header belongs to that header.
      message +=
          "; it is a setting of " + home + ", and in TOML a key belongs to the section header above it";
    }
    report_.at(key.source(), path_of(name), std::move(message));
  }
}

}  // namespace strikeout::config::detail
