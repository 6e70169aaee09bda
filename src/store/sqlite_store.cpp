#include "store/sqlite_store.hpp"

#include <sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "store/codec.hpp"
#include "store/schema.hpp"

namespace strikeout::store {

namespace {

using Clock = std::chrono::steady_clock;

// Rows that can no longer matter are pruned at most this often (in engine time), inside a commit.
constexpr auto kPruneEvery = std::chrono::minutes(1);

// A prepared statement, finalized with its owner.
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, const char* sql, std::string& error) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st_, nullptr) != SQLITE_OK) {
      error = sqlite3_errmsg(db);
      st_ = nullptr;
    }
  }
  ~Statement() { sqlite3_finalize(st_); }
  Statement(Statement&& o) noexcept : st_(o.st_) { o.st_ = nullptr; }
  Statement& operator=(Statement&& o) noexcept {
    std::swap(st_, o.st_);
    return *this;
  }
  sqlite3_stmt* get() const { return st_; }

 private:
  sqlite3_stmt* st_ = nullptr;
};

// Binding helpers: parameters are numbered from 1.
struct Binder {
  sqlite3_stmt* st;
  int i = 0;
  Binder& text(std::string_view s) {
    sqlite3_bind_text(st, ++i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // An empty blob is bound as a zero-length blob: a null pointer would bind NULL.
  Binder& blob(std::span<const std::uint8_t> b) {
    if (b.empty()) {
      sqlite3_bind_zeroblob(st, ++i, 0);
    } else {
      sqlite3_bind_blob(st, ++i, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
    }
    return *this;
  }
  Binder& blob(std::string_view b) {
    return blob(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()));
  }
  Binder& integer(std::int64_t v) {
    sqlite3_bind_int64(st, ++i, v);
    return *this;
  }
  Binder& time(core::Time t) { return integer(core::to_micros(t)); }
  Binder& null() {
    sqlite3_bind_null(st, ++i);
    return *this;
  }
};

std::string_view column_text(sqlite3_stmt* st, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
  return p == nullptr ? std::string_view{}
                      : std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(st, i)));
}
std::span<const std::uint8_t> column_blob(sqlite3_stmt* st, int i) {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, i));
  return p == nullptr
             ? std::span<const std::uint8_t>{}
             : std::span<const std::uint8_t>(p, static_cast<std::size_t>(sqlite3_column_bytes(st, i)));
}
core::Time column_time(sqlite3_stmt* st, int i) {
  return core::from_micros(sqlite3_column_int64(st, i));
}

std::string errno_text(int e) {
  return std::strerror(e);
}

struct Pending {
  core::StateUpdate update;
  std::uint64_t seq = 0;
  bool durable = false;
};

}  // namespace

struct SqliteStore::Impl {
  std::string path;
  sqlite3* db = nullptr;
  core::SavedPositions positions;  // as loaded, then as saved
  core::SavedPositions unsaved;    // PositionStore::save() since the last commit()

  // Statements (writer thread only, after open).
  Statement ban_put, ban_del, offender_put, offender_del, window_put, window_del, campaign_put, campaign_del,
      pairing_put, pairing_del, position_put, meta_put;

