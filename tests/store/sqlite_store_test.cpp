// store::SqliteStore in a temporary directory: what is committed is what a reopened store loads; a
// damaged, foreign or newer file is refused with a message naming it; migrations run in order.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../core/engine_test_util.hpp"
#include "state_support.hpp"
#include "store/schema.hpp"
#include "store/sqlite_store.hpp"

namespace strikeout::store {
namespace {

namespace fs = std::filesystem;
using core::testing::at;
using core::testing::net;
using testing::canonical;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strikeout-store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "state.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<SqliteStore> open_ok() {
    auto opened = SqliteStore::open({path_});
    if (auto* e = std::get_if<StoreError>(&opened)) {
      ADD_FAILURE() << e->message;
      return nullptr;
    }
    return std::move(std::get<0>(opened));
  }
  StoreError open_fails() {
    auto opened = SqliteStore::open({path_});
    EXPECT_TRUE(std::holds_alternative<StoreError>(opened));
    if (auto* e = std::get_if<StoreError>(&opened)) return *e;
    return {};
  }
  void sql(const std::string& text) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* msg = nullptr;
    EXPECT_EQ(sqlite3_exec(db, text.c_str(), nullptr, nullptr, &msg), SQLITE_OK) << (msg ? msg : "");
    sqlite3_free(msg);
    sqlite3_close(db);
  }

  fs::path dir_;
  std::string path_;
};

core::EngineState sample_state() {
  core::EngineState s;
  s.started = true;
  s.now = at(100);
  core::SavedBan ban;
  ban.info.target = net("203.0.113.7");
  ban.info.rule = "auth-failures";
  ban.info.since = at(50);
  ban.info.until = at(50 + 3600);
  ban.info.count = 3;
  ban.info.offence = 2;
  ban.info.reason = "3 auth-failure within 20m";
  ban.by_rule = true;
  ban.length = std::chrono::minutes(20);
  ban.max_until = at(50 + 7 * 86400);
  s.bans.push_back(ban);
  core::SavedBan net_ban = ban;
  net_ban.info.target = net("2001:db8::/64");
  net_ban.info.rule = "operator";
  net_ban.by_rule = false;
  net_ban.info.action = core::RuleAction::Tarpit;
  s.bans.push_back(net_ban);
  s.offenders.push_back(core::SavedOffender{net("203.0.113.7"), 2, at(1250), std::chrono::hours(24)});
  s.windows.push_back(
      core::SavedWindow{"auth-failures", net("198.51.100.1"), {at(10), at(20)}, at(20 + 1230)});
  s.windows.push_back(core::SavedWindow{"networks", net("198.51.100.0/24"), {at(30)}, at(30 + 630)});
  core::SavedCampaign c;
  c.rule = "campaign";
  c.username = std::string("b\0b\xff", 4);  // attacker bytes
  c.display = "B\0b\xff";
  c.last = at(90);
  c.sources = {{net("192.0.2.1"), at(80)}, {net("192.0.2.2"), at(90)}};
  c.expires = at(90 + 3630);
  s.campaigns.push_back(c);
  core::SavedCampaign active = c;
  active.username = "info";
  active.active = true;
  active.active_until = at(5000);
  active.sources_total = 4;
  active.sources.clear();
  active.expires = at(5000);
  s.campaigns.push_back(active);
  s.pairing.push_back(
      core::SavedPairing{*core::Address::parse("192.0.2.1"), {{at(80), 77, 0, 3}}, at(80 + 140)});
  return canonical(s);
}

core::StateUpdate whole(const core::EngineState& s) {
  core::StateUpdate u;
  u.engine.present = s;
  u.replace_all = true;
  return u;
}

