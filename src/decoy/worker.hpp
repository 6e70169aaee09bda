// One decoy worker process: holds connections on the decoy port (SO_REUSEPORT, so every worker has its
// own listening socket and the kernel spreads new connections over them), drives a Session for each,
// and reports AUTH attempts and counters to the supervisor over its channel. Single-threaded Asio.
#pragma once

#include <cstdint>
#include <string>

#include "decoy/keyed_hash.hpp"
#include "decoy/options.hpp"

namespace strikeout::decoy {

struct WorkerSetup {
  const DecoyOptions* options = nullptr;
  DecoySecret secret{};
  int channel_fd = -1;        // SOCK_SEQPACKET to the supervisor; its EOF stops the worker
  int listener_fd = -1;       // from open_listener(); the worker's own (SO_REUSEPORT)
  std::uint32_t index = 0;    // 0-based, for messages
  std::uint32_t workers = 1;  // how many share the port (limits are divided among them)
};

// Runs until the supervisor goes away (EOF on the channel) or SIGTERM. Returns the exit code.
int run_worker(const WorkerSetup& setup);

// Opens a listening socket on `port` for every address (IPv6 dual-stack, IPv4 if IPv6 is off) with
// SO_REUSEPORT. Returns the fd, or -1 with `error` set.
int open_listener(std::uint16_t port, std::string& error);

}  // namespace strikeout::decoy
