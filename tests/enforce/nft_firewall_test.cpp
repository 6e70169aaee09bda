// The nftables enforcer against the real kernel, inside a network namespace of its own: the test
// process unshares its network namespace before the first test, so nothing here can touch the host's
// firewall. Clients and servers talk over loopback, each client bound to its own local address
// (198.51.100.7 is the attacker, 198.51.100.8 a bystander, 203.0.113.5 allowlisted).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/address.hpp"
#include "enforce/nft_firewall.hpp"

namespace strikeout::enforce {
namespace {

using namespace std::chrono_literals;

const core::Time kNow = core::from_seconds(1'800'000'000);

core::Prefix P(const char* text) {
  return *core::Prefix::parse(text);
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_storage sockaddr_of(const char* addr, std::uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (std::string(addr).find(':') == std::string::npos) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    ::inet_pton(AF_INET, addr, &sin.sin_addr);
    std::memcpy(&ss, &sin, sizeof sin);
    len = sizeof sin;
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    ::inet_pton(AF_INET6, addr, &sin6.sin6_addr);
    std::memcpy(&ss, &sin6, sizeof sin6);
    len = sizeof sin6;
  }
  return ss;
}

Fd listen_on(const char* addr, std::uint16_t port) {
  socklen_t len = 0;
  auto ss = sockaddr_of(addr, port, len);
  Fd s(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len), 0) << addr << ":" << port;
  EXPECT_EQ(::listen(s.get(), 64), 0);
  return s;
}

enum class Outcome { Connected, Reset, NoAnswer };

void PrintTo(Outcome o, std::ostream* os) {
  *os << (o == Outcome::Connected ? "connected" : o == Outcome::Reset ? "reset" : "no answer");
}

// The network namespace of the remote client (a veth pair away: 100.64.0.2 -> 100.64.0.1), and ours.
int client_ns = -1;
int server_ns = -1;

// Connects from `from` to `to:port` and waits (poll with a deadline) for the handshake to end.
Outcome connect_from(const char* from, const char* to, std::uint16_t port, Fd* keep = nullptr,
                     std::chrono::milliseconds deadline = 3000ms) {
  socklen_t flen = 0, tlen = 0;
  auto src = sockaddr_of(from, 0, flen);
  auto dst = sockaddr_of(to, port, tlen);
  // A remote client's socket is made in its namespace and keeps living there.
  const bool remote = std::string(from) == "100.64.0.2";
  if (remote) ::setns(client_ns, CLONE_NEWNET);
  Fd s(::socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (remote) ::setns(server_ns, CLONE_NEWNET);
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&src), flen), 0) << from;
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&dst), tlen) != 0 && errno != EINPROGRESS)
    return Outcome::Reset;
  pollfd p{s.get(), POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(deadline.count())) == 0) return Outcome::NoAnswer;
  int err = 0;
  socklen_t elen = sizeof err;
  ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err != 0) return Outcome::Reset;
  if (keep != nullptr) *keep = std::move(s);
  return Outcome::Connected;
}

Fd accept_one(const Fd& listener) {
  pollfd p{listener.get(), POLLIN, 0};
  if (::poll(&p, 1, 3000) != 1) return Fd{};
  return Fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
}

// Reads what arrives within `deadline`; returns the bytes, or "<error>"/"<eof>" when the socket ended.
std::string read_within(const Fd& s, std::chrono::milliseconds deadline) {
  pollfd p{s.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(deadline.count())) == 0) return "";
  char buf[512];
  const ssize_t n = ::recv(s.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0) return "<error>";
  if (n == 0) return "<eof>";
  return std::string(buf, static_cast<std::size_t>(n));
}

class NftFirewallTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static bool isolated = false;
    if (isolated) return;
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0)
        << "a network namespace of our own needs root: " << std::strerror(errno);
    isolated = true;
    // A second namespace for a client whose packets arrive through prerouting as a remote one's do
    // (loopback traffic has its NAT decided in the output hook, so it cannot show the redirect).
    server_ns = ::open("/proc/self/ns/net", O_RDONLY);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0);
    client_ns = ::open("/proc/self/ns/net", O_RDONLY);
    run("ip link set lo up");
    ASSERT_EQ(::setns(server_ns, CLONE_NEWNET), 0);
    run("ip link add vs type veth peer name vc netns /proc/self/fd/" + std::to_string(client_ns));
    run("ip addr add 100.64.0.1/24 dev vs && ip link set vs up");
    ASSERT_EQ(::setns(client_ns, CLONE_NEWNET), 0);
    run("ip addr add 100.64.0.2/24 dev vc && ip link set vc up");
    ASSERT_EQ(::setns(server_ns, CLONE_NEWNET), 0);
    run("ip link set lo up");
    for (const char* a :
         {"192.0.2.1/32", "198.51.100.7/32", "198.51.100.8/32", "198.51.100.9/32", "203.0.113.5/32"})
      run(std::string("ip addr add ") + a + " dev lo");
    for (const char* a : {"2001:db8::1/128", "2001:db8::7/128"})
      run(std::string("ip addr add ") + a + " dev lo nodad");
  }

  void SetUp() override { run("nft flush ruleset"); }

  NftOptions options() {
    NftOptions o;
    o.allowlist = {P("203.0.113.5")};
    o.allow_host_addresses = false;  // every test address is local here
    o.rate_limit.enabled = false;
    return o;
  }

  std::unique_ptr<NftFirewall> open(const NftOptions& o) {
    std::string error;
    auto fw = NftFirewall::open(o, kNow, error);
    EXPECT_TRUE(fw) << error;
    return fw;
  }

  std::vector<core::FirewallBan> listed(NftFirewall& fw, core::Time now = kNow) {
    std::vector<core::FirewallBan> out;
    std::string error;
    EXPECT_TRUE(fw.list(now, out, error)) << error;
    return out;
  }

  static const core::FirewallBan* find(const std::vector<core::FirewallBan>& v, const core::Prefix& p) {
    for (const auto& b : v)
      if (b.target == p) return &b;
    return nullptr;
  }
};

TEST_F(NftFirewallTest, CreatesItsTableWithTimeoutSetsOfExplicitSizeAndBaseChains) {
  auto o = options();
  o.set_size = 200000;
  o.rate_limit.enabled = true;
  auto fw = open(o);
  const auto table = run("nft list table inet strikeout");
  for (const char* want :
       {"set ban4 {", "set ban6 {", "set ban4_24 {", "set ban6_64 {", "set tarpit4 {", "set tarpit6 {",
        "set rate4 {", "size 200000", "flags timeout",
        "type filter hook input priority filter - 10; policy accept;",
        "type nat hook prerouting priority dstnat - 10; policy accept;",
        "ip saddr & 255.255.255.0 == @ban4_24 reject with tcp reset", "ip saddr @tarpit4 redirect to :2525",
        "ip saddr @allow4 return", "203.0.113.5", "limit rate over 6/minute"})
    EXPECT_NE(table.find(want), std::string::npos) << "missing \"" << want << "\" in\n" << table;
  // Nothing outside our own table.
  EXPECT_EQ(run("nft list tables"), "table inet strikeout\n");
}

TEST_F(NftFirewallTest, RefusesInvalidOptionsWithEveryReason) {
  auto o = options();
  o.ports.clear();
  o.rate_limit.enabled = true;
  o.rate_limit.per = 90s;
  std::string error;
  EXPECT_FALSE(NftFirewall::open(o, kNow, error));
  EXPECT_NE(error.find("ports"), std::string::npos) << error;
  EXPECT_NE(error.find("rate_limit.per"), std::string::npos) << error;
}

