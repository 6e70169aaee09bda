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
    if (auto error = store_.take_error()) spdlog::error("{} (kept queued, retrying)", *error);
    arm();
  });
}

}  // namespace strikeout::daemon
