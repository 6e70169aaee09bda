#include "daemon/enforcer.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "enforce/reconcile.hpp"

namespace strikeout::daemon {

Enforcer::Enforcer(core::Firewall& firewall, std::string table, const core::Clock& clock,
                   metrics::DaemonMetrics& metrics, SendsToDecoy sends_to_decoy)
    : firewall_(firewall),
      table_(std::move(table)),
      clock_(clock),
      metrics_(metrics),
      sends_to_decoy_(std::move(sends_to_decoy)) {}

Enforcer::~Enforcer() {
  stop_watching();
}

core::FirewallBan Enforcer::kernel_ban(const core::BanInfo& b) const {
  // The same choice the engine made with the ban (core::tarpit_choice, carried on its decision): a
  // rule's tarpit action, or an escalation step (tarpit_from_offence) that sends repeat offenders
  // to the decoy.
  return core::FirewallBan{b.target, b.until, sends_to_decoy_(b.rule, b.action, b.offence)};
}

void Enforcer::on_decision(const core::Decision& d) {
  switch (d.kind) {
    case core::DecisionKind::Strike:
      break;
    case core::DecisionKind::Ban:
      pending_bans_.push_back(core::FirewallBan{d.target, d.until, d.tarpit.has_value()});
      break;
    case core::DecisionKind::Unban:
      pending_unbans_.push_back(d.target);
      break;
  }
}

core::FirewallResult Enforcer::flush(std::optional<std::chrono::steady_clock::time_point> read_at) {
  if (idle()) return core::FirewallResult::success();
  const auto result = firewall_.apply(pending_bans_, pending_unbans_, clock_.now());
  if (!result) {
    // Nothing was applied: keep every change and try again on the next tick. Never a silent loss.
    ++failures_;
    spdlog::error("nftables refused {} ban and {} unban changes: {} (retrying)", pending_bans_.size(),
                  pending_unbans_.size(), result.error);
    return result;
  }
  if (read_at) {
    // Line read -> kernel batch done, once per ban the batch carried (docs/cli.md, Metrics).
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - *read_at;
    for (std::size_t i = 0; i < pending_bans_.size(); ++i) metrics_.ban_latency(took.count());
  }
  for (const auto& refused : result.allowlisted) {
    spdlog::warn("not banned: {} is on the allowlist (the host's own addresses are on it)",
                 refused.to_string());
  }
  if (result.sessions_ended > 0)
    spdlog::info("ended {} open sessions of newly banned sources", result.sessions_ended);
  pending_bans_.clear();
  pending_unbans_.clear();
  return result;
}

void Enforcer::watch(asio::io_context& io, const core::Engine& engine) {
  engine_ = &engine;
  if (firewall_.event_fd() < 0) return;
  if (!watch_) watch_ = std::make_unique<asio::posix::stream_descriptor>(io, ::dup(firewall_.event_fd()));
  watching_ = true;
  arm();
}

void Enforcer::stop_watching() {
  watching_ = false;
  if (watch_) {
    asio::error_code ec;
    watch_->cancel(ec);
  }
}

void Enforcer::arm() {
  watch_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const asio::error_code& ec) {
    if (ec || !watching_) return;
    const core::FirewallEvents events = firewall_.handle_events(clock_.now());
    if (!events.error.empty()) spdlog::warn("watching nftables: {}", events.error);
    if (events.rate_limited_total > kernel_rate_limited_) kernel_rate_limited_ = events.rate_limited_total;
    for (const auto& hit : events.rate_limited) {
      ++rate_limited_;
      spdlog::info("SMTP Brute Force Attempt: SRC={} DPT={} rule=connection-rate (kernel limit)",
                   hit.source.to_string(), hit.port);
    }
    if (events.table_gone) {
      std::vector<core::FirewallBan> all;
      for (const auto& ban : engine_->active_bans()) all.push_back(kernel_ban(ban));
      const auto result = firewall_.restore(all, clock_.now());
      if (result) {
        spdlog::warn("the nftables table inet {} was removed from outside; put it back with {} active bans",
                     table_, all.size());
      } else {
        ++failures_;
        spdlog::error("the nftables table inet {} was removed and could not be put back: {} (retrying)",
                      table_, result.error);
      }
    }
    arm();
  });
}

void Enforcer::reconcile(core::Engine& engine, core::DecisionSink& sink,
                         const std::function<void(bool)>& adopting) {
  const auto t = clock_.now();
  std::vector<core::BanInfo> saved = engine.active_bans();
  std::vector<core::Prefix> known;
  known.reserve(saved.size());
  for (const auto& b : saved) known.push_back(b.target);
  std::sort(known.begin(), known.end());
  const auto& in_kernel = firewall_.adopted();
  std::size_t taken_over = 0;
  adopting(true);
  for (const auto& ban : in_kernel) {
    if (std::binary_search(known.begin(), known.end(), ban.target)) continue;
    (void)engine.ban(ban.target, t, std::chrono::duration_cast<core::Duration>(ban.until - t),
                     "taken over from the kernel table at start", sink);
    ++taken_over;
  }
  adopting(false);
  pending_bans_.clear();  // already in the kernel
  std::vector<core::FirewallBan> wanted;
  wanted.reserve(saved.size());
  for (const auto& b : saved) wanted.push_back(kernel_ban(b));
  // Missing, or a kernel timeout a second or more short of the saved end (a re-tag the kernel did not
  // get before a crash). When the table held bans, each one put back is logged with why (the first
  // 100 one by one, then a count by reason); after a reboot the table is empty and all go back.
  const auto put_back = enforce::bans_to_put_back(wanted, in_kernel);
  std::vector<core::FirewallBan> missing;
  missing.reserve(put_back.size());
  std::size_t absent = 0;
  for (const auto& p : put_back) {
    if (!in_kernel.empty() && missing.size() < 100) {
      spdlog::info("putting back the ban of {}: {}", p.ban.target.to_string(), p.why);
    }
    missing.push_back(p.ban);
    if (p.why == "not in the kernel table") ++absent;
  }
  if (!in_kernel.empty() && put_back.size() > 100) {
    spdlog::info(
        "putting back {} more bans ({} in all: {} not in the kernel table, {} with a timeout a second "
        "or more short)",
        put_back.size() - 100, put_back.size(), absent, put_back.size() - absent);
  }
  if (!missing.empty()) {
    const auto result = firewall_.restore(missing, t);
    if (!result) {
      ++failures_;
      spdlog::error("putting {} saved bans back into the kernel failed: {} (retrying with the next batch)",
                    missing.size(), result.error);
      pending_bans_ = missing;
    }
  }
  spdlog::info(
      "kernel table and saved state reconciled: {} bans in the kernel, {} saved; {} taken over from the "
      "kernel, {} put back into it",
      in_kernel.size(), saved.size(), taken_over, missing.size());
}

}  // namespace strikeout::daemon
