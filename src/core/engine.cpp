// The detector. The contract it keeps is docs/engine.md; this file says how.
//
// State, per rule:
//   - address and prefix rules: an AddressTable whose entry holds the key (the address, or the
//     network with its host bits cleared) and the newest hits-1 timestamps of the pending window,
//     as a base time and 32-bit offsets in ticks (1 ms, or 1 s for windows longer than 49 days);
//   - username rules (campaigns): a map from the case-folded username to the distinct sources seen
//     failing on it within the window (at most hits-1 of them) and whether a campaign is active.
// Across rules: the bans (by target), a heap of ban ends, the offence history for escalation, the
// allowlist, and the duplicate filter (dedup.hpp).
#include "core/engine.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <queue>
#include <string_view>
#include <unordered_map>

#include "core/address_table.hpp"
#include "core/dedup.hpp"
#include "core/engine_state.hpp"
#include "core/username.hpp"

namespace strikeout::core {

namespace {

using detail::AddressTable;

constexpr std::int64_t kMinInt = std::numeric_limits<std::int64_t>::min();

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Window entry payload (after the 16-byte key): [0,8) base time in ticks (the oldest stored
// timestamp), [8,10) number of stored timestamps, [10,12) unused, [12,...) one 32-bit offset from
// the base per further timestamp.
constexpr std::size_t kBaseAt = 0;
constexpr std::size_t kCountAt = 8;
constexpr std::size_t kOffsetsAt = 12;

struct PrefixHash {
  std::uint64_t seed;
  std::size_t operator()(const Prefix& p) const {
    return static_cast<std::size_t>(hash_address(p.address(), seed) ^
                                    (std::uint64_t{p.length()} * 0x9e3779b97f4a7c15ULL));
  }
};

struct FoldedHash {
  using is_transparent = void;
  std::uint64_t seed;
  std::size_t operator()(std::string_view s) const {
    return static_cast<std::size_t>(detail::hash_folded(s, seed));
  }
};

struct FoldedEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

// A network of the allowlist as two masked 64-bit halves, so a check is four ANDs and compares.
struct AllowedNet {
  Prefix prefix;
  std::uint64_t mask_hi, mask_lo, value_hi, value_lo;
};

void halves(const Address& a, std::uint64_t& hi, std::uint64_t& lo) {
  std::memcpy(&hi, a.bytes().data(), 8);
  std::memcpy(&lo, a.bytes().data() + 8, 8);
}

AllowedNet make_allowed(const Prefix& p) {
  const unsigned bits = p.is_v4() ? 96 + p.length() : p.length();
  Address::Bytes mask{};
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned start = i * 8;
    if (start + 8 <= bits) {
      mask[i] = 0xff;
    } else if (start < bits) {
      mask[i] = static_cast<std::uint8_t>(0xffU << (8 - (bits - start)));
    }
  }
  AllowedNet n{p, 0, 0, 0, 0};
  halves(Address::from_bytes(mask), n.mask_hi, n.mask_lo);
  halves(p.address(), n.value_hi, n.value_lo);
  return n;
}

// Usernames are attacker text: in a reason they are quoted, with quotes, backslashes, control and
// non-ASCII bytes written as \xHH so a log line can not be forged through them.
void append_quoted(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  out.push_back('"');
}

struct SourceSeen {
  Prefix source;
  std::int64_t last_us;  // its newest failure on this username
};

struct Campaign {
  std::int64_t active_until_us = kMinInt;  // a campaign is active until T after its last failure
  std::int64_t last_us = kMinInt;          // newest failure on this username
  std::uint32_t sources_total = 0;         // distinct sources punished since the campaign began
  std::vector<SourceSeen> sources;         // pending: distinct sources within T (< hits)
  std::string display;                     // the username as first written (cut to 256 bytes)
};

using CampaignMap = std::unordered_map<std::string, Campaign, FoldedHash, FoldedEqual>;

struct RuleState {
  Rule rule;
  std::uint32_t index = 0;
  std::uint32_t hits = 1;
  std::int64_t tick_us = 1000;
  std::int64_t window_ticks = 0;        // `within` in ticks
  std::int64_t keep_ticks = 0;          // within + reorder tolerance: older timestamps can not matter
  std::uint32_t slots = 0;              // timestamps kept per key: hits - 1
  std::unique_ptr<AddressTable> table;  // address and prefix rules with hits > 1
  CampaignMap campaigns;                // username rules
  std::string reason;                   // "3 auth-failure within 20m"
  std::string within_text;              // format_duration(rule.within): "1h"
};

struct BanState {
  BanInfo info;
  int rule = -1;      // index of the rule that banned, -1 for the operator
  Duration length{};  // this ban's length (escalated), what a re-tag extends by
  Time max_until{};   // since + ban_max: no extension goes past it
};

struct History {
  std::uint32_t offences = 0;
  Time last_end{};          // end of the latest ban
  Duration forget_after{};  // quiet time after last_end that resets offences
};

struct Expiry {
  Time until;
  Prefix target;
  bool operator>(const Expiry& o) const { return until != o.until ? until > o.until : o.target < target; }
};

// One candidate of an eviction scan: the order is the documented eviction order.
struct Victim {
  std::uint32_t distance;  // hits still missing to reach the threshold: more is colder
  std::int64_t last_us;    // newest event of the key: older is colder
  std::uint32_t rule;
  Address key;
  const std::string* user;  // campaigns: the folded username
};

bool colder(const Victim& a, const Victim& b) {
  if (a.distance != b.distance) return a.distance > b.distance;
  if (a.last_us != b.last_us) return a.last_us < b.last_us;
  if (a.rule != b.rule) return a.rule < b.rule;
  if (a.user != nullptr && b.user != nullptr) return *a.user < *b.user;
  return a.key < b.key;
}

}  // namespace

struct Engine::Impl {
  explicit Impl(Policy p);

  // Time
  void advance_to(Time t, DecisionSink& sink);
  void expire(DecisionSink& sink);
  void sweep();

  // Counting
  void count_event(const Event& e, DecisionSink& sink);
  void count_window(RuleState& rs, const Event& e, const Prefix& target, DecisionSink& sink);
  void count_campaign(RuleState& rs, const Event& e, DecisionSink& sink);
  void retag(BanState& ban, const Event& e, DecisionSink& sink);

  // Bans
  const AllowedNet* allowlisted_in(const Prefix& p) const;
  BanState* covering_ban(const Address& a);
  bool start_ban(RuleState& rs, const Prefix& target, const Event& e, std::uint32_t count,
                 std::string_view reason, std::string_view user, DecisionSink& sink);
  void end_ban(std::unordered_map<Prefix, BanState, PrefixHash>::iterator it, Time when, std::string_view why,
               DecisionSink& sink);
  void add_ban_length(const Prefix& p, int delta) {
    ban_lengths[(p.is_v4() ? 0U : 129U) + p.length()] += delta;
    last_ban = nullptr;  // every ban added or removed passes here: the memo may be stale
  }

