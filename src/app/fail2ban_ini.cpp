#include "app/fail2ban_ini.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <system_error>

namespace strikeout::app::fail2ban {

namespace {

// configparser's MAX_INTERPOLATION_DEPTH.
constexpr int kMaxDepth = 10;
constexpr std::uintmax_t kMaxFileBytes = 4u << 20;
// A value that expands past this is refused: references repeated at each of the 10 levels would
// otherwise grow exponentially (configparser has no such bound; a real value is a few KiB).
constexpr std::size_t kMaxExpandedBytes = 1u << 20;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Where an inline comment starts: configparser (inline_comment_prefixes=";", as fail2ban sets it)
// takes a ';' at the start of the line or after whitespace. '#' inside a value is kept: failregex
// patterns use it.
std::size_t inline_comment(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == ';' && (i == 0 || is_space(line[i - 1]))) return i;
  }
  return std::string_view::npos;
}

}  // namespace

std::string format_problem(const Problem& problem) {
  if (problem.at.line == 0) return fmt::format("{}: error: {}", problem.at.file, problem.message);
  if (problem.at.column == 0) {
    return fmt::format("{}:{}: error: {}", problem.at.file, problem.at.line, problem.message);
  }
  return fmt::format("{}:{}:{}: error: {}", problem.at.file, problem.at.line, problem.at.column,
                     problem.message);
}

Section* Document::find_or_add(const std::string& name, const Position& at) {
  if (name == "DEFAULT") return &defaults_;
  for (auto& s : sections_) {
    if (s.name == name) return &s;
  }
  sections_.push_back(Section{name, at, {}});
  if (name != "INCLUDES") order_.push_back(name);
  return &sections_.back();
}