TEST_F(StoreTest, ANewStoreIsEmptyAndVersioned) {
  auto store = open_ok();
  ASSERT_TRUE(store);
  core::LoadedState loaded;
  ASSERT_EQ(store->load_state(at(0), loaded), std::nullopt);
  EXPECT_FALSE(loaded.hash_seed);
  EXPECT_TRUE(loaded.engine.bans.empty());
  store.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  int version = -1;
  std::string error;
  EXPECT_TRUE(read_schema_version(db, version, error)) << error;
  EXPECT_EQ(version, kSchemaVersion);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(StoreTest, WhatIsCommittedIsWhatIsLoaded) {
  const core::EngineState state = sample_state();
  {
    auto store = open_ok();
    core::StateUpdate u = whole(state);
    u.hash_seed = 0xfeedfacecafebeefULL;
    u.positions["mail.log"] = core::FilePosition{1835021, 48213, 0x9f3a0c1d22e4b7a1ULL, 131};
    u.positions["journal"] = core::JournalCursor{"s=3cf3;i=154"};
    ASSERT_EQ(store->commit_now(std::move(u)), std::nullopt);
  }
  auto store = open_ok();
  core::LoadedState loaded;
  ASSERT_EQ(store->load_state(at(100), loaded), std::nullopt);
  EXPECT_EQ(canonical(loaded.engine), state);
  EXPECT_EQ(loaded.hash_seed, 0xfeedfacecafebeefULL);
  EXPECT_EQ(loaded.positions.at("mail.log"),
            core::SourcePosition(core::FilePosition{1835021, 48213, 0x9f3a0c1d22e4b7a1ULL, 131}));
  // The PositionStore face of the same store.
  EXPECT_EQ(store->load("journal"), core::SourcePosition(core::JournalCursor{"s=3cf3;i=154"}));
  EXPECT_EQ(store->load("nothing"), std::nullopt);
}

TEST_F(StoreTest, DeltasDeleteWhatIsGoneAndSubmitCommitsWithoutWaiting) {
  const core::EngineState state = sample_state();
  auto store = open_ok();
  store->submit(whole(state));
  core::StateUpdate u;
  u.engine.present.started = true;
  u.engine.present.now = at(200);
  u.engine.bans_gone.push_back(net("203.0.113.7"));
  u.engine.windows_gone.push_back(core::WindowKey{"networks", net("198.51.100.0/24")});
  u.engine.campaigns_gone.push_back(core::CampaignKey{"campaign", "info"});
  u.engine.pairing_gone.push_back(*core::Address::parse("192.0.2.1"));
  core::SavedWindow moved = state.windows[0];
  moved.times.push_back(at(150));
  u.engine.present.windows.push_back(moved);
  store->submit(std::move(u));
  // A PositionStore commit waits for all of the above too.
  store->save("mail.log", core::FilePosition{7, 0, 0, 0});
  ASSERT_EQ(store->commit(), std::nullopt);
  EXPECT_GE(store->stats().updates, 3U);
  store.reset();
  store = open_ok();
  core::LoadedState loaded;
  ASSERT_EQ(store->load_state(at(200), loaded), std::nullopt);
  EXPECT_EQ(loaded.engine.now, at(200));
  ASSERT_EQ(loaded.engine.bans.size(), 1U);
  EXPECT_EQ(loaded.engine.bans[0].info.target, net("2001:db8::/64"));
  ASSERT_EQ(loaded.engine.windows.size(), 1U);
  EXPECT_EQ(loaded.engine.windows[0].times.size(), 3U);
  ASSERT_EQ(loaded.engine.campaigns.size(), 1U);
  EXPECT_TRUE(loaded.engine.pairing.empty());
  EXPECT_EQ(store->load("mail.log"), core::SourcePosition(core::FilePosition{7, 0, 0, 0}));
}

TEST_F(StoreTest, ExpiredRowsAreNotLoaded) {
  auto store = open_ok();
  ASSERT_EQ(store->commit_now(whole(sample_state())), std::nullopt);
  core::LoadedState loaded;
  // 20 minutes later: the windows and the pairing reports are stale, the bans and campaigns live.
  ASSERT_EQ(store->load_state(at(1300), loaded), std::nullopt);
  EXPECT_EQ(loaded.engine.bans.size(), 2U);
  EXPECT_TRUE(loaded.engine.windows.empty());
  EXPECT_TRUE(loaded.engine.pairing.empty());
  EXPECT_EQ(loaded.engine.campaigns.size(), 2U);
  // An hour and a half later the bans have ended too.
  ASSERT_EQ(store->load_state(at(5400), loaded), std::nullopt);
  EXPECT_TRUE(loaded.engine.bans.empty());
  EXPECT_EQ(loaded.engine.offenders.size(), 1U);
}

TEST_F(StoreTest, NotADatabaseIsRefusedByName) {
  std::ofstream(path_) << std::string(4096, 'x');
  const StoreError e = open_fails();
  EXPECT_EQ(e.kind, StoreError::Kind::NotDatabase);
  EXPECT_NE(e.message.find(path_), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("not an SQLite database"), std::string::npos) << e.message;
  EXPECT_TRUE(e.resettable());
}

TEST_F(StoreTest, ADamagedFileIsRefused) {
  {
    auto store = open_ok();
    core::EngineState big = sample_state();
    for (int i = 0; i < 3000; ++i) {
      core::SavedBan b = big.bans[0];
      b.info.target = core::Prefix::host(core::Address::from_v4(0x0a000000U + static_cast<std::uint32_t>(i)));
      big.bans.push_back(b);
    }
    ASSERT_EQ(store->commit_now(whole(big)), std::nullopt);
  }
  sql("PRAGMA wal_checkpoint(TRUNCATE)");
  // Scribble over the middle of the file (the table's pages), not its header.
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(path_) / 2));
    const std::string junk(8192, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const StoreError e = open_fails();
  EXPECT_EQ(e.kind, StoreError::Kind::Corrupt) << e.message;
  EXPECT_NE(e.message.find(path_), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("integrity check"), std::string::npos) << e.message;
}

