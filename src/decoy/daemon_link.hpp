// The decoy inside the daemon: starts the supervisor when the configuration sends anyone to the decoy,
// watches it on the daemon's Asio loop, turns each AUTH attempt into an engine event, and tells the
// workers which mode each newly tarpitted source gets. What daemon.cpp calls, in one place, so the
// daemon's own file needs only a few lines.
#pragma once

#include <asio.hpp>

#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "core/decision.hpp"
#include "core/engine.hpp"
#include "core/event.hpp"
#include "decoy/options.hpp"
#include "decoy/supervisor.hpp"
#include "metrics/daemon_metrics.hpp"

namespace strikeout::decoy {

// Whether any rule sends sources to the decoy (action "tarpit", or tarpit_from_offence).
bool configuration_uses_decoy(const DecoyOptions& options, const core::Policy& policy);

// Also one of the daemon's decision sinks: a ban that sends its target to the decoy tells the workers
// which mode that source gets.
class DaemonLink final : public core::DecisionSink {
 public:
  using EventHandler = std::function<void(const core::Event&)>;
  using LogHandler = std::function<void(const std::string&)>;

  // nullptr (and no error) when the configuration sends nobody to the decoy; an error when it does
  // but the decoy could not start (secret, record file, port).
  static std::variant<std::unique_ptr<DaemonLink>, std::string> start(asio::io_context& io,
                                                                      const DecoyOptions& options,
                                                                      const core::Policy& policy,
                                                                      EventHandler on_event,
                                                                      LogHandler on_problem);
  ~DaemonLink() override;

  // A Ban decision: when it sends its target to the decoy, the workers learn the rule's mode.
  void on_decision(const core::Decision& d) override;
  // Its metrics (summed over the workers, at most a second old), declared here beside the counters.
  void metrics(std::vector<metrics::ComponentMetric>& out) const;
  const Supervisor& supervisor() const { return *supervisor_; }

 private:
  DaemonLink(asio::io_context& io, std::unique_ptr<Supervisor> s, EventHandler on_event,
             LogHandler on_problem);
  void arm();
  void on_tick();

  struct Forward final : AttemptSink {
    EventHandler handler;
    void on_attempt(const AuthAttempt& a) override { handler(to_event(a)); }
  };

  std::unique_ptr<Supervisor> supervisor_;
  asio::posix::stream_descriptor watch_;
  asio::steady_timer tick_;
  Forward forward_;
  LogHandler on_problem_;
  bool stopping_ = false;
};

}  // namespace strikeout::decoy