  // Shared with the writer thread.
  mutable std::mutex mu;
  std::condition_variable wake;       // the writer: work queued or stop
  std::condition_variable committed;  // commit_now() waiters
  std::deque<Pending> queue;
  std::uint64_t next_seq = 1;
  std::uint64_t done_seq = 0;    // every update with seq <= done_seq is committed
  std::uint64_t failed_seq = 0;  // the newest update that was part of a failed transaction
  std::string failed_error;
  std::optional<std::string> unreported;
  core::StoreStats stats;
  bool stopping = false;
  std::thread writer;
  core::Time last_prune{};

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    wake.notify_all();
    if (writer.joinable()) writer.join();
    ban_put = {};
    ban_del = {};
    offender_put = {};
    offender_del = {};
    window_put = {};
    window_del = {};
    campaign_put = {};
    campaign_del = {};
    pairing_put = {};
    pairing_del = {};
    position_put = {};
    meta_put = {};
    if (db != nullptr) sqlite3_close_v2(db);
  }

  bool exec(const char* sql, std::string& error) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      error = msg != nullptr ? msg : sqlite3_errmsg(db);
      sqlite3_free(msg);
      return false;
    }
    return true;
  }

  bool step(const Statement& s, std::string& error) {
    const int rc = sqlite3_step(s.get());
    sqlite3_reset(s.get());
    sqlite3_clear_bindings(s.get());
    if (rc != SQLITE_DONE) {
      error = sqlite3_errmsg(db);
      return false;
    }
    return true;
  }

  bool prepare(std::string& error) {
    struct {
      Statement* s;
      const char* sql;
    } all[] = {
        {&ban_put,
         "INSERT OR REPLACE INTO bans(target, rule, by_rule, action, since, until, count, offence, length, "
         "max_until, "
         "reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)"},
        {&ban_del, "DELETE FROM bans WHERE target = ?"},
        {&offender_put,
         "INSERT OR REPLACE INTO offenders(target, offences, last_end, forget_after, expires) VALUES "
         "(?,?,?,?,?)"},
        {&offender_del, "DELETE FROM offenders WHERE target = ?"},
        {&window_put, "INSERT OR REPLACE INTO windows(rule, key, times, expires) VALUES (?,?,?,?)"},
        {&window_del, "DELETE FROM windows WHERE rule = ? AND key = ?"},
        {&campaign_put,
         "INSERT OR REPLACE INTO campaigns(rule, username, display, last, active_until, sources_total, "
         "sources, "
         "expires) VALUES (?,?,?,?,?,?,?,?)"},
        {&campaign_del, "DELETE FROM campaigns WHERE rule = ? AND username = ?"},
        {&pairing_put, "INSERT OR REPLACE INTO pairing(source, reports, expires) VALUES (?,?,?)"},
        {&pairing_del, "DELETE FROM pairing WHERE source = ?"},
        {&position_put,
         "INSERT OR REPLACE INTO positions(source, kind, inode, \"offset\", fingerprint, fingerprint_length, "
         "cursor) "
         "VALUES (?,?,?,?,?,?,?)"},
        {&meta_put, "INSERT OR REPLACE INTO meta(name, value) VALUES (?,?)"},
    };
    for (auto& [s, sql] : all) {
      *s = Statement(db, sql, error);
      if (s->get() == nullptr) return false;
    }
    return true;
  }

  // ---- writing (writer thread) ----

  bool write_ban(const core::SavedBan& b, std::string& error) {
    Binder(ban_put.get())
        .text(b.info.target.to_string())
        .text(b.info.rule)
        .integer(b.by_rule ? 1 : 0)
        .integer(static_cast<std::int64_t>(b.info.action))
        .time(b.info.since)
        .time(b.info.until)
        .integer(b.info.count)
        .integer(b.info.offence)
        .integer(b.length.count())
        .time(b.max_until)
        .text(b.info.reason);
    return step(ban_put, error);
  }

  bool apply(const core::StateUpdate& u, std::string& error) {
    const core::EngineDelta& d = u.engine;
    if (u.replace_all) {
      if (!exec("DELETE FROM bans; DELETE FROM offenders; DELETE FROM windows; DELETE FROM campaigns; "
                "DELETE FROM pairing;",
                error))
        return false;
    }
    for (const auto& t : d.bans_gone) {
      Binder(ban_del.get()).text(t.to_string());
      if (!step(ban_del, error)) return false;
    }
    for (const auto& t : d.offenders_gone) {
      Binder(offender_del.get()).text(t.to_string());
      if (!step(offender_del, error)) return false;
    }
    for (const auto& k : d.windows_gone) {
      Binder(window_del.get()).text(k.rule).text(k.key.to_string());
      if (!step(window_del, error)) return false;
    }
    for (const auto& k : d.campaigns_gone) {
      Binder(campaign_del.get()).text(k.rule).blob(std::string_view(k.username));
      if (!step(campaign_del, error)) return false;
    }
    for (const auto& a : d.pairing_gone) {
      Binder(pairing_del.get()).text(a.to_string());
      if (!step(pairing_del, error)) return false;
    }
    const core::EngineState& s = d.present;
    for (const auto& b : s.bans) {
      if (!write_ban(b, error)) return false;
    }
    for (const auto& o : s.offenders) {
      Binder(offender_put.get())
          .text(o.target.to_string())
          .integer(o.offences)
          .time(o.last_end)
          .integer(o.forget_after.count())
          .time(o.expires());
      if (!step(offender_put, error)) return false;
    }
    for (const auto& w : s.windows) {
      const Bytes times = encode_times(w.times);
      Binder(window_put.get()).text(w.rule).text(w.key.to_string()).blob(times).time(w.expires);
      if (!step(window_put, error)) return false;
    }
    for (const auto& c : s.campaigns) {
      const Bytes sources = encode_campaign_sources(c.sources);
      Binder b(campaign_put.get());
      b.text(c.rule).blob(std::string_view(c.username)).blob(std::string_view(c.display)).time(c.last);
      if (c.active) {
        b.time(c.active_until);
      } else {
        b.null();
      }
      b.integer(c.sources_total).blob(sources).time(c.expires);
      if (!step(campaign_put, error)) return false;
    }
    for (const auto& p : s.pairing) {
      const Bytes reports = encode_reports(p.reports);
      Binder(pairing_put.get()).text(p.source.to_string()).blob(reports).time(p.expires);
      if (!step(pairing_put, error)) return false;
    }
    for (const auto& [name, pos] : u.positions) {
      Binder b(position_put.get());
      b.text(name);
      if (const auto* f = std::get_if<core::FilePosition>(&pos)) {
        b.text("file")
            .integer(static_cast<std::int64_t>(f->inode))
            .integer(static_cast<std::int64_t>(f->offset))
            .integer(static_cast<std::int64_t>(f->fingerprint))
            .integer(f->fingerprint_length)
            .null();
      } else {
        b.text("journal").null().null().null().null().text(std::get<core::JournalCursor>(pos).cursor);
      }
      if (!step(position_put, error)) return false;
    }
    if (s.started) {
      Binder(meta_put.get()).text("engine_now").time(s.now);
      if (!step(meta_put, error)) return false;
    }
    if (u.hash_seed) {
      Binder(meta_put.get()).text("hash_seed").integer(static_cast<std::int64_t>(*u.hash_seed));
      if (!step(meta_put, error)) return false;
    }
    return true;
  }

  // Deletes rows that can no longer matter at engine time `now` (their bans and windows expired in
  // the engine without a touch, e.g. a window that simply aged).
  bool prune(core::Time now, std::string& error) {
    const std::string t = std::to_string(core::to_micros(now));
    const std::string sql =
        "DELETE FROM bans WHERE until <= " + t + "; DELETE FROM offenders WHERE expires < " + t +
        "; DELETE FROM windows WHERE expires < " + t + "; DELETE FROM campaigns WHERE expires < " + t +
        "; DELETE FROM pairing WHERE expires < " + t + ";";
    return exec(sql.c_str(), error);
  }

  // One transaction for everything in `batch`.
  bool commit_batch(const std::deque<Pending>& batch, std::string& error) {
    bool durable = false;
    core::Time engine_now{};
    for (const auto& p : batch) {
      durable = durable || p.durable;
      if (p.update.engine.present.started) engine_now = std::max(engine_now, p.update.engine.present.now);
    }
    std::string ignored;
    // A CLI ban must survive a power cut once the CLI says it is done: that transaction syncs the WAL.
    if (durable) exec("PRAGMA synchronous=FULL", ignored);
    bool ok = exec("BEGIN IMMEDIATE", error);
    for (const auto& p : batch) {
      if (!ok) break;
      ok = apply(p.update, error);
    }
    if (ok && engine_now > last_prune + kPruneEvery) {
      ok = prune(engine_now, error);
      if (ok) last_prune = engine_now;
    }
    if (ok) ok = exec("COMMIT", error);
    if (!ok) exec("ROLLBACK", ignored);
    if (durable) exec("PRAGMA synchronous=NORMAL", ignored);
    return ok;
  }

  void run_writer() {
    std::unique_lock lock(mu);
    while (true) {
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty() && stopping) return;
      std::deque<Pending> batch;
      batch.swap(queue);
      stats.queued = 0;
      lock.unlock();
      std::string error;
      const auto started = Clock::now();
      const bool ok = commit_batch(batch, error);
      const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
      lock.lock();
      const std::uint64_t last = batch.back().seq;
      if (ok) {
        done_seq = last;
        ++stats.commits;
        stats.updates += batch.size();
        stats.last_commit_us = static_cast<std::uint64_t>(took.count());
      } else {
        // Keep every update, in order, ahead of what came since; commit_now() callers hear the error.
        ++stats.failures;
        failed_seq = last;
        failed_error = "committing to " + path + ": " + error;
        unreported = failed_error;
        for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue.push_front(std::move(*it));
        stats.queued = queue.size();
      }
      committed.notify_all();
      if (!ok && !stopping) {
        // Do not spin on a full disk: the next try waits for a second or for a stop.
        wake.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; });
      } else if (!ok) {
        return;  // stopping with a failing database: what is queued is lost, and was reported
      }
    }
  }
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

