// A local HTTP receiver for webhook tests, on 127.0.0.1 port 0, in a thread of its own.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace strikeout::webhook::test {

// Accepts connections and answers each request with the next status of `statuses` (the last repeats);
// status 0 means hang: read the request and never answer. Keeps every request it read.
class Receiver {
 public:
  explicit Receiver(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Receiver() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (int c : hung_) ::close(c);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    for (std::size_t n = 0;; ++n) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      for (;;) {
        const auto head_end = req.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          const auto cl = req.find("Content-Length: ");
          const std::size_t body = cl == std::string::npos ? 0 : std::stoul(req.substr(cl + 16));
          if (req.size() >= head_end + 4 + body) break;
        }
        const ssize_t r = ::read(c, buf, sizeof buf);
        if (r <= 0) break;
        req.append(buf, static_cast<std::size_t>(r));
      }
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(req);
      }
      const int status = statuses_[std::min(n, statuses_.size() - 1)];
      if (status == 0) {
        hung_.push_back(c);
        continue;
      }
      const std::string answer =
          "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!::write(c, answer.data(), answer.size());
      ::close(c);
    }
  }
  std::vector<int> statuses_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::vector<int> hung_;
};

}  // namespace strikeout::webhook::test
