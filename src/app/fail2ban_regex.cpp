// fail2ban failregex (Python `re` with fail2ban's tags) -> strikeout [[matcher]] pattern (RE2).
// Translated only where the meaning stays the same; everything else is refused with the reason.
#include <fmt/format.h>

#include <cctype>
#include <string>
#include <string_view>

#include "app/fail2ban_import.hpp"
#include "logs/decoder.hpp"

namespace strikeout::app::fail2ban {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

struct Refusal {
  std::string reason;
};

// Walks the Python pattern once, copying what RE2 reads the same way and rewriting or refusing the rest.
class Translator {
 public:
  explicit Translator(std::string_view body) : s_(body) {}

  std::optional<std::string> run(std::string& reason, std::vector<std::string>& notes) {
    while (i_ < s_.size()) {
      if (!step()) {
        reason = reason_;
        return std::nullopt;
      }
    }
    if (in_class_) {
      reason = "a '[' character class is not closed";
      return std::nullopt;
    }
    notes = std::move(notes_);
    return std::move(out_);
  }

 private:
  bool refuse(std::string why) {
    reason_ = std::move(why);
    return false;
  }

  bool step() {
    const char c = s_[i_];
    if (c == '\\') return escape();
    if (in_class_) {
      if (c == '[' && i_ + 1 < s_.size() && (s_[i_ + 1] == ':' || s_[i_ + 1] == '=' || s_[i_ + 1] == '.')) {
        return refuse("'[:' inside a character class: RE2 reads a POSIX class where Python reads characters");
      }
      out_ += c;
      ++i_;
      if (c == ']' && i_ - 1 > class_start_) in_class_ = false;
      return true;
    }
    switch (c) {
      case '[': {
        in_class_ = true;
        out_ += c;
        ++i_;
        if (i_ < s_.size() && s_[i_] == '^') out_ += s_[i_++];
        class_start_ = i_;  // a ']' right here is a literal
        return true;
      }
      case '(':
        return group();
      case ')':
        if (depth_ == 0) return refuse("an unbalanced ')'");
        --depth_;
        out_ += c;
        ++i_;
        return possessive_check();
      case '<':
        return tag();
      case '{':
        return brace();
      case '*':
      case '+':
      case '?':
        out_ += c;
        ++i_;
        // "*?" is lazy (both engines); "*+" is Python 3.11's possessive form, which RE2 has not.
        if (i_ < s_.size() && s_[i_] == '?') out_ += s_[i_++];
        return possessive_check();
      default:
        out_ += c;
        ++i_;
        return true;
    }
  }

  bool possessive_check() {
    if (i_ < s_.size() && s_[i_] == '+')
      return refuse("a possessive quantifier ('*+', '++', '?+'): RE2 has none");
    return true;
  }

  bool escape() {
    if (i_ + 1 >= s_.size()) return refuse("a '\\' at the end of the pattern");
    const char e = s_[i_ + 1];
    if (e >= '1' && e <= '9') {
      return refuse(in_class_ ? "an octal escape in a character class"
                              : "a back-reference (\\N): RE2 has none");
    }
    if (e == '0') return refuse("an octal escape (\\0): write \\x00");
    if (e == 'u' || e == 'U' || e == 'N') return refuse(fmt::format("'\\{}' escapes are Python's only", e));
    if (e == 'Z' && !in_class_) {
      out_ += "\\z";  // Python's \Z is RE2's \z (the very end)
      i_ += 2;
      return true;
    }
    if (e == 'b' && in_class_) return refuse("'\\b' in a character class (a backspace in Python)");
    out_ += '\\';
    out_ += e;
    i_ += 2;
    return true;
  }