  // Memory
  std::uint64_t tracked() const;
  void make_room();
  void drop_stale();

  // Decisions
  Decision& fresh(DecisionKind kind, Time time, const Prefix& target, std::string_view rule);
  void emit_strike(RuleState& rs, const Event& e, const Prefix& target, std::uint32_t k,
                   std::string_view user, std::string_view reason, DecisionSink& sink);

  Policy policy;
  std::vector<RuleState> rules;
  std::array<std::vector<std::uint32_t>, kEventKinds> rules_by_kind;
  std::vector<AllowedNet> allow;
  detail::DuplicateFilter dedup;
  std::unordered_map<Prefix, BanState, PrefixHash> bans;
  std::array<int, 258> ban_lengths{};  // bans per (family, length), to look up covering bans
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries;
  std::unordered_map<Prefix, History, PrefixHash> history;
  mutable EngineStats stats;
  bool started = false;
  Time now{};
  Time next_sweep{};
  Duration sweep_interval{};
  std::size_t dedup_after_sweep = 0;
  std::uint64_t events_since_sweep = 0;  // events counted since the last sweep (amortises its cost)
  Time next_dedup_sweep{};
  Time next_history_sweep{};  // sweep() walks the offence history from then on
  std::uint64_t evict_batch = 1;
  std::vector<std::int64_t> times;  // scratch for one window, sized for the largest rule
  std::string reason_buf;
  Decision scratch;
  // The host ban covering the address looked up last (covering_ban): a banned attacker's events
  // come in runs, and a host ban is the most specific answer there is. Dropped whenever a ban is
  // added or removed (add_ban_length), so it never outlives its ban.
  Address last_ban_address{};
  BanState* last_ban = nullptr;
};

Engine::Impl::Impl(Policy p)
    : policy(std::move(p)),
      dedup(policy.limits.duplicate_window, policy.limits.hash_seed, policy.limits.max_tracked_keys),
      bans(16, PrefixHash{policy.limits.hash_seed}),
      history(16, PrefixHash{policy.limits.hash_seed}) {
  const Duration tolerance = std::max(policy.limits.reorder_tolerance, Duration::zero());
  Duration shortest = std::chrono::hours(1);
  std::size_t most_slots = 1;
  for (std::size_t i = 0; i < policy.rules.size(); ++i) {
    RuleState rs;
    rs.rule = policy.rules[i];
    rs.index = static_cast<std::uint32_t>(i);
    rs.hits = std::max<std::uint32_t>(rs.rule.hits, 1);
    const Duration within = std::max(rs.rule.within, Duration::zero());
    // Millisecond ticks keep offsets in 32 bits for windows (plus tolerance) up to 49 days; a longer
    // window is counted in seconds.
    const std::int64_t span_ms = (within + tolerance).count() / 1000;
    rs.tick_us = span_ms < std::numeric_limits<std::uint32_t>::max() ? 1000 : 1'000'000;
    rs.window_ticks = within.count() / rs.tick_us;
    rs.keep_ticks = (within + tolerance).count() / rs.tick_us;
    rs.slots = rs.hits - 1;
    rs.campaigns = CampaignMap(16, FoldedHash{policy.limits.hash_seed}, FoldedEqual{});
    if (rs.rule.key != KeyKind::Username && rs.slots > 0) {
      rs.table = std::make_unique<AddressTable>(kOffsetsAt + 4 * (rs.slots - 1), policy.limits.hash_seed + i);
    }
    rs.within_text = format_duration(rs.rule.within);
    rs.reason = std::to_string(rs.hits) + " " + std::string(to_string(rs.rule.on)) + " within " +
                format_duration(within);
    most_slots = std::max<std::size_t>(most_slots, rs.slots + 1);
    if (within > Duration::zero()) shortest = std::min(shortest, within);
    rules_by_kind[static_cast<std::size_t>(rs.rule.on) % kEventKinds].push_back(rs.index);
    rules.push_back(std::move(rs));
  }
  for (const auto& net : policy.allowlist) allow.push_back(make_allowed(net));
  // Stale keys are dropped every shortest window (at least a minute, at most an hour): a key is
  // then at most about two windows old, and the O(keys) pass costs little per event.
  sweep_interval = std::max<Duration>(shortest, std::chrono::minutes(1));
  evict_batch = std::max<std::uint64_t>(1, policy.limits.max_tracked_keys / 64);
  times.resize(most_slots + 1);
  scratch.rule.reserve(64);
  scratch.reason.reserve(128);
  scratch.user.reserve(64);
  scratch.sensor.reserve(32);
}

// ---- time -----------------------------------------------------------------------------------

void Engine::Impl::advance_to(Time t, DecisionSink& sink) {
  if (!started) {
    started = true;
    now = t;
    next_sweep = t + sweep_interval;
    next_dedup_sweep = t + dedup.retention();
    return;
  }
  if (t <= now) return;
  now = t;
  expire(sink);
  // The sweep is O(keys): it runs once per sweep interval of event time, but only once at least as
  // many events as there are keys arrived since the last one, so its cost per event stays O(1) when a
  // replay crosses many intervals with few events each. Keys it leaves a little longer are still
  // bounded by the memory cap (make_room drops stale keys first).
  if (now >= next_sweep && events_since_sweep >= tracked()) {
    sweep();
    events_since_sweep = 0;
    next_sweep = now + sweep_interval;
  } else if (now >= next_dedup_sweep || dedup.addresses() > 2 * dedup_after_sweep + 1024) {
    // The pairing state lives for seconds, the windows for minutes: between sweeps, the duplicate
    // filter is swept alone once per its retention and whenever it has doubled, so it stays near
    // its live size at an amortised O(1) per report.
    dedup.sweep(now);
    dedup_after_sweep = dedup.addresses();
    next_dedup_sweep = now + dedup.retention();
  }
}

// Ends every ban whose `until` <= now, in order of `until` (then target).
void Engine::Impl::expire(DecisionSink& sink) {
  while (!expiries.empty() && expiries.top().until <= now) {
    const Expiry x = expiries.top();
    expiries.pop();
    auto it = bans.find(x.target);
    if (it == bans.end()) continue;  // lifted by the operator
    if (it->second.info.until > x.until) {
      // Extended since this entry was queued: queue its new end (one entry per ban, so re-tags
      // cost no heap growth).
      expiries.push(Expiry{it->second.info.until, x.target});
      continue;
    }
    if (it->second.info.until != x.until) continue;  // an operator ban replaced it
    end_ban(it, x.until, "ban ended", sink);
  }
}

void Engine::Impl::sweep() {
  drop_stale();
  dedup.sweep(now);
  dedup_after_sweep = dedup.addresses();
  next_dedup_sweep = now + dedup.retention();
  // Forgotten offence histories are only memory (start_ban checks forget_after itself), and the
  // history outlives the windows by hours: walking it every 15 minutes of event time is enough.
  if (now < next_history_sweep) return;
  next_history_sweep = now + std::max<Duration>(sweep_interval, std::chrono::minutes(15));
  for (auto it = history.begin(); it != history.end();) {
    if (now > it->second.last_end + it->second.forget_after && !bans.contains(it->first)) {
      it = history.erase(it);
    } else {
      ++it;
    }
  }
}

// Drops keys whose every stored timestamp is older than within + tolerance: no event that may
// still arrive can complete a window with them. Campaigns go when inactive and as old.
void Engine::Impl::drop_stale() {
  const std::int64_t now_us = to_micros(now);
  for (auto& rs : rules) {
    if (rs.table) {
      const std::int64_t horizon = floor_div(now_us, rs.tick_us) - rs.keep_ticks;
      const std::size_t before = rs.table->size();
      rs.table->retain([&](std::size_t slot) {
        const std::byte* p = rs.table->payload(slot);
        std::int64_t base = 0;
        std::uint16_t count = 0;
        std::memcpy(&base, p + kBaseAt, 8);
        std::memcpy(&count, p + kCountAt, 2);
        std::uint32_t last_off = 0;
        if (count >= 2) std::memcpy(&last_off, p + kOffsetsAt + 4 * (count - 2U), 4);
        return base + last_off >= horizon;
      });
      stats.expired_keys += before - rs.table->size();
    }
    if (rs.rule.key == KeyKind::Username) {
      const std::int64_t horizon = now_us - rs.rule.within.count() - policy.limits.reorder_tolerance.count();
      for (auto it = rs.campaigns.begin(); it != rs.campaigns.end();) {
        if (it->second.active_until_us < now_us && it->second.last_us < horizon) {
          it = rs.campaigns.erase(it);
          ++stats.expired_keys;
        } else {
          ++it;
        }
      }
    }
  }
}

// ---- memory bound ---------------------------------------------------------------------------

std::uint64_t Engine::Impl::tracked() const {
  std::uint64_t n = 0;
  for (const auto& rs : rules) {
    if (rs.table) n += rs.table->size();
    n += rs.campaigns.size();
  }
  return n;
}

// Called before a new key is stored. At the cap, drops stale keys, then evicts the coldest keys
// until the count is evict_batch below the cap, so the O(keys) scan is paid once per batch of new
// keys, not for each. Order (docs/engine.md, "Memory"): most hits still missing first, then the
// oldest newest-event, then rule order and key. Banned keys hold no window (a ban clears it) and
// active campaigns are never candidates.
void Engine::Impl::make_room() {
  const std::uint64_t cap = policy.limits.max_tracked_keys;
  if (tracked() < cap) return;
  drop_stale();
  const std::uint64_t target = cap > evict_batch ? cap - evict_batch : 0;
  const std::uint64_t have = tracked();
  if (have <= target) return;
  const std::uint64_t want = have - target;

  std::vector<Victim> heap;  // the `want` coldest so far; the warmest of them on top
  heap.reserve(static_cast<std::size_t>(want));
  auto offer = [&](const Victim& v) {
    if (heap.size() < want) {
      heap.push_back(v);
      std::push_heap(heap.begin(), heap.end(), colder);
    } else if (colder(v, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), colder);
      heap.back() = v;
      std::push_heap(heap.begin(), heap.end(), colder);
    }
  };
  const std::int64_t now_us = to_micros(now);
  for (auto& rs : rules) {
    if (rs.table) {
      const std::int64_t from = floor_div(now_us, rs.tick_us) - rs.window_ticks;
      for (std::size_t slot = 0; slot < rs.table->capacity(); ++slot) {
        if (!rs.table->occupied(slot)) continue;
        const std::byte* p = rs.table->payload(slot);
        std::int64_t base = 0;
        std::uint16_t count = 0;
        std::memcpy(&base, p + kBaseAt, 8);
        std::memcpy(&count, p + kCountAt, 2);
        std::uint32_t live = base >= from ? 1 : 0;
        std::int64_t last = base;
        for (std::uint16_t i = 1; i < count; ++i) {
          std::uint32_t off = 0;
          std::memcpy(&off, p + kOffsetsAt + 4 * (i - 1U), 4);
          last = base + off;
          if (last >= from) ++live;
        }
        offer(Victim{rs.hits - std::min(live, rs.hits), last * rs.tick_us, rs.index, rs.table->key(slot),
                     nullptr});
      }
    }
    for (const auto& [user, c] : rs.campaigns) {
      if (c.active_until_us >= now_us) continue;
      std::uint32_t live = 0;
      for (const auto& s : c.sources)
        if (s.last_us >= now_us - rs.rule.within.count()) ++live;
      offer(Victim{rs.hits - std::min(live, rs.hits), c.last_us, rs.index, Address{}, &user});
    }
  }
  for (const auto& v : heap) {
    RuleState& rs = rules[v.rule];
    if (v.user != nullptr) {
      const std::string user = *v.user;
      rs.campaigns.erase(user);
    } else {
      rs.table->erase(rs.table->find(v.key));
    }
    ++stats.evictions;
  }
}

