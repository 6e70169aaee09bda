// Property test: the engine against an independent brute-force oracle.
//
// Random event streams (a few addresses, IPv4 and IPv6, one of them allowlisted; random gaps,
// including equal times; some events from unestablished connections) go through the engine with
// one address rule. The oracle keeps every event of every address since its last ban, and at each
// event counts, by brute force, the events in [t - T, t]: N or more means "N within T", a ban
// (escalated by its offence history) that clears the address's events. While banned, an event from
// an established connection extends the ban, capped at since + ban_max. The bans, their ends and
// extensions must be exactly the engine's, and no allowlisted address is ever banned.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "core/engine.hpp"
#include "engine_test_util.hpp"

namespace strikeout::core {
namespace {

using namespace std::chrono_literals;
using namespace testing;

struct Outcome {
  std::string what;  // "ban", "extend", "unban"
  std::string target;
  Time time;
  Time until;
  std::uint32_t offence;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << o.what << " " << o.target << " at " << format_rfc3339(o.time) << " until "
            << format_rfc3339(o.until) << " offence " << o.offence;
}

struct OracleAddress {
  std::vector<Time> events;  // since the last ban (or since the start)
  bool banned = false;
  Time since{}, until{};
  Duration length{};
  std::uint32_t offences = 0;
  Time last_end{};
  bool has_history = false;
};

// The brute-force reference: O(n^2), no cleverness, no shared code with the engine.
std::vector<Outcome> oracle(const std::vector<Event>& events, const Rule& rule, const Prefix& allowed) {
  std::map<Address, OracleAddress> state;
  std::vector<Outcome> out;
  auto end_bans_until = [&](Time now) {
    // Every ban that ended at or before `now`, in order of end, then address.
    for (;;) {
      const Address* first = nullptr;
      for (auto& [a, s] : state) {
        if (s.banned && s.until <= now && (first == nullptr || s.until < state[*first].until)) {
          first = &a;
        }
      }
      if (first == nullptr) return;
      OracleAddress& s = state[*first];
      s.banned = false;
      out.push_back({"unban", first->to_string(), s.until, s.until, s.offences});
    }
  };
  for (const Event& e : events) {
    end_bans_until(e.time);
    if (allowed.contains(e.source)) continue;
    OracleAddress& s = state[e.source];
    if (s.banned) {
      if (e.from_established) {
        const Time until = std::min(std::max(s.until, e.time + s.length), s.since + rule.ban_max);
        if (until > s.until) {
          s.until = until;
          s.last_end = until;
          out.push_back({"extend", e.source.to_string(), e.time, until, s.offences});
        }
      }
      continue;
    }
    s.events.push_back(e.time);
    std::uint32_t in_window = 0;
    for (Time t : s.events) {
      if (t >= e.time - rule.within && t <= e.time) ++in_window;
    }
    if (in_window < rule.hits) continue;
    s.events.clear();
    s.offences = (s.has_history && e.time <= s.last_end + rule.forget_after) ? s.offences + 1 : 1;
    Duration length = rule.ban;
    for (std::uint32_t i = 1; i < s.offences && length < rule.ban_max; ++i) {
      length = Duration{static_cast<std::int64_t>(static_cast<double>(length.count()) * rule.ban_factor)};
    }
    length = std::min(length, rule.ban_max);
    s.banned = true;
    s.has_history = true;
    s.since = e.time;
    s.until = e.time + length;
    s.last_end = s.until;
    s.length = length;
    out.push_back({"ban", e.source.to_string(), e.time, s.until, s.offences});
  }
  if (!events.empty()) end_bans_until(events.back().time + 365 * 24h);
  return out;
}

std::vector<Outcome> engine_outcomes(const std::vector<Decision>& decisions) {
  std::vector<Outcome> out;
  for (const auto& d : decisions) {
    if (d.kind == DecisionKind::Strike) continue;
    const std::string what = d.kind == DecisionKind::Unban ? "unban" : d.extended ? "extend" : "ban";
    out.push_back({what, d.target.to_string(), d.time, d.until, d.offence});
  }
  return out;
}

TEST(EngineProperty, BansEqualBruteForceOracleOnRandomStreams) {
  const std::vector<std::string> pool = {"192.0.2.1",   "192.0.2.2",   "198.51.100.3",
                                         "2001:db8::4", "2001:db8::5", "10.0.0.6"};
  const Prefix allowed = net("10.0.0.0/8");
  std::mt19937_64 rng(20261127);
  std::size_t total_bans = 0;
  for (int round = 0; round < 300; ++round) {
    Rule rule = address_rule();
    rule.hits = 2 + static_cast<std::uint32_t>(rng() % 5);  // 2..6
    rule.within = std::chrono::seconds(30 + rng() % 600);
    rule.ban = std::chrono::seconds(10 + rng() % 300);
    rule.ban_factor = (rng() % 2 == 0) ? 1.0 : 2.0;
    rule.ban_max = rule.ban * (1 + static_cast<std::int64_t>(rng() % 6));
    rule.forget_after = std::chrono::seconds(rng() % 1200);
    Policy policy = policy_with({rule}, {allowed});
    policy.limits.hash_seed = rng();

    // Times move forward by random gaps in milliseconds (the engine's resolution), often zero.
    std::vector<Event> events;
    Time t = at(0);
    const int n = 50 + static_cast<int>(rng() % 250);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t kind = rng() % 10;
      const std::int64_t gap_ms = kind < 2   ? 0
                                  : kind < 7 ? static_cast<std::int64_t>(rng() % 60'000)
                                             : static_cast<std::int64_t>(rng() % 400'000);
      t += std::chrono::milliseconds(gap_ms);
      Event e = failure(t, pool[rng() % pool.size()]);
      e.from_established = rng() % 4 != 0;
      events.push_back(e);
    }

    Engine engine(policy);
    RecordingSink sink;
    for (const auto& e : events) engine.on_event(e, sink);
    engine.advance(t + 365 * 24h, sink);  // let every ban end

    const auto expected = oracle(events, rule, allowed);
    const auto got = engine_outcomes(sink.decisions);
    // Unbans of different addresses at one instant may be listed in another order by the oracle;
    // compare bans and extensions in order, and the set of unbans.
    auto split = [](const std::vector<Outcome>& all, bool unbans) {
      std::vector<Outcome> part;
      for (const auto& o : all) {
        if ((o.what == "unban") == unbans) part.push_back(o);
      }
      if (unbans) {
        std::sort(part.begin(), part.end(), [](const Outcome& a, const Outcome& b) {
          return std::tie(a.time, a.target) < std::tie(b.time, b.target);
        });
      }
      return part;
    };
    ASSERT_EQ(split(got, false), split(expected, false))
        << "round " << round << ": hits " << rule.hits << " within " << format_duration(rule.within);
    ASSERT_EQ(split(got, true), split(expected, true)) << "round " << round;
    for (const auto& o : got) ASSERT_FALSE(allowed.contains(addr(o.target)));
    total_bans += split(expected, false).size();
  }
  // The streams are not trivial: they produce bans.
  EXPECT_GT(total_bans, 300U);
}

}  // namespace
}  // namespace strikeout::core
