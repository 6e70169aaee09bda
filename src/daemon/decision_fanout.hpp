// The daemon's decision sinks, in order: every Strike, Ban and Unban the engine emits is handed to each
// of them in the order they were added. The order is part of the contract: the store notes the
// target before anything can ask for a commit, the log line is written before the kernel batch that
// enforces it, and the decoy hears of a tarpitted source when the kernel is told to send it there.
// A new sink (fleet, webhooks) is one class implementing core::DecisionSink and one add() in
// daemon.cpp (docs/architecture.md, "Adding a sink").
#pragma once

#include <vector>

#include "core/decision.hpp"

namespace strikeout::daemon {

class DecisionFanout final : public core::DecisionSink {
 public:
  // What a sink is told while the daemon adopts bans it found in the kernel at start.
  enum class During : bool {
    Everything,  // every decision, adopted bans too (enforcer, store, metrics)
    LiveOnly,    // only decisions about live events: adopted bans are not news (log lines, watch)
  };

  void add(core::DecisionSink& sink, During during = During::Everything) {
    sinks_.push_back(Entry{&sink, during});
  }

  void on_decision(const core::Decision& d) override {
    for (const auto& e : sinks_) {
      if (adopting_ && e.during == During::LiveOnly) continue;
      e.sink->on_decision(d);
    }
  }

  // While true, LiveOnly sinks hear nothing (taking over the kernel's bans at start: no log line each).
  void set_adopting(bool adopting) { adopting_ = adopting; }

 private:
  struct Entry {
    core::DecisionSink* sink;
    During during;
  };
  std::vector<Entry> sinks_;
  bool adopting_ = false;
};

}  // namespace strikeout::daemon
