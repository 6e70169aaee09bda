// The live adapter for real: a network namespace of this test's own (root), libpcap on `lo` in cooked
// mode with the kernel filter, a tiny SMTP server on 127.0.0.1:587 answering AUTH with 535, and a
// client at 127.0.0.2. The sensor must report exactly the failures the server sent, with the username.
// (libpcap's `any` shows loopback traffic as received only: the decoder knows a loopback device carries
// only what this host sent.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "frame_builder.hpp"
#include "wire/pcap_source.hpp"
#include "wire/sensor.hpp"

namespace strikeout::wire {
namespace {

struct Collect final : WireSink {
  std::vector<std::string> users;
  std::vector<std::string> sources;
  void on_event(const core::Event& e) override {
    if (e.kind != core::EventKind::AuthFailure) return;
    users.emplace_back(e.user);
    sources.push_back(e.source.to_string());
  }
  void on_notice(const WireNotice&) override {}
};

int tcp_socket_bound(const char* address, std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, address, &a.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void send_text(int fd, const std::string& s) {
  ASSERT_EQ(send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

std::string receive(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 2000) <= 0) return {};
  char buf[512];
  const ssize_t n = recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

TEST(LiveCapture, SeesTheServersFailureRepliesOnLoopback) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace and a capture";
  ASSERT_EQ(unshare(CLONE_NEWNET), 0);
  ASSERT_EQ(std::system("ip link set lo up"), 0);

  LiveCaptureOptions options;
  options.interface = "lo";
  options.ports = {587};
  std::string error;
  auto source = open_live_capture(options, error);
  ASSERT_TRUE(source) << error;
  ASSERT_GE(source->fd(), 0);

  TrackerSettings settings;
  settings.ports = {587};
  settings.server_addresses = {*core::Address::parse("127.0.0.1")};
  Collect sink;
  WireSensor sensor(settings, sink);

  // The server and the client, driven by hand in this thread (no threads: no timing).
  const int listener = tcp_socket_bound("127.0.0.1", 587);
  ASSERT_GE(listener, 0);
  ASSERT_EQ(listen(listener, 4), 0);
  const int client = tcp_socket_bound("127.0.0.2", 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(587);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  const int server = accept(listener, nullptr, nullptr);
  ASSERT_GE(server, 0);
  send_text(server, "220 test ESMTP\r\n");
  EXPECT_EQ(receive(client), "220 test ESMTP\r\n");
  for (const char* user : {"alice", "bob"}) {
    send_text(client, "AUTH PLAIN " + testing::plain_response(user, "guess") + "\r\n");
    EXPECT_FALSE(receive(server).empty());
    send_text(server, "535 5.7.8 Error: authentication failed\r\n");
    EXPECT_FALSE(receive(client).empty());
  }
  // Read the capture until both failures arrived, with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (sink.users.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{source->fd(), POLLIN, 0};
    poll(&p, 1, 100);
    const auto r = source->read(sensor, 64);
    ASSERT_EQ(r.error, "");
  }
  EXPECT_EQ(sink.users, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(sink.sources, (std::vector<std::string>{"127.0.0.2", "127.0.0.2"}));
  close(client);
  close(server);
  close(listener);
}

TEST(LiveCapture, UnknownInterfaceIsAClearError) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to capture";
  LiveCaptureOptions options;
  options.interface = "no-such-if0";
  std::string error;
  EXPECT_FALSE(open_live_capture(options, error));
  EXPECT_NE(error.find("wire: cannot capture on interface \"no-such-if0\""), std::string::npos) << error;
}

TEST(CaptureFilter, CompilesForTheProtectedPorts) {
  EXPECT_EQ(capture_filter({25, 587}).substr(0, 31), "tcp and (port 25 or port 587) a");
}

}  // namespace
}  // namespace strikeout::wire