std::variant<std::unique_ptr<SqliteStore>, StoreError> SqliteStore::open(SqliteStoreOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->path = options.path;
  const std::string& path = impl->path;
  auto fail = [&](StoreError::Kind kind, const std::string& what) {
    return StoreError{kind, "state database " + path + ": " + what};
  };
  struct stat sb {};
  const bool exists = ::stat(path.c_str(), &sb) == 0;
  if (exists) {
    if (!S_ISREG(sb.st_mode)) return fail(StoreError::Kind::Unreadable, "not a regular file");
    if (::access(path.c_str(), R_OK | W_OK) != 0)
      return fail(StoreError::Kind::Unreadable, "cannot be read and written: " + errno_text(errno));
    if (sb.st_size > 0 && sb.st_size < 100)
      return fail(StoreError::Kind::NotDatabase, "not an SQLite database (" + std::to_string(sb.st_size) +
                                                     " bytes, shorter than a database header)");
  } else if (errno != ENOENT) {
    return fail(StoreError::Kind::Unreadable, errno_text(errno));
  } else {
    // A new database is created 0600 here, whatever the umask: SQLite would make it 0644 & ~umask
    // (world-readable outside systemd's UMask=0077), and its -wal and -shm files take this file's mode.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno != EEXIST) return fail(StoreError::Kind::Unreadable, errno_text(errno));
    if (fd >= 0) {
      ::fchmod(fd, 0600);
      ::close(fd);
    }
  }
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &impl->db, flags, nullptr) != SQLITE_OK) {
    const std::string why = impl->db != nullptr ? sqlite3_errmsg(impl->db) : "out of memory";
    return fail(StoreError::Kind::Unreadable, why);
  }
  sqlite3* db = impl->db;
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  std::string error;
  // The first read of the file tells a database from anything else.
  if (!impl->exec("PRAGMA journal_mode=WAL", error)) {
    const int code = sqlite3_errcode(db) & 0xff;
    if (code == SQLITE_NOTADB)
      return fail(StoreError::Kind::NotDatabase, "not an SQLite database (" + error + ")");
    if (code == SQLITE_CORRUPT) return fail(StoreError::Kind::Corrupt, "damaged (" + error + ")");
    return fail(StoreError::Kind::Unreadable, error);
  }
  impl->exec("PRAGMA synchronous=NORMAL", error);
  impl->exec("PRAGMA foreign_keys=OFF", error);
  // Damage anywhere in the file is found now, not when a row happens to be read.
  {
    sqlite3_stmt* st = nullptr;
    std::string problems;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, nullptr) != SQLITE_OK) {
      const int code = sqlite3_errcode(db) & 0xff;
      const std::string why = sqlite3_errmsg(db);
      return fail(code == SQLITE_NOTADB ? StoreError::Kind::NotDatabase : StoreError::Kind::Corrupt,
                  "integrity check failed: " + why);
    }
    int rc = SQLITE_OK;
    int lines = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const auto* line = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      const std::string text = line != nullptr ? line : "";
      if (text == "ok") continue;
      if (++lines <= 3) problems += (problems.empty() ? "" : "; ") + text;
    }
    if (rc != SQLITE_DONE) problems += (problems.empty() ? "" : "; ") + std::string(sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (!problems.empty()) return fail(StoreError::Kind::Corrupt, "integrity check failed: " + problems);
  }
  int version = 0;
  if (!read_schema_version(db, version, error)) return fail(StoreError::Kind::Foreign, error);
  if (version > kSchemaVersion) {
    return fail(StoreError::Kind::TooNew, "schema version " + std::to_string(version) +
                                              " was written by a newer strikeout; this one knows up to " +
                                              std::to_string(kSchemaVersion));
  }
  if (!migrate(db, migrations(), kSchemaVersion, error)) return fail(StoreError::Kind::Failed, error);
  if (!impl->prepare(error)) return fail(StoreError::Kind::Failed, "preparing statements: " + error);
  Impl* raw = impl.get();
  impl->writer = std::thread([raw] { raw->run_writer(); });
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