// ---- decisions ------------------------------------------------------------------------------

namespace {
// Copies `text` into `out`, whose capacity is kept: clear() then append() is the short path (no
// aliasing checks); the decision's strings never alias their sources.
void set_text(std::string& out, std::string_view text) {
  out.clear();
  out.append(text.data(), text.size());
}

// "retry while banned (auth-failure) extends the ban", built once per event kind: a replayed
// attack re-tags its bans on most of its events.
const std::string& retag_reason(EventKind kind) {
  static const std::array<std::string, kEventKinds> reasons = [] {
    std::array<std::string, kEventKinds> r;
    for (std::size_t k = 0; k < r.size(); ++k) {
      r[k] = "retry while banned (" + std::string(to_string(static_cast<EventKind>(k))) + ") extends the ban";
    }
    return r;
  }();
  return reasons[static_cast<std::size_t>(kind)];
}
}  // namespace

// The engine's one Decision, refilled for each emission: its strings keep their capacity, so
// emitting a strike allocates nothing once they have grown.
Decision& Engine::Impl::fresh(DecisionKind kind, Time time, const Prefix& target, std::string_view rule) {
  Decision& d = scratch;
  d.kind = kind;
  d.time = time;
  d.target = target;
  set_text(d.rule, rule);
  d.action = RuleAction::Ban;
  d.count = 0;
  d.threshold = 0;
  d.until = Time{};
  d.offence = 0;
  d.extended = false;
  d.user.clear();
  d.reason.clear();
  d.sensor.clear();
  d.reporter = Reporter::Custom;
  d.tarpit.reset();
  return d;
}

void Engine::Impl::emit_strike(RuleState& rs, const Event& e, const Prefix& target, std::uint32_t k,
                               std::string_view user, std::string_view reason, DecisionSink& sink) {
  Decision& d = fresh(DecisionKind::Strike, e.time, target, rs.rule.name);
  d.action = rs.rule.action;
  d.count = k;
  d.threshold = rs.hits;
  set_text(d.user, user.substr(0, detail::kMaxUsernameBytes));
  set_text(d.reason, reason);
  set_text(d.sensor, e.sensor);
  d.reporter = e.reporter;
  ++stats.strikes_total;
  sink.on_decision(d);
}