TEST_F(NftFirewallTest, BanLandsWithKernelTimeoutAndExtendRefreshesIt) {
  auto fw = open(options());
  const core::FirewallBan ban{P("198.51.100.7"), kNow + 600s, false};
  ASSERT_TRUE(fw->apply({&ban, 1}, {}, kNow).ok);
  auto bans = listed(*fw);
  const auto* b = find(bans, ban.target);
  ASSERT_NE(b, nullptr);
  EXPECT_GT(b->until, kNow + 590s);
  EXPECT_LE(b->until, kNow + 601s);

  // Kernel 6.1 keeps the old timeout when an element is added again: the change must still land.
  const core::FirewallBan longer{ban.target, kNow + 5000s, false};
  ASSERT_TRUE(fw->apply({&longer, 1}, {}, kNow).ok);
  b = find(bans = listed(*fw), ban.target);
  ASSERT_NE(b, nullptr);
  EXPECT_GT(b->until, kNow + 4990s);

  const core::FirewallBan shorter{ban.target, kNow + 60s, false};
  ASSERT_TRUE(fw->apply({&shorter, 1}, {}, kNow).ok);
  b = find(bans = listed(*fw), ban.target);
  ASSERT_NE(b, nullptr);
  EXPECT_LE(b->until, kNow + 61s);
}

TEST_F(NftFirewallTest, UnbanRemovesAndLiftingAnAbsentBanIsNoError) {
  auto fw = open(options());
  const core::FirewallBan bans[] = {{P("198.51.100.7"), kNow + 600s, false},
                                    {P("2001:db8::7"), kNow + 600s, false},
                                    {P("198.51.100.0/24"), kNow + 600s, false}};
  ASSERT_TRUE(fw->apply(bans, {}, kNow).ok);
  EXPECT_EQ(listed(*fw).size(), 3U);
  const core::Prefix lift[] = {P("198.51.100.7"), P("2001:db8::7"), P("198.51.100.0/24"), P("192.0.2.99"),
                               P("10.0.0.0/16")};
  const auto r = fw->apply({}, lift, kNow);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(listed(*fw).empty());
}

TEST_F(NftFirewallTest, OneChangeNamingATargetTwiceKeepsTheLastWordAndLiftingWins) {
  auto fw = open(options());
  const core::FirewallBan bans[] = {{P("198.51.100.7"), kNow + 600s, false},
                                    {P("198.51.100.7"), kNow + 900s, false},
                                    {P("198.51.100.8"), kNow + 600s, false}};
  const core::Prefix lift[] = {P("198.51.100.8"), P("198.51.100.8")};
  const auto r = fw->apply(bans, lift, kNow);
  ASSERT_TRUE(r.ok) << r.error;
  const auto got = listed(*fw);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_GT(got[0].until, kNow + 890s);
}

TEST_F(NftFirewallTest, BanStopsProtectedPortsOnlyAndOnlyTheBannedSource) {
  auto fw = open(options());
  auto smtp = listen_on("192.0.2.1", 25);
  auto other = listen_on("192.0.2.1", 8025);
  auto smtp6 = listen_on("2001:db8::1", 587);
  ASSERT_EQ(connect_from("198.51.100.7", "192.0.2.1", 25), Outcome::Connected);

  const core::FirewallBan bans[] = {{P("198.51.100.7"), kNow + 600s, false},
                                    {P("2001:db8::7"), kNow + 600s, false}};
  ASSERT_TRUE(fw->apply(bans, {}, kNow).ok);
  EXPECT_EQ(connect_from("198.51.100.7", "192.0.2.1", 25), Outcome::Reset);
  EXPECT_EQ(connect_from("2001:db8::7", "2001:db8::1", 587), Outcome::Reset);
  EXPECT_EQ(connect_from("198.51.100.7", "192.0.2.1", 8025), Outcome::Connected);
  EXPECT_EQ(connect_from("198.51.100.8", "192.0.2.1", 25), Outcome::Connected);

  const core::Prefix lift[] = {P("198.51.100.7")};
  ASSERT_TRUE(fw->apply({}, lift, kNow).ok);
  EXPECT_EQ(connect_from("198.51.100.7", "192.0.2.1", 25), Outcome::Connected);
}

