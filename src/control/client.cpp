#include "control/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace strikeout::control {

std::variant<ControlClient, std::string> ControlClient::connect(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    return "control socket path \"" + socket_path + "\" is empty or too long for a Unix socket";
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("cannot create a socket: ") + std::strerror(errno);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == ENOENT || e == ECONNREFUSED) {
      return "the strikeout daemon is not running (nothing answers on " + socket_path + ")";
    }
    if (e == EACCES || e == EPERM) {
      return "permission denied on " + socket_path + ": the control socket is for root (and [control] group)";
    }
    return "cannot connect to " + socket_path + ": " + std::strerror(e);
  }
  return ControlClient(fd);
}

ControlClient::~ControlClient() {
  if (fd_ >= 0) ::close(fd_);
}

ControlClient::ControlClient(ControlClient&& other) noexcept
    : fd_(other.fd_), next_id_(other.next_id_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

ControlClient& ControlClient::operator=(ControlClient&& other) noexcept {
  std::swap(fd_, other.fd_);
  std::swap(next_id_, other.next_id_);
  std::swap(buffer_, other.buffer_);
  return *this;
}

std::optional<std::string> ControlClient::read_line(std::optional<std::chrono::milliseconds> timeout,
                                                    std::string& error) {
  const auto deadline = std::chrono::steady_clock::now() + timeout.value_or(std::chrono::milliseconds(0));
  for (;;) {
    if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (buffer_.size() > kMaxResponseLine) {
      error = "the daemon's answer is longer than " + std::to_string(kMaxResponseLine) + " bytes";
      return std::nullopt;
    }
    int wait_ms = -1;
    if (timeout) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        error = "the daemon did not answer within " + std::to_string(timeout->count() / 1000) + " s";
        return std::nullopt;
      }
      wait_ms = static_cast<int>(left.count());
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      error = std::string("waiting for the daemon: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (ready == 0) continue;  // the deadline check above reports it
    char chunk[65536];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      error = std::string("reading from the daemon: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) {
      error = "the daemon closed the connection";
      return std::nullopt;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::variant<Response, std::string> ControlClient::call(Request request, std::chrono::milliseconds timeout) {
  request.id = next_id_++;
  const std::string line = format_request(request) + '\n';
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::string("sending to the daemon: ") + std::strerror(errno);
    }
    sent += static_cast<std::size_t>(n);
  }
  for (;;) {
    std::string error;
    auto answer = read_line(timeout, error);
    if (!answer) return error;
    auto parsed = parse_response(*answer);
    if (auto* e = std::get_if<std::string>(&parsed)) return *e;
    auto& response = std::get<Response>(parsed);
    // A refusal at connection (forbidden, busy) carries id 0: it answers this request too.
    if (response.kind == Response::Kind::Reply && (response.id == request.id || response.id == 0))
      return response;
  }
}

std::string ControlClient::follow(const std::function<bool(const Response&)>& on_event) {
  for (;;) {
    std::string error;
    auto line = read_line(std::nullopt, error);
    if (!line) return error;
    auto parsed = parse_response(*line);
    if (auto* e = std::get_if<std::string>(&parsed)) return *e;
    const auto& response = std::get<Response>(parsed);
    if (response.kind == Response::Kind::WatchEnd) return "the daemon ended the stream: " + response.error;
    if (response.kind == Response::Kind::Watch && !on_event(response)) return {};
  }
}

}  // namespace strikeout::control