// ---- bans -----------------------------------------------------------------------------------

const AllowedNet* Engine::Impl::allowlisted_in(const Prefix& p) const {
  for (const auto& n : allow) {
    if (n.prefix.contains(p) || p.contains(n.prefix)) return &n;
  }
  return nullptr;
}

BanState* Engine::Impl::covering_ban(const Address& a) {
  if (bans.empty()) return nullptr;
  if (last_ban != nullptr && last_ban_address == a) return last_ban;
  const bool v4 = a.is_v4();
  const unsigned max = v4 ? 32U : 128U;
  const std::size_t first = v4 ? 0U : 129U;
  for (unsigned len = max + 1; len-- > 0;) {  // most specific first
    if (ban_lengths[first + len] == 0) continue;
    auto it = bans.find(Prefix{a, len});
    if (it != bans.end()) {
      if (len == max) {
        last_ban_address = a;
        last_ban = &it->second;
      }
      return &it->second;
    }
  }
  return nullptr;
}

// Starts a ban of `target` for rule `rs`, caused by `e`. Refuses (returns false, says so in a
// statistic) when the target contains or lies in an allowlisted network, and does nothing when
// the target is already banned. The length escalates with the target's offence history.
bool Engine::Impl::start_ban(RuleState& rs, const Prefix& target, const Event& e, std::uint32_t count,
                             std::string_view reason, std::string_view user, DecisionSink& sink) {
  if (allowlisted_in(target) != nullptr) {
    ++stats.bans_skipped_allowlisted;
    return false;
  }
  if (bans.contains(target)) return false;
  const Rule& r = rs.rule;
  std::uint32_t offence = 1;
  auto h = history.find(target);
  if (h != history.end() && e.time <= h->second.last_end + h->second.forget_after) {
    offence = h->second.offences + 1;
  }
  const Duration cap = std::max(r.ban_max, Duration::zero());
  const double factor = r.ban_factor < 1.0 ? 1.0 : r.ban_factor;
  const double scaled =
      static_cast<double>(r.ban.count()) * std::pow(factor, static_cast<double>(offence - 1));
  const Duration length = scaled >= static_cast<double>(cap.count())
                              ? cap
                              : std::max(Duration{static_cast<std::int64_t>(scaled)}, Duration{1});

  BanState b;
  b.info.target = target;
  b.info.rule = r.name;
  b.info.action = r.action;
  b.info.since = e.time;
  b.info.until = e.time + length;
  b.info.count = count;
  b.info.offence = offence;
  b.info.reason.assign(reason);
  if (offence > 1) {
    b.info.reason += "; offence " + std::to_string(offence) + ", banned for " + format_duration(length);
  }
  b.rule = static_cast<int>(rs.index);
  b.length = length;
  b.max_until = e.time + cap;
  History& hist = history[target];
  hist.offences = offence;
  hist.last_end = b.info.until;
  hist.forget_after = r.forget_after;

  Decision& d = fresh(DecisionKind::Ban, e.time, target, r.name);
  d.action = r.action;
  d.count = count;
  d.threshold = rs.hits;
  d.until = b.info.until;
  d.offence = offence;
  d.tarpit = tarpit_choice(policy, &r, r.action, offence);
  set_text(d.user, user.substr(0, detail::kMaxUsernameBytes));
  set_text(d.reason, b.info.reason);
  set_text(d.sensor, e.sensor);
  d.reporter = e.reporter;
  expiries.push(Expiry{b.info.until, target});
  bans.emplace(target, std::move(b));
  add_ban_length(target, +1);
  ++stats.bans_total;
  sink.on_decision(d);
  return true;
}

void Engine::Impl::end_ban(std::unordered_map<Prefix, BanState, PrefixHash>::iterator it, Time when,
                           std::string_view why, DecisionSink& sink) {
  const BanState& b = it->second;
  Decision& d = fresh(DecisionKind::Unban, when, b.info.target, b.info.rule);
  d.action = b.info.action;
  d.count = b.info.count;
  d.until = b.info.until;
  d.offence = b.info.offence;
  d.reason.assign(why);
  d.reporter = b.rule < 0 ? Reporter::Operator : Reporter::Custom;
  if (auto h = history.find(b.info.target); h != history.end()) h->second.last_end = b.info.until;
  add_ban_length(b.info.target, -1);
  bans.erase(it);
  sink.on_decision(d);
}

// The recipe's re-tag: a try from a banned source moves the ban's end to `e.time` + the ban's own
// length, never past since + ban_max. Only evidence nobody can forge counts: an event from a
// completed connection (never a bare SYN), of a kind that is a try (not a successful login).
// Operator bans are not extended.
void Engine::Impl::retag(BanState& ban, const Event& e, DecisionSink& sink) {
  if (!e.from_established || e.kind == EventKind::AuthSuccess || ban.rule < 0) return;
  const RuleState& rs = rules[static_cast<std::size_t>(ban.rule)];
  if (!rs.rule.extend_on_retry) return;
  const Time until = std::min(std::max(ban.info.until, e.time + ban.length), ban.max_until);
  if (until <= ban.info.until) return;
  ban.info.until = until;  // its queued expiry re-queues itself at the new end (expire());
                           // the offence history learns the final end in end_ban()
  Decision& d = fresh(DecisionKind::Ban, e.time, ban.info.target, ban.info.rule);
  d.action = ban.info.action;
  d.count = ban.info.count;
  d.threshold = rs.hits;
  d.until = until;
  d.offence = ban.info.offence;
  d.tarpit = tarpit_choice(policy, &rs.rule, ban.info.action, ban.info.offence);
  d.extended = true;
  set_text(d.user, e.user.substr(0, detail::kMaxUsernameBytes));
  if (static_cast<std::size_t>(e.kind) < kEventKinds) {
    set_text(d.reason, retag_reason(e.kind));
  } else {
    d.reason.assign("retry while banned (");
    d.reason += to_string(e.kind);
    d.reason += ") extends the ban";
  }
  set_text(d.sensor, e.sensor);
  d.reporter = e.reporter;
  sink.on_decision(d);
}

// ---- counting -------------------------------------------------------------------------------

void Engine::Impl::count_event(const Event& e, DecisionSink& sink) {
  ++events_since_sweep;
  const auto& ids = rules_by_kind[static_cast<std::size_t>(e.kind) % kEventKinds];
  for (std::uint32_t id : ids) {
    RuleState& rs = rules[id];
    switch (rs.rule.key) {
      case KeyKind::Address:
        count_window(rs, e, Prefix::host(e.source), sink);
        break;
      case KeyKind::Prefix:
        count_window(rs, e, Prefix{e.source, e.source.is_v4() ? rs.rule.prefix4 : rs.rule.prefix6}, sink);
        break;
      case KeyKind::Username:
        count_campaign(rs, e, sink);
        break;
    }
  }
}

