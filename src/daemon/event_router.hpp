// The daemon's one EventPath: what happens to every event, whichever sensor saw it, in this order —
// the events metric, the sensor's counters, `explain`'s memory, `watch`, the keys the store must
// save, then the engine, whose decisions go to the ordered sinks (DecisionFanout). After a burst the
// enforcer sends the bans to the kernel and the store takes a large burst at once.
#pragma once

#include <chrono>
#include <optional>

#include "control/recent_activity.hpp"
#include "core/decision.hpp"
#include "core/engine.hpp"
#include "daemon/enforcer.hpp"
#include "daemon/reports.hpp"
#include "daemon/sensor.hpp"
#include "daemon/store_sync.hpp"
#include "metrics/daemon_metrics.hpp"

namespace strikeout::daemon {

class EventRouter final : public EventPath {
 public:
  struct Parts {
    core::Engine& engine;
    core::DecisionSink& decisions;  // the ordered sinks
    Enforcer& enforcer;
    StoreSync& store;
    metrics::DaemonMetrics& metrics;
    control::RecentActivity& recent;
    WatchStream& watch;
  };
  explicit EventRouter(Parts parts) : p_(parts) {}

  void enrol(Sensor& sensor) override { sensor.metric = p_.metrics.sensor(sensor.name); }
  void burst_started() override { read_at_ = std::chrono::steady_clock::now(); }
  void deliver(Sensor& sensor, const core::Event& event) override;
  void burst_done() override;

 private:
  Parts p_;
  std::optional<std::chrono::steady_clock::time_point> read_at_;  // ban latency: the burst was read
};

}  // namespace strikeout::daemon
