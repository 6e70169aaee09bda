// Helpers for the configuration tests: load a text with hermetic options and look for a diagnostic
// at an exact position.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <variant>

#include "config/loader.hpp"

namespace strikeout::config::testing {

// Time zones from the system's tzdata; "local" resolves to UTC (no localtime file), whatever the host.
inline LoadOptions hermetic_options() {
  LoadOptions options;
  options.localtime = "/nonexistent/strikeout-test/localtime";
  return options;
}

// A rule that is valid on its own, to make a file otherwise complete.
inline constexpr std::string_view kValidRule = R"([[rule]]
name = "auth-failures"
on = "auth-failure"
hits = 3
within = "20m"
)";

inline std::string dump(const Diagnostics& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += format_diagnostic(d) + "\n";
  return out;
}

// The diagnostics of a text the loader must refuse (an empty list, and a test failure, if it accepts it).
inline Diagnostics errors_of(std::string_view text, const LoadOptions& options = hermetic_options()) {
  LoadResult result = load_config(text, "t.toml", options);
  if (auto* diagnostics = std::get_if<Diagnostics>(&result)) return *diagnostics;
  ADD_FAILURE() << "the loader accepted:\n" << text;
  return {};
}

// The configuration of a text the loader must accept.
inline Config config_of(std::string_view text, const LoadOptions& options = hermetic_options()) {
  LoadResult result = load_config(text, "t.toml", options);
  if (auto* diagnostics = std::get_if<Diagnostics>(&result)) {
    ADD_FAILURE() << "the loader refused:\n" << dump(*diagnostics);
    return {};
  }
  return std::get<Config>(std::move(result));
}

// Passes when exactly one diagnostic is at line:column and its message contains `needle`.
inline ::testing::AssertionResult has_error(const Diagnostics& diagnostics, std::uint32_t line,
                                            std::uint32_t column, std::string_view needle) {
  int found = 0;
  for (const Diagnostic& d : diagnostics) {
    if (d.line == line && d.column == column && d.message.find(needle) != std::string::npos) ++found;
  }
  if (found == 1) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << found << " diagnostics at " << line << ":" << column
                                       << " containing '" << needle << "'; all of them:\n"
                                       << dump(diagnostics);
}

}  // namespace strikeout::config::testing