const Section* Document::section(std::string_view name) const {
  if (name == "DEFAULT") return &defaults_;
  for (const auto& s : sections_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool Document::parse(std::string_view text, const std::string& file, std::vector<Problem>& problems) {
  const std::size_t problems_before = problems.size();
  std::string current;  // section name; empty before the first header
  bool in_section = false;
  std::string option;  // the option continuation lines belong to; empty: none
  std::vector<std::string> pending;
  Position pending_at;
  std::size_t indent_level = 0;
  std::set<std::string> sections_seen;
  std::set<std::pair<std::string, std::string>> options_seen;

  // configparser joins an option's lines with '\n' and strips trailing whitespace at the end.
  auto flush = [&] {
    if (option.empty()) return;
    std::string joined;
    for (std::size_t i = 0; i < pending.size(); ++i) {
      if (i > 0) joined += '\n';
      joined += pending[i];
    }
    while (!joined.empty() && (is_space(joined.back()) || joined.back() == '\n')) joined.pop_back();
    Section* s = find_or_add(current, pending_at);
    s->values[option] = Value{std::move(joined), pending_at};
    option.clear();
    pending.clear();
  };

  int line_number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    const bool last = end == text.size();
    start = end + 1;
    ++line_number;
    if (last && line.empty()) break;
    if (line.find('\0') != std::string_view::npos) {
      problems.push_back(
          make_problem(file, line_number, static_cast<int>(line.find('\0')) + 1, "a NUL byte"));
      continue;
    }

    std::size_t comment = inline_comment(line);
    const std::string_view stripped_whole = trim(line);
    if (!stripped_whole.empty() && (stripped_whole.front() == '#' || stripped_whole.front() == ';'))
      comment = 0;
    const std::string_view value =
        trim(line.substr(0, comment == std::string_view::npos ? line.size() : comment));
    if (value.empty()) {
      // An empty line inside a value is kept (empty_lines_in_values); a comment line is not.
      if (comment == std::string_view::npos && !option.empty()) pending.emplace_back();
      continue;
    }
    std::size_t indent = 0;
    while (indent < line.size() && is_space(line[indent])) ++indent;
    if (!option.empty() && indent > indent_level) {
      pending.emplace_back(value);
      continue;
    }
    flush();
    indent_level = indent;
    const int column = static_cast<int>(indent) + 1;
    if (value.front() == '[') {
      const std::size_t close = value.rfind(']');
      if (close != std::string_view::npos && close > 1) {
        current = std::string(value.substr(1, close - 1));
        in_section = true;
        if (current != "DEFAULT" && !sections_seen.insert(current).second) {
          problems.push_back(make_problem(file, line_number, column,
                                          fmt::format("section [{}] given twice in this file", current)));
        }
        find_or_add(current, {file, line_number, column});
        continue;
      }
    }
    if (!in_section) {
      problems.push_back(make_problem(file, line_number, column, "a line before the first [section] header"));
      continue;
    }
    const std::size_t delimiter = value.find_first_of("=:");
    if (delimiter == std::string_view::npos) {
      problems.push_back(make_problem(file, line_number, column,
                                      fmt::format("expected 'name = value' or a [section] header, not '{}'",
                                                  value.substr(0, std::min<std::size_t>(value.size(), 60)))));
      continue;
    }
    const std::string name = lower(trim(value.substr(0, delimiter)));
    if (name.empty()) {
      problems.push_back(make_problem(file, line_number, column, "an option without a name"));
      continue;
    }
    if (!options_seen.insert({current, name}).second) {
      problems.push_back(
          make_problem(file, line_number, column,
                       fmt::format("option '{}' given twice in section [{}] of this file", name, current)));
      continue;
    }
    std::string_view rest = value.substr(delimiter + 1);
    const std::size_t leading =
        rest.size() - rest.substr(std::min(rest.size(), rest.find_first_not_of(" \t"))).size();
    rest = trim(rest);
    option = name;
    pending.assign(1, std::string(rest));
    const std::size_t value_offset =
        static_cast<std::size_t>(value.data() - line.data()) + delimiter + 1 + leading;
    pending_at = Position{file, line_number, static_cast<int>(value_offset) + 1};
  }
  flush();
  return problems.size() == problems_before;
}

const Value* Document::raw(std::string_view section_name, std::string_view option) const {
  const std::string key = lower(option);
  if (const Section* s = section(section_name)) {
    if (auto it = s->values.find(key); it != s->values.end()) return &it->second;
  }
  if (auto it = defaults_.values.find(key); it != defaults_.values.end()) return &it->second;
  return nullptr;
}

std::optional<std::string> Document::get(std::string_view section_name, std::string_view option,
                                         std::vector<Problem>& problems,
                                         const std::map<std::string, std::string>& overrides) const {
  const Value* v = raw(section_name, option);
  if (v == nullptr) return std::nullopt;
  return expand(section_name, v->text, v->at, 1, problems, overrides);
}

std::optional<std::string> Document::interpolate(std::string_view section_name, std::string_view text,
                                                 const Position& at, std::vector<Problem>& problems,
                                                 const std::map<std::string, std::string>& overrides) const {
  return expand(section_name, text, at, 1, problems, overrides);
}

std::optional<std::string> Document::expand(std::string_view section_name, std::string_view text,
                                            const Position& at, int depth, std::vector<Problem>& problems,
                                            const std::map<std::string, std::string>& overrides) const {
  if (depth > kMaxDepth) {
    problems.push_back(
        make_problem(at, fmt::format("%(...)s references nest deeper than {} (a loop?)", kMaxDepth)));
    return std::nullopt;
  }
  std::string out;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t p = rest.find('%');
    if (p == std::string_view::npos) {
      out += rest;
      break;
    }
    out += rest.substr(0, p);
    rest.remove_prefix(p);
    if (rest.size() >= 2 && rest[1] == '%') {
      out += '%';
      rest.remove_prefix(2);
      continue;
    }
    const std::size_t close = rest.find(')');
    if (rest.size() < 2 || rest[1] != '(' || close == std::string_view::npos || close == 2 ||
        close + 1 >= rest.size() || rest[close + 1] != 's') {
      problems.push_back(
          make_problem(at, fmt::format("'%' must be followed by '%' or '(name)s', found '{}'",
                                       rest.substr(0, std::min<std::size_t>(rest.size(), 30)))));
      return std::nullopt;
    }
    const std::string_view name = rest.substr(2, close - 2);
    rest.remove_prefix(close + 2);
    const std::string key = lower(name);
    std::optional<std::string> replacement;
    if (auto o = overrides.find(key); o != overrides.end()) {
      out += o->second;
      continue;
    }
    if (key == "__name__") {
      out += section_name;
      continue;
    }
    const Value* found = nullptr;
    if (const std::size_t slash = name.find('/'); slash != std::string_view::npos) {
      const std::string_view sec = name.substr(0, slash);
      const std::string opt = lower(name.substr(slash + 1));
      if (iequals(sec, "default") || iequals(sec, "known")) {
        // known/ is what the including file defined; for jails and filters that is [DEFAULT].
        if (iequals(sec, "known")) found = raw(section_name, opt);
        if (found == nullptr) {
          if (auto it = defaults_.values.find(opt); it != defaults_.values.end()) found = &it->second;
        }
      } else if (const Section* s = section(sec)) {
        if (auto it = s->values.find(opt); it != s->values.end()) found = &it->second;
      }
      if (found == nullptr) {
        if (auto it = defaults_.values.find(opt); it != defaults_.values.end()) found = &it->second;
      }
    } else {
      found = raw(section_name, key);
    }
    if (found == nullptr) {
      problems.push_back(
          make_problem(at, fmt::format("%({})s names no option of [{}] or [DEFAULT]", name, section_name)));
      return std::nullopt;
    }
    if (found->text.find('%') == std::string::npos) {
      out += found->text;
    } else {
      auto inner = expand(section_name, found->text, at, depth + 1, problems, overrides);
      if (!inner) return std::nullopt;
      out += *inner;
    }
    if (out.size() > kMaxExpandedBytes) {
      problems.push_back(
          make_problem(at, fmt::format("the value expands to more than {} bytes", kMaxExpandedBytes)));
      return std::nullopt;
    }
  }
  return out;
}