// "N within T" for one key: the event's timestamp joins the key's stored ones at its place in time
// order; the strike number is the largest number of events in any span of T that includes it.
// Reaching N fires the rule's action and clears the key's window.
void Engine::Impl::count_window(RuleState& rs, const Event& e, const Prefix& target, DecisionSink& sink) {
  const std::uint32_t n_hits = rs.hits;
  if (n_hits == 1) {
    emit_strike(rs, e, target, 1, e.user, rs.reason, sink);
    if (rs.rule.action != RuleAction::Notice) start_ban(rs, target, e, 1, rs.reason, e.user, sink);
    return;
  }
  AddressTable& table = *rs.table;
  const Address& key = target.address();
  std::size_t slot = table.find(key);
  if (slot == AddressTable::npos) {
    make_room();
    slot = table.insert(key);
  }
  std::byte* p = table.payload(slot);
  std::int64_t base = 0;
  std::uint16_t stored = 0;
  std::memcpy(&base, p + kBaseAt, 8);
  std::memcpy(&stored, p + kCountAt, 2);
  std::int64_t* t = times.data();
  if (stored > 0) t[0] = base;
  for (std::uint16_t i = 1; i < stored; ++i) {
    std::uint32_t off = 0;
    std::memcpy(&off, p + kOffsetsAt + 4 * (i - 1U), 4);
    t[i] = base + off;
  }
  // Insert after any equal timestamps, keeping time order.
  const std::int64_t event_tick = floor_div(to_micros(e.time), rs.tick_us);
  std::size_t pos = stored;
  while (pos > 0 && t[pos - 1] > event_tick) {
    t[pos] = t[pos - 1];
    --pos;
  }
  t[pos] = event_tick;
  std::size_t n = stored + 1U;
  // Forget what no event still to come can pair with.
  std::size_t drop = 0;
  while (drop < pos && t[drop] < t[n - 1] - rs.keep_ticks) ++drop;
  // The largest count of events in a span of T that contains the new one.
  std::uint32_t k = 1;
  for (std::size_t i = drop; i <= pos; ++i) {
    std::size_t j = pos;
    while (j + 1 < n && t[j + 1] - t[i] <= rs.window_ticks) ++j;
    if (t[pos] - t[i] <= rs.window_ticks) k = std::max(k, static_cast<std::uint32_t>(j - i + 1));
  }
  if (k >= n_hits) {
    table.erase(slot);
    if (rs.rule.action != RuleAction::Notice) {
      if (const AllowedNet* inside = allowlisted_in(target)) {
        // A network rule reached its threshold on a network that holds an allowlisted address:
        // the network is not banned, and the final strike says why.
        reason_buf.assign(rs.reason);
        reason_buf +=
            "; not banned: " + target.to_string() + " contains allowlisted " + inside->prefix.to_string();
        ++stats.bans_skipped_allowlisted;
        emit_strike(rs, e, target, n_hits, e.user, reason_buf, sink);
        return;
      }
    }
    emit_strike(rs, e, target, n_hits, e.user, rs.reason, sink);
    if (rs.rule.action != RuleAction::Notice) {
      start_ban(rs, target, e, n_hits, rs.reason, e.user, sink);
    }
    return;
  }
  // Keep the newest `slots` timestamps.
  const std::size_t first = std::max(drop, n > rs.slots ? n - rs.slots : std::size_t{0});
  n -= first;
  base = t[first];
  stored = static_cast<std::uint16_t>(n);
  std::memcpy(p + kBaseAt, &base, 8);
  std::memcpy(p + kCountAt, &stored, 2);
  for (std::size_t i = 1; i < n; ++i) {
    const auto off = static_cast<std::uint32_t>(t[first + i] - base);
    std::memcpy(p + kOffsetsAt + 4 * (i - 1), &off, 4);
  }
  emit_strike(rs, e, target, k, e.user, rs.reason, sink);
}

// The campaign detector: one username failing from `hits` distinct sources within T. At the
// threshold every one of those sources is punished; while the campaign is active (until T after
// its last failure) a new source failing on the username is punished at once.
void Engine::Impl::count_campaign(RuleState& rs, const Event& e, DecisionSink& sink) {
  if (e.user.empty()) return;
  char buf[detail::kMaxUsernameBytes];
  const std::string_view folded = detail::fold_username(e.user, buf);
  const std::string_view shown = e.user.substr(0, detail::kMaxUsernameBytes);
  const Prefix source = rs.rule.distinct == KeyKind::Prefix
                            ? Prefix{e.source, e.source.is_v4() ? rs.rule.prefix4 : rs.rule.prefix6}
                            : Prefix::host(e.source);
  const std::int64_t t = to_micros(e.time);
  const std::int64_t within = rs.rule.within.count();
  auto it = rs.campaigns.find(folded);
  if (it == rs.campaigns.end()) {
    make_room();
    it = rs.campaigns.emplace(std::string(folded), Campaign{}).first;
    it->second.display.assign(shown);
  }
  Campaign& c = it->second;
  c.last_us = std::max(c.last_us, t);

  auto reason = [&](std::uint32_t k) -> const std::string& {
    // Built in place (no temporaries): a campaign strike is written for most failures of a pool.
    reason_buf.assign("campaign on user ");
    append_quoted(reason_buf, c.display);
    reason_buf += ": ";
    char digits[16];
    reason_buf.append(digits, std::to_chars(digits, digits + sizeof digits, k).ptr);
    reason_buf += " distinct sources within ";
    reason_buf += rs.within_text;
    return reason_buf;
  };

  if (c.active_until_us >= t) {
    // The campaign is on: this source joins it and is punished at once.
    c.active_until_us = std::max(c.active_until_us, t + within);
    ++c.sources_total;
    const std::string why = reason(c.sources_total);
    emit_strike(rs, e, source, rs.hits, shown, why, sink);
    if (rs.rule.action != RuleAction::Notice) {
      start_ban(rs, source, e, c.sources_total, why, shown, sink);
    }
    return;
  }
  std::erase_if(c.sources, [&](const SourceSeen& s) { return s.last_us < t - within; });
  auto seen = std::find_if(c.sources.begin(), c.sources.end(),
                           [&](const SourceSeen& s) { return s.source == source; });
  if (seen != c.sources.end()) {
    // A source already counted: the campaign's strike count (distinct sources) is unchanged, so
    // there is no new strike to tell; only its last failure moves (it stays in the window longer).
    seen->last_us = std::max(seen->last_us, t);
    return;
  }
  c.sources.push_back(SourceSeen{source, t});
  const auto k = static_cast<std::uint32_t>(c.sources.size());
  if (k < rs.hits) {
    emit_strike(rs, e, source, k, shown, reason(k), sink);
    return;
  }
  // Threshold: punish every source of the window, in order of their last failure, then address.
  const std::string why = reason(k);
  emit_strike(rs, e, source, rs.hits, shown, why, sink);
  std::vector<SourceSeen> members;
  members.swap(c.sources);
  std::sort(members.begin(), members.end(), [](const SourceSeen& a, const SourceSeen& b) {
    return a.last_us != b.last_us ? a.last_us < b.last_us : a.source < b.source;
  });
  c.active_until_us = t + within;
  c.sources_total = k;
  if (rs.rule.action == RuleAction::Notice) return;
  for (const auto& m : members) start_ban(rs, m.source, e, k, why, shown, sink);
}

