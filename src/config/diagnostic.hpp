// What the loader says about a configuration it refuses: one Diagnostic per mistake, each tied to the
// place in the file where it was made, printed the way compilers print errors so editors can jump to it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace strikeout::config {

struct Diagnostic {
  std::string file;          // the file name as given to the loader ("<built-in>" for the default)
  std::uint32_t line = 0;    // 1-based; 0 when the mistake is about the whole file (no [[rule]] at all)
  std::uint32_t column = 0;  // 1-based, in characters; 0 with line 0
  std::string key;           // the setting's path, e.g. "rule[2].hits" (array elements counted from 1)
  std::string message;       // a sentence naming the setting, what is wrong, and what would be right
};

using Diagnostics = std::vector<Diagnostic>;

// "FILE:LINE:COLUMN: error: MESSAGE" (GCC's style), or "FILE: error: MESSAGE" without a position.
// No trailing newline. Control characters from the file are already escaped in `message`.
std::string format_diagnostic(const Diagnostic& d);

}  // namespace strikeout::config