std::optional<std::string> SqliteStore::load_state(core::Time now, core::LoadedState& out) {
  Impl& m = *impl_;
  out = core::LoadedState{};
  // The writer has not been given anything yet (load_state() comes first), so this thread may read.
  std::string error;
  auto query = [&](const char* sql, auto&& row) -> bool {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m.db, sql, -1, &st, nullptr) != SQLITE_OK) {
      error = sqlite3_errmsg(m.db);
      return false;
    }
    int rc = SQLITE_OK;
    bool ok = true;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) ok = row(st);
    if (ok && rc != SQLITE_DONE) {
      error = sqlite3_errmsg(m.db);
      ok = false;
    }
    sqlite3_finalize(st);
    return ok;
  };
  auto bad = [&](const char* table, std::string_view key, const std::string& what) {
    std::string shown;
    for (char c : key.substr(0, 64)) shown.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    error = std::string("table ") + table + ", row \"" + shown + "\": " + what;
    return false;
  };
  const std::int64_t now_us = core::to_micros(now);
  core::EngineState& st = out.engine;
  bool ok = query("SELECT name, value FROM meta", [&](sqlite3_stmt* s) {
    const std::string_view name = column_text(s, 0);
    if (name == "hash_seed") out.hash_seed = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
    if (name == "engine_now") {
      st.started = true;
      st.now = column_time(s, 1);
    }
    return true;
  });
  ok = ok &&
       query(
           "SELECT target, rule, by_rule, action, since, until, count, offence, length, max_until, reason "
           "FROM bans",
           [&](sqlite3_stmt* s) {
             if (sqlite3_column_int64(s, 5) <= now_us) return true;
             std::string why;
             const auto target = decode_prefix(column_text(s, 0), why);
             if (!target) return bad("bans", column_text(s, 0), why);
             const auto action = sqlite3_column_int64(s, 3);
             if (action < 0 || action > static_cast<std::int64_t>(core::kLastRuleAction))
               return bad("bans", column_text(s, 0), "unknown action");
             core::SavedBan b;
             b.info.target = *target;
             b.info.rule = std::string(column_text(s, 1));
             b.by_rule = sqlite3_column_int64(s, 2) != 0;
             b.info.action = static_cast<core::RuleAction>(action);
             b.info.since = column_time(s, 4);
             b.info.until = column_time(s, 5);
             b.info.count = static_cast<std::uint32_t>(sqlite3_column_int64(s, 6));
             b.info.offence = static_cast<std::uint32_t>(sqlite3_column_int64(s, 7));
             b.length = core::Duration{sqlite3_column_int64(s, 8)};
             b.max_until = column_time(s, 9);
             b.info.reason = std::string(column_text(s, 10));
             st.bans.push_back(std::move(b));
             return true;
           });
  ok = ok &&
       query("SELECT target, offences, last_end, forget_after, expires FROM offenders", [&](sqlite3_stmt* s) {
         if (sqlite3_column_int64(s, 4) < now_us) return true;
         std::string why;
         const auto target = decode_prefix(column_text(s, 0), why);
         if (!target) return bad("offenders", column_text(s, 0), why);
         st.offenders.push_back(
             core::SavedOffender{*target, static_cast<std::uint32_t>(sqlite3_column_int64(s, 1)),
                                 column_time(s, 2), core::Duration{sqlite3_column_int64(s, 3)}});
         return true;
       });
  ok = ok && query("SELECT rule, key, times, expires FROM windows", [&](sqlite3_stmt* s) {
         if (sqlite3_column_int64(s, 3) < now_us) return true;
         std::string why;
         const auto key = decode_prefix(column_text(s, 1), why);
         if (!key) return bad("windows", column_text(s, 1), why);
         auto times = decode_times(column_blob(s, 2), why);
         if (!times) return bad("windows", column_text(s, 1), why);
         st.windows.push_back(
             core::SavedWindow{std::string(column_text(s, 0)), *key, std::move(*times), column_time(s, 3)});
         return true;
       });
  ok = ok && query(
                 "SELECT rule, username, display, last, active_until, sources_total, sources, expires FROM "
                 "campaigns",
                 [&](sqlite3_stmt* s) {
                   if (sqlite3_column_int64(s, 7) < now_us) return true;
                   const auto user = column_blob(s, 1);
                   const std::string username(user.begin(), user.end());
                   std::string why;
                   auto sources = decode_campaign_sources(column_blob(s, 6), why);
                   if (!sources) return bad("campaigns", username, why);
                   core::SavedCampaign c;
                   c.rule = std::string(column_text(s, 0));
                   c.username = username;
                   const auto display = column_blob(s, 2);
                   c.display.assign(display.begin(), display.end());
                   c.last = column_time(s, 3);
                   c.active = sqlite3_column_type(s, 4) != SQLITE_NULL;
                   if (c.active) c.active_until = column_time(s, 4);
                   c.sources_total = static_cast<std::uint32_t>(sqlite3_column_int64(s, 5));
                   c.sources = std::move(*sources);
                   c.expires = column_time(s, 7);
                   st.campaigns.push_back(std::move(c));
                   return true;
                 });
  ok = ok && query("SELECT source, reports, expires FROM pairing", [&](sqlite3_stmt* s) {
         if (sqlite3_column_int64(s, 2) < now_us) return true;
         std::string why;
         const auto source = decode_prefix(column_text(s, 0), why);
         if (!source || !source->is_host())
           return bad("pairing", column_text(s, 0), why.empty() ? "not an address" : why);
         auto reports = decode_reports(column_blob(s, 1), why);
         if (!reports) return bad("pairing", column_text(s, 0), why);
         st.pairing.push_back(core::SavedPairing{source->address(), std::move(*reports), column_time(s, 2)});
         return true;
       });
  ok = ok &&
       query("SELECT source, kind, inode, \"offset\", fingerprint, fingerprint_length, cursor FROM positions",
             [&](sqlite3_stmt* s) {
               const std::string name(column_text(s, 0));
               const std::string_view kind = column_text(s, 1);
               if (kind == "file") {
                 core::FilePosition f;
                 f.inode = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
                 f.offset = static_cast<std::uint64_t>(sqlite3_column_int64(s, 3));
                 f.fingerprint = static_cast<std::uint64_t>(sqlite3_column_int64(s, 4));
                 const auto len = sqlite3_column_int64(s, 5);
                 if (len < 0 || len > 1024 || static_cast<std::uint64_t>(len) > f.offset)
                   return bad("positions", name,
                              "fingerprint length " + std::to_string(len) + " out of range");
                 f.fingerprint_length = static_cast<std::uint32_t>(len);
                 out.positions.emplace(name, f);
               } else if (kind == "journal") {
                 out.positions.emplace(name, core::JournalCursor{std::string(column_text(s, 6))});
               } else {
                 return bad("positions", name, "unknown kind \"" + std::string(kind.substr(0, 16)) + "\"");
               }
               return true;
             });
  if (!ok) return "state database " + m.path + ": " + error;
  m.positions = out.positions;
  return std::nullopt;
}

