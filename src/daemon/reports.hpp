// The decision sinks that tell people: the daemon's log lines in the recipe's words, and the live
// `watch` stream of the control socket (attempts as they arrive, strikes, bans and unbans).
#pragma once

#include <memory>

#include "control/server.hpp"
#include "core/decision.hpp"
#include "core/engine.hpp"
#include "core/policy.hpp"
#include "daemon/sensor.hpp"
#include "report/decision_format.hpp"

namespace strikeout::daemon {

// A log line per decision: strikes and unbans at info, bans at warn.
class LogLines final : public core::DecisionSink {
 public:
  explicit LogLines(const core::Policy& policy) : formatter_(policy) {}
  void set_policy(const core::Policy& policy) { formatter_ = report::DecisionFormatter(policy); }
  void on_decision(const core::Decision& d) override;

 private:
  report::DecisionFormatter formatter_;
};

// `strikeout watch`: every event and decision, as one JSON object each, to the control socket's
// watchers. Costs nothing while nobody watches.
class WatchStream final : public core::DecisionSink {
 public:
  WatchStream(const core::Engine& engine, const core::Policy& policy) : engine_(engine), formatter_(policy) {}
  void set_policy(const core::Policy& policy) { formatter_ = report::DecisionFormatter(policy); }
  // The control socket, once it is open (none: nothing is published).
  void publish_to(control::ControlServer* server) { server_ = server; }

  void on_event(const Sensor& sensor, const core::Event& event);
  void on_decision(const core::Decision& d) override;

 private:
  bool watched() const { return server_ != nullptr && server_->has_watchers(); }

  const core::Engine& engine_;
  report::DecisionFormatter formatter_;
  control::ControlServer* server_ = nullptr;
};

}  // namespace strikeout::daemon
