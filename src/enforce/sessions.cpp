#include "enforce/sessions.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

namespace strikeout::enforce {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

struct DiagRequest {
  nlmsghdr nlh;
  inet_diag_req_v2 req;
};

core::Address peer_of(const inet_diag_msg& m) {
  if (m.idiag_family == AF_INET) return core::Address::from_v4(ntohl(m.id.idiag_dst[0]));
  core::Address::Bytes b{};
  std::memcpy(b.data(), m.id.idiag_dst, 16);
  return core::Address::from_bytes(b);
}

// TCP states whose sockets belong to a session: everything but LISTEN and TIME_WAIT (a TIME_WAIT
// socket holds no session, and SOCK_DESTROY does not take it).
constexpr std::uint32_t kSessionStates =
    ((1U << 12) - 1U) & ~(1U << TCP_LISTEN) & ~(1U << TCP_TIME_WAIT) & ~1U;

}  // namespace

SessionsEnded end_sessions(std::span<const core::Prefix> sources, std::span<const std::uint16_t> ports) {
  SessionsEnded out;
  if (sources.empty() || ports.empty()) return out;
  std::set<core::Address> hosts;
  std::vector<core::Prefix> networks;
  for (const auto& p : sources) {
    if (p.is_host())
      hosts.insert(p.address());
    else
      networks.push_back(p);
  }
  const auto banned = [&](const core::Address& a) {
    return hosts.contains(a) || std::any_of(networks.begin(), networks.end(),
                                            [&](const core::Prefix& n) { return n.contains(a); });
  };

  Fd sock(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (sock.get() < 0) {
    out.error = std::string("sock_diag socket: ") + std::strerror(errno);
    return out;
  }
  std::uint32_t seq = 1;
  for (const std::uint8_t family : {std::uint8_t{AF_INET}, std::uint8_t{AF_INET6}}) {
    // 1. Dump the family's TCP sockets and keep the ones to end.
    DiagRequest dump{};
    dump.nlh.nlmsg_len = sizeof dump;
    dump.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    dump.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    dump.nlh.nlmsg_seq = seq++;
    dump.req.sdiag_family = family;
    dump.req.sdiag_protocol = IPPROTO_TCP;
    dump.req.idiag_states = kSessionStates;
    if (::send(sock.get(), &dump, sizeof dump, 0) < 0) {
      out.error = std::string("sock_diag dump: ") + std::strerror(errno);
      return out;
    }
    std::vector<inet_diag_sockid> victims;
    std::vector<std::uint8_t> states;
    alignas(nlmsghdr) static thread_local char buf[65536];
    bool done = false;
    while (!done) {
      const ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        out.error = std::string("sock_diag dump: ") + std::strerror(errno);
        return out;
      }
      auto len = static_cast<int>(n);
      for (auto* h = static_cast<const nlmsghdr*>(static_cast<const void*>(buf)); mnl_nlmsg_ok(h, len);
           h = mnl_nlmsg_next(h, &len)) {
        if (h->nlmsg_type == NLMSG_DONE) {
          done = true;
          break;
        }
        if (h->nlmsg_type == NLMSG_ERROR) {
          const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(h));
          out.error = std::string("sock_diag dump: ") + std::strerror(-e->error);
          return out;
        }
        if (h->nlmsg_len < mnl_nlmsg_size(sizeof(inet_diag_msg))) continue;
        const auto* m = static_cast<const inet_diag_msg*>(mnl_nlmsg_get_payload(h));
        const auto local_port = ntohs(m->id.idiag_sport);
        if (std::find(ports.begin(), ports.end(), local_port) == ports.end()) continue;
        if (!banned(peer_of(*m))) continue;
        victims.push_back(m->id);
      }
    }
    // 2. Destroy them one by one (the kernel matches the socket cookie, so a reused 4-tuple is safe).
    for (const auto& id : victims) {
      DiagRequest kill{};
      kill.nlh.nlmsg_len = sizeof kill;
      kill.nlh.nlmsg_type = SOCK_DESTROY;
      kill.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
      kill.nlh.nlmsg_seq = seq++;
      kill.req.sdiag_family = family;
      kill.req.sdiag_protocol = IPPROTO_TCP;
      kill.req.idiag_states = kSessionStates;
      kill.req.id = id;
      if (::send(sock.get(), &kill, sizeof kill, 0) < 0) {
        ++out.failed;
        if (out.error.empty()) out.error = std::string("SOCK_DESTROY: ") + std::strerror(errno);
        continue;
      }
      ssize_t n;
      do n = ::recv(sock.get(), buf, sizeof buf, 0);
      while (n < 0 && errno == EINTR);
      int err = 0;
      if (n < 0)
        err = errno;
      else {
        const auto* h = static_cast<const nlmsghdr*>(static_cast<const void*>(buf));
        if (static_cast<std::size_t>(n) >= mnl_nlmsg_size(sizeof(nlmsgerr)) && h->nlmsg_type == NLMSG_ERROR)
          err = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(h))->error;
      }
      if (err == 0)
        ++out.ended;
      else if (err == ENOENT) {
        // Closed meanwhile: nothing left to end.
      } else {
        ++out.failed;
        if (out.error.empty())
          out.error = std::string("SOCK_DESTROY: ") + std::strerror(err) +
                      (err == EOPNOTSUPP ? " (kernel without CONFIG_INET_DIAG_DESTROY)" : "");
      }
    }
  }
  return out;
}

}  // namespace strikeout::enforce