  bool group() {
    if (i_ + 1 >= s_.size() || s_[i_ + 1] != '?') {
      ++depth_;
      out_ += '(';
      ++i_;
      return true;
    }
    const std::string_view rest = s_.substr(i_);
    if (starts_with(rest, "(?:") || starts_with(rest, "(?P<")) {
      ++depth_;
      const std::size_t n = starts_with(rest, "(?:") ? 3 : 4;
      out_ += rest.substr(0, n);
      i_ += n;
      return true;
    }
    if (starts_with(rest, "(?P=")) return refuse("a named back-reference (?P=...): RE2 has none");
    if (starts_with(rest, "(?=") || starts_with(rest, "(?!"))
      return refuse("a lookahead (?=...)/(?!...): RE2 has none");
    if (starts_with(rest, "(?<=") || starts_with(rest, "(?<!")) {
      return refuse("a lookbehind (?<=...)/(?<!...): RE2 has none");
    }
    if (starts_with(rest, "(?(")) return refuse("a conditional group (?(...)): RE2 has none");
    if (starts_with(rest, "(?>")) return refuse("an atomic group (?>...): RE2 has none");
    if (starts_with(rest, "(?#")) {
      const std::size_t close = rest.find(')');
      if (close == std::string_view::npos) return refuse("a (?# comment is not closed");
      i_ += close + 1;  // a comment matches nothing: dropping it keeps the meaning
      return true;
    }
    // Flags: "(?imsx)" for the whole pattern, "(?i:...)" for a group.
    std::size_t j = 2;
    std::string flags;
    while (j < rest.size() && (std::isalpha(static_cast<unsigned char>(rest[j])) || rest[j] == '-')) {
      const char f = rest[j];
      if (f == '-' || f == 'i' || f == 'm' || f == 's') {
        flags += f;
      } else if (f == 'x') {
        return refuse("the verbose flag (?x): RE2 has none");
      } else if (f != 'u') {  // 'u': Unicode matching is Python 3's default; RE2 reads UTF-8 too
        return refuse(fmt::format("the flag '{}' in '(?{}': RE2 has none", f, f));
      }
      ++j;
    }
    if (j >= rest.size()) return refuse("a '(?' group is not closed");
    if (rest[j] == ')') {
      if (!out_.empty() || depth_ != 0) {
        return refuse("a flag group such as (?i) not at the start: Python applies it to the whole pattern");
      }
      if (!flags.empty()) out_ += fmt::format("(?{})", flags);
      i_ += j + 1;
      return true;
    }
    if (rest[j] == ':') {
      ++depth_;
      out_ += flags.empty() ? std::string("(?:") : fmt::format("(?{}:", flags);
      i_ += j + 1;
      return true;
    }
    return refuse(fmt::format("'{}' is not a group RE2 reads", rest.substr(0, j + 1)));
  }

  // fail2ban's tags: <HOST> and its kin, <F-NAME>...</F-NAME> groups. Any other '<' is a literal.
  bool tag() {
    const std::string_view rest = s_.substr(i_);
    auto take = [&](std::string_view literal) {
      if (!starts_with(rest, literal)) return false;
      i_ += literal.size();
      return true;
    };
    if (take("<HOST>") || take("<ADDR>")) {
      out_ += "<HOST>";
      return true;
    }
    if (take("<IP4>") || take("<IP6>")) {
      out_ += "<HOST>";
      notes_.push_back("<IP4>/<IP6> became <HOST>, which takes either family");
      return true;
    }
    for (std::string_view t : {"<DNS>", "<CIDR>", "<SUBNET>"}) {
      if (starts_with(rest, t)) {
        return refuse(
            fmt::format("{} : strikeout takes the client address only from an address the server wrote", t));
      }
    }
    if (starts_with(rest, "<SKIPLINES>")) return refuse("<SKIPLINES> (a pattern over several lines)");
    const bool closing = starts_with(rest, "</F-");
    if (starts_with(rest, "<F-") || closing) {
      const std::size_t name_start = closing ? 4 : 3;
      std::size_t k = name_start;
      while (k < rest.size() &&
             (std::isalnum(static_cast<unsigned char>(rest[k])) || rest[k] == '_' || rest[k] == '-'))
        ++k;
      if (k >= rest.size() || rest[k] != '>' || k == name_start) {
        out_ += '<';
        ++i_;
        return true;
      }
      const std::string name(rest.substr(name_start, k - name_start));
      if (name == "NOFAIL" || starts_with(name, "MLF") || name == "CONTENT") {
        return refuse(fmt::format("<F-{}>: fail2ban's {} has no strikeout equivalent", name,
                                  name == "NOFAIL" ? "no-failure match" : "multi-line matching"));
      }
      if (!closing && name == "USER" && !user_taken_) {
        const std::string close = "</F-USER>";
        const std::size_t end = rest.find(close);
        if (end != std::string_view::npos && rest.substr(k + 1, end - k - 1) == ".*") {
          user_taken_ = true;  // exactly <USER>'s own pattern
          out_ += "<USER>";
          i_ += end + close.size();
          return true;
        }
        notes_.push_back(
            "the username (<F-USER>) is matched but not reported: strikeout's <USER> is '.*', not this "
            "pattern");
      }
      // Other F- groups (F-ID, F-ALT_USER, ...) only capture: a plain group matches the same.
      if (closing) {
        if (depth_ == 0) return refuse(fmt::format("</F-{}> without its opening tag", name));
        --depth_;
        out_ += ')';
      } else {
        ++depth_;
        out_ += "(?:";
      }
      i_ += k + 1;
      return true;
    }
    out_ += '<';
    ++i_;
    return true;
  }

