// The state store as the daemon sees it: where bans, offence history, the detector's windows and the
// log sources' positions are kept between runs. Pure declarations; the implementation is SQLite in
// WAL mode (src/store, store::SqliteStore). The guarantee it keeps is docs/state.md.
//
// How it is used (one thread, the daemon's event loop, calls everything here):
//   - at start, load_state() once: the saved engine state, positions and hash seed;
//   - while running, every commit interval (100 ms), submit() one StateUpdate: the engine's touched
//     keys (Engine::export_touched) and the sources' positions *taken at the same instant*, so a crash
//     leaves windows and positions that agree: lines after the saved positions are read again and
//     counted once, against the windows as they were when those positions were saved. submit() only
//     queues: a writer thread of the implementation commits, so fsync never blocks the loop;
//   - commit_now() when an answer must wait for durability (a ban made through the CLI): it queues the
//     update and returns once it and everything queued before it are committed with a full sync.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/engine_state.hpp"
#include "core/log_source.hpp"

namespace strikeout::core {

using SavedPositions = std::map<std::string, SourcePosition, std::less<>>;

// One transaction's worth of changes.
struct StateUpdate {
  EngineDelta engine;        // touched keys: present entries are written, gone ones deleted
  SavedPositions positions;  // the sources' positions at the same instant as `engine`
  bool replace_all = false;  // true: engine.present is the WHOLE engine state (at start, after a
                             // reload): every saved ban, offender, window, campaign and report
                             // not in it is deleted
  std::optional<std::uint64_t> hash_seed;  // the engine's hash seed, kept so saved username hashes
                                           // and tables mean the same after a restart

  bool empty() const { return engine.empty() && positions.empty() && !replace_all && !hash_seed; }
};

// What load_state() found.
struct LoadedState {
  EngineState engine;  // expired entries (before the `now` given to load_state) left out
  SavedPositions positions;
  std::optional<std::uint64_t> hash_seed;  // nullopt: a new store
};

struct StoreStats {
  std::uint64_t commits = 0;         // transactions committed
  std::uint64_t updates = 0;         // StateUpdates committed (several may share a transaction)
  std::uint64_t failures = 0;        // transactions that failed (the updates stay queued)
  std::uint64_t last_commit_us = 0;  // duration of the last commit, fsync included
  std::uint64_t queued = 0;          // updates waiting for the writer now
};

class Store : public PositionStore {
 public:
  ~Store() override = default;

  // Reads everything saved. `now` drops what has expired (bans ended, windows too old to matter).
  // Returns nullopt on success, else an error naming the file and what is wrong.
  virtual std::optional<std::string> load_state(Time now, LoadedState& out) = 0;

  // Queues an update for the writer: committed within one commit interval. Never blocks on disk.
  virtual void submit(StateUpdate update) = 0;

  // Queues `update` and blocks until it, and everything submitted before it, is committed and synced
  // to disk (synchronous=FULL for that transaction). Returns nullopt when durable, else the error.
  virtual std::optional<std::string> commit_now(StateUpdate update) = 0;

  // The error of the last failed background commit since the previous call, if any (the writer keeps
  // the failed updates and retries them with the next commit).
  virtual std::optional<std::string> take_error() = 0;

  virtual StoreStats stats() const = 0;

  // The file it lives in, for messages.
  virtual const std::string& path() const = 0;
};

}  // namespace strikeout::core
