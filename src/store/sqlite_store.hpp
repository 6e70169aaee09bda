// core::Store in SQLite (WAL): the daemon's state database, /var/lib/strikeout/state.db by default.
// The guarantee it keeps and the schema: docs/state.md.
//
// Threads: every public function is called from one thread (the daemon's event loop); a writer thread
// of the store's own commits what submit() and commit_now() queue, so a commit's fsync never blocks the
// loop. Everything queued when the writer wakes goes into one transaction.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "core/store.hpp"

namespace strikeout::store {

struct StoreError {
  enum class Kind : std::uint8_t {
    Unreadable,   // the file cannot be opened or read (permissions, a directory, I/O error)
    NotDatabase,  // not an SQLite database at all
    Corrupt,      // SQLite's quick_check or our own decoding found damage
    Foreign,      // an SQLite database, but not strikeout's (tables without schema_version)
    TooNew,       // written by a newer strikeout (schema version above ours)
    Failed,       // anything else (a migration that failed, a full disk)
  };
  Kind kind = Kind::Failed;
  std::string message;  // names the file and what is wrong

  // True for what --reset-state may move aside: the file itself is bad (not a permissions problem).
  bool resettable() const { return kind != Kind::Unreadable && kind != Kind::Failed; }
};

struct SqliteStoreOptions {
  std::string path;  // the database file; its directory must exist
};

class SqliteStore final : public core::Store {
 public:
  // Opens (or creates) the database: WAL, synchronous=NORMAL, schema brought up to date, and a
  // quick_check of the whole file. Starts the writer thread. Refuses, with a StoreError naming the
  // file, what is not a sound strikeout state database of a version it knows.
  static std::variant<std::unique_ptr<SqliteStore>, StoreError> open(SqliteStoreOptions options);
  // Commits what is still queued, then stops the writer.
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // load_state() fails with a message naming the table and row our decoding refuses; the daemon
  // treats any load_state() error as a damaged store.
  std::optional<std::string> load_state(core::Time now, core::LoadedState& out) override;
  void submit(core::StateUpdate update) override;
  std::optional<std::string> commit_now(core::StateUpdate update) override;
  std::optional<std::string> take_error() override;
  core::StoreStats stats() const override;
  const std::string& path() const override;

  // core::PositionStore: positions as load_state() read them; save() keeps one for the next commit();
  // commit() is commit_now() of the saved positions.
  std::optional<core::SourcePosition> load(std::string_view source) const override;
  void save(std::string_view source, const core::SourcePosition& position) override;
  std::optional<std::string> commit() override;

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Moves a bad state file aside, with its -wal and -shm companions: PATH -> PATH.corrupt-YYYYMMDDTHHMMSSZ.
// Returns the new name, or an error naming what could not be moved.
std::variant<std::string, std::string> move_aside(const std::string& path, core::Time now);

}  // namespace strikeout::store
