// Keeps the state store (docs/state.md) in step with the engine: the keys each event and decision
// touched are noted, and at least every 100 ms (at once after a large burst) the engine's present
// state of those keys goes to the store's writer thread with every log source's position taken at
// the same instant, so a crash leaves windows and positions that agree. Written against core::Store.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <string>

#include "core/decision.hpp"
#include "core/engine.hpp"
#include "core/engine_state.hpp"
#include "core/event.hpp"
#include "core/result.hpp"
#include "core/store.hpp"
#include "metrics/daemon_metrics.hpp"

#include <nlohmann/json.hpp>

namespace strikeout::daemon {

// Who reads positions: the log sensors. The store saves them with the engine's changes.
class PositionSource {
 public:
  virtual ~PositionSource() = default;
  // True when something was read since the last checkpoint().
  virtual bool positions_moved() const = 0;
  // Every source's position now: all lines before it have been handed to the engine.
  virtual void checkpoint(core::SavedPositions& out) = 0;
};

class StoreSync final : public core::DecisionSink {
 public:
  StoreSync(core::Store& store, core::Engine& engine);

  // Where the positions come from (set once the log sensors are open).
  void read_positions_from(PositionSource& positions) { positions_ = &positions; }

  // The keys an event touches: its source and username.
  void note(const core::Event& event);
  // The key a ban or unban touches: its target.
  void on_decision(const core::Decision& d) override;
  // After a burst of events: a burst that touched many keys goes to the writer at once, so one
  // transaction never grows without bound.
  void burst_done();
  // Hands the changes to the writer every interval, on `io`, until stop().
  void start(asio::io_context& io);
  void stop();
  // Commits everything so far and returns once it is on disk (a CLI ban is durable when the CLI
  // hears it is done).
  core::Status commit_now();
  // After a reload dropped windows of changed rules: the store takes the whole state again.
  void replace_all();

  core::Store& store() { return store_; }
  // Its metrics: commits that failed (the updates stay queued and are retried), updates waiting.
  void metrics(std::vector<metrics::ComponentMetric>& out) const;
  // Status: the store's path and counters, and the last commit error while commits fail.
  void status(nlohmann::json& out) const;
  // True while the last background commit failed (disk full, read-only): said in status' warnings.
  bool failing() const { return !last_error_.empty(); }

 private:
  core::StateUpdate take_update();
  void arm();

  core::Store& store_;
  core::Engine& engine_;
  PositionSource* positions_ = nullptr;
  core::TouchedKeys touched_;
  std::unique_ptr<asio::steady_timer> timer_;
  bool stopped_ = false;
  std::string last_error_;  // of the last failed commit; empty once one succeeds again
};

}  // namespace strikeout::daemon