TEST_F(NftFirewallTest, PrefixBanMatchesEveryAddressInItAndNewLengthsGetTheirSet) {
  auto fw = open(options());
  auto smtp = listen_on("192.0.2.1", 465);
  const core::FirewallBan bans[] = {{P("198.51.100.0/24"), kNow + 600s, false},
                                    {P("2001:db8::/48"), kNow + 600s, false}};
  ASSERT_TRUE(fw->apply(bans, {}, kNow).ok);
  EXPECT_NE(run("nft list set inet strikeout ban6_48").find("2001:db8::"), std::string::npos);
  EXPECT_EQ(connect_from("198.51.100.8", "192.0.2.1", 465), Outcome::Reset);
  EXPECT_EQ(connect_from("198.51.100.7", "192.0.2.1", 465), Outcome::Reset);
  EXPECT_EQ(connect_from("203.0.113.5", "192.0.2.1", 465), Outcome::Connected);
}

TEST_F(NftFirewallTest, AllowlistRefusesBansAndOnlyEverPreventsOurOwnVerdict) {
  auto fw = open(options());
  auto smtp = listen_on("192.0.2.1", 25);
  const core::FirewallBan covering[] = {{P("203.0.113.0/24"), kNow + 600s, false},
                                        {P("203.0.113.5"), kNow + 600s, false}};
  const auto r = fw->apply(covering, {}, kNow);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.allowlisted.size(), 2U);
  EXPECT_TRUE(listed(*fw).empty());

  // A ban made before its source was allowlisted stops nothing once it is.
  const core::FirewallBan ban{P("198.51.100.0/24"), kNow + 600s, false};
  ASSERT_TRUE(fw->apply({&ban, 1}, {}, kNow).ok);
  EXPECT_EQ(connect_from("198.51.100.9", "192.0.2.1", 25), Outcome::Reset);
  const core::Prefix allow[] = {P("198.51.100.9")};
  ASSERT_TRUE(fw->set_allowlist(allow).ok);
  EXPECT_EQ(connect_from("198.51.100.9", "192.0.2.1", 25), Outcome::Connected);
  EXPECT_EQ(connect_from("198.51.100.8", "192.0.2.1", 25), Outcome::Reset);

  // The allowlist returns, it never accepts: the operator's own drop still wins.
  run("nft add table inet operator");
  run("nft add chain inet operator input '{ type filter hook input priority 0; policy accept; }'");
  run("nft add rule inet operator input ip saddr 198.51.100.9 tcp dport 25 drop");
  EXPECT_EQ(connect_from("198.51.100.9", "192.0.2.1", 25, nullptr, 300ms), Outcome::NoAnswer);
}

TEST_F(NftFirewallTest, HostAddressesAreOnTheAllowlistByDefault) {
  auto o = options();
  o.allow_host_addresses = true;
  auto fw = open(o);
  const core::FirewallBan ban{P("198.51.100.7"), kNow + 600s, false};
  const auto r = fw->apply({&ban, 1}, {}, kNow);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.allowlisted.size(), 1U);
  const auto set = run("nft list set inet strikeout allow4");
  EXPECT_NE(set.find("198.51.100.7"), std::string::npos) << set;
  EXPECT_NE(set.find("127.0.0.0/8"), std::string::npos) << set;
}

TEST_F(NftFirewallTest, EstablishedSessionIsCutAtOnceAndItsNextBytesNeverArrive) {
  auto fw = open(options());
  auto smtp = listen_on("192.0.2.1", 587);
  Fd client;
  ASSERT_EQ(connect_from("198.51.100.7", "192.0.2.1", 587, &client), Outcome::Connected);
  auto server = accept_one(smtp);
  ASSERT_GE(server.get(), 0);
  ASSERT_EQ(::send(client.get(), "EHLO x\r\n", 8, MSG_NOSIGNAL), 8);
  EXPECT_EQ(read_within(server, 2000ms), "EHLO x\r\n");

  const core::FirewallBan ban{P("198.51.100.7"), kNow + 600s, false};
  const auto r = fw->apply({&ban, 1}, {}, kNow);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.sessions_ended, 1U) << r.error;
  // The server's socket is gone (ECONNABORTED), and the guess never reaches it.
  (void)::send(client.get(), "AUTH PLAIN AGFsaWNlAGd1ZXNz\r\n", 29, MSG_NOSIGNAL);
  EXPECT_EQ(read_within(server, 2000ms), "<error>");
}

