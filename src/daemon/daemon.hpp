// `strikeout daemon`: the live protection. One event loop (standalone Asio) runs the log sources, the
// engine and the enforcer; no locks on the hot path. See docs/daemon.md.
#pragma once

#include <string>

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

// Runs until SIGTERM or SIGINT. Returns the process exit code: 0 after a clean stop; 1 when start-up
// failed (the reason is logged: a bad configuration, nftables unavailable, an unreadable state file).
int run_daemon(const DaemonOptions& options);

}  // namespace strikeout::daemon
