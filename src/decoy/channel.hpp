// Messages between the decoy supervisor and its worker processes, over one SOCK_SEQPACKET socketpair
// per worker (each send is one message; the workers are forked from the same program, so the layout
// is the same on both ends). Internal to src/decoy.
#pragma once

#include <cstdint>
#include <type_traits>

#include "decoy/counters.hpp"

namespace strikeout::decoy::channel {

enum class Type : std::uint8_t { Attempt = 1, Counters = 2, Assign = 3 };

// Worker -> supervisor: one AUTH try.
struct Attempt {
  Type type = Type::Attempt;
  std::uint8_t mechanism = 0;
  std::uint8_t mode = 0;
  std::uint8_t has_credentials = 0;
  std::uint8_t accepted = 0;
  std::uint8_t user_length = 0;
  std::uint16_t port = 0;
  std::uint16_t password_length = 0;
  std::int64_t time_us = 0;
  std::uint8_t source[16] = {};
  char user[64] = {};
  char password_hash[16] = {};  // password_hash() of the password, when has_credentials
  char password[255] = {};      // the plaintext, only with store_passwords
};

// Worker -> supervisor: the worker's counters, every second.
struct Counters {
  Type type = Type::Counters;
  DecoyCounters counters{};
};

// Supervisor -> worker: connections from `address`/`length` get `mode` until `until_us`.
struct Assign {
  Type type = Type::Assign;
  std::uint8_t mode = 0;
  std::uint8_t length = 0;
  std::int64_t until_us = 0;
  std::uint8_t address[16] = {};
};

static_assert(std::is_trivially_copyable_v<Attempt> && std::is_trivially_copyable_v<Counters> &&
              std::is_trivially_copyable_v<Assign>);

}  // namespace strikeout::decoy::channel