TEST_F(NftFirewallTest, EveryPacketOfAnOpenSessionIsStoppedEvenWithoutEndingIt) {
  auto o = options();
  o.end_sessions = false;  // the rule alone, whatever the connection's state
  auto fw = open(o);
  auto smtp = listen_on("192.0.2.1", 25);
  Fd client;
  ASSERT_EQ(connect_from("198.51.100.7", "192.0.2.1", 25, &client), Outcome::Connected);
  auto server = accept_one(smtp);
  ASSERT_GE(server.get(), 0);
  // The operator accepts established traffic first: our reject must win anyway.
  run("nft add table inet operator");
  run("nft add chain inet operator input '{ type filter hook input priority -100; policy accept; }'");
  run("nft add rule inet operator input ct state established,related accept");
  const core::FirewallBan ban{P("198.51.100.7"), kNow + 600s, false};
  ASSERT_TRUE(fw->apply({&ban, 1}, {}, kNow).ok);
  (void)::send(client.get(), "AUTH LOGIN\r\n", 12, MSG_NOSIGNAL);
  EXPECT_EQ(read_within(server, 500ms), "");
}

TEST_F(NftFirewallTest, FlushedTableIsNoticedAndRestoredWithItsBans) {
  auto fw = open(options());
  auto smtp = listen_on("192.0.2.1", 25);
  const core::FirewallBan ban{P("198.51.100.7"), kNow + 600s, false};
  ASSERT_TRUE(fw->apply({&ban, 1}, {}, kNow).ok);
  // Our own changes are not mistaken for a vanished table.
  (void)fw->handle_events(kNow);
  EXPECT_FALSE(fw->handle_events(kNow).table_gone);

  run("nft flush ruleset");
  pollfd p{fw->event_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 3000), 1);
  const auto ev = fw->handle_events(kNow);
  ASSERT_TRUE(ev.table_gone) << ev.error;
  EXPECT_EQ(connect_from("198.51.100.7", "192.0.2.1", 25), Outcome::Connected);

  const auto r = fw->restore({&ban, 1}, kNow + 10s);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_NE(find(listed(*fw), ban.target), nullptr);
  EXPECT_EQ(connect_from("198.51.100.7", "192.0.2.1", 25), Outcome::Reset);
}

TEST_F(NftFirewallTest, ARestartTakesTheTableOverKeepingAndReportingItsBans) {
  const core::FirewallBan bans[] = {{P("198.51.100.7"), kNow + 600s, false},
                                    {P("198.51.100.0/26"), kNow + 900s, true}};
  {
    auto fw = open(options());
    ASSERT_TRUE(fw->apply(bans, {}, kNow).ok);
  }
  auto fw = open(options());
  const auto& adopted = fw->adopted();
  ASSERT_EQ(adopted.size(), 2U);
  const auto* host = find(adopted, bans[0].target);
  const auto* net = find(adopted, bans[1].target);
  ASSERT_TRUE(host && net);
  EXPECT_FALSE(host->tarpit);
  EXPECT_TRUE(net->tarpit);
  EXPECT_GT(net->until, kNow + 890s);
  // The prefix set of length 26 (made on demand by the previous run) still has its rules.
  auto smtp = listen_on("192.0.2.1", 25);
  EXPECT_EQ(connect_from("198.51.100.7", "192.0.2.1", 25), Outcome::Reset);
  const auto intact = fw->table_intact();
  EXPECT_TRUE(intact) << intact.error();
}

