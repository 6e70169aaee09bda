// The decoy's record file: one line per AUTH attempt, tab-separated, written by the supervisor and read
// by `strikeout decoy report`. Fields an attacker wrote are escaped so a line is always one line of
// printable ASCII.
//
//   time  source  port  mode  mechanism  outcome  user  password-hash
//   2026-11-27T01:49:52.25Z  203.0.113.7  51234  decoy  LOGIN  fake-success  admin  9f2c4e01a7b3d5e8
//
// outcome: "fake-success" (a 235 was given), "refused" (535), "no-password" (the client never sent
// one: insult mode, an aborted or unsupported AUTH). The password hash is empty for "no-password".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"

namespace strikeout::decoy {

// Bytes outside '!'..'~', and '\', as \xNN ("" stays ""; a space is \x20).
std::string escape_field(std::string_view text);

struct RecordLine {
  std::string time, source, port, mode, mechanism, outcome, user, password_hash;
};

// One line of the record file, without its newline; nullopt if it has not 8 fields.
std::optional<RecordLine> parse_record_line(std::string_view line);

}  // namespace strikeout::decoy
