#include "logs/custom.hpp"

#include <re2/re2.h>

#include "logs/scan.hpp"

namespace strikeout::logs::detail {

namespace {

// Captures a pattern may have in all (the match array lives on the stack).
constexpr int kMaxGroups = 31;

std::size_t count(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != npos; p = hay.find(needle, p + needle.size())) ++n;
  return n;
}

std::string replace_once(std::string text, std::string_view what, std::string_view with) {
  const auto p = text.find(what);
  if (p != std::string::npos) text.replace(p, what.size(), with);
  return text;
}

}  // namespace

CustomMatcher::CustomMatcher(CustomMatcher&&) noexcept = default;
CustomMatcher& CustomMatcher::operator=(CustomMatcher&&) noexcept = default;
CustomMatcher::~CustomMatcher() = default;

std::optional<CustomMatcher> CustomMatcher::compile(const CustomMatcherSpec& spec, std::string& error) {
  const std::string who = "matcher '" + spec.name + "'";
  if (spec.patterns.empty()) {
    error = who + ": no patterns";
    return std::nullopt;
  }
  CustomMatcher m;
  m.spec_ = spec;
  for (std::size_t i = 0; i < spec.patterns.size(); ++i) {
    const std::string& source = spec.patterns[i];
    const std::string where = who + ", pattern " + std::to_string(i) + " (\"" + source + "\")";
    const auto hosts = count(source, "<HOST>");
    if (hosts != 1) {
      error = where + (hosts == 0 ? ": <HOST> is missing" : ": <HOST> appears more than once");
      return std::nullopt;
    }
    if (count(source, "<USER>") > 1) {
      error = where + ": <USER> appears more than once";
      return std::nullopt;
    }
    if (source.find("(?P<host>") != std::string::npos || source.find("(?P<user>") != std::string::npos) {
      error = where + ": the group names 'host' and 'user' are reserved for <HOST> and <USER>";
      return std::nullopt;
    }
    const std::string expanded =
        replace_once(replace_once(source, "<HOST>", kHostGroup), "<USER>", kUserGroup);
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<RE2>(expanded, options);
    if (!re->ok()) {
      error = where + ": " + re->error();
      return std::nullopt;
    }
    Pattern p;
    p.groups = re->NumberOfCapturingGroups();
    if (p.groups > kMaxGroups) {
      error = where + ": more than " + std::to_string(kMaxGroups) + " capture groups";
      return std::nullopt;
    }
    const auto& named = re->NamedCapturingGroups();
    const auto host = named.find("host");
    if (host == named.end()) {  // "[<HOST>]" puts it inside a character class: no group at all
      error = where + ": <HOST> must stand outside character classes and escapes";
      return std::nullopt;
    }
    p.host = host->second;
    const auto user = named.find("user");
    p.user = user == named.end() ? 0 : user->second;
    p.re = std::move(re);
    m.patterns_.push_back(std::move(p));
  }
  return m;
}

LineStatus CustomMatcher::match(const LogRecord& record, core::Event& out) const {
  if (!spec_.program.empty() && record.program != spec_.program) return LineStatus::NoEvent;
  const re2::StringPiece text(record.message.data(), record.message.size());
  re2::StringPiece groups[kMaxGroups + 1];
  for (const auto& p : patterns_) {
    if (!p.re->Match(text, 0, text.size(), RE2::ANCHOR_START, groups, p.groups + 1)) continue;
    const auto& h = groups[p.host];
    const auto addr = parse_address(std::string_view(h.data(), h.size()));
    if (!addr) continue;
    out.kind = spec_.kind;
    out.source = *addr;
    out.reporter = core::Reporter::Custom;
    out.service = spec_.service;
    out.port = 0;
    if (p.user != 0 && groups[p.user].data() != nullptr) {
      out.user = std::string_view(groups[p.user].data(), groups[p.user].size());
    }
    return LineStatus::Event;
  }
  return LineStatus::NoEvent;
}

}  // namespace strikeout::logs::detail