namespace {

std::optional<std::string> read_text(const std::filesystem::path& path, std::vector<Problem>& problems) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    problems.push_back(make_problem(path.string(), 0, 0, fmt::format("cannot read: {}", ec.message())));
    return std::nullopt;
  }
  if (size > kMaxFileBytes) {
    problems.push_back(make_problem(path.string(), 0, 0,
                                    fmt::format("larger than {} bytes: not a fail2ban file", kMaxFileBytes)));
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problems.push_back(make_problem(path.string(), 0, 0, "cannot open"));
    return std::nullopt;
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void read_one(const std::filesystem::path& path, bool optional, Document& into,
              std::vector<Problem>& problems, std::vector<std::string>& read, std::set<std::string>& seen,
              int depth) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (!optional) problems.push_back(make_problem(path.string(), 0, 0, "no such file"));
    return;
  }
  if (!seen.insert(path.lexically_normal().string()).second) return;
  if (depth > 16) {
    problems.push_back(make_problem(path.string(), 0, 0, "[INCLUDES] nest deeper than 16 files"));
    return;
  }
  auto text = read_text(path, problems);
  if (!text) return;
  Document own;  // this file alone: its [INCLUDES] are its own, not merged ones
  std::vector<Problem> own_problems;
  own.parse(*text, path.string(), own_problems);
  auto includes = [&](std::string_view which) {
    std::vector<std::filesystem::path> out;
    const Section* inc = own.section("INCLUDES");
    if (inc == nullptr) return out;
    auto it = inc->values.find(std::string(which));
    if (it == inc->values.end()) return out;
    std::vector<Problem> ignored;  // a bad reference is reported by the main parse below
    const std::string value =
        own.interpolate("INCLUDES", it->second.text, it->second.at, ignored).value_or(it->second.text);
    std::size_t start = 0;
    while (start <= value.size()) {
      std::size_t end = value.find('\n', start);
      if (end == std::string::npos) end = value.size();
      const std::string_view name = trim(std::string_view(value).substr(start, end - start));
      start = end + 1;
      if (name.empty()) continue;
      std::filesystem::path p(name);
      out.push_back(p.is_absolute() ? p : path.parent_path() / p);
    }
    return out;
  };
  // Each included file is followed by its .local companion (fail2ban's _expandConfFilesWithLocal).
  auto read_with_local = [&](const std::filesystem::path& p) {
    read_one(p, true, into, problems, read, seen, depth + 1);  // fail2ban skips missing includes
    if (p.extension() == ".conf") {
      auto local = p;
      local.replace_extension(".local");
      read_one(local, true, into, problems, read, seen, depth + 1);
    }
  };
  for (const auto& p : includes("before")) read_with_local(p);
  into.parse(*text, path.string(), problems);
  read.push_back(path.string());
  for (const auto& p : includes("after")) read_with_local(p);
}

}  // namespace

