#include "control/recent_activity.hpp"

namespace strikeout::control {

RecentActivity::RecentActivity(std::size_t max_addresses, std::size_t per_address, std::uint64_t seed)
    : max_addresses_(max_addresses == 0 ? 1 : max_addresses),
      per_address_(per_address == 0 ? 1 : per_address),
      map_(16, Hash{seed}) {}

RecentActivity::Slot& RecentActivity::slot(const core::Address& a) {
  auto it = map_.find(a);
  if (it != map_.end()) {
    order_.splice(order_.begin(), order_, it->second.lru);
    return it->second;
  }
  if (map_.size() >= max_addresses_) {
    map_.erase(order_.back());
    order_.pop_back();
  }
  order_.push_front(a);
  Slot& s = map_[a];
  s.lru = order_.begin();
  return s;
}

void RecentActivity::push(std::deque<ActivityEntry>& q, ActivityEntry e) const {
  if (q.size() >= per_address_) q.pop_front();
  q.push_back(std::move(e));
}

void RecentActivity::record_event(const core::Event& e) {
  ActivityEntry entry;
  entry.type = ActivityEntry::Type::Event;
  entry.time = e.time;
  entry.kind = e.kind;
  entry.service.assign(e.service.substr(0, 64));
  entry.sensor.assign(e.sensor.substr(0, 64));
  entry.user.assign(e.user.substr(0, 256));
  entry.count = e.count;
  push(slot(e.source).entries, std::move(entry));
}

void RecentActivity::record_decision(const core::Decision& d, const core::Address& about) {
  ActivityEntry entry;
  switch (d.kind) {
    case core::DecisionKind::Strike:
      entry.type = ActivityEntry::Type::Strike;
      break;
    case core::DecisionKind::Ban:
      entry.type = ActivityEntry::Type::Ban;
      break;
    case core::DecisionKind::Unban:
      entry.type = ActivityEntry::Type::Unban;
      break;
  }
  entry.time = d.time;
  entry.sensor = d.sensor.substr(0, 64);
  entry.user = d.user.substr(0, 256);
  entry.rule = d.rule;
  entry.count = d.count;
  entry.threshold = d.threshold;
  entry.offence = d.offence;
  entry.until = d.until;
  entry.extended = d.extended;
  entry.reason = d.reason.substr(0, 512);
  entry.target = d.target;
  Slot& s = slot(about);
  if (entry.type == ActivityEntry::Type::Ban && !entry.extended) push(s.bans, entry);
  push(s.entries, std::move(entry));
}

std::vector<ActivityEntry> RecentActivity::entries(const core::Address& a) const {
  auto it = map_.find(a);
  if (it == map_.end()) return {};
  return {it->second.entries.begin(), it->second.entries.end()};
}

std::vector<ActivityEntry> RecentActivity::bans(const core::Address& a) const {
  auto it = map_.find(a);
  if (it == map_.end()) return {};
  return {it->second.bans.begin(), it->second.bans.end()};
}

nlohmann::json to_json(const ActivityEntry& e) {
  nlohmann::json j = nlohmann::json::object();
  j["time"] = core::format_rfc3339(e.time);
  switch (e.type) {
    case ActivityEntry::Type::Event:
      j["type"] = "event";
      j["kind"] = std::string(core::to_string(e.kind));
      if (!e.service.empty()) j["service"] = e.service;
      if (e.count > 1) j["count"] = e.count;
      break;
    case ActivityEntry::Type::Strike:
      j["type"] = "strike";
      j["rule"] = e.rule;
      j["strike"] = e.count;
      j["threshold"] = e.threshold;
      break;
    case ActivityEntry::Type::Ban:
      j["type"] = "ban";
      j["rule"] = e.rule;
      j["target"] = e.target.to_string();
      j["until"] = core::format_rfc3339(e.until);
      j["offence"] = e.offence;
      j["extended"] = e.extended;
      break;
    case ActivityEntry::Type::Unban:
      j["type"] = "unban";
      j["rule"] = e.rule;
      j["target"] = e.target.to_string();
      break;
  }
  if (!e.sensor.empty()) j["sensor"] = e.sensor;
  if (!e.user.empty()) j["user"] = e.user;
  if (!e.reason.empty()) j["reason"] = e.reason;
  return j;
}

}  // namespace strikeout::control