void SqliteStore::submit(core::StateUpdate update) {
  Impl& m = *impl_;
  for (const auto& [k, v] : update.positions) m.positions[k] = v;
  {
    std::lock_guard lock(m.mu);
    m.queue.push_back(Pending{std::move(update), m.next_seq++, false});
    m.stats.queued = m.queue.size();
  }
  m.wake.notify_one();
}

std::optional<std::string> SqliteStore::commit_now(core::StateUpdate update) {
  Impl& m = *impl_;
  for (const auto& [k, v] : update.positions) m.positions[k] = v;
  std::unique_lock lock(m.mu);
  const std::uint64_t seq = m.next_seq++;
  m.queue.push_back(Pending{std::move(update), seq, true});
  m.stats.queued = m.queue.size();
  m.wake.notify_one();
  const std::uint64_t failed_before = m.failed_seq;
  m.committed.wait(
      lock, [&] { return m.done_seq >= seq || (m.failed_seq >= seq && m.failed_seq != failed_before); });
  if (m.done_seq >= seq) return std::nullopt;
  return m.failed_error;
}

std::optional<std::string> SqliteStore::take_error() {
  std::lock_guard lock(impl_->mu);
  auto e = std::move(impl_->unreported);
  impl_->unreported.reset();
  return e;
}

