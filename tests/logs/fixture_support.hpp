// Reading tests/fixtures/logs/<server>.log: pairs of lines, a log line as the server writes it, then
// its expected outcome:
//   => failure|success|connect|abuse<TAB>address=A[<TAB>service=S][<TAB>user=U][<TAB>port=P][<TAB>count=N]
//                               [<TAB>span=SECONDS][<TAB>time=RFC3339]
//   => none        (a readable line that is not an event)
//   => unparsed    (no header could be read)
// Fields not listed must have their default (empty service and user, port 0, count 1, span 0).
#pragma once

#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace strikeout::logs::testing {

struct Expectation {
  std::string outcome;                        // failure, success, connect, none, unparsed
  std::map<std::string, std::string> fields;  // address, service, user, port, count, span, time
};

struct FixtureLine {
  std::size_t line_number = 0;  // of the log line in the file, for messages
  std::string text;
  Expectation expected;
};

inline std::vector<FixtureLine> read_fixture(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<FixtureLine> out;
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    FixtureLine f;
    f.line_number = n;
    f.text = line;
    std::string exp;
    if (!std::getline(in, exp) || exp.rfind("=> ", 0) != 0) {
      throw std::runtime_error(path + ":" + std::to_string(n + 1) + ": expected a '=> ' line");
    }
    ++n;
    exp = exp.substr(3);
    std::size_t start = 0;
    bool first = true;
    while (start <= exp.size()) {
      auto tab = exp.find('\t', start);
      if (tab == std::string::npos) tab = exp.size();
      const std::string part = exp.substr(start, tab - start);
      if (first) {
        f.expected.outcome = part;
        first = false;
      } else {
        const auto eq = part.find('=');
        if (eq == std::string::npos)
          throw std::runtime_error(path + ":" + std::to_string(n) + ": bad field " + part);
        f.expected.fields[part.substr(0, eq)] = part.substr(eq + 1);
      }
      start = tab + 1;
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace strikeout::logs::testing
