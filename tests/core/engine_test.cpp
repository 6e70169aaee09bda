// Scenario tests of the detector, one per rule of docs/engine.md. Each narrates its timeline in
// comments with explicit times (minutes or seconds after the scenario's origin).
#include "core/engine.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "engine_test_util.hpp"

namespace strikeout::core {
namespace {

using namespace std::chrono_literals;
using namespace testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The recipe: 3 failures in 20 minutes -> Strike 1, 2, 3 and a 20-minute ban; the 4th try, from a
// connection that stayed open, re-tags the ban.
TEST(EngineRecipe, ThreeFailuresIn20MinutesStrikeThenBanAndFourthTryExtends) {
  Engine engine(policy_with({address_rule(3, 20min, 20min)}));
  RecordingSink sink;
  // 00:00, 00:05, 00:10: three wrong passwords from 203.0.113.5.
  engine.on_event(failure(at_min(0), "203.0.113.5", "alice"), sink);
  engine.on_event(failure(at_min(5), "203.0.113.5", "alice"), sink);
  engine.on_event(failure(at_min(10), "203.0.113.5", "alice"), sink);
  auto d = sink.take();
  ASSERT_THAT(briefs(d), ElementsAre("strike 1 203.0.113.5", "strike 2 203.0.113.5", "strike 3 203.0.113.5",
                                     "ban 203.0.113.5"));
  EXPECT_EQ(d[2].threshold, 3U);
  EXPECT_EQ(d[3].until, at_min(30));
  EXPECT_EQ(d[3].count, 3U);
  EXPECT_EQ(d[3].offence, 1U);
  EXPECT_EQ(d[3].rule, "auth-failures");
  EXPECT_EQ(d[3].reason, "3 auth-failure within 20m");
  // 00:12: a 4th try on the still open connection: the ban now ends at 00:32.
  engine.on_event(failure(at_min(12), "203.0.113.5", "alice"), sink);
  d = sink.take();
  ASSERT_THAT(briefs(d), ElementsAre("extend 203.0.113.5"));
  EXPECT_EQ(d[0].until, at_min(32));
  EXPECT_EQ(engine.stats().while_banned, 1U);
  EXPECT_EQ(engine.stats().strikes_total, 3U);
  // 00:32: the ban ends.
  engine.advance(at_min(32), sink);
  d = sink.take();
  ASSERT_THAT(briefs(d), ElementsAre("unban 203.0.113.5"));
  EXPECT_EQ(d[0].time, at_min(32));
}

// "N within T" is exact: the N-th event at most T after the first, to the millisecond.
TEST(EngineWindow, NthEventExactlyTAfterFirstBansOneMillisecondLaterDoesNot) {
  Engine engine(policy_with({address_rule(3, 20min)}));
  RecordingSink sink;
  // 00:00, 00:10, 20:00 exactly: 3 within 20m.
  engine.on_event(failure(at_min(0), "192.0.2.1"), sink);
  engine.on_event(failure(at_min(10), "192.0.2.1"), sink);
  engine.on_event(failure(at_min(20), "192.0.2.1"), sink);
  EXPECT_THAT(briefs(sink.take()),
              ElementsAre("strike 1 192.0.2.1", "strike 2 192.0.2.1", "strike 3 192.0.2.1", "ban 192.0.2.1"));
  // Another engine, another address: 00:00, 00:10, 20:00.001: the first is out of the window, so
  // Strike 2.
  Engine second(policy_with({address_rule(3, 20min)}));
  second.on_event(failure(at_min(0), "192.0.2.2"), sink);
  second.on_event(failure(at_min(10), "192.0.2.2"), sink);
  second.on_event(failure(at(20 * 60 + 0.001), "192.0.2.2"), sink);
  EXPECT_THAT(briefs(sink.take()),
              ElementsAre("strike 1 192.0.2.2", "strike 2 192.0.2.2", "strike 2 192.0.2.2"));
  // 20:05: 00:10, 20:00.001 and 20:05 are within 20m: ban.
  second.on_event(failure(at_min(20) + 5min, "192.0.2.2"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 3 192.0.2.2", "ban 192.0.2.2"));
}

// Events arriving out of order by less than the reorder tolerance (30 s) are counted at their
// place in time; older ones are counted as too late and ignored.
TEST(EngineWindow, LateEventsWithinToleranceCountInOrderOlderOnesAreTooLate) {
  Engine engine(policy_with({address_rule(3, 1min)}));
  RecordingSink sink;
  // 00:00 and 01:10 from one address: not within 1m of each other.
  engine.on_event(failure(at(0), "198.51.100.7"), sink);
  engine.on_event(failure(at(70), "198.51.100.7"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 1 198.51.100.7", "strike 1 198.51.100.7"));
  // 00:50 arrives 20 s late (another log file): 00:00, 00:50 and 01:10? 00:00..00:50 and
  // 00:50..01:10 are two windows of 2; the largest span of 1m holding it has 2 events.
  engine.on_event(failure(at(50), "198.51.100.7"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 2 198.51.100.7"));
  // 00:55 arrives 15 s late: 00:00? no (55 s > ... 00:00..00:55 is within 1m): 00:00, 00:50,
  // 00:55 are 3 within 1m: ban, though 01:10 was already seen.
  engine.on_event(failure(at(55), "198.51.100.7"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 3 198.51.100.7", "ban 198.51.100.7"));
  // 00:30 from another address arrives 40 s late: beyond the tolerance, not counted.
  engine.on_event(failure(at(30), "198.51.100.8"), sink);
  EXPECT_TRUE(sink.take().empty());
  EXPECT_EQ(engine.stats().too_late, 1U);
}

// A ban clears the key's window; events while banned start no strikes; after the ban, counting
// starts from zero.
TEST(EngineBan, BanClearsWindowAndEventsWhileBannedStartNoStrikes) {
  Engine engine(policy_with({address_rule(2, 10min, 5min)}));
  RecordingSink sink;
  // 00:00, 00:01: ban until 00:06.
  engine.on_event(failure(at_min(0), "203.0.113.9"), sink);
  engine.on_event(failure(at_min(1), "203.0.113.9"), sink);
  // 00:02 from a bare SYN-like source (not established): counted as while banned, no strike, no
  // extension.
  Event syn = failure(at_min(2), "203.0.113.9");
  syn.from_established = false;
  engine.on_event(syn, sink);
  EXPECT_THAT(briefs(sink.take()),
              ElementsAre("strike 1 203.0.113.9", "strike 2 203.0.113.9", "ban 203.0.113.9"));
  EXPECT_EQ(engine.stats().while_banned, 1U);
  // 00:07: the ban ended at 00:06 (the unban comes first, with the ban's own end as its time);
  // the failures before the ban do not count any more: Strike 1.
  engine.on_event(failure(at_min(7), "203.0.113.9"), sink);
  auto d = sink.take();
  ASSERT_THAT(briefs(d), ElementsAre("unban 203.0.113.9", "strike 1 203.0.113.9"));
  EXPECT_EQ(d[0].time, at_min(6));
}

// A notice rule strikes up to N and blocks nothing; its window restarts after the final strike.
TEST(EngineNotice, NoticeRuleOnlyStrikes) {
  Rule r = address_rule(2, 10min);
  r.action = RuleAction::Notice;
  Engine engine(policy_with({r}));
  RecordingSink sink;
  for (int m = 0; m < 3; ++m) engine.on_event(failure(at_min(m), "192.0.2.50"), sink);
  auto d = sink.take();
  EXPECT_THAT(briefs(d), ElementsAre("strike 1 192.0.2.50", "strike 2 192.0.2.50", "strike 1 192.0.2.50"));
  EXPECT_EQ(d[1].action, RuleAction::Notice);
  EXPECT_TRUE(engine.active_bans().empty());
}

// A prefix rule counts a /24 (IPv4) or /64 (IPv6) as one key and bans the network.
TEST(EnginePrefix, FailuresFromOneNetworkBanTheNetwork) {
  Rule r = address_rule(3, 20min);
  r.name = "networks";
  r.key = KeyKind::Prefix;
  Engine engine(policy_with({r}));
  RecordingSink sink;
  // 00:00, 00:01, 00:02 from three addresses of 203.0.113.0/24.
  engine.on_event(failure(at_min(0), "203.0.113.1"), sink);
  engine.on_event(failure(at_min(1), "203.0.113.2"), sink);
  engine.on_event(failure(at_min(2), "203.0.113.3"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 1 203.0.113.0/24", "strike 2 203.0.113.0/24",
                                               "strike 3 203.0.113.0/24", "ban 203.0.113.0/24"));
  // IPv6: three addresses of one /64.
  engine.on_event(failure(at_min(3), "2001:db8:1:2::a"), sink);
  engine.on_event(failure(at_min(3), "2001:db8:1:2::b"), sink);
  engine.on_event(failure(at_min(3), "2001:db8:1:2:ffff::1"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 1 2001:db8:1:2::/64", "strike 2 2001:db8:1:2::/64",
                                               "strike 3 2001:db8:1:2::/64", "ban 2001:db8:1:2::/64"));
  // 00:04: the network is banned, so an address in it is banned too.
  EXPECT_TRUE(engine.ban_covering(addr("203.0.113.200")).has_value());
}

// A network that holds an allowlisted address is never banned; the final strike says why.
TEST(EngineAllowlist, PrefixBanSkippedWhenNetworkHoldsAllowlistedAddress) {
  Rule r = address_rule(2, 20min);
  r.name = "networks";
  r.key = KeyKind::Prefix;
  Engine engine(policy_with({r}, {net("198.51.100.25/32")}));
  RecordingSink sink;
  engine.on_event(failure(at_min(0), "198.51.100.1"), sink);
  engine.on_event(failure(at_min(1), "198.51.100.2"), sink);
  auto d = sink.take();
  ASSERT_THAT(briefs(d), ElementsAre("strike 1 198.51.100.0/24", "strike 2 198.51.100.0/24"));
  EXPECT_THAT(d[1].reason, HasSubstr("not banned: 198.51.100.0/24 contains allowlisted "
                                     "198.51.100.25"));
  EXPECT_EQ(engine.stats().bans_skipped_allowlisted, 1U);
  EXPECT_TRUE(engine.active_bans().empty());
}

// Allowlisted sources are counted, never struck, never banned: not by a rule, not by a campaign,
// not by the operator.
TEST(EngineAllowlist, AllowlistedSourceIsNeverPunished) {
  Rule campaign = address_rule(2, 1h);
  campaign.name = "campaign";
  campaign.key = KeyKind::Username;
  Engine engine(policy_with({address_rule(3, 20min), campaign}, {net("10.0.0.0/8"), net("::1")}));
  RecordingSink sink;
  for (int i = 0; i < 10; ++i) engine.on_event(failure(at_min(i), "10.1.2.3", "root"), sink);
  engine.on_event(failure(at_min(10), "::1", "root"), sink);
  EXPECT_TRUE(sink.take().empty());
  EXPECT_EQ(engine.stats().allowlisted, 11U);
  EXPECT_EQ(engine.stats().events[0], 11U);
  // A campaign on "root" from two outside sources bans those two only.
  engine.on_event(failure(at_min(11), "192.0.2.1", "root"), sink);
  engine.on_event(failure(at_min(11), "192.0.2.2", "root"), sink);
  const auto bans = engine.active_bans();
  ASSERT_EQ(bans.size(), 2U);
  EXPECT_EQ(bans[0].target.to_string(), "192.0.2.1");
  EXPECT_EQ(bans[1].target.to_string(), "192.0.2.2");
  RecordingSink op;
  EXPECT_EQ(engine.ban(net("10.1.2.3"), at_min(12), 1h, "typo", op), OperatorResult::Allowlisted);
  EXPECT_EQ(engine.ban(net("10.0.0.0/7"), at_min(12), 1h, "too wide", op), OperatorResult::Allowlisted);
  EXPECT_EQ(engine.ban(net("::/0"), at_min(12), 1h, "everything", op), OperatorResult::Allowlisted);
  EXPECT_TRUE(op.decisions.empty());
  EXPECT_TRUE(engine.is_allowlisted(addr("10.255.0.1")));
  EXPECT_FALSE(engine.is_allowlisted(addr("11.0.0.1")));
  EXPECT_FALSE(engine.is_allowlisted(addr("::ffff:10.0.0.1")) == false);  // mapped is IPv4
}

// The campaign: one username failing from K distinct sources within T bans all of them, and any
// newcomer while the campaign stays active. Usernames compare case-insensitively.
TEST(EngineCampaign, KDistinctSourcesOnOneUserAreAllBannedAndNewcomersAtOnce) {
  Rule r = address_rule(3, 1h, 1h);
  r.name = "campaign";
  r.key = KeyKind::Username;
  Engine engine(policy_with({r}));
  RecordingSink sink;
  // 00:00 192.0.2.1 "Bob"; 00:01 192.0.2.1 again (not a new source: no new strike, the campaign's
  // count of distinct sources is unchanged); 00:02 192.0.2.2 "bob".
  engine.on_event(failure(at_min(0), "192.0.2.1", "Bob"), sink);
  engine.on_event(failure(at_min(1), "192.0.2.1", "bob"), sink);
  engine.on_event(failure(at_min(2), "192.0.2.2", "bob"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 1 192.0.2.1", "strike 2 192.0.2.2"));
  // 00:03 2001:db8::3 "BOB": the third distinct source: all three are banned.
  engine.on_event(failure(at_min(3), "2001:db8::3", "BOB"), sink);
  auto d = sink.take();
  ASSERT_THAT(briefs(d),
              ElementsAre("strike 3 2001:db8::3", "ban 192.0.2.1", "ban 192.0.2.2", "ban 2001:db8::3"));
  EXPECT_EQ(d[1].count, 3U);
  EXPECT_EQ(d[1].reason, "campaign on user \"Bob\": 3 distinct sources within 1h");
  EXPECT_EQ(d[1].until, at_min(63));
  // 00:50: a fourth source fails on "bob" while the campaign is active: banned at once.
  engine.on_event(failure(at_min(50), "192.0.2.4", "bob"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 3 192.0.2.4", "ban 192.0.2.4"));
  // 01:51 (more than 1h after the last failure at 00:50): the campaign is over; a new source is
  // Strike 1 again (and the earlier bans have ended first).
  engine.on_event(failure(at_min(111), "192.0.2.5", "bob"), sink);
  d = sink.take();
  EXPECT_EQ(briefs(d).back(), "strike 1 192.0.2.5");
  EXPECT_EQ(
      std::count_if(d.begin(), d.end(), [](const Decision& x) { return x.kind == DecisionKind::Unban; }), 4);
}

// The recipe's pool attacker: 40 addresses take turns guessing passwords for one username, each
// one try per 20 minutes, so no address ever reaches 3 in 20 minutes. The campaign rule (5 distinct
// sources within 1h) catches them: the first five are banned together, the 35 others on their
// first try.
TEST(EngineCampaign, FortyAddressesTakingTurnsOnOneUsernameAreAllBanned) {
  Rule campaign = address_rule(5, 1h, 1h);
  campaign.name = "campaign";
  campaign.key = KeyKind::Username;
  Engine engine(policy_with({address_rule(3, 20min), campaign}));
  RecordingSink sink;
  // Round-robin: address i tries at i * 30 s, then again 20 min later.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 40; ++i) {
      const std::string source = "198.51.100." + std::to_string(i + 1);
      engine.on_event(failure(at(round * 1200.0 + i * 30.0), source, "info@mail.test"), sink);
    }
  }
  std::set<std::string> banned;
  int address_rule_bans = 0;
  for (const auto& d : sink.decisions) {
    if (d.kind != DecisionKind::Ban || d.extended) continue;
    EXPECT_TRUE(banned.insert(d.target.to_string()).second) << "banned twice: " << brief(d);
    if (d.rule == "auth-failures") ++address_rule_bans;
  }
  EXPECT_EQ(banned.size(), 40U);
  EXPECT_EQ(address_rule_bans, 0);
  // The first five at 02:00 (the 5th try), together.
  EXPECT_EQ(engine.active_bans().front().since, at(120));
  // Every address got exactly one try through: the other 80 tries were while banned.
  EXPECT_EQ(engine.stats().while_banned, 80U);
}

// Campaign with distinct = prefix: sources are networks, and the networks are banned.
TEST(EngineCampaign, DistinctPrefixCountsAndBansNetworks) {
  Rule r = address_rule(2, 1h, 1h);
  r.name = "campaign";
  r.key = KeyKind::Username;
  r.distinct = KeyKind::Prefix;
  Engine engine(policy_with({r}));
  RecordingSink sink;
  // Two addresses of one /24 are one source (the second adds no strike); a second /24 makes two.
  engine.on_event(failure(at_min(0), "192.0.2.1", "admin"), sink);
  engine.on_event(failure(at_min(1), "192.0.2.2", "admin"), sink);
  engine.on_event(failure(at_min(2), "198.51.100.1", "admin"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 1 192.0.2.0/24", "strike 2 198.51.100.0/24",
                                               "ban 192.0.2.0/24", "ban 198.51.100.0/24"));
}

// Escalation: each ban of the same key is the previous * factor, capped; the history is forgotten
// after forget_after of quiet following the ban's end.
TEST(EngineEscalation, BansDoubleUpToTheCapAndHistoryFades) {
  Rule r = address_rule(1, 1min, 20min);
  r.ban_factor = 2.0;
  r.ban_max = 1h;
  r.forget_after = 24h;
  Engine engine(policy_with({r}));
  RecordingSink sink;
  auto ban_at = [&](Time t) {
    engine.on_event(failure(t, "203.0.113.77"), sink);
    for (const auto& d : sink.take()) {
      if (d.kind == DecisionKind::Ban) return std::make_pair(d.until - t, d.offence);
    }
    return std::make_pair(Duration{0}, 0U);
  };
  // 00:00 ban 20m; 01:00 ban 40m; 02:00 ban 1h (80m capped); 04:00 1h again.
  EXPECT_EQ(ban_at(at_min(0)), std::make_pair(Duration{20min}, 1U));
  EXPECT_EQ(ban_at(at_min(60)), std::make_pair(Duration{40min}, 2U));
  EXPECT_EQ(ban_at(at_min(120)), std::make_pair(Duration{1h}, 3U));
  EXPECT_EQ(ban_at(at_min(240)), std::make_pair(Duration{1h}, 4U));
  // The last ban ended at 05:00; 24h of quiet later (29:00 + 1 minute) the next ban is a first.
  engine.advance(at_min(29 * 60), sink);
  EXPECT_EQ(ban_at(at_min(29 * 60 + 1)), std::make_pair(Duration{20min}, 1U));
}

// Re-tag: only evidence nobody can forge extends a ban, never past since + ban_max.
TEST(EngineRetag, EstablishedTriesExtendBareSynNeverAndNeverPastTheCap) {
  Rule r = address_rule(1, 1min, 10min);
  r.ban_max = 30min;
  Engine engine(policy_with({r}));
  RecordingSink sink;
  // 00:00 ban until 00:10.
  engine.on_event(failure(at_min(0), "192.0.2.9"), sink);
  sink.take();
  // 00:05 a bare SYN (from_established = false), e.g. a forged connect: no extension.
  Event syn;
  syn.time = at_min(5);
  syn.kind = EventKind::Connect;
  syn.source = addr("192.0.2.9");
  syn.from_established = false;
  engine.on_event(syn, sink);
  EXPECT_TRUE(sink.take().empty());
  // 00:06 a successful login: not a try, no extension.
  Event ok = failure(at_min(6), "192.0.2.9");
  ok.kind = EventKind::AuthSuccess;
  engine.on_event(ok, sink);
  EXPECT_TRUE(sink.take().empty());
  // 00:08 a failure on an established connection: until 00:18.
  engine.on_event(failure(at_min(8), "192.0.2.9"), sink);
  auto d = sink.take();
  ASSERT_THAT(briefs(d), ElementsAre("extend 192.0.2.9"));
  EXPECT_EQ(d[0].until, at_min(18));
  EXPECT_TRUE(d[0].extended);
  // 00:17, 00:26: until 00:27, then 00:30 (the cap: since 00:00 + 30m), not 00:36.
  engine.on_event(failure(at_min(17), "192.0.2.9"), sink);
  engine.on_event(failure(at_min(26), "192.0.2.9"), sink);
  d = sink.take();
  ASSERT_EQ(d.size(), 2U);
  EXPECT_EQ(d[1].until, at_min(30));
  // 00:29: already at the cap: nothing moves, nothing emitted.
  engine.on_event(failure(at_min(29), "192.0.2.9"), sink);
  EXPECT_TRUE(sink.take().empty());
  // The SYN, the success and the four failures: all counted as while banned.
  EXPECT_EQ(engine.stats().while_banned, 6U);
}

// Duplicates: Postfix and its Dovecot backend log one failure each; it counts once.
TEST(EngineDuplicates, PostfixAndDovecotReportsOfOneFailureCountOnce) {
  Engine engine(policy_with({address_rule(3, 20min)}));
  RecordingSink sink;
  // As in tests/fixtures/real-logs: Dovecot at 01:49:52, Postfix at 01:49:52 (same second) and the
  // next failure 5 s later, Dovecot 01:49:57, Postfix 01:49:58.
  engine.on_event(failure(at(0), "10.77.1.1", "alice@mail.test", Reporter::Dovecot), sink);
  engine.on_event(failure(at(0), "10.77.1.1", "alice@mail.test", Reporter::Postfix), sink);
  engine.on_event(failure(at(5), "10.77.1.1", "alice@mail.test", Reporter::Dovecot), sink);
  engine.on_event(failure(at(6), "10.77.1.1", "Alice@Mail.Test", Reporter::Postfix), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 1 10.77.1.1", "strike 2 10.77.1.1"));
  EXPECT_EQ(engine.stats().duplicates, 2U);
  EXPECT_EQ(engine.stats().events[0], 2U);
}

// Regression: with the wire sensor on beside Postfix's and Dovecot's logs, each failed login is
// reported three times. Pairing was one-to-one, so the third report counted again and two failed
// logins banned an address (seen live: "Strike 3" after the second failure). Each other reporter
// now joins a counted failure once.
TEST(EngineDuplicates, ThreeReportersOfOneFailureCountOnce) {
  Engine engine(policy_with({address_rule(3, 20min)}));
  RecordingSink sink;
  // Two failed logins, each seen on the wire first, then in Dovecot's log, then in Postfix's.
  for (int i = 0; i < 2; ++i) {
    engine.on_event(failure(at(10 * i), "10.77.1.3", "carol", Reporter::Wire), sink);
    engine.on_event(failure(at(10 * i), "10.77.1.3", "carol", Reporter::Dovecot), sink);
    engine.on_event(failure(at(10 * i + 1), "10.77.1.3", "carol", Reporter::Postfix), sink);
  }
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 1 10.77.1.3", "strike 2 10.77.1.3"));
  EXPECT_EQ(engine.stats().duplicates, 4U);
}

TEST(EngineDuplicates, TwoReportsFromOneReporterAreTwoAttempts) {
  Engine engine(policy_with({address_rule(3, 20min)}));
  RecordingSink sink;
  // 00:00 two Postfix lines for one address in the same second: two AUTH attempts on one
  // connection.
  engine.on_event(failure(at(0), "10.77.1.2", "bob"), sink);
  engine.on_event(failure(at(0), "10.77.1.2", "bob"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 1 10.77.1.2", "strike 2 10.77.1.2"));
  EXPECT_EQ(engine.stats().duplicates, 0U);
}

TEST(EngineDuplicates, PairingIsOneToOneAndNeedsMatchingUserAndWindow) {
  Engine engine(policy_with({address_rule(10, 20min)}));
  RecordingSink sink;
  // 00:00 Postfix "bob", 00:01 Dovecot "bob" (pairs), 00:02 Dovecot "bob" (the Postfix report is
  // taken: a new attempt), 00:03 wire with no user (pairs with the Dovecot report of 00:02).
  engine.on_event(failure(at(0), "10.77.1.3", "bob", Reporter::Postfix), sink);
  engine.on_event(failure(at(1), "10.77.1.3", "bob", Reporter::Dovecot), sink);
  engine.on_event(failure(at(2), "10.77.1.3", "bob", Reporter::Dovecot), sink);
  engine.on_event(failure(at(3), "10.77.1.3", "", Reporter::Wire), sink);
  EXPECT_EQ(engine.stats().events[0], 2U);
  // 00:10 Postfix "carol" does not pair with 00:10 Dovecot "dave": two failures.
  engine.on_event(failure(at(10), "10.77.1.3", "carol", Reporter::Postfix), sink);
  engine.on_event(failure(at(10), "10.77.1.3", "dave", Reporter::Dovecot), sink);
  EXPECT_EQ(engine.stats().events[0], 4U);
  // 01:00 Postfix "erin", then 01:21 Dovecot "erin": 21 s apart, beyond the 20 s window.
  engine.on_event(failure(at(60), "10.77.1.3", "erin", Reporter::Postfix), sink);
  engine.on_event(failure(at(81), "10.77.1.3", "erin", Reporter::Dovecot), sink);
  EXPECT_EQ(engine.stats().events[0], 6U);
  EXPECT_EQ(engine.stats().duplicates, 2U);
}

// Dovecot's "auth failed, 3 attempts in 12 secs" counts 3 minus the singles already seen.
TEST(EngineDuplicates, DovecotSummaryCountsOnlyAttemptsNotSeenAlready) {
  Engine engine(policy_with({address_rule(10, 20min)}));
  RecordingSink sink;
  // 00:00 and 00:05: two single failures seen from Dovecot's auth process.
  engine.on_event(failure(at(0), "10.77.1.4", "bob", Reporter::Dovecot), sink);
  engine.on_event(failure(at(5), "10.77.1.4", "bob", Reporter::Dovecot), sink);
  // 00:12: the summary of a 12 s session with 3 attempts: one more attempt.
  Event summary = failure(at(12), "10.77.1.4", "bob", Reporter::Dovecot);
  summary.count = 3;
  summary.summary_span = 12s;
  engine.on_event(summary, sink);
  EXPECT_EQ(engine.stats().events[0], 3U);
  auto d = sink.take();
  EXPECT_EQ(d.back().count, 3U);  // Strike 3
  // A summary from an address never seen counts whole: 2 attempts, Strike 1 and 2.
  Event other = failure(at(13), "10.77.1.5", "bob", Reporter::Dovecot);
  other.count = 2;
  other.summary_span = 10s;
  engine.on_event(other, sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 1 10.77.1.5", "strike 2 10.77.1.5"));
  EXPECT_EQ(engine.stats().events[0], 5U);
  // 00:20 a Postfix single, then 00:21 a Dovecot summary of 1 attempt... a summary is N > 1; with
  // N = 2 over 5 s and one single already seen, one attempt is new.
  engine.on_event(failure(at(20), "10.77.1.6", "carol", Reporter::Postfix), sink);
  Event two = failure(at(21), "10.77.1.6", "carol", Reporter::Dovecot);
  two.count = 2;
  two.summary_span = 5s;
  engine.on_event(two, sink);
  EXPECT_EQ(engine.stats().events[0], 7U);
}

// Memory bound: at the cap the coldest keys go first: the most hits still missing, then the oldest
// last event. Banned keys hold no window and are never candidates.
TEST(EngineMemory, EvictionAtTheCapDropsColdestFirst) {
  Policy p = policy_with({address_rule(3, 1h)});
  p.limits.max_tracked_keys = 4;  // evicts one key at a time (max(1, cap / 64))
  Engine engine(p);
  RecordingSink sink;
  // 00:00 A, 00:01 B, 00:02 C, 00:03 D, 00:04 A again (A has 2 hits), 00:05 E (5th key: evict).
  engine.on_event(failure(at_min(0), "192.0.2.1"), sink);  // A
  engine.on_event(failure(at_min(1), "192.0.2.2"), sink);  // B
  engine.on_event(failure(at_min(2), "192.0.2.3"), sink);  // C
  engine.on_event(failure(at_min(3), "192.0.2.4"), sink);  // D
  engine.on_event(failure(at_min(4), "192.0.2.1"), sink);  // A: 2 of 3
  engine.on_event(failure(at_min(5), "192.0.2.5"), sink);  // E: B (1 hit, oldest) goes
  EXPECT_EQ(engine.stats().evictions, 1U);
  EXPECT_EQ(engine.stats().tracked_keys, 4U);
  // B starts again from Strike 1; C was not evicted before B, so C is at Strike 2 now.
  engine.on_event(failure(at_min(6), "192.0.2.3"), sink);  // C: strike 2
  sink.take();
  // 00:07 B is a new key again: D (1 hit, 00:03) goes before E (1 hit, 00:05), A and C (2 hits).
  engine.on_event(failure(at_min(7), "192.0.2.2"), sink);
  auto d = sink.take();
  ASSERT_THAT(briefs(d), ElementsAre("strike 1 192.0.2.2"));
  // A (2 hits) is still tracked: its third failure bans.
  engine.on_event(failure(at_min(8), "192.0.2.1"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 3 192.0.2.1", "ban 192.0.2.1"));
  // D was evicted: it starts from Strike 1.
  engine.on_event(failure(at_min(9), "192.0.2.4"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 1 192.0.2.4"));
  // B for E and D for B; A's ban emptied a place, so D came back without evicting.
  EXPECT_EQ(engine.stats().evictions, 2U);
}

// Memory per tracked address: the figure docs/engine.md promises, for a 6-hit rule.
TEST(EngineMemory, AtMost100BytesPerTrackedAddressForSixHitRules) {
  for (const bool v6 : {false, true}) {
    Policy p = policy_with({address_rule(6, 1h)});
    Engine engine(p);
    RecordingSink sink;
    for (std::uint32_t i = 0; i < 100'000; ++i) {
      Event e = failure(at(i * 0.001), "192.0.2.1");
      if (v6) {
        Address::Bytes b{0x20, 0x01, 0x0d, 0xb8};
        b[12] = static_cast<std::uint8_t>(i >> 24);
        b[13] = static_cast<std::uint8_t>(i >> 16);
        b[14] = static_cast<std::uint8_t>(i >> 8);
        b[15] = static_cast<std::uint8_t>(i);
        e.source = Address::from_bytes(b);
      } else {
        e.source = Address::from_v4(0x0a000000U + i);
      }
      e.reporter = Reporter::Postfix;
      engine.on_event(e, sink);
      // One failure each: an entry's size does not depend on how many timestamps it holds.
      if (i % 1000 == 999) sink.decisions.clear();
    }
    const auto& s = engine.stats();
    EXPECT_EQ(s.tracked_keys, 100'000U);
    // Window state only: the duplicate filter's records live for the pairing window and are
    // counted in memory_bytes, not here.
    EXPECT_LE(static_cast<double>(s.window_bytes) / static_cast<double>(s.tracked_keys), 100.0)
        << "v6=" << v6;
    EXPECT_GT(s.memory_bytes, s.window_bytes);
  }
}

// Decision order within one call: unbans first (in time order), then strikes and bans in rule
// order. And the same input gives the same output.
TEST(EngineOrder, UnbansFirstThenRulesInOrderAndDeterministic) {
  Rule nets = address_rule(2, 20min, 5min);
  nets.name = "networks";
  nets.key = KeyKind::Prefix;
  auto run = [&] {
    Engine engine(policy_with({address_rule(2, 20min, 3min), nets}));
    RecordingSink sink;
    engine.on_event(failure(at_min(0), "192.0.2.1"), sink);
    engine.on_event(failure(at_min(0), "192.0.2.1"), sink);  // bans host until 03:00, net to 05:00
    engine.on_event(failure(at_min(10), "192.0.2.7"), sink);
    return sink.decisions;
  };
  const auto d = run();
  EXPECT_THAT(briefs(d),
              ElementsAre("strike 1 192.0.2.1", "strike 1 192.0.2.0/24", "strike 2 192.0.2.1",
                          "ban 192.0.2.1", "strike 2 192.0.2.0/24", "ban 192.0.2.0/24", "unban 192.0.2.1",
                          "unban 192.0.2.0/24", "strike 1 192.0.2.7", "strike 1 192.0.2.0/24"));
  EXPECT_EQ(d[6].time, at_min(3));
  EXPECT_EQ(d[7].time, at_min(5));
  const auto again = run();
  EXPECT_EQ(briefs(again), briefs(d));
}

// The operator: ban and unban through the CLI.
TEST(EngineOperator, BanAndUnban) {
  Engine engine(policy_with({address_rule()}));
  RecordingSink sink;
  EXPECT_EQ(engine.ban(net("203.0.113.0/24"), at(0), 0s, "why", sink), OperatorResult::Invalid);
  EXPECT_EQ(engine.ban(net("203.0.113.0/24"), at(0), 1h, "seen in another server's logs", sink),
            OperatorResult::Done);
  auto ban = engine.ban_covering(addr("203.0.113.99"));
  ASSERT_TRUE(ban.has_value());
  EXPECT_EQ(ban->rule, "operator");
  EXPECT_EQ(ban->until, at_min(60));
  // Failures from inside the banned network: while banned, and an operator ban is not extended.
  engine.on_event(failure(at(10), "203.0.113.99"), sink);
  EXPECT_EQ(engine.stats().while_banned, 1U);
  EXPECT_EQ(engine.unban(net("203.0.113.99"), at(20), sink), OperatorResult::NotBanned);
  EXPECT_EQ(engine.unban(net("203.0.113.0/24"), at(20), sink), OperatorResult::Done);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("ban 203.0.113.0/24", "unban 203.0.113.0/24"));
  EXPECT_TRUE(engine.active_bans().empty());
}

// Reload: windows of rules that kept their name and shape survive, bans survive, and a ban the new
// allowlist covers is lifted at once.
TEST(EngineReload, KeepsWindowsAndBansAndLiftsNewlyAllowlistedBans) {
  Engine engine(policy_with({address_rule(3, 20min)}));
  RecordingSink sink;
  // 00:00, 00:01: 192.0.2.1 at Strike 2. 00:01, 00:01.5, 00:02: 198.51.100.1 banned.
  engine.on_event(failure(at_min(0), "192.0.2.1"), sink);
  engine.on_event(failure(at_min(1), "192.0.2.1"), sink);
  for (double m : {1.0, 1.5, 2.0}) engine.on_event(failure(at_min(m), "198.51.100.1"), sink);
  sink.take();
  // 00:03: reload with 198.51.100.0/24 allowlisted and a new notice rule.
  Rule notice = address_rule(5, 1h);
  notice.name = "watch";
  notice.action = RuleAction::Notice;
  engine.reload(policy_with({address_rule(3, 20min), notice}, {net("198.51.100.0/24")}), at_min(3), sink);
  auto d = sink.take();
  ASSERT_THAT(briefs(d), ElementsAre("unban 198.51.100.1"));
  EXPECT_EQ(d[0].reason, "allowlisted by a configuration reload");
  // 00:04: 192.0.2.1's third failure: the kept window makes it Strike 3; the new rule: Strike 1.
  engine.on_event(failure(at_min(4), "192.0.2.1"), sink);
  EXPECT_THAT(briefs(sink.take()), ElementsAre("strike 3 192.0.2.1", "ban 192.0.2.1", "strike 1 192.0.2.1"));
  EXPECT_EQ(engine.policy().rules.size(), 2U);
}

// Usernames are attacker text: bounded and quoted in reasons.
TEST(EngineCampaign, HostileUsernameIsBoundedAndQuoted) {
  Rule r = address_rule(1, 1h);
  r.name = "campaign";
  r.key = KeyKind::Username;
  Engine engine(policy_with({r}));
  RecordingSink sink;
  std::string user(1000, 'A');
  user[3] = '"';
  user[4] = '\n';
  engine.on_event(failure(at(0), "192.0.2.1", user), sink);
  ASSERT_FALSE(sink.decisions.empty());
  EXPECT_EQ(sink.decisions[0].user.size(), 256U);
  EXPECT_THAT(sink.decisions[0].reason, StartsWith("campaign on user \"AAA\\x22\\x0aAA"));
  // The same user written in other case (all 1000 bytes) is the same campaign.
  std::string lower(1000, 'a');
  lower[3] = '"';
  lower[4] = '\n';
  engine.on_event(failure(at(1), "192.0.2.2", lower), sink);
  EXPECT_EQ(engine.stats().tracked_keys, 1U);
}

}  // namespace
}  // namespace strikeout::core
