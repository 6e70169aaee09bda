// Operators' own matchers: RE2 patterns with a <HOST> placeholder (and optional <USER>), compiled
// once; matching is linear in the line's length whatever the pattern.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.hpp"
#include "logs/decoder.hpp"

namespace re2 {
class RE2;
}

namespace strikeout::logs::detail {

// What <HOST> and <USER> become. <HOST> matches the text shapes of IPv4 and IPv6 addresses; the
// capture is then checked with core::Address::parse, so "999.1.1.1" never becomes an event.
inline constexpr std::string_view kHostGroup =
    R"((?P<host>[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*[0-9A-Fa-f]))";
// Greedy: when <USER> comes before <HOST> and the client's name contains text shaped like the
// rest of the pattern, the longest user wins, so the host is the LAST match, the server's.
inline constexpr std::string_view kUserGroup = "(?P<user>.*)";

class CustomMatcher {
 public:
  // nullopt and `error` set when a pattern is unusable (see validate_custom_matcher).
  static std::optional<CustomMatcher> compile(const CustomMatcherSpec& spec, std::string& error);
  CustomMatcher(CustomMatcher&&) noexcept;
  CustomMatcher& operator=(CustomMatcher&&) noexcept;
  ~CustomMatcher();

  const std::string& name() const { return spec_.name; }
  // Tries each pattern, anchored at the start of the message (after the syslog header), in order;
  // the first that matches with a valid address gives the event.
  LineStatus match(const LogRecord& record, core::Event& out) const;

 private:
  CustomMatcher() = default;
  struct Pattern {
    std::unique_ptr<re2::RE2> re;
    int host = 0;  // capture group index
    int user = 0;  // 0: no <USER>
    int groups = 0;
  };
  CustomMatcherSpec spec_;
  std::vector<Pattern> patterns_;
};

}  // namespace strikeout::logs::detail