bool read_files(const std::vector<FileToRead>& files, Document& into, std::vector<Problem>& problems,
                std::vector<std::string>& read) {
  const std::size_t before = problems.size();
  std::set<std::string> seen;
  for (const auto& f : files) read_one(f.path, f.optional, into, problems, read, seen, 0);
  return problems.size() == before;
}

// ---- durations ----

namespace {

struct DurationParser {
  std::string_view text;
  std::size_t pos = 0;
  std::string error;
  std::size_t error_pos = 0;

  void skip() {
    while (pos < text.size() && is_space(text[pos])) ++pos;
  }
  bool fail(std::string message) {
    if (error.empty()) {
      error = std::move(message);
      error_pos = pos;
    }
    return false;
  }

  // fail2ban's unit words (MyTime.str2seconds), case-insensitive; a month is a year / 12.
  static std::optional<double> unit(std::string_view word) {
    const std::string w = lower(word);
    static const std::pair<const char*, double> units[] = {
        {"s", 1},         {"ss", 1},          {"se", 1},           {"sec", 1},          {"second", 1},
        {"seconds", 1},   {"m", 60},          {"mm", 60},          {"mi", 60},          {"min", 60},
        {"minute", 60},   {"minutes", 60},    {"h", 3600},         {"hh", 3600},        {"ho", 3600},
        {"hou", 3600},    {"hour", 3600},     {"hours", 3600},     {"d", 86400},        {"dd", 86400},
        {"da", 86400},    {"day", 86400},     {"days", 86400},     {"w", 604800},       {"ww", 604800},
        {"we", 604800},   {"wee", 604800},    {"week", 604800},    {"weeks", 604800},   {"mo", 2629800},
        {"mon", 2629800}, {"month", 2629800}, {"months", 2629800}, {"y", 31557600},     {"yy", 31557600},
        {"ye", 31557600}, {"yea", 31557600},  {"year", 31557600},  {"years", 31557600},
    };
    for (const auto& [name, seconds] : units) {
      if (w == name) return seconds;
    }
    return std::nullopt;
  }