core::StoreStats SqliteStore::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

const std::string& SqliteStore::path() const {
  return impl_->path;
}

std::optional<core::SourcePosition> SqliteStore::load(std::string_view source) const {
  auto it = impl_->positions.find(source);
  if (it == impl_->positions.end()) return std::nullopt;
  return it->second;
}

void SqliteStore::save(std::string_view source, const core::SourcePosition& position) {
  impl_->unsaved[std::string(source)] = position;
}

std::optional<std::string> SqliteStore::commit() {
  core::StateUpdate u;
  u.positions.swap(impl_->unsaved);
  auto error = commit_now(u);
  if (error) {
    // Stay pending, as PositionStore promises.
    for (auto& [k, v] : u.positions) impl_->unsaved.emplace(k, v);
  }
  return error;
}

std::variant<std::string, std::string> move_aside(const std::string& path, core::Time now) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(now);
  const auto days = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss hms{secs - days};
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  std::string target = path + ".corrupt-" + stamp;
  for (int n = 2; ::access(target.c_str(), F_OK) == 0; ++n)
    target = path + ".corrupt-" + stamp + "-" + std::to_string(n);
  if (::rename(path.c_str(), target.c_str()) != 0 && errno != ENOENT) {
    return std::variant<std::string, std::string>(
        std::in_place_index<1>, "moving " + path + " to " + target + ": " + errno_text(errno));
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string from = path + suffix;
    const std::string to = target + suffix;
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return std::variant<std::string, std::string>(
          std::in_place_index<1>, "moving " + from + " to " + to + ": " + errno_text(errno));
    }
  }
  return std::variant<std::string, std::string>(std::in_place_index<0>, target);
}

}  // namespace strikeout::store
