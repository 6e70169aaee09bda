#include "metrics/exposition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace strikeout::metrics {

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<std::int64_t>(v));
  return fmt::format("{}", v);
}

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  // HELP text escapes only backslash and newline.
  for (char c : help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Exposition::labels(const Labels& labels) {
  if (labels.empty()) return;
  out_ += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_ += key;
    out_ += "=\"";
    for (char c : value) {
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '"') {
        out_ += "\\\"";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }
  out_ += '}';
}

void Exposition::sample(std::string_view name, const Labels& l, double value) {
  out_ += name;
  labels(l);
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

void Exposition::sample(std::string_view name, const Labels& l, std::uint64_t value) {
  out_ += name;
  labels(l);
  out_ += ' ';
  out_ += fmt::format("{}", value);
  out_ += '\n';
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);  // first bound >= value
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  sum_ += value;
  ++count_;
}

void Histogram::write(Exposition& out, std::string_view name, std::string_view help) const {
  out.family(name, "histogram", help);
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = format_value(bounds_[i]);
    out.sample(bucket, Labels{{"le", le}}, cumulative);
  }
  cumulative += counts_.back();
  out.sample(bucket, Labels{{"le", "+Inf"}}, cumulative);
  out.sample(std::string(name) + "_sum", Labels{}, sum_);
  out.sample(std::string(name) + "_count", Labels{}, count_);
}

}  // namespace strikeout::metrics
