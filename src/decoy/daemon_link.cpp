#include "decoy/daemon_link.hpp"

#include <unistd.h>

namespace strikeout::decoy {

bool configuration_uses_decoy(const DecoyOptions& options, const core::Policy& policy) {
  if (!options.enabled) return false;
  for (const auto& rule : policy.rules) {
    if (rule.action == core::RuleAction::Tarpit ||
        (rule.action == core::RuleAction::Ban && rule.tarpit_from_offence != 0))
      return true;
  }
  return false;
}

std::variant<std::unique_ptr<DaemonLink>, std::string> DaemonLink::start(asio::io_context& io,
                                                                         const DecoyOptions& options,
                                                                         const core::Policy& policy,
                                                                         EventHandler on_event,
                                                                         LogHandler on_problem) {
  if (!configuration_uses_decoy(options, policy)) return std::unique_ptr<DaemonLink>{};
  auto secret = load_or_create_secret(options.secret);
  if (auto* error = std::get_if<std::string>(&secret)) return "the decoy: " + *error;
  auto started = Supervisor::start(options, std::get<DecoySecret>(secret));
  if (auto* error = std::get_if<std::string>(&started)) return "the decoy: " + *error;
  return std::unique_ptr<DaemonLink>(
      new DaemonLink(io, std::move(std::get<0>(started)), std::move(on_event), std::move(on_problem)));
}

DaemonLink::DaemonLink(asio::io_context& io, std::unique_ptr<Supervisor> s, EventHandler on_event,
                       LogHandler on_problem)
    : supervisor_(std::move(s)),
      watch_(io, ::dup(supervisor_->event_fd())),
      tick_(io),
      on_problem_(std::move(on_problem)) {
  forward_.handler = std::move(on_event);
  arm();
  on_tick();
}

DaemonLink::~DaemonLink() {
  stopping_ = true;
  asio::error_code ec;
  watch_.cancel(ec);
  tick_.cancel();
}

void DaemonLink::arm() {
  watch_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const asio::error_code& ec) {
    if (ec || stopping_) return;
    supervisor_->handle_events(forward_);
    arm();
  });
}

void DaemonLink::on_tick() {
  for (const auto& problem :
       supervisor_->tick(std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now())))
    on_problem_(problem);
  tick_.expires_after(std::chrono::seconds(1));
  tick_.async_wait([this](const asio::error_code& ec) {
    if (!ec && !stopping_) on_tick();
  });
}

void DaemonLink::metrics(std::vector<metrics::ComponentMetric>& out) const {
  const DecoyCounters c = supervisor_->counters();
  out.push_back(
      {"strikeout_decoy_connections_open", "gauge", "Connections the decoy holds now.", c.connections_open});
  out.push_back({"strikeout_decoy_connections_total", "counter",
                 "Connections the decoy accepted and answered.", c.connections_total});
  out.push_back({"strikeout_decoy_refused_total", "counter",
                 "Connections the decoy refused (not redirected, full, too many from one source).",
                 c.refused_not_redirected + c.refused_full + c.refused_per_source});
  out.push_back({"strikeout_decoy_bytes_sent_total", "counter", "Bytes the decoy sent.", c.bytes_out});
  out.push_back({"strikeout_decoy_time_wasted_seconds_total", "counter",
                 "Seconds of attackers' connections the decoy held.", c.time_wasted_us / 1'000'000U});
  out.push_back({"strikeout_decoy_auth_attempts_total", "counter", "AUTH attempts the decoy answered.",
                 c.auth_attempts});
  out.push_back({"strikeout_decoy_fake_successes_total", "counter", "Fake 235 replies the decoy gave.",
                 c.fake_successes});
}

void DaemonLink::on_decision(const core::Decision& d) {
  // The engine made the tarpit choice (core::tarpit_choice): the decision says whether and how.
  if (d.kind != core::DecisionKind::Ban || !d.tarpit) return;
  supervisor_->assign(d.target, *d.tarpit, d.until);
}

}  // namespace strikeout::decoy
