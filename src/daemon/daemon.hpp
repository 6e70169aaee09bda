// `strikeout daemon`: the live protection. One event loop (standalone Asio) runs the sensors, the
// engine and the enforcer; no locks on the hot path. See docs/daemon.md and docs/architecture.md
// ("The daemon's parts").
#pragma once

#include <asio.hpp>

#include <functional>
#include <memory>
#include <string>

#include "control/protocol.hpp"
#include "control/server.hpp"
#include "core/clock.hpp"
#include "core/event.hpp"
#include "core/firewall.hpp"
#include "core/result.hpp"
#include "enforce/nft_options.hpp"

namespace strikeout::daemon {

struct DaemonOptions {
  std::string config_path;         // the configuration file
  bool config_path_given = false;  // false: a missing default file means the built-in configuration
  std::string positions_path;      // empty: "positions" beside [state] path; read once, into the state
                                   // database, if the database holds no positions yet (docs/state.md)
  bool flush_on_exit = false;      // remove our table (and every ban in it) when stopping
  bool reset_state = false;        // a damaged state database is moved aside (state.db.corrupt-TIME)
                                   // and the daemon starts with an empty one; without it, it refuses
};

// What the daemon takes from the machine. The defaults are the real ones; the component test of the
// daemon loop (tests/daemon) gives a fake clock and core::FakeFirewall and keeps its own process.
struct Environment {
  const core::Clock* clock = nullptr;  // null: the system clock
  // Opens the firewall for the options the configuration implies; unset: nftables (NftFirewall).
  std::function<core::Result<std::unique_ptr<core::Firewall>>(const enforce::NftOptions&, core::Time)>
      open_firewall;
  // The process is the daemon's: its log, signals (SIGTERM, SIGINT, SIGHUP), and capabilities
  // dropped after start. False in tests, which share their process.
  bool process = true;
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options, Environment env = {});
  ~Daemon();  // stops it, if started: pending bans flushed, the state committed
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // start(), then the loop until SIGTERM or SIGINT. Returns the process exit code: 0 after a clean
  // stop; 1 when start-up failed (the reason is logged).
  int run();

  // Everything before the loop: configuration, state, firewall, sensors, control socket. For tests,
  // which then drive io() and tick() themselves.
  core::Status start();
  asio::io_context& io();
  // One turn of the loop's heartbeat (bans due end, the firewall retries, sources wake).
  void tick();
  // A control command as root sends it on the socket.
  control::Reply control(const control::Request& request);
  // The metrics endpoint's text.
  std::string metrics_text();
  // What the decoy's link calls for each AUTH attempt its workers saw.
  void decoy_attempt(const core::Event& event);
  void stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Runs until SIGTERM or SIGINT. Returns the process exit code: 0 after a clean stop; 1 when start-up
// failed (the reason is logged: a bad configuration, nftables unavailable, an unreadable state file).
int run_daemon(const DaemonOptions& options);

}  // namespace strikeout::daemon
