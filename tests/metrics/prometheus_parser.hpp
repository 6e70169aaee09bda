// A strict parser of the Prometheus text exposition format (0.0.4) for tests: every line must be a
// HELP, TYPE or comment line or a sample; names, label names, escapes and values must follow the
// format; every sample must belong to a family declared with TYPE before it; a series may not
// repeat; counters end in _total; a histogram's buckets are cumulative and end with le="+Inf"
// equal to its _count. The first violation is reported with its line number.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace strikeout::test {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromText {
  std::string error;  // empty: the text is valid
  std::map<std::string, std::string> types;
  std::vector<PromSample> samples;

  // The value of the series, or NaN when absent.
  double value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const auto& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nan("");
  }
  // Sum over every series of `name` whose labels include `match`.
  double sum(const std::string& name, const std::map<std::string, std::string>& match = {}) const {
    double total = 0;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (const auto& [k, v] : match) {
        auto it = s.labels.find(k);
        ok = ok && it != s.labels.end() && it->second == v;
      }
      if (ok) total += s.value;
    }
    return total;
  }
};

inline bool prom_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
inline bool prom_name_char(char c) {
  return prom_name_start(c) || (c >= '0' && c <= '9');
}

inline bool prom_parse_value(std::string_view t, double& out) {
  if (t == "+Inf") {
    out = HUGE_VAL;
    return true;
  }
  if (t == "-Inf") {
    out = -HUGE_VAL;
    return true;
  }
  if (t == "NaN") {
    out = std::nan("");
    return true;
  }
  if (t.empty()) return false;
  for (char c : t) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+')) return false;
  }
  std::string s(t);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

inline PromText parse_prometheus(std::string_view text) {
  PromText r;
  std::set<std::string> series;
  std::size_t line_no = 0;
  auto fail = [&](const std::string& why) {
    r.error = "line " + std::to_string(line_no) + ": " + why;
    return r;
  };
  if (!text.empty() && text.back() != '\n') return fail("the text does not end with a newline");
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    const std::size_t nl = text.find('\n', pos);
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        const std::string_view rest = line.substr(7);
        const std::size_t sp = rest.find(' ');
        if (sp == std::string_view::npos || sp == 0) return fail("HELP/TYPE without a name and text");
        const std::string name(rest.substr(0, sp));
        if (!prom_name_start(name[0])) return fail("bad metric name " + name);
        for (char c : name)
          if (!prom_name_char(c)) return fail("bad metric name " + name);
        if (line[2] == 'T') {
          const std::string type(rest.substr(sp + 1));
          if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
              type != "untyped") {
            return fail("unknown type " + type);
          }
          if (r.types.count(name) != 0) return fail("second TYPE for " + name);
          if (type == "counter" && name.size() > 6 && name.substr(name.size() - 6) != "_total") {
            return fail("counter " + name + " does not end in _total");
          }
          r.types[name] = type;
        } else {
          const std::string_view help = rest.substr(sp + 1);
          for (std::size_t i = 0; i < help.size(); ++i) {
            if (help[i] == '\\') {
              if (i + 1 >= help.size() || (help[i + 1] != '\\' && help[i + 1] != 'n'))
                return fail("bad escape in HELP");
              ++i;
            }
          }
        }
      }
      continue;
    }
    PromSample s;
    std::size_t i = 0;
    if (!prom_name_start(line[0])) return fail("sample does not start with a metric name");
    while (i < line.size() && prom_name_char(line[i])) ++i;
    s.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        const std::size_t start = i;
        if (i >= line.size() || !(prom_name_start(line[i]) && line[i] != ':')) return fail("bad label name");
        while (i < line.size() && prom_name_char(line[i]) && line[i] != ':') ++i;
        const std::string key(line.substr(start, i - start));
        if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
          return fail("label " + key + " without =\"");
        i += 2;
        std::string value;
        while (true) {
          if (i >= line.size()) return fail("unterminated label value");
          const char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) return fail("unterminated escape");
            const char e = line[i++];
            if (e == '\\')
              value += '\\';
            else if (e == '"')
              value += '"';
            else if (e == 'n')
              value += '\n';
            else
              return fail("bad escape in a label value");
          } else {
            value += c;
          }
        }
        if (s.labels.count(key) != 0) return fail("label " + key + " twice");
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') {
          ++i;
          continue;
        }
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        return fail("expected , or } after a label");
      }
    }
    if (i >= line.size() || line[i] != ' ') return fail("no space before the value");
    ++i;
    std::string_view value_text = line.substr(i);
    if (const std::size_t sp = value_text.find(' '); sp != std::string_view::npos) {
      double ts = 0;
      if (!prom_parse_value(value_text.substr(sp + 1), ts)) return fail("bad timestamp");
      value_text = value_text.substr(0, sp);
    }
    if (!prom_parse_value(value_text, s.value)) return fail("bad value " + std::string(value_text));
    // Its family: the name itself, or a histogram's name without _bucket/_sum/_count.
    std::string family = s.name;
    if (r.types.count(family) == 0) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string sfx(suffix);
        if (family.size() > sfx.size() && family.compare(family.size() - sfx.size(), sfx.size(), sfx) == 0) {
          const std::string base = family.substr(0, family.size() - sfx.size());
          if (r.types.count(base) != 0 && (r.types[base] == "histogram" || r.types[base] == "summary"))
            family = base;
        }
      }
    }
    if (r.types.count(family) == 0) return fail("sample " + s.name + " before (or without) its TYPE");
    if (r.types[family] == "histogram" && s.name == family)
      return fail("histogram sample without _bucket/_sum/_count");
    if (r.types[family] == "counter" && s.value < 0) return fail("negative counter " + s.name);
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "\x1f" + k + "=" + v;
    if (!series.insert(key).second) return fail("series repeated: " + s.name);
    r.samples.push_back(std::move(s));
  }
  // Histograms: cumulative buckets, +Inf == _count.
  for (const auto& [name, type] : r.types) {
    if (type != "histogram") continue;
    double previous = -1;
    double inf = std::nan("");
    for (const auto& s : r.samples) {
      if (s.name != name + "_bucket") continue;
      if (s.labels.count("le") == 0) {
        r.error = name + ": a bucket without le";
        return r;
      }
      if (s.value < previous) {
        r.error = name + ": buckets are not cumulative";
        return r;
      }
      previous = s.value;
      if (s.labels.at("le") == "+Inf") inf = s.value;
    }
    if (std::isnan(inf) || inf != r.value(name + "_count", {})) {
      r.error = name + ": no le=\"+Inf\" bucket equal to _count";
      return r;
    }
  }
  return r;
}

}  // namespace strikeout::test
