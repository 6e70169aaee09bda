// Helpers for the engine's tests: a sink that records decisions, and event builders.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/engine.hpp"

namespace strikeout::core::testing {

struct RecordingSink : DecisionSink {
  std::vector<Decision> decisions;
  void on_decision(const Decision& d) override { decisions.push_back(d); }
  std::vector<Decision> take() {
    std::vector<Decision> out;
    out.swap(decisions);
    return out;
  }
};

inline Address addr(std::string_view text) {
  return *Address::parse(text);
}
inline Prefix net(std::string_view text) {
  return *Prefix::parse(text, true);
}

// A moment of the scenario, in seconds after an arbitrary origin (2026-11-27T00:00:00Z).
inline Time at(double seconds) {
  return from_micros(1'795'737'600'000'000LL + static_cast<std::int64_t>(seconds * 1e6));
}
inline Time at_min(double minutes) {
  return at(minutes * 60);
}

inline Event failure(Time t, std::string_view source, std::string_view user = {},
                     Reporter reporter = Reporter::Postfix) {
  Event e;
  e.time = t;
  e.kind = EventKind::AuthFailure;
  e.source = addr(source);
  e.user = user;
  e.reporter = reporter;
  e.sensor = "mail.log";
  return e;
}

inline Rule address_rule(std::uint32_t hits = 3, Duration within = std::chrono::minutes(20),
                         Duration ban = std::chrono::minutes(20)) {
  Rule r;
  r.name = "auth-failures";
  r.on = EventKind::AuthFailure;
  r.key = KeyKind::Address;
  r.hits = hits;
  r.within = within;
  r.ban = ban;
  return r;
}

inline Policy policy_with(std::vector<Rule> rules, std::vector<Prefix> allow = {}) {
  Policy p;
  p.rules = std::move(rules);
  p.allowlist = std::move(allow);
  p.limits.hash_seed = 42;
  return p;
}

// "strike 2 203.0.113.5", "ban 203.0.113.5", "unban ..." — compact text for expectations.
inline std::string brief(const Decision& d) {
  std::string kind = d.kind == DecisionKind::Strike ? "strike " + std::to_string(d.count)
                     : d.kind == DecisionKind::Ban  ? (d.extended ? "extend" : "ban")
                                                    : "unban";
  return kind + " " + d.target.to_string();
}

inline std::vector<std::string> briefs(const std::vector<Decision>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(brief(d));
  return out;
}

}  // namespace strikeout::core::testing
