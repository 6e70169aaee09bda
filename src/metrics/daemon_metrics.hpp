// The daemon's metrics: what it counts as it runs (events by sensor, kind and service; strikes and
// bans by rule; the ban latency) plus what it reads at scrape time (engine statistics, each sensor's
// line counters, kernel errors), written as Prometheus text. Every metric is documented in
// docs/cli.md ("Metrics"). Single-threaded: the daemon's loop updates and renders it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/decision.hpp"
#include "core/engine.hpp"
#include "core/event.hpp"
#include "metrics/exposition.hpp"

namespace strikeout::metrics {

// One metric a part of the daemon declares beside its own counters (name, type, help and value in one
// place), rendered as it is: the store's commit failures, the kernel's counters, the decoy's.
struct ComponentMetric {
  std::string name;  // strikeout_...
  std::string type;  // "counter" or "gauge"
  std::string help;
  std::uint64_t value = 0;
};

// Read from the daemon when scraped.
struct SensorCounters {
  std::string name;
  std::uint64_t lines = 0;     // lines (or journal records) read
  std::uint64_t unparsed = 0;  // lines that looked like a mail server's but no matcher recognised
  std::uint64_t errors = 0;    // read errors reported by the source
};

struct DaemonGauges {
  double start_time_seconds = 0;          // Unix time the daemon started
  std::uint64_t kernel_batch_errors = 0;  // nftables batches refused (retried)
  std::uint64_t rate_limited = 0;         // connections the kernel rate limit refused (NFLOG)
  bool kernel_table_intact = true;
  std::uint64_t watchers = 0;
  std::uint64_t watchers_dropped = 0;
  std::uint64_t reloads = 0;
  std::uint64_t reload_failures = 0;
  // Store commit durations (seconds) once the store exists; nullopt: no store, the metric is absent.
  const Histogram* store_commit = nullptr;
  std::vector<ComponentMetric> components;  // what the parts declare (StoreSync, Enforcer, the decoy)
};

// Also one of the daemon's decision sinks: strikes, bans and extensions counted by rule.
class DaemonMetrics final : public core::DecisionSink {
 public:
  DaemonMetrics();

  // Index of a sensor for event(); names are the configured source names.
  std::size_t sensor(std::string_view name);
  // One event as the engine received it (before duplicate removal).
  void event(std::size_t sensor, core::EventKind kind, std::string_view service);
  void decision(const core::Decision& d);
  void on_decision(const core::Decision& d) override { decision(d); }
  void ban_latency(double seconds) { ban_latency_.observe(seconds); }

  std::string render(const core::EngineStats& engine, const std::vector<SensorCounters>& sensors,
                     const DaemonGauges& gauges) const;

 private:
  struct ServiceCount {
    core::EventKind kind;
    std::string service;
    std::uint64_t count;
  };
  struct Sensor {
    std::string name;
    std::vector<ServiceCount> events;  // few services per sensor: a linear search, no allocation per hit
  };
  struct RuleCount {
    std::string rule;
    std::uint64_t strikes = 0;
    std::uint64_t bans = 0;        // new bans (not extensions)
    std::uint64_t extensions = 0;  // bans moved later by retries
    std::uint64_t active = 0;
  };
  RuleCount& rule(std::string_view name);

  std::vector<Sensor> sensors_;
  std::vector<RuleCount> rules_;
  Histogram ban_latency_;
};

}  // namespace strikeout::metrics
