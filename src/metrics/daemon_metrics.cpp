#include "metrics/daemon_metrics.hpp"

namespace strikeout::metrics {

DaemonMetrics::DaemonMetrics()
    // Log line read to kernel batch done: the brief's target is 5 ms at p99, so the buckets are fine
    // below that and coarse above.
    : ban_latency_(
          {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}) {}

std::size_t DaemonMetrics::sensor(std::string_view name) {
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    if (sensors_[i].name == name) return i;
  }
  sensors_.push_back(Sensor{std::string(name), {}});
  return sensors_.size() - 1;
}

void DaemonMetrics::event(std::size_t sensor, core::EventKind kind, std::string_view service) {
  if (sensor >= sensors_.size()) return;
  auto& events = sensors_[sensor].events;
  for (auto& e : events) {
    if (e.kind == kind && e.service == service) {
      ++e.count;
      return;
    }
  }
  // A service name comes from a log line: bound the label set so that odd lines cannot grow it.
  if (events.size() >= 64) {
    for (auto& e : events) {
      if (e.kind == kind && e.service == "other") {
        ++e.count;
        return;
      }
    }
    events.push_back(ServiceCount{kind, "other", 1});
    return;
  }
  events.push_back(ServiceCount{kind, std::string(service.substr(0, 64)), 1});
}

DaemonMetrics::RuleCount& DaemonMetrics::rule(std::string_view name) {
  for (auto& r : rules_) {
    if (r.rule == name) return r;
  }
  rules_.push_back(RuleCount{std::string(name)});
  return rules_.back();
}

void DaemonMetrics::decision(const core::Decision& d) {
  auto& r = rule(d.rule);
  switch (d.kind) {
    case core::DecisionKind::Strike:
      ++r.strikes;
      break;
    case core::DecisionKind::Ban:
      if (d.extended) {
        ++r.extensions;
      } else {
        ++r.bans;
        ++r.active;
      }
      break;
    case core::DecisionKind::Unban:
      if (r.active > 0) --r.active;
      break;
  }
}

std::string DaemonMetrics::render(const core::EngineStats& engine, const std::vector<SensorCounters>& sensors,
                                  const DaemonGauges& gauges) const {
  Exposition out;
  out.family("strikeout_start_time_seconds", "gauge", "Unix time the daemon started.");
  out.sample("strikeout_start_time_seconds", Labels{}, gauges.start_time_seconds);

  out.family("strikeout_log_lines_read_total", "counter", "Log lines and journal records read, by sensor.");
  for (const auto& s : sensors)
    out.sample("strikeout_log_lines_read_total", Labels{{"sensor", s.name}}, s.lines);
  out.family("strikeout_log_lines_unrecognised_total", "counter",
             "Lines from a mail program that no matcher recognised, by sensor.");
  for (const auto& s : sensors)
    out.sample("strikeout_log_lines_unrecognised_total", Labels{{"sensor", s.name}}, s.unparsed);
  out.family("strikeout_sensor_errors_total", "counter", "Read errors reported by a sensor.");
  for (const auto& s : sensors)
    out.sample("strikeout_sensor_errors_total", Labels{{"sensor", s.name}}, s.errors);

  out.family("strikeout_events_total", "counter",
             "Events reported by the sensors (before duplicate removal), by sensor, kind and service.");
  for (const auto& s : sensors_) {
    for (const auto& e : s.events) {
      out.sample("strikeout_events_total",
                 Labels{{"sensor", s.name}, {"kind", core::to_string(e.kind)}, {"service", e.service}},
                 e.count);
    }
  }
  out.family("strikeout_events_duplicate_total", "counter", "Second reports of one failure, counted once.");
  out.sample("strikeout_events_duplicate_total", engine.duplicates);
  out.family("strikeout_events_allowlisted_total", "counter",
             "Events from allowlisted sources (never punished).");
  out.sample("strikeout_events_allowlisted_total", engine.allowlisted);
  out.family("strikeout_events_too_late_total", "counter",
             "Events older than the reorder tolerance, not counted.");
  out.sample("strikeout_events_too_late_total", engine.too_late);

  out.family("strikeout_strikes_total", "counter",
             "Strikes (events counted toward a rule's threshold), by rule.");
  for (const auto& r : rules_) {
    if (r.strikes > 0) out.sample("strikeout_strikes_total", Labels{{"rule", r.rule}}, r.strikes);
  }
  out.family("strikeout_bans_total", "counter", "Bans made since start (not extensions), by rule.");
  for (const auto& r : rules_) {
    if (r.bans > 0) out.sample("strikeout_bans_total", Labels{{"rule", r.rule}}, r.bans);
  }
  out.family("strikeout_ban_extensions_total", "counter", "Bans moved later by tries while banned, by rule.");
  for (const auto& r : rules_) {
    if (r.extensions > 0)
      out.sample("strikeout_ban_extensions_total", Labels{{"rule", r.rule}}, r.extensions);
  }
  out.family("strikeout_bans_active", "gauge",
             "Bans in force, by rule (bans taken over at start: rule \"operator\").");
  for (const auto& r : rules_) {
    if (r.bans > 0 || r.active > 0) out.sample("strikeout_bans_active", Labels{{"rule", r.rule}}, r.active);
  }
  ban_latency_.write(out, "strikeout_ban_latency_seconds",
                     "From reading the log lines that caused a ban to the kernel batch holding it.");

  out.family("strikeout_tracked_keys", "gauge", "Addresses, networks and usernames with live window state.");
  out.sample("strikeout_tracked_keys", engine.tracked_keys);
  out.family("strikeout_engine_memory_bytes", "gauge", "Bytes held by the detector's state.");
  out.sample("strikeout_engine_memory_bytes", engine.memory_bytes);
  out.family("strikeout_evictions_total", "counter", "Tracked keys dropped at the memory cap.");
  out.sample("strikeout_evictions_total", engine.evictions);

  out.family("strikeout_kernel_batch_errors_total", "counter",
             "nftables batches the kernel refused (retried).");
  out.sample("strikeout_kernel_batch_errors_total", gauges.kernel_batch_errors);
  out.family("strikeout_kernel_table_intact", "gauge",
             "1 when the nftables table and its sets are in the kernel.");
  out.sample("strikeout_kernel_table_intact", std::uint64_t{gauges.kernel_table_intact ? 1U : 0U});
  out.family("strikeout_rate_limited_total", "counter",
             "New connections refused by the kernel's connection-rate limit.");
  out.sample("strikeout_rate_limited_total", gauges.rate_limited);

  out.family("strikeout_watchers", "gauge", "Clients running `strikeout watch`.");
  out.sample("strikeout_watchers", gauges.watchers);
  out.family("strikeout_watchers_dropped_total", "counter", "Watchers dropped for reading too slowly.");
  out.sample("strikeout_watchers_dropped_total", gauges.watchers_dropped);
  out.family("strikeout_reloads_total", "counter", "Configuration reloads, by result.");
  out.sample("strikeout_reloads_total", Labels{{"result", "ok"}}, gauges.reloads);
  out.sample("strikeout_reloads_total", Labels{{"result", "refused"}}, gauges.reload_failures);
  for (const auto& m : gauges.components) {
    out.family(m.name, m.type, m.help);
    out.sample(m.name, m.value);
  }
  if (gauges.store_commit != nullptr) {
    gauges.store_commit->write(out, "strikeout_store_commit_seconds",
                               "Time of one store commit (fsync included).");
  }
  return out.take();
}

}  // namespace strikeout::metrics