// ---- Engine ---------------------------------------------------------------------------------

Engine::Engine(Policy policy) : impl_(std::make_unique<Impl>(std::move(policy))) {}
Engine::~Engine() = default;

void Engine::on_event(const Event& e, DecisionSink& sink) {
  Impl& m = *impl_;
  m.advance_to(e.time, sink);
  if (e.time < m.now - m.policy.limits.reorder_tolerance) {
    ++m.stats.too_late;
    return;
  }
  std::uint32_t attempts = e.count == 0 ? 1 : e.count;
  if (e.kind == EventKind::AuthFailure) {
    attempts = m.dedup.admit(e);
    if (attempts == 0) {
      ++m.stats.duplicates;
      return;
    }
  }
  m.stats.events[static_cast<std::size_t>(e.kind) % kEventKinds] += attempts;
  if (is_allowlisted(e.source)) {
    m.stats.allowlisted += attempts;
    return;
  }
  for (std::uint32_t i = 0; i < attempts; ++i) {
    if (BanState* ban = m.covering_ban(e.source)) {
      // A banned source's events count for nothing but the re-tag; the rest of a summary too.
      m.stats.while_banned += attempts - i;
      if (i == 0) m.retag(*ban, e, sink);
      return;
    }
    m.count_event(e, sink);
  }
}

void Engine::advance(Time now, DecisionSink& sink) {
  impl_->advance_to(now, sink);
}

OperatorResult Engine::ban(const Prefix& target, Time now, Duration duration, const std::string& reason,
                           DecisionSink& sink) {
  Impl& m = *impl_;
  if (duration <= Duration::zero()) return OperatorResult::Invalid;
  if (m.allowlisted_in(target) != nullptr) return OperatorResult::Allowlisted;
  m.advance_to(now, sink);
  auto it = m.bans.find(target);
  if (it == m.bans.end()) {
    it = m.bans.emplace(target, BanState{}).first;
    m.add_ban_length(target, +1);
    ++m.stats.bans_total;
  }
  BanState& b = it->second;
  b.info.target = target;
  b.info.rule = "operator";
  b.info.action = RuleAction::Ban;
  b.info.since = now;
  b.info.until = now + duration;
  b.info.count = 0;
  b.info.offence = 1;
  b.info.reason = reason;
  b.rule = -1;
  b.length = duration;
  b.max_until = b.info.until;
  m.expiries.push(Expiry{b.info.until, target});
  Decision& d = m.fresh(DecisionKind::Ban, now, target, "operator");
  d.until = b.info.until;
  d.offence = 1;
  d.reason.assign(reason);
  d.sensor.assign("operator");
  d.reporter = Reporter::Operator;
  sink.on_decision(d);
  return OperatorResult::Done;
}

OperatorResult Engine::unban(const Prefix& target, Time now, DecisionSink& sink) {
  Impl& m = *impl_;
  m.advance_to(now, sink);
  auto it = m.bans.find(target);
  if (it == m.bans.end()) return OperatorResult::NotBanned;
  // The operator's word also forgives the history: the next ban of this target is a first one.
  m.history.erase(target);
  m.end_ban(it, std::max(now, m.now), "lifted by the operator", sink);
  return OperatorResult::Done;
}

void Engine::reload(Policy policy, Time now, DecisionSink& sink) {
  Impl& old = *impl_;
  old.advance_to(now, sink);
  auto next = std::make_unique<Impl>(std::move(policy));
  Impl& m = *next;
  // Windows of rules that kept their name and shape move over as they are (each table keeps the
  // seed it was built with).
  for (auto& rs : m.rules) {
    for (auto& o : old.rules) {
      if (o.rule.name != rs.rule.name) continue;
      const bool same = o.rule.on == rs.rule.on && o.rule.key == rs.rule.key && o.hits == rs.hits &&
                        o.tick_us == rs.tick_us &&
                        (rs.rule.key == KeyKind::Address ||
                         (o.rule.prefix4 == rs.rule.prefix4 && o.rule.prefix6 == rs.rule.prefix6)) &&
                        (rs.rule.key != KeyKind::Username || o.rule.distinct == rs.rule.distinct);
      if (same) {
        rs.table = std::move(o.table);
        rs.campaigns = std::move(o.campaigns);
      }
      break;
    }
  }
  if (m.policy.limits.duplicate_window == old.policy.limits.duplicate_window &&
      m.policy.limits.max_tracked_keys == old.policy.limits.max_tracked_keys) {
    m.dedup = std::move(old.dedup);
  }
  m.bans = std::move(old.bans);
  m.ban_lengths = old.ban_lengths;
  m.expiries = std::move(old.expiries);
  m.history = std::move(old.history);
  m.stats = old.stats;
  m.started = old.started;
  m.now = old.now;
  m.next_sweep = old.now + m.sweep_interval;
  // Re-tags follow the ban's rule by name.
  for (auto& [target, b] : m.bans) {
    if (b.rule < 0) continue;
    const std::string& name = old.rules[static_cast<std::size_t>(b.rule)].rule.name;
    b.rule = -1;
    for (const auto& rs : m.rules) {
      if (rs.rule.name == name) b.rule = static_cast<int>(rs.index);
    }
  }
  // Bans the new allowlist forbids are lifted now, in target order.
  std::vector<Prefix> lifted;
  for (const auto& [target, b] : m.bans) {
    if (m.allowlisted_in(target) != nullptr) lifted.push_back(target);
  }
  std::sort(lifted.begin(), lifted.end());
  for (const auto& target : lifted) {
    m.history.erase(target);
    m.end_ban(m.bans.find(target), m.now, "allowlisted by a configuration reload", sink);
  }
  impl_ = std::move(next);
}

bool Engine::is_allowlisted(const Address& a) const {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  halves(a, hi, lo);
  for (const auto& n : impl_->allow) {
    if ((hi & n.mask_hi) == n.value_hi && (lo & n.mask_lo) == n.value_lo) return true;
  }
  return false;
}

std::vector<BanInfo> Engine::active_bans() const {
  // Sorted as pointers, then copied once in order: sorting the BanInfo values themselves moved their
  // strings about n log n times (4,400 instructions a ban on a 100 k restore).
  std::vector<const BanInfo*> order;
  order.reserve(impl_->bans.size());
  for (const auto& [target, b] : impl_->bans) order.push_back(&b.info);
  std::sort(order.begin(), order.end(), [](const BanInfo* a, const BanInfo* b) {
    return a->since != b->since ? a->since < b->since : a->target < b->target;
  });
  std::vector<BanInfo> out;
  out.reserve(order.size());
  for (const BanInfo* b : order) out.push_back(*b);
  return out;
}