TEST_F(NftFirewallTest, TarpitRedirectsNewConnectionsToTheDecoyPort) {
  auto fw = open(options());
  auto smtp = listen_on("192.0.2.1", 25);
  auto remote_smtp = listen_on("100.64.0.1", 25);
  auto decoy = listen_on("0.0.0.0", 2525);
  const core::FirewallBan ban{P("100.64.0.2"), kNow + 600s, true};
  ASSERT_TRUE(fw->apply({&ban, 1}, {}, kNow).ok);
  ASSERT_EQ(connect_from("100.64.0.2", "100.64.0.1", 25), Outcome::Connected);
  EXPECT_GE(accept_one(decoy).get(), 0);
  // A ban turned into a tarpit (and back) leaves one element, in the right set.
  const core::FirewallBan back{ban.target, kNow + 600s, false};
  ASSERT_TRUE(fw->apply({&back, 1}, {}, kNow).ok);
  const auto bans = listed(*fw);
  ASSERT_EQ(bans.size(), 1U);
  EXPECT_FALSE(bans[0].tarpit);
}

TEST_F(NftFirewallTest, RateLimitRejectsTheSixthQuickConnectionAndReportsIt) {
  auto o = options();
  o.rate_limit.enabled = true;
  auto fw = open(o);
  auto smtp = listen_on("192.0.2.1", 25);
  for (int i = 1; i <= 5; ++i)
    EXPECT_EQ(connect_from("198.51.100.8", "192.0.2.1", 25), Outcome::Connected) << "connection " << i;
  EXPECT_EQ(connect_from("198.51.100.8", "192.0.2.1", 25), Outcome::Reset) << "connection 6";
  EXPECT_EQ(connect_from("203.0.113.5", "192.0.2.1", 25), Outcome::Connected);  // own bucket
  core::FirewallEvents ev;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (ev.rate_limited.empty() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fw->event_fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) == 1) ev = fw->handle_events(kNow);
  }
  ASSERT_FALSE(ev.rate_limited.empty()) << ev.error;
  EXPECT_EQ(ev.rate_limited[0].source, *core::Address::parse("198.51.100.8"));
  EXPECT_EQ(ev.rate_limited[0].port, 25);
  EXPECT_GE(ev.rate_limited_total, 1U);
}

TEST_F(NftFirewallTest, HundredThousandBansLandInOneBatch) {
  auto fw = open(options());
  std::vector<core::FirewallBan> bans;
  for (std::uint32_t i = 0; i < 100'000; ++i)
    bans.push_back({core::Prefix::host(core::Address::from_v4(0x0a000000U + i)), kNow + 3600s, false});
  const auto restored = fw->restore(bans, kNow);
  ASSERT_TRUE(restored.ok) << restored.error;
  EXPECT_EQ(listed(*fw).size(), 100'000U);
  // And as one change through apply() (delete and add again), still one transaction.
  const auto r = fw->apply(bans, {}, kNow);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(listed(*fw).size(), 100'000U);
}

}  // namespace
}  // namespace strikeout::enforce

namespace strikeout::enforce {
namespace {

// Flush on exit: the table and its bans go, and nothing else in the ruleset does; a second removal
// (the table already gone) is not an error.
TEST_F(NftFirewallTest, RemoveTableDeletesOnlyOurTable) {
  run("nft add table inet operator_own && nft add chain inet operator_own input '{ type filter hook input "
      "priority 0; }'");
  auto fw = open(options());
  const core::FirewallBan ban{P("198.51.100.7"), kNow + 600s, false};
  ASSERT_TRUE(fw->apply({&ban, 1}, {}, kNow).ok);
  const auto removed = fw->remove_table();
  ASSERT_TRUE(removed) << removed.error();
  EXPECT_EQ(run("nft list tables"), "table inet operator_own\n");
  const auto again = fw->remove_table();
  EXPECT_TRUE(again) << again.error();
}

}  // namespace
}  // namespace strikeout::enforce
