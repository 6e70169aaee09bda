// Loads each export into a fresh network namespace (this test process unshares one: it needs root)
// with the real `nft -f` and `iptables-restore`, runs a tiny SMTP server answering every AUTH with
// the recipe's 535 on 127.0.0.1:587, and shows that a client at 127.0.0.2 gets exactly the
// threshold (3) of failure replies and then cannot connect any more.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "app/export.hpp"

namespace strikeout::app {
namespace {

config::Config threshold_config() {
  config::Config c;
  c.origin = "kernel-test";
  core::Rule auth;
  auth.name = "auth-failures";
  auth.hits = 3;
  c.policy.rules = {auth};
  c.allow_host_addresses = false;  // on `lo` every 127/8 address is the host's own
  c.ports = {587};
  return c;
}

bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// Reads until "\n" or the deadline; returns what was read ("" on reset or timeout).
std::string read_line(int fd, int timeout_ms) {
  std::string s;
  while (s.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) break;
    char buf[512];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    s.append(buf, static_cast<std::size_t>(n));
  }
  return s;
}

// The fake mail server: a 220 greeting, then 535 to every AUTH, 250 to anything else.
class FakeServer {
 public:
  FakeServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(587);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(fd_, 16) == 0;
    thread_ = std::thread([this] { run(); });
  }
  ~FakeServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  bool ok() const { return ok_; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      send(c, "220 test ESMTP\r\n", 16, MSG_NOSIGNAL);
      for (;;) {
        const std::string line = read_line(c, 2000);
        if (line.empty()) break;
        const std::string reply =
            line.rfind("AUTH", 0) == 0 ? "535 5.7.0 authentication failed\r\n" : "250 ok\r\n";
        send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      }
      close(c);
    }
  }
  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

enum class Attempt { Failed535, Refused, Other };

// One guess on a new connection from 127.0.0.2.
Attempt guess() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in me{};
  me.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.2", &me.sin_addr);
  bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(587);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Attempt result = Attempt::Other;
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    result = errno == ECONNREFUSED ? Attempt::Refused : Attempt::Other;
  } else if (read_line(fd, 2000).rfind("220", 0) == 0) {
    send(fd, "AUTH PLAIN AGFsaWNlAGd1ZXNz\r\n", 29, MSG_NOSIGNAL);
    const std::string reply = read_line(fd, 2000);
    if (reply.rfind("535", 0) == 0) result = Attempt::Failed535;
  }
  close(fd);
  return result;
}

class ExportKernel : public ::testing::TestWithParam<ExportFormat> {};

TEST_P(ExportKernel, RejectsTheAttackerAfterTheThreshold) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
  const bool nft = GetParam() == ExportFormat::Nft;
  if (!have(nft ? "nft" : "iptables-restore"))
    GTEST_SKIP() << (nft ? "nft" : "iptables-restore") << " not installed";
  // A namespace of our own for this thread (and the processes and threads it starts).
  ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
  ASSERT_EQ(std::system("ip link set lo up"), 0);

  ExportOptions o;
  o.format = GetParam();
  o.config = threshold_config();
  o.failure_replies = {"535 5.7.0 authentication failed"};
  std::string error;
  const auto text = render_export(o, error);
  ASSERT_TRUE(text) << error;
  char path[] = "/tmp/strikeout_export_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, text->data(), text->size()), static_cast<ssize_t>(text->size()));
  close(fd);
  const std::string load =
      nft ? std::string("nft -f ") + path : std::string("iptables-restore --noflush < ") + path;
  const int rc = std::system((load + " 2>/tmp/strikeout_export_load.err").c_str());
  unlink(path);
  ASSERT_EQ(rc, 0) << "loading failed:\n"
                   << *text << "\n"
                   << std::ifstream("/tmp/strikeout_export_load.err").rdbuf();

  FakeServer server;
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(guess(), Attempt::Failed535);
  EXPECT_EQ(guess(), Attempt::Failed535);
  EXPECT_EQ(guess(), Attempt::Failed535);  // the third failure: the threshold
  EXPECT_EQ(guess(), Attempt::Refused);    // rejected from now on
  EXPECT_EQ(guess(), Attempt::Refused);
}

std::string format_name(const ::testing::TestParamInfo<ExportFormat>& p) {
  return p.param == ExportFormat::Nft ? "nft" : "iptables";
}
INSTANTIATE_TEST_SUITE_P(Formats, ExportKernel, ::testing::Values(ExportFormat::Nft, ExportFormat::Iptables),
                         format_name);

}  // namespace
}  // namespace strikeout::app
