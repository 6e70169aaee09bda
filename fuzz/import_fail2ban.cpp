// fail2ban's configuration files as `strikeout import fail2ban` reads them: the INI dialect, every
// value interpolated, times, filter names with parameters, and every value line as a failregex.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "app/fail2ban_import.hpp"
#include "app/fail2ban_ini.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strikeout::app::fail2ban;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Document doc;
  std::vector<Problem> problems;
  doc.parse(input, "fuzz.conf", problems);
  for (const auto& p : problems) (void)format_problem(p);
  std::vector<std::string> sections = doc.section_order();
  sections.emplace_back("DEFAULT");
  for (const auto& name : sections) {
    const Section* s = doc.section(name);
    if (s == nullptr) continue;
    for (const auto& [option, value] : s->values) {
      std::vector<Problem> ignored;
      const auto expanded =
          doc.get(name, option, ignored, {{"__prefix_line", std::string(kPrefixLineMarker)}});
      const std::string& text = expanded ? *expanded : value.text;
      std::string error;
      int column = 0;
      (void)parse_duration(text, error, column);
      (void)parse_name_with_params(text, error);
      std::size_t start = 0;
      while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        (void)translate_failregex(std::string_view(text).substr(start, end - start));
        start = end + 1;
      }
    }
  }
  return 0;
}
