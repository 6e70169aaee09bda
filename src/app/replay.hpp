// `strikeout replay`: the engine over log files in event time, as the daemon would have run it.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "core/policy.hpp"
#include "logs/decoder.hpp"
#include "logs/timezone.hpp"

namespace strikeout::app {

struct ReplayOptions {
  core::Policy policy;                          // rules, allowlist, limits
  std::vector<std::string> files;               // paths, "-" for standard input; merged by time
  bool json = false;                            // JSON lines instead of the human timeline
  std::optional<int> year;                      // year of the first RFC 3164 line (else file mtime)
  std::string format = "auto";                  // log format for every file
  std::vector<logs::CustomMatcherSpec> custom;  // the configuration's custom matchers
  logs::TimeZone zone = logs::TimeZone::utc();  // for timestamps without an offset
  bool progress = false;                        // progress line on `err` (when it is a terminal)
  std::size_t top = 10;                         // entries in the summary's top lists
};

// Runs the replay, writing the timeline and summary to `out` and errors/warnings to `err`.
// Returns the process exit code: 0 on success, 1 when an input could not be read (named in `err`;
// nothing is replayed then, so a typo never yields a half report).
int run_replay(const ReplayOptions& options, std::FILE* out, std::FILE* err);

}  // namespace strikeout::app
