// A Firewall that keeps its bans in memory, for tests of the engine's sinks and of the daemon.
// Pure: no kernel, no clock. It behaves like the kernel table as the interface promises: bans expire
// when `now` passes their end, apply() is all or nothing, and a failure can be injected.
#pragma once

#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/firewall.hpp"

namespace strikeout::core {

class FakeFirewall final : public Firewall {
 public:
  explicit FakeFirewall(std::vector<Prefix> allowlist = {}) : allowlist_(std::move(allowlist)) {}

  FirewallResult apply(std::span<const FirewallBan> add_or_extend, std::span<const Prefix> remove,
                       Time now) override {
    ++calls_;
    if (!fail_next_.empty()) {
      auto why = std::move(fail_next_);
      fail_next_.clear();
      return FirewallResult::failure(std::move(why));
    }
    expire(now);
    FirewallResult r;
    for (const auto& b : add_or_extend) {
      if (b.until <= now) continue;
      if (is_allowlisted(b.target)) {
        r.allowlisted.push_back(b.target);
        continue;
      }
      bans_[b.target] = b;
    }
    for (const auto& p : remove) bans_.erase(p);
    return r;
  }

  FirewallResult restore(std::span<const FirewallBan> all, Time now) override {
    ++restores_;
    table_gone_ = false;
    expire(now);
    for (const auto& b : all)
      if (b.until > now && !bans_.contains(b.target)) bans_[b.target] = b;
    return {};
  }

  FirewallResult set_allowlist(std::span<const Prefix> allowlist) override {
    allowlist_.assign(allowlist.begin(), allowlist.end());
    return {};
  }

  bool list(Time now, std::vector<FirewallBan>& out, std::string& /*error*/) override {
    expire(now);
    out.clear();
    for (const auto& [p, b] : bans_) out.push_back(b);
    return true;
  }

  int event_fd() const override { return -1; }
  FirewallEvents handle_events(Time /*now*/) override {
    FirewallEvents e;
    e.table_gone = table_gone_;
    e.rate_limited = std::move(pending_hits_);
    pending_hits_.clear();
    return e;
  }

  const std::vector<FirewallBan>& adopted() const override { return adopted_; }
  const std::vector<Prefix>& allowlist() const override { return allowlist_; }
  Status table_intact() override {
    if (table_gone_) return Failure{"table inet fake is gone"};
    return {};
  }
  Status remove_table() override {
    ++removals_;
    bans_.clear();
    return {};
  }

  // Test controls.
  // Bans a previous run left in the "kernel": adopted() reports them, and they are in force.
  void leave_from_previous_run(std::vector<FirewallBan> bans) {
    adopted_ = std::move(bans);
    for (const auto& b : adopted_) bans_[b.target] = b;
  }
  void fail_next_apply(std::string why) { fail_next_ = std::move(why); }
  void simulate_table_gone() {
    table_gone_ = true;
    bans_.clear();
  }
  void simulate_rate_limit_hit(RateLimitHit hit) { pending_hits_.push_back(hit); }
  bool contains(const Prefix& p) const { return bans_.contains(p); }
  const std::map<Prefix, FirewallBan>& bans() const { return bans_; }
  int apply_calls() const { return calls_; }
  int restore_calls() const { return restores_; }
  int remove_calls() const { return removals_; }

 private:
  bool is_allowlisted(const Prefix& p) const {
    return std::any_of(allowlist_.begin(), allowlist_.end(),
                       [&](const Prefix& a) { return a.contains(p) || p.contains(a); });
  }
  void expire(Time now) {
    std::erase_if(bans_, [&](const auto& kv) { return kv.second.until <= now; });
  }

  std::vector<Prefix> allowlist_;
  std::vector<FirewallBan> adopted_;
  std::map<Prefix, FirewallBan> bans_;
  std::vector<RateLimitHit> pending_hits_;
  std::string fail_next_;
  bool table_gone_ = false;
  int calls_ = 0;
  int restores_ = 0;
  int removals_ = 0;
};

}  // namespace strikeout::core
