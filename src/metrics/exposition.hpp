// Prometheus text exposition format (version 0.0.4): the few pieces the daemon needs to write its
// metrics correctly: HELP and TYPE lines, label escaping, and a fixed-bucket histogram.
// Names follow Prometheus conventions: strikeout_..._total for counters, base units (seconds, bytes).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strikeout::metrics {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

class Exposition {
 public:
  // Starts a metric family: "# HELP name help" and "# TYPE name type" (counter, gauge, histogram).
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family: name{labels} value. Label values are escaped as the format
  // requires (\\, \", \n); anything else (attacker text never gets here, but names might) is kept.
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, const Labels& labels, std::uint64_t value);
  void sample(std::string_view name, std::uint64_t value) { sample(name, Labels{}, value); }

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void labels(const Labels& labels);
  std::string out_;
};

// A histogram with fixed upper bounds (seconds, or whatever unit its name says), cumulative buckets
// written as Prometheus expects (le="..." and le="+Inf", _sum, _count).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  void write(Exposition& out, std::string_view name, std::string_view help) const;
  std::uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; last one is +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// A number as the format writes it: integers without a fraction, +Inf/-Inf/NaN spelled its way.
std::string format_value(double v);

}  // namespace strikeout::metrics
