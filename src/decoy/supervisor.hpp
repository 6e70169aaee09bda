// The decoy as the daemon (or `strikeout decoy serve`) sees it: starts the worker processes, tells them
// which mode each tarpitted source gets, collects their AUTH attempts (written to the record file, and
// handed to the caller as engine events) and their counters.
//
// Event-loop agnostic, like core::Firewall: one pollable fd; when it is readable call handle_events().
// Call tick() about once a second (restarts dead workers, rewrites the stats file).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/event.hpp"
#include "decoy/counters.hpp"
#include "decoy/keyed_hash.hpp"
#include "decoy/options.hpp"
#include "decoy/session.hpp"

namespace strikeout::decoy {

// Reads the per-install secret from `path` (32 bytes), creating it (mode 0600, from getrandom) when it
// does not exist. Refuses a file of another size, or one that group or others may read.
std::variant<DecoySecret, std::string> load_or_create_secret(const std::filesystem::path& path);

// The engine's view of an AUTH attempt in the decoy: an AuthFailure (a fake 235 is still a guess)
// reported by Reporter::Decoy, sensor "decoy". Views into `a`.
core::Event to_event(const AuthAttempt& a);

class Supervisor {
 public:
  // Forks `worker_count(options)` workers (each opens its own SO_REUSEPORT socket on options.port) and
  // opens the record files. Fails when the port cannot be opened or a file cannot be created.
  static std::variant<std::unique_ptr<Supervisor>, std::string> start(const DecoyOptions& options,
                                                                      const DecoySecret& secret);
  ~Supervisor();  // stops the workers (SIGTERM, then waits for them)
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  int event_fd() const { return epoll_fd_; }
  // Reads what the workers sent: each AUTH attempt is recorded and passed to `sink`.
  void handle_events(AttemptSink& sink);
  // Restarts workers that died (at most one restart per worker every 5 s), rewrites the stats file
  // every 5 s, and returns problems to log (empty when none).
  std::vector<std::string> tick(core::Time now);

  // From now until `until`, connections from `target` get `mode` (the rule that sent them there).
  void assign(const core::Prefix& target, Mode mode, core::Time until);

  // The workers' counters summed (each worker's as of its last report, at most a second old).
  DecoyCounters counters() const;
  const DecoyOptions& options() const { return options_; }
  // The live workers' process ids (for tests and `ps`: they are named strikeout-decoy).
  std::vector<pid_t> worker_pids() const {
    std::vector<pid_t> pids;
    for (const auto& w : workers_)
      if (w.pid > 0) pids.push_back(w.pid);
    return pids;
  }

 private:
  struct WorkerProcess {
    pid_t pid = -1;
    int channel = -1;        // our end of the socketpair
    DecoyCounters counters;  // the last snapshot it sent
    core::Time died{};       // when it was noticed dead (pid == -1)
  };

  Supervisor(const DecoyOptions& options, const DecoySecret& secret);
  std::string spawn(std::size_t index);
  void reap(std::size_t index, core::Time now);
  void record(const AuthAttempt& a, std::string_view hash);
  void write_stats(core::Time now);

  DecoyOptions options_;
  DecoySecret secret_;
  std::vector<WorkerProcess> workers_;
  int epoll_fd_ = -1;
  int record_fd_ = -1;
  int passwords_fd_ = -1;
  std::uint64_t record_bytes_ = 0;
  std::uint64_t restarts_ = 0;
  DecoyCounters closed_workers_;  // counters of workers that died, so totals never go backwards
  core::Time last_stats_{};
  std::vector<std::pair<core::Prefix, std::pair<Mode, core::Time>>> assignments_;  // for restarted workers
};

}  // namespace strikeout::decoy
