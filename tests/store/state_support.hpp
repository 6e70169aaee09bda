// Helpers for the store's tests: EngineState in a canonical order (so two states compare with ==), and
// an in-memory image of the store that applies StateUpdates the way the SQLite tables do.
#pragma once

#include <algorithm>
#include <map>
#include <tuple>

#include "core/engine_state.hpp"
#include "core/store.hpp"

namespace strikeout::store::testing {

inline core::EngineState canonical(core::EngineState s) {
  std::sort(s.bans.begin(), s.bans.end(),
            [](const auto& a, const auto& b) { return a.info.target < b.info.target; });
  std::sort(s.offenders.begin(), s.offenders.end(),
            [](const auto& a, const auto& b) { return a.target < b.target; });
  std::sort(s.windows.begin(), s.windows.end(),
            [](const auto& a, const auto& b) { return std::tie(a.rule, a.key) < std::tie(b.rule, b.key); });
  std::sort(s.campaigns.begin(), s.campaigns.end(), [](const auto& a, const auto& b) {
    return std::tie(a.rule, a.username) < std::tie(b.rule, b.username);
  });
  for (auto& c : s.campaigns) {
    std::sort(c.sources.begin(), c.sources.end(),
              [](const auto& a, const auto& b) { return a.source < b.source; });
  }
  std::sort(s.pairing.begin(), s.pairing.end(),
            [](const auto& a, const auto& b) { return a.source < b.source; });
  for (auto& p : s.pairing) {
    std::sort(p.reports.begin(), p.reports.end(), [](const auto& a, const auto& b) {
      return std::tie(a.time, a.user_hash, a.reporter) < std::tie(b.time, b.user_hash, b.reporter);
    });
  }
  return s;
}

// The store's tables as maps, changed by StateUpdates exactly as SqliteStore changes its tables.
struct ImageOfStore {
  std::map<core::Prefix, core::SavedBan> bans;
  std::map<core::Prefix, core::SavedOffender> offenders;
  std::map<std::pair<std::string, core::Prefix>, core::SavedWindow> windows;
  std::map<std::pair<std::string, std::string>, core::SavedCampaign> campaigns;
  std::map<core::Address, core::SavedPairing> pairing;
  bool started = false;
  core::Time now{};

  void apply(const core::StateUpdate& u) {
    const auto& d = u.engine;
    if (u.replace_all) *this = ImageOfStore{};
    for (const auto& t : d.bans_gone) bans.erase(t);
    for (const auto& t : d.offenders_gone) offenders.erase(t);
    for (const auto& k : d.windows_gone) windows.erase({k.rule, k.key});
    for (const auto& k : d.campaigns_gone) campaigns.erase({k.rule, k.username});
    for (const auto& a : d.pairing_gone) pairing.erase(a);
    for (const auto& b : d.present.bans) bans[b.info.target] = b;
    for (const auto& o : d.present.offenders) offenders[o.target] = o;
    for (const auto& w : d.present.windows) windows[{w.rule, w.key}] = w;
    for (const auto& c : d.present.campaigns) campaigns[{c.rule, c.username}] = c;
    for (const auto& p : d.present.pairing) pairing[p.source] = p;
    if (d.present.started) {
      started = true;
      now = d.present.now;
    }
  }

  core::EngineState state() const {
    core::EngineState s;
    s.started = started;
    s.now = now;
    for (const auto& [k, v] : bans) s.bans.push_back(v);
    for (const auto& [k, v] : offenders) s.offenders.push_back(v);
    for (const auto& [k, v] : windows) s.windows.push_back(v);
    for (const auto& [k, v] : campaigns) s.campaigns.push_back(v);
    for (const auto& [k, v] : pairing) s.pairing.push_back(v);
    return canonical(std::move(s));
  }
};

}  // namespace strikeout::store::testing
