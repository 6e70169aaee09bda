#include "daemon/store_sync.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace strikeout::daemon {

namespace {
// What the engine changed is handed to the store's writer thread at least this often, with the
// sources' positions of the same instant; and at once when this many keys were touched (a burst).
constexpr auto kStoreInterval = std::chrono::milliseconds(100);
constexpr std::size_t kStoreMaxTouched = 20000;
}  // namespace

StoreSync::StoreSync(core::Store& store, core::Engine& engine) : store_(store), engine_(engine) {}

void StoreSync::note(const core::Event& event) {
  // Consecutive events of one attacker touch the same keys: keep one entry for them.
  if (touched_.sources.empty() || touched_.sources.back() != event.source)
    touched_.sources.push_back(event.source);
  if (!event.user.empty() && (touched_.usernames.empty() || touched_.usernames.back() != event.user)) {
    touched_.usernames.emplace_back(event.user);
  }
}

void StoreSync::on_decision(const core::Decision& d) {
  if (d.kind != core::DecisionKind::Strike) touched_.targets.push_back(d.target);
}

void StoreSync::burst_done() {
  if (touched_.size() >= kStoreMaxTouched) store_.submit(take_update());
}

// What the engine changed since the last update, with every source's position taken at the same
// instant (all lines before those positions have been handed to the engine), so a crash leaves a
// state whose windows and positions agree.
core::StateUpdate StoreSync::take_update() {
  auto unique = [](auto& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  unique(touched_.sources);
  unique(touched_.usernames);
  unique(touched_.targets);
  core::StateUpdate u;
  u.engine = engine_.export_touched(touched_);
  touched_.clear();
  if (positions_ != nullptr) positions_->checkpoint(u.positions);
  return u;
}

core::Status StoreSync::commit_now() {
  if (auto e = store_.commit_now(take_update())) return core::Failure{*e};
  return {};
}

void StoreSync::replace_all() {
  core::StateUpdate whole = take_update();
  whole.engine = core::EngineDelta{};
  whole.engine.present = engine_.export_state();
  whole.replace_all = true;
  store_.submit(std::move(whole));
}

void StoreSync::metrics(std::vector<metrics::ComponentMetric>& out) const {
  const core::StoreStats st = store_.stats();
  out.push_back({"strikeout_store_commit_failures_total", "counter",
                 "State store commits that failed (their changes stay queued and are retried).",
                 st.failures});
  out.push_back({"strikeout_store_updates_queued", "gauge", "Changes waiting for the state store's writer.",
                 st.queued});
}

void StoreSync::status(nlohmann::json& out) const {
  const core::StoreStats st = store_.stats();
  out = {{"path", store_.path()}, {"commits", st.commits}, {"failures", st.failures}, {"queued", st.queued}};
  out["problem"] = last_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_error_);
}

void StoreSync::start(asio::io_context& io) {
  timer_ = std::make_unique<asio::steady_timer>(io);
  stopped_ = false;
  arm();
}

void StoreSync::stop() {
  stopped_ = true;
  if (timer_) timer_->cancel();
}

void StoreSync::arm() {
  timer_->expires_after(kStoreInterval);
  timer_->async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) return;
    if (!touched_.empty() || (positions_ != nullptr && positions_->positions_moved()))
      store_.submit(take_update());
    // A failed commit is a degraded mode (disk full, file system read-only): the changes stay queued
    // and are retried; said once at warn when it starts and when it ends, counted in
    // strikeout_store_commit_failures_total, and shown in status until a commit succeeds.
    if (auto error = store_.take_error()) {
      if (last_error_.empty())
        spdlog::warn("the state store cannot commit: {} (changes kept queued, retrying)", *error);
      last_error_ = *error;
    } else if (!last_error_.empty() && store_.stats().queued == 0) {
      spdlog::warn("the state store commits again");
      last_error_.clear();
    }
    arm();
  });
}

}  // namespace strikeout::daemon