TEST_F(StoreTest, ABadRowIsNamed) {
  { open_ok(); }
  sql("INSERT INTO windows(rule, key, times, expires) VALUES ('auth-failures', '198.51.100.1', x'0102', "
      "9e18)");
  auto store = open_ok();
  core::LoadedState loaded;
  const auto error = store->load_state(at(0), loaded);
  ASSERT_TRUE(error);
  EXPECT_NE(error->find(path_), std::string::npos) << *error;
  EXPECT_NE(error->find("table windows, row \"198.51.100.1\""), std::string::npos) << *error;
  EXPECT_NE(error->find("not a positive multiple of 8"), std::string::npos) << *error;
}

TEST_F(StoreTest, ANewerSchemaAndAForeignDatabaseAreRefused) {
  { open_ok(); }
  sql("UPDATE schema_version SET version = 99");
  StoreError e = open_fails();
  EXPECT_EQ(e.kind, StoreError::Kind::TooNew);
  EXPECT_NE(e.message.find("schema version 99 was written by a newer strikeout"), std::string::npos)
      << e.message;
  fs::remove(path_);
  sql("CREATE TABLE messages(id INTEGER)");
  e = open_fails();
  EXPECT_EQ(e.kind, StoreError::Kind::Foreign);
  EXPECT_NE(e.message.find("not a strikeout state database"), std::string::npos) << e.message;
}

TEST_F(StoreTest, MigrationsRunInOrderAndAFailedOneChangesNothing) {
  // A hand-made older layout: "version 1" of a store whose version 2 adds a column.
  sql("CREATE TABLE schema_version(version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);"
      "CREATE TABLE bans(target TEXT PRIMARY KEY, until INTEGER); INSERT INTO bans VALUES ('203.0.113.7', "
      "5);");
  const Migration steps[] = {
      {1, "ALTER TABLE bans ADD COLUMN reason TEXT NOT NULL DEFAULT 'from version 1'"},
      {2, "CREATE TABLE notes(x); INSERT INTO no_such_table VALUES (1)"},  // fails
  };
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  std::string error;
  EXPECT_TRUE(migrate(db, steps, 2, error)) << error;
  int version = 0;
  EXPECT_TRUE(read_schema_version(db, version, error));
  EXPECT_EQ(version, 2);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT target, until, reason FROM bans", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 2)), "from version 1");
  sqlite3_finalize(st);
  // The failing step: the error names it, and the version and the tables stay as they were.
  EXPECT_FALSE(migrate(db, steps, 3, error));
  EXPECT_NE(error.find("migrating from schema version 2 to 3"), std::string::npos) << error;
  EXPECT_TRUE(read_schema_version(db, version, error));
  EXPECT_EQ(version, 2);
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = 'notes'", -1, &st, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 0);
  sqlite3_finalize(st);
  // A gap in the steps is refused.
  EXPECT_FALSE(migrate(db, steps, 5, error));
  sqlite3_close(db);
}

TEST_F(StoreTest, MoveAsideKeepsTheBadFile) {
  std::ofstream(path_) << "garbage";
  std::ofstream(path_ + "-wal") << "wal";
  auto moved = move_aside(path_, at(0));
  ASSERT_EQ(moved.index(), 0U) << std::get<1>(moved);
  const std::string target = std::get<0>(moved);
  EXPECT_EQ(target, path_ + ".corrupt-20261127T000000Z");
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_TRUE(fs::exists(target));
  EXPECT_TRUE(fs::exists(target + "-wal"));
  // A second bad file the same second does not overwrite the first.
  std::ofstream(path_) << "garbage again";
  auto again = move_aside(path_, at(0));
  ASSERT_EQ(again.index(), 0U);
  EXPECT_NE(std::get<0>(again), target);
  EXPECT_TRUE(fs::exists(target));
  // And a store opens fresh in its place.
  EXPECT_TRUE(open_ok());
}

TEST_F(StoreTest, ManyUpdatesShareTransactions) {
  auto store = open_ok();
  for (int i = 0; i < 2000; ++i) {
    core::StateUpdate u;
    u.positions["mail.log"] = core::FilePosition{1, static_cast<std::uint64_t>(i) * 10, 0, 0};
    store->submit(std::move(u));
  }
  ASSERT_EQ(store->commit_now({}), std::nullopt);
  const auto stats = store->stats();
  EXPECT_EQ(stats.updates, 2001U);
  // The writer takes everything queued at once: far fewer transactions than updates.
  EXPECT_LT(stats.commits, stats.updates);
  EXPECT_EQ(store->load("mail.log"), core::SourcePosition(core::FilePosition{1, 19990, 0, 0}));
}

}  // namespace
}  // namespace strikeout::store