  // Python reads "{,n}" as {0,n}; RE2 would read it as the literal text.
  bool brace() {
    const std::string_view rest = s_.substr(i_);
    std::size_t k = 1;
    if (k < rest.size() && rest[k] == ',') {
      std::size_t d = k + 1;
      while (d < rest.size() && std::isdigit(static_cast<unsigned char>(rest[d]))) ++d;
      if (d > k + 1 && d < rest.size() && rest[d] == '}') {
        out_ += "{0";
        out_ += rest.substr(1, d);  // ",n}"
        i_ += d + 1;
        return possessive_check();
      }
    }
    out_ += '{';
    ++i_;
    return true;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::size_t class_start_ = 0;
  bool in_class_ = false;
  int depth_ = 0;
  bool user_taken_ = false;
  std::string out_;
  std::string reason_;
  std::vector<std::string> notes_;
};

}  // namespace

Translation translate_failregex(std::string_view regex) {
  Translation t;
  while (!regex.empty() && (regex.front() == ' ' || regex.front() == '\t')) regex.remove_prefix(1);
  while (!regex.empty() && (regex.back() == ' ' || regex.back() == '\t')) regex.remove_suffix(1);
  std::string_view body;
  std::string prefix;
  if (starts_with(regex, std::string("^") + std::string(kPrefixLineMarker)) ||
      starts_with(regex, kPrefixLineMarker)) {
    // Anchored at the syslog header: strikeout's patterns start right after it.
    body = regex.substr(regex.find(kPrefixLineMarker) + kPrefixLineMarker.size());
  } else if (starts_with(regex, "^")) {
    t.reason =
        "anchored at the start of the line ('^') without %(__prefix_line)s: strikeout matches after the "
        "syslog "
        "header, so this pattern would need the header written in it";
    return t;
  } else {
    // Python's search() finds the leftmost match anywhere; a lazy '.*?' before it does the same.
    prefix = ".*?";
    body = regex;
    t.notes.push_back(
        "not anchored: searched in the message after the syslog header (fail2ban: the whole line)");
  }
  if (body.find(kPrefixLineMarker) != std::string_view::npos) {
    t.reason = "%(__prefix_line)s in the middle of the pattern";
    return t;
  }
  if (body.find('\n') != std::string_view::npos) {
    t.reason = "a line break inside the pattern";
    return t;
  }
  Translator translator(body);
  std::vector<std::string> notes;
  auto pattern = translator.run(t.reason, notes);
  if (!pattern) return t;
  *pattern = prefix + *pattern;
  logs::CustomMatcherSpec spec;
  spec.name = "fail2ban";
  spec.patterns = {*pattern};
  if (auto error = logs::validate_custom_matcher(spec)) {
    t.reason = fmt::format("RE2 does not take it: {}", *error);
    return t;
  }
  t.notes.insert(t.notes.end(), notes.begin(), notes.end());
  t.pattern = std::move(pattern);
  return t;
}

}  // namespace strikeout::app::fail2ban
