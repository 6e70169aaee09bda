// The enforcer: the engine's bans and unbans, as the kernel must hold them. Decisions queue here and
// go to the kernel in one batch when a burst of events is handled (flush), so many bans are one
// change. Written against core::Firewall: nftables in the daemon, core::FakeFirewall in tests; a
// second backend is one class. It also puts the table back when someone removes it (every active
// ban in one batch), and at start makes the kernel's table and the saved state agree (reconcile).
// Runs on the daemon's loop; never blocks on anything but the kernel's answer.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/decision.hpp"
#include "core/engine.hpp"
#include "core/firewall.hpp"
#include "metrics/daemon_metrics.hpp"

namespace strikeout::daemon {

class Enforcer final : public core::DecisionSink {
 public:
  // Whether a ban known only by its rule's name, made as its `offence`-th, sends its target to the
  // decoy (bans put back at start; a decision carries the engine's choice itself).
  using SendsToDecoy = std::function<bool(const std::string& rule, core::RuleAction, std::uint32_t offence)>;

  Enforcer(core::Firewall& firewall, std::string table, const core::Clock& clock,
           metrics::DaemonMetrics& metrics, SendsToDecoy sends_to_decoy);
  ~Enforcer() override;

  // Ban: queued to be added (or its end moved); Unban: queued to be lifted.
  void on_decision(const core::Decision& d) override;

  // Sends what is queued in one batch. On failure nothing was applied: everything stays queued for
  // the next flush (never a silent loss) and the failure is counted and logged. `read_at`: when the
  // input that caused these bans was read (the ban latency metric).
  core::FirewallResult flush(std::optional<std::chrono::steady_clock::time_point> read_at = std::nullopt);

  // Watches the firewall's events on `io` (the table removed from outside: put back with `engine`'s
  // active bans; the kernel's connection-rate limit: logged and counted).
  void watch(asio::io_context& io, const core::Engine& engine);
  // Stops watching (before removing our own table: that is no "table gone" to repair).
  void stop_watching();

  // At start: a ban the kernel holds that the engine does not know is taken over by the engine
  // (through `sink`, so the store keeps it); a saved ban the kernel lacks or holds too short is put
  // back, with every other such ban, in one batch.
  void reconcile(core::Engine& engine, core::DecisionSink& sink, const std::function<void(bool)>& adopting);

  core::Firewall& firewall() { return firewall_; }
  const std::string& table() const { return table_; }
  bool idle() const { return pending_bans_.empty() && pending_unbans_.empty(); }
  std::uint64_t failures() const { return failures_; }          // kernel batches refused (retried)
  std::uint64_t rate_limited() const { return rate_limited_; }  // connections the rate limit refused
  // Its metrics beside its counters: the kernel's own count of rate-limited packets (all sources,
  // NFLOG lost or not).
  void metrics(std::vector<metrics::ComponentMetric>& out) const {
    out.push_back({"strikeout_kernel_rate_limited_packets_total", "counter",
                   "Packets the kernel's connection-rate limit rejected, by the table's own counter.",
                   kernel_rate_limited_});
  }

 private:
  core::FirewallBan kernel_ban(const core::BanInfo& b) const;
  void arm();

  core::Firewall& firewall_;
  std::string table_;
  const core::Clock& clock_;
  metrics::DaemonMetrics& metrics_;
  SendsToDecoy sends_to_decoy_;
  const core::Engine* engine_ = nullptr;
  std::unique_ptr<asio::posix::stream_descriptor> watch_;
  bool watching_ = false;
  std::vector<core::FirewallBan> pending_bans_;
  std::vector<core::Prefix> pending_unbans_;
  std::uint64_t failures_ = 0;
  std::uint64_t rate_limited_ = 0;
  std::uint64_t kernel_rate_limited_ = 0;  // FirewallEvents::rate_limited_total, last seen
};

}  // namespace strikeout::daemon