std::optional<BanInfo> Engine::ban_covering(const Address& a) const {
  const BanState* b = impl_->covering_ban(a);
  if (b == nullptr) return std::nullopt;
  return b->info;
}

const EngineStats& Engine::stats() const {
  const Impl& m = *impl_;
  EngineStats& s = m.stats;
  s.tracked_keys = m.tracked();
  s.active_bans = m.bans.size();
  s.duplicates_unpaired = m.dedup.unremembered();
  std::uint64_t bytes = 0;
  for (const auto& rs : m.rules) {
    if (rs.table) bytes += rs.table->memory_bytes();
    // A campaign: its map node (pointer, cached hash, key and value), the bucket, the buffers.
    bytes += rs.campaigns.bucket_count() * sizeof(void*);
    for (const auto& [user, c] : rs.campaigns) {
      bytes += sizeof(void*) * 2 + sizeof(std::string) + sizeof(Campaign);
      if (user.capacity() > 15) bytes += user.capacity() + 1;
      if (c.display.capacity() > 15) bytes += c.display.capacity() + 1;
      bytes += c.sources.capacity() * sizeof(SourceSeen);
    }
  }
  s.window_bytes = bytes;
  // Bans and offence history: a node each (pointers, cached hash, key, value) and the buckets.
  constexpr std::uint64_t kNode = 3 * sizeof(void*);
  bytes +=
      m.bans.bucket_count() * sizeof(void*) + m.bans.size() * (kNode + sizeof(Prefix) + sizeof(BanState));
  bytes += m.history.bucket_count() * sizeof(void*) +
           m.history.size() * (kNode + sizeof(Prefix) + sizeof(History));
  bytes += m.expiries.size() * sizeof(Expiry);
  s.memory_bytes = bytes + m.dedup.memory_bytes();
  return s;
}

const Policy& Engine::policy() const {
  return impl_->policy;
}

// ---- state snapshot (issue 4; docs/state.md) ----------------------------------------------------
// Kept apart from the hot path: these functions read and fill the same structures the counting code
// uses, and only run at start, at a reload and at each store commit (for the keys touched since).

namespace {

// The window of `slot` in a rule's table, as times oldest first.
SavedWindow saved_window(const RuleState& rs, std::size_t slot, const Prefix& key, Duration tolerance) {
  SavedWindow w;
  w.rule = rs.rule.name;
  w.key = key;
  const std::byte* p = rs.table->payload(slot);
  std::int64_t base = 0;
  std::uint16_t count = 0;
  std::memcpy(&base, p + kBaseAt, 8);
  std::memcpy(&count, p + kCountAt, 2);
  w.times.reserve(count);
  for (std::uint16_t i = 0; i < count; ++i) {
    std::uint32_t off = 0;
    if (i > 0) std::memcpy(&off, p + kOffsetsAt + 4 * (i - 1U), 4);
    w.times.push_back(from_micros((base + off) * rs.tick_us));
  }
  const Time newest = w.times.empty() ? Time{} : w.times.back();
  w.expires = newest + std::max(rs.rule.within, Duration::zero()) + tolerance;
  return w;
}

SavedCampaign saved_campaign(const RuleState& rs, const std::string& folded, const Campaign& c,
                             Duration tolerance) {
  SavedCampaign out;
  out.rule = rs.rule.name;
  out.username = folded;
  out.display = c.display;
  out.last = from_micros(c.last_us);
  out.active = c.active_until_us != kMinInt;
  out.active_until = out.active ? from_micros(c.active_until_us) : Time{};
  out.sources_total = c.sources_total;
  for (const auto& src : c.sources)
    out.sources.push_back(SavedCampaignSource{src.source, from_micros(src.last_us)});
  const Time stale = out.last + std::max(rs.rule.within, Duration::zero()) + tolerance;
  out.expires = out.active ? std::max(stale, out.active_until) : stale;
  return out;
}

SavedBan saved_ban(const BanState& b) {
  return SavedBan{b.info, b.rule >= 0, b.length, b.max_until};
}

// The key a rule counts `source` under.
Prefix rule_key(const RuleState& rs, const Address& source) {
  if (rs.rule.key == KeyKind::Prefix) {
    return Prefix{source, source.is_v4() ? rs.rule.prefix4 : rs.rule.prefix6};
  }
  return Prefix::host(source);
}

}  // namespace

EngineState Engine::export_state() const {
  const Impl& m = *impl_;
  const Duration tolerance = std::max(m.policy.limits.reorder_tolerance, Duration::zero());
  EngineState st;
  st.started = m.started;
  st.now = m.now;
  st.bans.reserve(m.bans.size());
  for (const auto& [target, b] : m.bans) st.bans.push_back(saved_ban(b));
  for (const auto& [target, h] : m.history) {
    st.offenders.push_back(SavedOffender{target, h.offences, h.last_end, h.forget_after});
  }
  for (const auto& rs : m.rules) {
    if (rs.table) {
      for (std::size_t slot = 0; slot < rs.table->capacity(); ++slot) {
        if (!rs.table->occupied(slot)) continue;
        const Address key = rs.table->key(slot);
        const unsigned len = rs.rule.key == KeyKind::Prefix
                                 ? (key.is_v4() ? rs.rule.prefix4 : rs.rule.prefix6)
                                 : (key.is_v4() ? 32U : 128U);
        st.windows.push_back(saved_window(rs, slot, Prefix{key, len}, tolerance));
      }
    }
    for (const auto& [user, c] : rs.campaigns) st.campaigns.push_back(saved_campaign(rs, user, c, tolerance));
  }
  m.dedup.save_all(st.pairing);
  return st;
}

EngineDelta Engine::export_touched(const TouchedKeys& touched) const {
  const Impl& m = *impl_;
  const Duration tolerance = std::max(m.policy.limits.reorder_tolerance, Duration::zero());
  EngineDelta d;
  d.present.started = m.started;
  d.present.now = m.now;
  for (const Address& source : touched.sources) {
    for (const auto& rs : m.rules) {
      if (rs.rule.key == KeyKind::Username) continue;
      const Prefix key = rule_key(rs, source);
      const std::size_t slot = rs.table ? rs.table->find(key.address()) : AddressTable::npos;
      if (slot == AddressTable::npos) {
        if (rs.table) d.windows_gone.push_back(WindowKey{rs.rule.name, key});
      } else {
        d.present.windows.push_back(saved_window(rs, slot, key, tolerance));
      }
    }
    SavedPairing p;
    if (m.dedup.save(source, p)) {
      d.present.pairing.push_back(std::move(p));
    } else {
      d.pairing_gone.push_back(source);
    }
  }
  for (const std::string& user : touched.usernames) {
    if (user.empty()) continue;
    char buf[detail::kMaxUsernameBytes];
    const std::string_view folded = detail::fold_username(user, buf);
    for (const auto& rs : m.rules) {
      if (rs.rule.key != KeyKind::Username) continue;
      auto it = rs.campaigns.find(folded);
      if (it == rs.campaigns.end()) {
        d.campaigns_gone.push_back(CampaignKey{rs.rule.name, std::string(folded)});
      } else {
        d.present.campaigns.push_back(saved_campaign(rs, it->first, it->second, tolerance));
      }
    }
  }
  for (const Prefix& target : touched.targets) {
    if (auto it = m.bans.find(target); it != m.bans.end()) {
      d.present.bans.push_back(saved_ban(it->second));
    } else {
      d.bans_gone.push_back(target);
    }
    if (auto it = m.history.find(target); it != m.history.end()) {
      d.present.offenders.push_back(
          SavedOffender{target, it->second.offences, it->second.last_end, it->second.forget_after});
    } else {
      d.offenders_gone.push_back(target);
    }
  }
  return d;
}

