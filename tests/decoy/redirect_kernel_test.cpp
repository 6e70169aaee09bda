// The decoy serves only connections that came through the nat redirect (SO_ORIGINAL_DST), with a real
// nftables redirect in a network namespace of the test's own (kernel: needs root; the host's firewall
// is never touched). Locally generated connections are redirected in the nat output hook, which gives
// them the same conntrack NAT as prerouting gives a remote client's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "decoy/supervisor.hpp"

namespace strikeout::decoy {
namespace {

using namespace std::chrono_literals;

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{10, 0};  // every read below gives up after 10 s
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string first_reply(int fd) {
  std::string got;
  char b[512];
  while (got.find("\r\n") == std::string::npos) {
    const ssize_t n = ::recv(fd, b, sizeof b, 0);
    if (n <= 0) break;
    got.append(b, static_cast<std::size_t>(n));
  }
  return got;
}

TEST(DecoyRedirect, OnlyConnectionsRedirectedFromAProtectedPortAreServed) {
  ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "a network namespace of our own needs root";
  ASSERT_EQ(std::system("ip link set lo up"), 0);
  ASSERT_EQ(std::system("nft add table ip decoytest && "
                        "nft add chain ip decoytest out '{ type nat hook output priority -100; }' && "
                        "nft add rule ip decoytest out tcp dport 25 redirect to :2525"),
            0);
  const auto dir =
      std::filesystem::temp_directory_path() / ("strikeout-decoy-redirect-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  DecoyOptions o;
  o.port = 2525;
  o.redirected_from = {25, 465, 587};
  o.only_redirected = true;
  o.reply_delay = 0s;
  o.workers = 1;
  o.record = dir / "attempts.tsv";
  o.stats = dir / "stats.json";
  o.secret = dir / "key";
  auto secret = load_or_create_secret(o.secret);
  ASSERT_TRUE(std::holds_alternative<DecoySecret>(secret));
  auto started = Supervisor::start(o, std::get<DecoySecret>(secret));
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Supervisor>>(started)) << std::get<std::string>(started);

  const int redirected = connect_to(25);
  ASSERT_GE(redirected, 0);
  EXPECT_EQ(first_reply(redirected), "220 mail ESMTP Postfix (Debian/GNU)\r\n");
  ::close(redirected);

  const int direct = connect_to(2525);
  ASSERT_GE(direct, 0);
  EXPECT_EQ(first_reply(direct), "") << "a connection straight to the decoy port must be closed unanswered";
  ::close(direct);
  std::get<0>(started).reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strikeout::decoy
