// The decoy SMTP server's settings ([decoy] in strikeout.toml, docs/decoy.md). A plain value: the
// configuration loader builds it, the decoy (src/decoy) reads it. It lives in the core, beside the
// policy whose tarpit choice sends sources to the decoy, so the configuration needs nothing from the
// decoy's code. Which rule sends whom, and in which mode, is the policy's (core::tarpit_choice).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/policy.hpp"
#include "core/time.hpp"

namespace strikeout::core {

// What the decoy does when max_connections are held and another one arrives.
enum class DecoyWhenFull : std::uint8_t {
  CloseOldest,  // the longest-held connection is closed to make room (attackers rotate; fresh ones
                // are the ones still guessing)
  Refuse,       // the new connection is closed at once; the held ones keep their place
};

struct DecoySettings {
  bool enabled = true;                  // false: tarpit rules are refused and no worker starts
  std::uint16_t port = 2525;            // where the table redirects tarpitted sources
  TarpitMode mode = TarpitMode::Decoy;  // for rules that do not name a mode (Policy::decoy_mode)
  std::string hostname = "mail";        // named in the greeting and EHLO reply
  // The recipe's three, in ASCII ("Go away - give up." had an en dash: SMTP replies are ASCII).
  std::vector<std::string> insults{"Your mother wears army boots",
                                   "May the fleas of a thousand camels infest your armpits",
                                   "Go away - give up."};
  double success_probability = 0.1;         // share of (source, user, password) that get a fake 235
  std::uint32_t max_connections = 100'000;  // held at once, all workers together
  std::uint32_t per_source = 64;            // held at once from one address, all workers together
  DecoyWhenFull when_full = DecoyWhenFull::CloseOldest;
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

}  // namespace strikeout::core
