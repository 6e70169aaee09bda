#include "store/schema.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>

namespace strikeout::store {

namespace {

// Version 1. Addresses and networks are text so an administrator can read the file with sqlite3(1);
// times are microseconds since the Unix epoch (UTC); `expires` columns say when a row can no longer
// matter (the writer prunes them). WITHOUT ROWID: every table is looked up by its key alone.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE schema_version(version INTEGER NOT NULL);
INSERT INTO schema_version(version) VALUES (0);
CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE bans(
  target TEXT PRIMARY KEY,        -- "203.0.113.7", "203.0.113.0/24"
  rule TEXT NOT NULL,             -- the rule's name, "operator" for a CLI ban
  by_rule INTEGER NOT NULL,       -- 1: re-tags follow `rule`; 0: an operator's ban
  action INTEGER NOT NULL,        -- 0 ban, 1 notice, 2 tarpit
  since INTEGER NOT NULL,
  until INTEGER NOT NULL,
  count INTEGER NOT NULL,         -- events (or distinct sources) that caused it
  offence INTEGER NOT NULL,       -- escalation step, 1 for a first ban
  length INTEGER NOT NULL,        -- this ban's length (what a re-tag extends by), microseconds
  max_until INTEGER NOT NULL,     -- no re-tag moves the end past this
  reason TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE offenders(
  target TEXT PRIMARY KEY,
  offences INTEGER NOT NULL,
  last_end INTEGER NOT NULL,
  forget_after INTEGER NOT NULL,
  expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE windows(
  rule TEXT NOT NULL,
  key TEXT NOT NULL,
  times BLOB NOT NULL,            -- 8 bytes per timestamp, oldest first (src/store/codec.hpp)
  expires INTEGER NOT NULL,
  PRIMARY KEY(rule, key)
) WITHOUT ROWID;
CREATE TABLE campaigns(
  rule TEXT NOT NULL,
  username BLOB NOT NULL,         -- case-folded; attacker text, any bytes
  display BLOB NOT NULL,
  last INTEGER NOT NULL,
  active_until INTEGER,           -- NULL: no campaign on
  sources_total INTEGER NOT NULL,
  sources BLOB NOT NULL,          -- 25 bytes per pending source (codec.hpp)
  expires INTEGER NOT NULL,
  PRIMARY KEY(rule, username)
) WITHOUT ROWID;
CREATE TABLE pairing(
  source TEXT PRIMARY KEY,
  reports BLOB NOT NULL,          -- 16 bytes per report (codec.hpp)
  expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE positions(
  source TEXT PRIMARY KEY,        -- the [[source]] name
  kind TEXT NOT NULL,             -- 'file' or 'journal'
  inode INTEGER, "offset" INTEGER, fingerprint INTEGER, fingerprint_length INTEGER,
  cursor TEXT
) WITHOUT ROWID;
)sql";

constexpr std::array<Migration, 1> kMigrations{{{0, kVersion1}}};

bool exec(sqlite3* db, const char* sql, std::string& error) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    error = msg != nullptr ? msg : sqlite3_errmsg(db);
    sqlite3_free(msg);
    return false;
  }
  return true;
}

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

bool read_schema_version(sqlite3* db, int& version, std::string& error) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='table'", -1, &st, nullptr) !=
      SQLITE_OK) {
    error = sqlite3_errmsg(db);
    return false;
  }
  bool has_version = false;
  std::string tables;
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    const std::string n = name != nullptr ? name : "";
    if (n == "schema_version") has_version = true;
    if (!tables.empty()) tables += ", ";
    tables += n;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    error = sqlite3_errmsg(db);
    return false;
  }
  if (tables.empty()) {
    version = 0;
    return true;
  }
  if (!has_version) {
    error = "not a strikeout state database: it holds tables (" + tables + ") but no schema_version";
    return false;
  }
  if (sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &st, nullptr) != SQLITE_OK) {
    error = std::string("reading schema_version: ") + sqlite3_errmsg(db);
    return false;
  }
  int rows = 0;
  bool integer = true;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    ++rows;
    integer = integer && sqlite3_column_type(st, 0) == SQLITE_INTEGER;
    version = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE || rows != 1 || !integer || version < 0) {
    error = "schema_version must hold one row with a version number; it holds " + std::to_string(rows) +
            " rows" + (integer ? "" : " that are not numbers");
    return false;
  }
  return true;
}

bool migrate(sqlite3* db, std::span<const Migration> steps, int target, std::string& error) {
  int version = 0;
  if (!read_schema_version(db, version, error)) return false;
  if (version > target) {
    error = "schema version " + std::to_string(version) +
            " was written by a newer strikeout; this one knows up to " + std::to_string(target);
    return false;
  }
  while (version < target) {
    const auto step =
        std::find_if(steps.begin(), steps.end(), [&](const Migration& m) { return m.from == version; });
    if (step == steps.end()) {
      error = "no migration from schema version " + std::to_string(version);
      return false;
    }
    std::string why;
    const std::string sql = std::string("BEGIN IMMEDIATE;") + step->sql +
                            ";UPDATE schema_version SET version = " + std::to_string(version + 1) +
                            ";COMMIT;";
    if (!exec(db, sql.c_str(), why)) {
      std::string ignored;
      exec(db, "ROLLBACK", ignored);
      error = "migrating from schema version " + std::to_string(version) + " to " +
              std::to_string(version + 1) + ": " + why;
      return false;
    }
    ++version;
  }
  return true;
}

}  // namespace strikeout::store
