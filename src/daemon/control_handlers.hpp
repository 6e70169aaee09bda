// The control socket's eight commands (docs/cli.md): status, list, ban, unban, explain, allow
// add/remove/list, plus watch and reload. Each runs on the daemon's loop and answers after the kernel
// has the change (a ban, unban or allowlist change is flushed in its own batch before the reply) and,
// for a ban or unban, after the store has it on disk. They see the daemon only through DaemonView.
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "control/recent_activity.hpp"
#include "control/server.hpp"
#include "core/decision.hpp"
#include "core/engine.hpp"
#include "core/result.hpp"
#include "daemon/enforcer.hpp"

namespace strikeout::daemon {

// Allowlist entries added with `strikeout allow add`, kept in a file beside the state.
struct RuntimeAllowlist {
  std::vector<core::Prefix> entries;
  std::filesystem::path file;
};

// What the control commands may see and do of the running daemon.
class DaemonView {
 public:
  virtual ~DaemonView() = default;
  virtual core::Time now() const = 0;
  virtual const config::Config& config() const = 0;
  virtual core::Engine& engine() = 0;
  virtual core::DecisionSink& decisions() = 0;  // the ordered sinks, for operator bans and unbans
  virtual Enforcer& enforcer() = 0;
  virtual const control::RecentActivity& recent() const = 0;
  virtual RuntimeAllowlist& runtime_allowlist() = 0;
  // The engine and the kernel take the allowlist as it now is (configuration + runtime entries).
  virtual core::Status apply_allowlist() = 0;
  // Everything the engine changed is on disk when this returns.
  virtual core::Status commit_state_now() = 0;
  // Reloads the configuration: the number of rules, or the refusal with every error.
  virtual core::Result<std::size_t> reload() = 0;
  // Status' parts that belong to the daemon as a whole: pid, times, configuration, sensors, warnings,
  // the control socket and the metrics endpoint.
  virtual void describe(nlohmann::json& status) = 0;
};

class ControlHandlers final : public control::ControlHandler {
 public:
  explicit ControlHandlers(DaemonView& daemon) : d_(daemon) {}
  control::Reply handle(const control::Request& request, const control::Peer& peer) override;

 private:
  control::Reply status();
  control::Reply list(const std::string& rule);
  control::Reply ban(const control::Request& request);
  control::Reply unban(const core::Prefix& target);
  control::Reply explain(const core::Address& address);
  control::Reply allow_add(const core::Prefix& target);
  control::Reply allow_remove(const core::Prefix& target);
  control::Reply allow_list();
  control::Reply reload();

  DaemonView& d_;
};

}  // namespace strikeout::daemon