  // sum := term (('+' | '-' | juxtaposition) term)*   ("1h 30m" is 1h + 30m, as in fail2ban)
  std::optional<double> sum(int depth) {
    auto value = term(depth);
    if (!value) return std::nullopt;
    for (;;) {
      skip();
      if (pos >= text.size() || text[pos] == ')') return value;
      char op = '+';
      if (text[pos] == '+' || text[pos] == '-') {
        op = text[pos];
        ++pos;
      }
      auto next = term(depth);
      if (!next) return std::nullopt;
      *value = op == '+' ? *value + *next : *value - *next;
    }
  }
  std::optional<double> term(int depth) {
    auto value = factor(depth);
    if (!value) return std::nullopt;
    for (;;) {
      skip();
      if (pos >= text.size() || (text[pos] != '*' && text[pos] != '/')) return value;
      const char op = text[pos++];
      auto next = factor(depth);
      if (!next) return std::nullopt;
      if (op == '/' && *next == 0) return fail("division by zero"), std::nullopt;
      *value = op == '*' ? *value * *next : *value / *next;
    }
  }
  std::optional<double> factor(int depth) {
    skip();
    if (depth > 20) return fail("parentheses nest too deep"), std::nullopt;
    if (pos >= text.size()) return fail("a number is missing"), std::nullopt;
    if (text[pos] == '-') {
      ++pos;
      auto v = factor(depth + 1);
      if (!v) return std::nullopt;
      return -*v;
    }
    if (text[pos] == '(') {
      ++pos;
      auto v = sum(depth + 1);
      if (!v) return std::nullopt;
      skip();
      if (pos >= text.size() || text[pos] != ')') return fail("')' is missing"), std::nullopt;
      ++pos;
      return with_unit(*v);
    }
    const std::size_t begin = pos;
    while (pos < text.size() && (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.'))
      ++pos;
    if (pos == begin)
      return fail(fmt::format("a number was expected, not '{}'", text.substr(pos, 1))), std::nullopt;
    const std::string digits(text.substr(begin, pos - begin));
    if (std::count(digits.begin(), digits.end(), '.') > 1 || digits == "." || digits.size() > 15) {
      pos = begin;
      return fail(fmt::format("'{}' is not a number", digits)), std::nullopt;
    }
    return with_unit(std::stod(digits));
  }
  std::optional<double> with_unit(double value) {
    skip();
    const std::size_t begin = pos;
    while (pos < text.size() && std::isalpha(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos == begin) return value;
    const std::string_view word = text.substr(begin, pos - begin);
    const auto u = unit(word);
    if (!u) {
      pos = begin;
      return fail(fmt::format("unknown time unit '{}'", word)), std::nullopt;
    }
    return value * *u;
  }
};

}  // namespace

std::optional<double> parse_duration(std::string_view text, std::string& error, int& column) {
  DurationParser p;
  p.text = text;
  p.skip();
  if (p.pos >= text.size()) {
    error = "an empty time";
    column = 1;
    return std::nullopt;
  }
  auto value = p.sum(0);
  if (value && p.pos < text.size()) {
    p.fail(fmt::format("unexpected '{}'", text.substr(p.pos, 1)));
    value.reset();
  }
  if (value && !std::isfinite(*value)) {
    p.fail("not a finite time");
    value.reset();
  }
  if (!value) {
    error = p.error;
    column = static_cast<int>(p.error_pos) + 1;
  }
  return value;
}

std::optional<NameWithParams> parse_name_with_params(std::string_view text, std::string& error) {
  text = trim(text);
  NameWithParams out;
  const std::size_t open = text.find('[');
  out.name = std::string(trim(text.substr(0, open)));
  if (out.name.empty()) {
    error = "the name is missing";
    return std::nullopt;
  }
  if (open == std::string_view::npos) return out;
  if (text.back() != ']') {
    error = "']' is missing at the end";
    return std::nullopt;
  }
  std::string_view rest = text.substr(open + 1, text.size() - open - 2);
  while (!trim(rest).empty()) {
    rest = trim(rest);
    const std::size_t eq = rest.find('=');
    if (eq == std::string_view::npos) {
      error = fmt::format("'{}' is not key=value", rest);
      return std::nullopt;
    }
    const std::string key = lower(trim(rest.substr(0, eq)));
    rest = trim(rest.substr(eq + 1));
    std::string value;
    if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
      const char quote = rest.front();
      const std::size_t close = rest.find(quote, 1);
      if (close == std::string_view::npos) {
        error = fmt::format("the quote of {}= is not closed", key);
        return std::nullopt;
      }
      value = std::string(rest.substr(1, close - 1));
      rest.remove_prefix(close + 1);
      rest = trim(rest);
      if (!rest.empty() && rest.front() != ',') {
        error = fmt::format("',' expected after the value of {}", key);
        return std::nullopt;
      }
    } else {
      const std::size_t comma = rest.find(',');
      value = std::string(trim(rest.substr(0, comma)));
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma);
    }
    if (!rest.empty()) rest.remove_prefix(1);  // the comma
    out.params[key] = std::move(value);
  }
  return out;
}

}  // namespace strikeout::app::fail2ban
