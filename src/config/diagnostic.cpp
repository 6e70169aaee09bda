#include "config/diagnostic.hpp"

namespace strikeout::config {

std::string format_diagnostic(const Diagnostic& d) {
  std::string out = d.file;
  if (d.line != 0) {
    out += ':';
    out += std::to_string(d.line);
    out += ':';
    out += std::to_string(d.column);
  }
  out += ": error: ";
  out += d.message;
  return out;
}

}  // namespace strikeout::config
