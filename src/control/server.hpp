// The daemon's side of the control socket: a Unix stream socket served on the daemon's own Asio loop.
//
// Who may connect (checked with SO_PEERCRED on every connection, besides the socket file's mode):
// - root (uid 0): every command;
// - with [control] group: members of that group (primary or supplementary) may use the read-only
//   commands (status, list, explain, watch, allow list); the socket is then 0660 root:GROUP;
// - anyone else is refused with one error line and the connection is closed.
//
// Requests are answered one at a time, in order, by a ControlHandler called on the loop. A watcher
// receives the lines given to publish(); a watcher that does not read fast enough is dropped with a
// notice: the loop never waits for a client, and its memory per client is bounded.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include "control/protocol.hpp"

namespace strikeout::control {

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool admin = false;  // may use every command (root)
};

// What the handler answers: a result, or a refusal with one of the code:: values and a message.
struct Reply {
  bool ok = true;
  nlohmann::json result = nlohmann::json::object();
  std::string code;
  std::string error;

  static Reply success(nlohmann::json r) { return Reply{true, std::move(r), {}, {}}; }
  static Reply failure(std::string_view c, std::string message) {
    return Reply{false, nlohmann::json::object(), std::string(c), std::move(message)};
  }
};

class ControlHandler {
 public:
  virtual ~ControlHandler() = default;
  // Called on the loop for each permitted request. For Command::Watch a successful reply makes the
  // connection a watcher.
  virtual Reply handle(const Request& request, const Peer& peer) = 0;
};

struct ControlServerOptions {
  std::filesystem::path socket;  // where to listen; its directory is created (0755) if missing
  std::string group;             // empty: root only, mode 0600; else 0660 and this group reads
  std::size_t max_clients = 64;  // connections at once; more are refused with "busy"
  std::size_t max_watch_backlog = std::size_t{1} << 20;  // bytes queued for one watcher before it is dropped
};

class ControlServer {
 public:
  // Creates the socket (replacing a stale one a dead daemon left; refusing when another daemon
  // answers on it), sets its mode and group, and starts accepting. An error message names the path
  // and what failed (an unknown group, a directory that cannot be created, ...).
  static std::variant<std::unique_ptr<ControlServer>, std::string> open(asio::io_context& io,
                                                                        ControlServerOptions options,
                                                                        ControlHandler& handler);
  ~ControlServer();  // closes every connection and removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Sends `event` to every watcher (as one {"v":1,"watch":...} line).
  void publish(const nlohmann::json& event);
  bool has_watchers() const;
  std::size_t watchers() const;  // connections watching now
  std::size_t clients() const;
  std::uint64_t watchers_dropped() const;  // watchers dropped for being too slow, since start

  struct Impl;

 private:
  explicit ControlServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace strikeout::control