void Engine::import_state(const EngineState& st, Time now) {
  Impl& m = *impl_;
  if (st.started) {
    m.started = true;
    m.now = st.now;
    m.next_sweep = m.now + m.sweep_interval;
    m.next_dedup_sweep = m.now + m.dedup.retention();
  }
  auto rule_named = [&](const std::string& name) -> RuleState* {
    for (auto& rs : m.rules) {
      if (rs.rule.name == name) return &rs;
    }
    return nullptr;
  };
  for (const auto& o : st.offenders) {
    m.history[o.target] = History{o.offences, o.last_end, o.forget_after};
  }
  m.bans.reserve(m.bans.size() + st.bans.size());
  // The expiry queue is built once at the end (linear) rather than one push per ban (n log n, a
  // cache miss per level on a million bans at start).
  std::vector<Expiry> queued;
  queued.reserve(m.expiries.size() + st.bans.size());
  while (!m.expiries.empty()) {
    queued.push_back(m.expiries.top());
    m.expiries.pop();
  }
  const RuleState* last_rule = nullptr;  // saved bans come in runs of one rule: one name compare each
  for (const auto& saved : st.bans) {
    const Prefix& target = saved.info.target;
    if (saved.info.until <= now || m.allowlisted_in(target) != nullptr) continue;
    const auto [it, inserted] = m.bans.try_emplace(target);
    if (!inserted) continue;
    BanState& b = it->second;
    b.info = saved.info;
    b.rule = -1;
    if (saved.by_rule) {
      if (last_rule == nullptr || last_rule->rule.name != saved.info.rule)
        last_rule = rule_named(saved.info.rule);
      if (last_rule != nullptr) b.rule = static_cast<int>(last_rule->index);
    }
    b.length = saved.length > Duration::zero() ? saved.length : saved.info.until - saved.info.since;
    b.max_until = std::max(saved.max_until, saved.info.until);
    queued.push_back(Expiry{b.info.until, target});
    m.add_ban_length(target, +1);
  }
  m.expiries = decltype(m.expiries)(std::greater<>{}, std::move(queued));
  for (const auto& w : st.windows) {
    RuleState* rs = rule_named(w.rule);
    if (rs == nullptr || !rs->table || rs->rule.key == KeyKind::Username || w.times.empty()) continue;
    const Prefix& key = w.key;
    const unsigned want = rs->rule.key == KeyKind::Prefix
                              ? (key.is_v4() ? rs->rule.prefix4 : rs->rule.prefix6)
                              : (key.is_v4() ? 32U : 128U);
    if (key.length() != want) continue;  // the rule's prefix length changed: a different key
    std::vector<std::int64_t> ticks;
    ticks.reserve(w.times.size());
    for (const Time t : w.times) ticks.push_back(floor_div(to_micros(t), rs->tick_us));
    std::sort(ticks.begin(), ticks.end());
    // Only what can still pair with the newest, and at most hits - 1 of them.
    const std::int64_t newest = ticks.back();
    std::erase_if(ticks, [&](std::int64_t t) { return t < newest - rs->keep_ticks; });
    if (ticks.size() > rs->slots)
      ticks.erase(ticks.begin(), ticks.end() - static_cast<std::ptrdiff_t>(rs->slots));
    if (ticks.empty()) continue;
    std::size_t slot = rs->table->find(key.address());
    if (slot == AddressTable::npos) {
      m.make_room();
      slot = rs->table->insert(key.address());
    }
    std::byte* p = rs->table->payload(slot);
    const std::int64_t base = ticks.front();
    const auto count = static_cast<std::uint16_t>(ticks.size());
    std::memcpy(p + kBaseAt, &base, 8);
    std::memcpy(p + kCountAt, &count, 2);
    for (std::size_t i = 1; i < ticks.size(); ++i) {
      const auto off = static_cast<std::uint32_t>(ticks[i] - base);
      std::memcpy(p + kOffsetsAt + 4 * (i - 1), &off, 4);
    }
  }
  for (const auto& c : st.campaigns) {
    RuleState* rs = rule_named(c.rule);
    if (rs == nullptr || rs->rule.key != KeyKind::Username || c.username.empty()) continue;
    char buf[detail::kMaxUsernameBytes];
    const std::string_view folded = detail::fold_username(c.username, buf);
    Campaign camp;
    camp.active_until_us = c.active ? to_micros(c.active_until) : kMinInt;
    camp.last_us = to_micros(c.last);
    camp.sources_total = c.sources_total;
    camp.display = c.display.substr(0, detail::kMaxUsernameBytes);
    for (const auto& src : c.sources) {
      const bool by_prefix = rs->rule.distinct == KeyKind::Prefix;
      const unsigned want = by_prefix ? (src.source.is_v4() ? rs->rule.prefix4 : rs->rule.prefix6)
                                      : (src.source.is_v4() ? 32U : 128U);
      if (src.source.length() != want) continue;
      if (std::any_of(camp.sources.begin(), camp.sources.end(),
                      [&](const SourceSeen& s) { return s.source == src.source; }))
        continue;
      camp.sources.push_back(SourceSeen{src.source, to_micros(src.last)});
    }
    // Fewer than hits pending sources: keep the newest.
    std::sort(camp.sources.begin(), camp.sources.end(),
              [](const SourceSeen& a, const SourceSeen& b) { return a.last_us < b.last_us; });
    if (camp.sources.size() + 1 > rs->hits) {
      camp.sources.erase(camp.sources.begin(),
                         camp.sources.end() - static_cast<std::ptrdiff_t>(rs->hits - 1));
    }
    auto it = rs->campaigns.find(folded);
    if (it == rs->campaigns.end()) {
      m.make_room();
      rs->campaigns.emplace(std::string(folded), std::move(camp));
    } else {
      it->second = std::move(camp);
    }
  }
  for (const auto& p : st.pairing) m.dedup.restore(p);
}

}  // namespace strikeout::core
