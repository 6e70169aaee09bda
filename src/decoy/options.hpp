// The decoy SMTP server's settings ([decoy] in strikeout.toml, docs/decoy.md). A plain value: the
// configuration loader builds it, the decoy workers read it. Header only, so the config layer can hold
// it without linking the decoy.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace strikeout::decoy {

// How the decoy answers a connection (chosen per rule, or [decoy] mode). The values cross between the
// supervisor and its workers (channel.hpp): pinned in tests/decoy/channel_values_test.
enum class Mode : std::uint8_t {
  Insult = 0,   // every command gets a 451 line from the insult list
  Stutter = 1,  // believable replies, sent one byte at a time, slowly
  Decoy = 2,    // believable ESMTP with AUTH PLAIN LOGIN; some logins "succeed"; no mail is ever accepted
  Endless = 3,  // a greeting that never ends: one more "220-" line every endless_interval
};
inline constexpr Mode kLastMode = Mode::Endless;

inline constexpr const char* kModeNames[] = {"insult", "stutter", "decoy", "endless"};

// What the decoy does when max_connections are held and another one arrives.
enum class WhenFull : std::uint8_t {
  CloseOldest,  // the longest-held connection is closed to make room (attackers rotate; fresh ones
                // are the ones still guessing)
  Refuse,       // the new connection is closed at once; the held ones keep their place
};

struct DecoyOptions {
  bool enabled = true;                               // false: tarpit rules are refused and no worker starts
  std::uint16_t port = 2525;                         // where the table redirects tarpitted sources
  Mode mode = Mode::Decoy;                           // for rules that do not name a mode
  std::map<std::string, Mode> rule_modes;            // [[rule]] decoy_mode, by rule name
  std::map<std::string, std::uint32_t> tarpit_from;  // [[rule]] tarpit_from_offence, by rule name
  std::string hostname = "mail";                     // named in the greeting and EHLO reply
  // The recipe's three, in ASCII ("Go away - give up." had an en dash: SMTP replies are ASCII).
  std::vector<std::string> insults{"Your mother wears army boots",
                                   "May the fleas of a thousand camels infest your armpits",
                                   "Go away - give up."};
  double success_probability = 0.1;         // share of (source, user, password) that get a fake 235
  std::uint32_t max_connections = 100'000;  // held at once, all workers together
  std::uint32_t per_source = 64;            // held at once from one address, all workers together
  WhenFull when_full = WhenFull::CloseOldest;
  core::Duration idle_timeout = std::chrono::minutes(5);       // no byte either way for this long: closed
  core::Duration max_duration = std::chrono::hours(1);         // a connection is closed after this long
  core::Duration reply_delay = std::chrono::seconds(1);        // insult/decoy: each reply waits this long
  core::Duration stutter_interval = std::chrono::seconds(1);   // stutter: one byte per interval
  core::Duration endless_interval = std::chrono::seconds(10);  // endless: one line per interval
  std::uint32_t output_allowance = 4096;  // bytes a connection may get regardless of what it sent
  std::uint32_t output_per_input = 2;     // ... plus this many per byte it sent (no amplification)
  std::uint32_t workers = 0;              // worker processes; 0: enough for max_connections
  bool only_redirected = true;            // refuse connections that did not come through the nat redirect
  std::vector<std::uint16_t> redirected_from{25, 465, 587};  // original ports a redirect comes from
  std::filesystem::path record = "/var/lib/strikeout/decoy-attempts.tsv";  // AUTH attempts, 0600
  std::filesystem::path stats = "/var/lib/strikeout/decoy-stats.json";     // counters, rewritten
  std::filesystem::path secret = "/var/lib/strikeout/decoy.key";           // per-install key, 0600
  bool store_passwords = false;  // opt-in: plaintext passwords to `passwords`
  std::filesystem::path passwords = "/var/lib/strikeout/decoy-passwords.tsv";  // 0600
  std::uint64_t record_max_bytes = 64ULL << 20U;  // the record file is rotated (.1) beyond this
};

// The mode for connections sent by `rule` (its decoy_mode, else the default).
inline Mode mode_for_rule(const DecoyOptions& o, const std::string& rule) {
  const auto it = o.rule_modes.find(rule);
  return it == o.rule_modes.end() ? o.mode : it->second;
}

// Whether a ban made by `rule` as its `offence`-th goes to the decoy: every ban of an action = "tarpit"
// rule, and for "ban" rules with tarpit_from_offence = N, the N-th ban of a key and later ones
// ("ban first, then the decoy for repeat offenders").
inline bool sends_to_decoy(const DecoyOptions& o, const std::string& rule, bool tarpit_action,
                           std::uint32_t offence) {
  if (!o.enabled) return false;
  if (tarpit_action) return true;
  const auto it = o.tarpit_from.find(rule);
  return it != o.tarpit_from.end() && offence >= it->second;
}

// Workers needed: each process may hold at most ~19,000 sockets (the open-files limit is 20,000 here
// and cannot be raised), one per core at least.
inline std::uint32_t worker_count(const DecoyOptions& o, std::uint32_t cores) {
  if (o.workers != 0) return o.workers;
  const std::uint32_t by_files = (o.max_connections + 17'999U) / 18'000U;
  return std::max<std::uint32_t>({by_files, cores, 1U});
}

}  // namespace strikeout::decoy
