// The CLI's side of the control socket: blocking, one request at a time.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "control/protocol.hpp"

namespace strikeout::control {

class ControlClient {
 public:
  // Connects to the daemon's socket. The error is one line for the operator: the daemon is not
  // running (no socket, or nobody listening), permission denied (root only / the group), ...
  static std::variant<ControlClient, std::string> connect(const std::string& socket_path);
  ~ControlClient();
  ControlClient(ControlClient&& other) noexcept;
  ControlClient& operator=(ControlClient&& other) noexcept;
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends `request` and waits (up to `timeout`) for its answer. The error string is for the
  // operator (the daemon went away, answered garbage, took too long).
  std::variant<Response, std::string> call(Request request,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // After a successful watch call: hands each event to `on_event` until the daemon ends the stream
  // (returns its reason), the connection closes, or on_event returns false. Waits without limit.
  std::string follow(const std::function<bool(const Response&)>& on_event);

 private:
  explicit ControlClient(int fd) : fd_(fd) {}
  // One line from the daemon; nullopt with `error` set on EOF, timeout or a line that is too long.
  std::optional<std::string> read_line(std::optional<std::chrono::milliseconds> timeout, std::string& error);

  int fd_ = -1;
  std::uint64_t next_id_ = 1;
  std::string buffer_;
};

}  // namespace strikeout::control
