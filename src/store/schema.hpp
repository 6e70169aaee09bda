// The state database's schema and its migrations. The version lives in the table `schema_version`
// (one row). Opening a store brings an older version up to kSchemaVersion, one step at a time, each in
// the transaction that also writes the new version, so a crash mid-migration leaves the old version.
// A version newer than this program knows is refused (a downgrade would misread it).
#pragma once

#include <span>
#include <string>

struct sqlite3;

namespace strikeout::store {

inline constexpr int kSchemaVersion = 1;

// One step: the SQL that turns version `from` into version `from + 1`.
struct Migration {
  int from = 0;
  const char* sql = "";
};

// The steps this program knows. Version 0 is an empty database: step 0 creates version 1.
std::span<const Migration> migrations();

// Reads the version of an open database. 0: a database without any table (a new file). Returns false
// with `error` when the database holds tables but no (or a damaged) schema_version: not ours.
bool read_schema_version(sqlite3* db, int& version, std::string& error);

// Runs `steps` from the database's version up to `target`, each step in its own transaction with the
// version update. Refuses a version above `target` and a missing step. Exposed with its steps as a
// parameter so tests can run a migration of their own on a hand-made older layout.
bool migrate(sqlite3* db, std::span<const Migration> steps, int target, std::string& error);

}  // namespace strikeout::store
