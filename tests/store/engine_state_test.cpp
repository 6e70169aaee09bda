// Engine::export_state / export_touched / import_state: what the store keeps is enough for a restarted
// engine to decide exactly what the engine that never stopped decides (docs/state.md).
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "../core/engine_test_util.hpp"
#include "core/engine_state.hpp"
#include "state_support.hpp"

namespace strikeout::core {
namespace {

using namespace testing;
using store::testing::canonical;
using store::testing::ImageOfStore;

Rule prefix_rule() {
  Rule r = address_rule(5, std::chrono::minutes(10));
  r.name = "networks";
  r.key = KeyKind::Prefix;
  return r;
}

Rule campaign_rule() {
  Rule r = address_rule(3, std::chrono::hours(1));
  r.name = "campaign";
  r.key = KeyKind::Username;
  return r;
}

Policy mixed_policy() {
  return policy_with({address_rule(), prefix_rule(), campaign_rule()});
}

// The daemon's bookkeeping between two commits: every event's source and username, every ban
// decision's target.
struct Tracker : DecisionSink {
  DecisionSink* next = nullptr;
  TouchedKeys touched;
  void on_decision(const Decision& d) override {
    if (d.kind != DecisionKind::Strike) touched.targets.push_back(d.target);
    if (next != nullptr) next->on_decision(d);
  }
  void saw(const Event& e) {
    touched.sources.push_back(e.source);
    if (!e.user.empty()) touched.usernames.emplace_back(e.user);
  }
};

TEST(EngineState, RestartInTheMiddleOfAnAttackKeepsTheStrikes) {
  // The recipe's rule, 3 failures in 20 minutes. Two strikes, then the daemon restarts.
  RecordingSink sink;
  Engine before(policy_with({address_rule()}));
  before.on_event(failure(at(0), "203.0.113.7"), sink);
  before.on_event(failure(at(60), "203.0.113.7"), sink);
  EXPECT_EQ(briefs(sink.take()), (std::vector<std::string>{"strike 1 203.0.113.7", "strike 2 203.0.113.7"}));

  Engine after(policy_with({address_rule()}));
  after.import_state(before.export_state(), at(90));
  // Its next failure bans it: the strikes were not forgotten.
  after.on_event(failure(at(120), "203.0.113.7"), sink);
  EXPECT_EQ(briefs(sink.take()), (std::vector<std::string>{"strike 3 203.0.113.7", "ban 203.0.113.7"}));
}

TEST(EngineState, BansAndEscalationSurvive) {
  RecordingSink sink;
  Engine before(policy_with({address_rule()}));
  for (int i = 0; i < 3; ++i) before.on_event(failure(at(i), "198.51.100.1"), sink);
  ASSERT_EQ(before.active_bans().size(), 1U);
  Engine after(policy_with({address_rule()}));
  after.import_state(before.export_state(), at(10));
  ASSERT_EQ(after.active_bans().size(), 1U);
  EXPECT_EQ(after.active_bans()[0].until, before.active_bans()[0].until);
  // A retry while banned still extends (the rule is known by name).
  sink.take();
  after.on_event(failure(at_min(5), "198.51.100.1"), sink);
  EXPECT_EQ(briefs(sink.take()), (std::vector<std::string>{"extend 198.51.100.1"}));
  // After the ban ends, a second offence is escalated: 40 minutes.
  after.advance(at_min(30), sink);
  sink.take();
  for (int i = 0; i < 3; ++i)
    after.on_event(failure(at_min(31) + std::chrono::seconds(i), "198.51.100.1"), sink);
  const auto bans = after.active_bans();
  ASSERT_EQ(bans.size(), 1U);
  EXPECT_EQ(bans[0].offence, 2U);
  EXPECT_EQ(bans[0].until - bans[0].since, std::chrono::minutes(40));
}

TEST(EngineState, ExportImportExportIsTheSame) {
  RecordingSink sink;
  Engine a(mixed_policy());
  const char* users[] = {"bob", "Alice", "carol"};
  for (int i = 0; i < 200; ++i) {
    const std::string src = "203.0." + std::to_string(i % 7) + "." + std::to_string(i % 13);
    a.on_event(failure(at(i * 7), src, users[i % 3], i % 2 == 0 ? Reporter::Postfix : Reporter::Dovecot),
               sink);
  }
  const EngineState exported = canonical(a.export_state());
  EXPECT_FALSE(exported.windows.empty());
  EXPECT_FALSE(exported.bans.empty());
  EXPECT_FALSE(exported.pairing.empty());
  Engine b(mixed_policy());
  b.import_state(exported, exported.now);
  EXPECT_EQ(canonical(b.export_state()), exported);
}

TEST(EngineState, ADuplicateReportAcrossARestartCountsOnce) {
  // Postfix reports the failure, the daemon restarts, Dovecot's report of the same failure follows.
  RecordingSink sink;
  Engine before(policy_with({address_rule()}));
  before.on_event(failure(at(0), "192.0.2.9", "bob", Reporter::Postfix), sink);
  Engine after(policy_with({address_rule()}));
  after.import_state(before.export_state(), at(0));
  sink.take();
  after.on_event(failure(at(1), "192.0.2.9", "bob", Reporter::Dovecot), sink);
  EXPECT_TRUE(sink.take().empty());
  EXPECT_EQ(after.stats().duplicates, 1U);
}

TEST(EngineState, ImportUnderAChangedConfiguration) {
  RecordingSink sink;
  Engine before(mixed_policy());
  for (int i = 0; i < 2; ++i) before.on_event(failure(at(i), "203.0.113.7", "bob"), sink);
  for (int i = 0; i < 3; ++i) before.on_event(failure(at(10 + i), "198.51.100.1"), sink);
  const EngineState saved = before.export_state();

  // The address rule is gone and the network rule now counts /16: neither window may be taken.
  Rule wider = prefix_rule();
  wider.prefix4 = 16;
  Engine after(policy_with({wider, campaign_rule()}));
  after.import_state(saved, at(20));
  const EngineState now = after.export_state();
  EXPECT_TRUE(now.windows.empty());
  EXPECT_EQ(now.campaigns.size(), 1U);  // same rule, same shape
  // The ban stays until its end but its rule is gone: no longer re-tagged.
  ASSERT_EQ(after.active_bans().size(), 1U);
  sink.take();
  after.on_event(failure(at(60), "198.51.100.1"), sink);
  EXPECT_TRUE(sink.take().empty());
}

TEST(EngineState, ExpiredBansAndAllowlistedTargetsAreNotTaken) {
  RecordingSink sink;
  Engine before(policy_with({address_rule()}));
  for (int i = 0; i < 3; ++i) before.on_event(failure(at(i), "198.51.100.1"), sink);
  for (int i = 0; i < 3; ++i) before.on_event(failure(at(i), "198.51.100.2"), sink);
  Engine after(policy_with({address_rule()}, {net("198.51.100.2")}));
  after.import_state(before.export_state(), at(5));
  EXPECT_EQ(after.active_bans().size(), 1U);
  Engine later(policy_with({address_rule()}));
  later.import_state(before.export_state(), at_min(25));  // both ended at 20 minutes
  EXPECT_TRUE(later.active_bans().empty());
  EXPECT_EQ(later.export_state().offenders.size(), 2U);  // their history is kept (escalation)
}

// The property the store exists for: an engine restarted from what was committed at any moment
// decides, for the events after that moment, exactly what the engine that never stopped decides.
// The committed state is built the way the daemon builds it: from export_touched() of the keys touched
// between commits, applied to an image of the store.
TEST(EngineState, RestartFromIncrementalCommitsDecidesTheSame) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    std::vector<std::string> users = {"bob", "alice", "BOB", "info", "admin"};
    std::vector<Event> events;
    std::vector<std::string> hold;  // keeps the usernames alive
    hold.reserve(600);
    double t = 0;
    for (int i = 0; i < 600; ++i) {
      t += std::uniform_real_distribution<double>(0, 40)(rng);
      const std::string src = "10." + std::to_string(rng() % 3) + "." + std::to_string(rng() % 4) + "." +
                              std::to_string(rng() % 5);
      hold.push_back(users[rng() % users.size()]);
      Event e =
          failure(at(t), "192.0.2.1", hold.back(), rng() % 3 == 0 ? Reporter::Dovecot : Reporter::Postfix);
      e.source = addr(src);
      events.push_back(e);
    }
    RecordingSink whole_sink;
    Engine whole(mixed_policy());
    Tracker tracker;
    tracker.next = &whole_sink;
    ImageOfStore image;
    const std::size_t every = 1 + rng() % 9;
    const std::size_t cut = 100 + rng() % 400;
    EngineState committed_at_cut;
    std::size_t decisions_at_cut = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
      tracker.saw(events[i]);
      whole.on_event(events[i], tracker);
      if ((i + 1) % every == 0 || i + 1 == cut) {
        StateUpdate u;
        u.engine = whole.export_touched(tracker.touched);
        tracker.touched.clear();
        image.apply(u);
      }
      if (i + 1 == cut) {
        committed_at_cut = image.state();
        decisions_at_cut = whole_sink.decisions.size();
        // What was committed is what the engine holds, but for windows it swept without a touch (they
        // can no longer matter; the store prunes them by their `expires`).
        EngineState full = canonical(whole.export_state());
        EXPECT_EQ(full.bans, committed_at_cut.bans) << "seed " << seed;
        for (const auto& w : full.windows) {
          EXPECT_NE(std::find(committed_at_cut.windows.begin(), committed_at_cut.windows.end(), w),
                    committed_at_cut.windows.end())
              << "seed " << seed << ": window of " << w.key.to_string() << " not committed";
        }
        for (const auto& w : committed_at_cut.windows) {
          if (std::find(full.windows.begin(), full.windows.end(), w) == full.windows.end()) {
            EXPECT_LT(w.expires, full.now)
                << "seed " << seed << ": " << w.key.to_string() << " kept but live";
          }
        }
      }
    }
    Engine restarted(mixed_policy());
    restarted.import_state(committed_at_cut, committed_at_cut.now);
    RecordingSink after;
    for (std::size_t i = cut; i < events.size(); ++i) restarted.on_event(events[i], after);
    std::vector<std::string> expected;
    for (std::size_t i = decisions_at_cut; i < whole_sink.decisions.size(); ++i) {
      expected.push_back(brief(whole_sink.decisions[i]) + " " + whole_sink.decisions[i].rule);
    }
    std::vector<std::string> got;
    for (const auto& d : after.decisions) got.push_back(brief(d) + " " + d.rule);
    ASSERT_EQ(got, expected) << "seed " << seed << ", cut after event " << cut;
  }
}

}  // namespace
}  // namespace strikeout::core
