#include "decoy/worker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "decoy/channel.hpp"
#include "decoy/session.hpp"

namespace strikeout::decoy {
namespace {

// linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h: the conntrack getsockopt that gives a
// redirected connection's original destination. Spelled out to avoid the kernel headers' C-isms.
constexpr int kSoOriginalDst = 80;
constexpr int kIp6tSoOriginalDst = 80;

constexpr auto kTick = std::chrono::milliseconds(50);
constexpr auto kCountersEvery = std::chrono::seconds(1);
constexpr auto kLateAfter = std::chrono::milliseconds(250);
constexpr int kFilesReserve = 64;  // descriptors kept free for the listener, channel, epoll, logging

core::Time now() {
  return std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now());
}

core::Address address_of(const sockaddr_in6& a) {
  core::Address::Bytes b{};
  std::memcpy(b.data(), &a.sin6_addr, 16);
  return core::Address::from_bytes(b);
}

struct AddressHash {
  std::uint64_t seed;
  std::size_t operator()(const core::Address& a) const { return core::hash_address(a, seed); }
};

struct Connection {
  explicit Connection(asio::io_context& io) : socket(io) {}
  asio::ip::tcp::socket socket;
  Session session;
  core::Address source{};
  std::uint16_t port = 0;
  std::uint32_t generation = 0;
  bool live = false;
  bool waiting = false;  // an async_wait for readability is pending
};

class Worker final : public AttemptSink {
 public:
  Worker(const WorkerSetup& setup, int listener, bool v6)
      : v6_(v6),
        setup_(setup),
        options_(*setup.options),
        script_(Script::build(options_)),
        ctx_(SessionContext::make(options_, script_, setup.secret)),
        listener_(io_),
        channel_(io_, setup.channel_fd),
        tick_(io_),
        per_source_(16, AddressHash{setup.secret.verdict[0] * 0x9E3779B97F4A7C15ULL + setup.index}) {
    listener_.assign(v6_ ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), listener);
    const std::uint32_t n = std::max<std::uint32_t>(setup.workers, 1);
    max_connections_ = (options_.max_connections + n - 1) / n;
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
      const auto usable = files.rlim_cur > kFilesReserve ? files.rlim_cur - kFilesReserve : 1;
      if (usable < max_connections_) {
        std::fprintf(stderr,
                     "decoy worker %u: the open-files limit (%llu) allows %llu connections, not %u: raise "
                     "[decoy] workers\n",
                     setup.index, static_cast<unsigned long long>(files.rlim_cur),
                     static_cast<unsigned long long>(usable), max_connections_);
        max_connections_ = static_cast<std::uint32_t>(usable);
      }
    }
    per_source_limit_ = std::max<std::uint32_t>(1, (options_.per_source + n - 1) / n);
  }

  int run() {
    arm_accept();
    arm_channel();
    last_counters_ = std::chrono::steady_clock::now();
    on_tick();
    io_.run();
    return 0;
  }

  void on_attempt(const AuthAttempt& a) override {
    ++counters_.auth_attempts;
    if (a.accepted) ++counters_.fake_successes;
    channel::Attempt m;
    m.mechanism = static_cast<std::uint8_t>(a.mechanism);
    m.mode = static_cast<std::uint8_t>(a.mode);
    m.has_credentials = a.has_credentials ? 1 : 0;
    m.accepted = a.accepted ? 1 : 0;
    m.port = a.port;
    m.time_us = core::to_micros(a.time);
    std::memcpy(m.source, a.source.bytes().data(), 16);
    m.user_length = static_cast<std::uint8_t>(std::min(a.user.size(), sizeof m.user));
    std::memcpy(m.user, a.user.data(), m.user_length);
    if (a.has_credentials) {
      const std::string hash = password_hash(ctx_.secret, a.password);
      std::memcpy(m.password_hash, hash.data(), std::min(hash.size(), sizeof m.password_hash));
    }
    // The plaintext only leaves the worker when the operator asked to keep it.
    if (options_.store_passwords) {
      m.password_length = static_cast<std::uint16_t>(std::min(a.password.size(), sizeof m.password));
      std::memcpy(m.password, a.password.data(), m.password_length);
    }
    send_message(&m, sizeof m);
  }

 private:
  bool v6_ = true;
  void send_message(const void* data, std::size_t size) {
    if (::send(setup_.channel_fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) ++counters_.messages_dropped;
  }

  void arm_accept() {
    if (accept_paused_) return;
    listener_.async_wait(asio::ip::tcp::acceptor::wait_read, [this](const asio::error_code& ec) {
      if (ec) return;
      accept_ready();
      arm_accept();
    });
  }

  // Accepts what is waiting (a bounded batch, so a flood cannot starve the held connections).
  void accept_ready() {
    for (int i = 0; i < 256; ++i) {
      sockaddr_in6 peer{};
      socklen_t len = sizeof peer;
      const int fd = ::accept4(listener_.native_handle(), reinterpret_cast<sockaddr*>(&peer), &len,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: leave the rest in the backlog and try again on the next tick rather
          // than spin on a listener that stays readable.
          accept_paused_ = true;
        }
        return;
      }
      admit(fd, peer);
    }
  }

  // The address `fd` was really sent to, before any nat redirect; false if the kernel cannot say.
  static bool original_port(int fd, const core::Address& source, std::uint16_t& port) {
    if (source.is_v4()) {
      sockaddr_in dst{};
      socklen_t len = sizeof dst;
      if (::getsockopt(fd, SOL_IP, kSoOriginalDst, &dst, &len) != 0) return false;
      port = ntohs(dst.sin_port);
      return true;
    }
    sockaddr_in6 dst{};
    socklen_t len = sizeof dst;
    if (::getsockopt(fd, SOL_IPV6, kIp6tSoOriginalDst, &dst, &len) != 0) return false;
    port = ntohs(dst.sin6_port);
    return true;
  }

  void admit(int fd, const sockaddr_in6& peer6) {
    core::Address source;
    std::uint16_t port = 0;
    if (peer6.sin6_family == AF_INET6) {
      source = address_of(peer6);
      port = ntohs(peer6.sin6_port);
    } else {
      sockaddr_in peer4{};
      std::memcpy(&peer4, &peer6, sizeof peer4);
      source = core::Address::from_v4(ntohl(peer4.sin_addr.s_addr));
      port = ntohs(peer4.sin_port);
    }
    if (options_.only_redirected) {
      std::uint16_t original = 0;
      const bool redirected = original_port(fd, source, original) && original != options_.port &&
                              std::find(options_.redirected_from.begin(), options_.redirected_from.end(),
                                        original) != options_.redirected_from.end();
      if (!redirected) {
        ++counters_.refused_not_redirected;
        ::close(fd);
        return;
      }
    }
    if (auto it = per_source_.find(source); it != per_source_.end() && it->second >= per_source_limit_) {
      ++counters_.refused_per_source;
      ::close(fd);
      return;
    }
    if (open_ >= max_connections_) {
      if (options_.when_full == WhenFull::Refuse || !close_oldest()) {
        ++counters_.refused_full;
        ::close(fd);
        return;
      }
    }
    // A tiny receive buffer: a held client has nothing to send that we want, and the kernel memory
    // per connection stays small too. Linger 0: closing sends a reset, no FIN_WAIT/TIME_WAIT state kept.
    const int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    const linger no_linger{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);

    std::uint32_t slot = 0;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(slots_.size());
      slots_.push_back(std::make_unique<Connection>(io_));
    }
    Connection& c = *slots_[slot];
    asio::error_code ec;
    c.socket.assign(v6_ ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), fd, ec);
    if (ec) {
      ::close(fd);
      free_.push_back(slot);
      return;
    }
    ++per_source_[source];
    c.live = true;
    c.waiting = false;
    c.source = source;
    c.port = port;
    ++c.generation;
    const auto t = now();
    c.session.start(mode_for(source, t), t, ctx_);
    order_.push_back((std::uint64_t{slot} << 32U) | c.generation);
    ++open_;
    ++counters_.connections_total;
    counters_.connections_peak = std::max<std::uint64_t>(counters_.connections_peak, open_);
    service(slot, t);
  }

  Mode mode_for(const core::Address& source, core::Time t) {
    if (auto it = assigned_.find(source); it != assigned_.end() && it->second.until > t)
      return it->second.mode;
    for (const auto& [prefix, a] : assigned_networks_)
      if (a.until > t && prefix.contains(source)) return a.mode;
    return options_.mode;
  }

  // Closes the longest-held connection; false if there is none.
  bool close_oldest() {
    while (!order_.empty()) {
      const std::uint64_t entry = order_.front();
      order_.pop_front();
      const auto slot = static_cast<std::uint32_t>(entry >> 32U);
      const auto generation = static_cast<std::uint32_t>(entry & 0xffffffffU);
      Connection& c = *slots_[slot];
      if (c.live && c.generation == generation) {
        ++counters_.closed_oldest;
        close(slot, now());
        return true;
      }
    }
    return false;
  }

  void close(std::uint32_t slot, core::Time t) {
    Connection& c = *slots_[slot];
    if (!c.live) return;
    c.live = false;
    asio::error_code ec;
    c.socket.close(ec);
    held_closed_us_ +=
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, (t - c.session.started()).count()));
    counters_.bytes_in += c.session.bytes_in();
    counters_.bytes_out += c.session.bytes_out();
    if (auto it = per_source_.find(c.source); it != per_source_.end() && --it->second == 0)
      per_source_.erase(it);
    --open_;
    free_.push_back(slot);
  }

  // Reads what the session wants, writes what is due, and closes when the session says so. The
  // only place a connection's state moves.
  void service(std::uint32_t slot, core::Time t) {
    Connection& c = *slots_[slot];
    for (int round = 0; round < 8 && c.live; ++round) {
      if (!write_due(c, t)) {
        ++counters_.closed_by_client;
        close(slot, t);
        return;
      }
      switch (c.session.close_reason(t, ctx_)) {
        case CloseReason::None:
          break;
        case CloseReason::Quit:
          ++counters_.closed_by_client;
          close(slot, t);
          return;
        case CloseReason::Idle:
          ++counters_.closed_idle;
          close(slot, t);
          return;
        case CloseReason::TimeLimit:
          ++counters_.closed_time_limit;
          close(slot, t);
          return;
      }
      if (!c.session.wants_input() || c.waiting) return;
      // Read speculatively before waiting: data may already be in the kernel's buffer (Asio's epoll
      // is edge-triggered).
      const ssize_t n =
          ::recv(c.socket.native_handle(), buffer_.data(), buffer_.size(), MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        ++counters_.closed_by_client;
        close(slot, t);
        return;
      }
      if (n < 0) {
        arm_read(slot);
        return;
      }
      const std::size_t used = c.session.on_input(
          std::string_view(buffer_.data(), static_cast<std::size_t>(n)), c.source, c.port, t, ctx_, *this);
      if (used > 0) (void)::recv(c.socket.native_handle(), buffer_.data(), used, MSG_TRUNC | MSG_DONTWAIT);
    }
  }

  // Sends what is due; false when the connection is gone.
  bool write_due(Connection& c, core::Time t) {
    for (;;) {
      const std::string_view out = c.session.output(t, ctx_);
      if (out.empty()) return true;
      const ssize_t n = ::send(c.socket.native_handle(), out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      if (!c.session.reply_started()) note_lateness(c, t);
      c.session.on_sent(static_cast<std::size_t>(n), t, ctx_);
      if (static_cast<std::size_t>(n) < out.size()) return true;  // the kernel's buffer is full: next tick
    }
  }

  void note_lateness(const Connection& c, core::Time t) {
    const auto late = t - c.session.due();
    if (late > kLateAfter) ++counters_.replies_late;
    counters_.max_lateness_us = std::max<std::uint64_t>(
        counters_.max_lateness_us, static_cast<std::uint64_t>(std::max<std::int64_t>(0, late.count())));
  }

  void arm_read(std::uint32_t slot) {
    Connection& c = *slots_[slot];
    c.waiting = true;
    const std::uint32_t generation = c.generation;
    c.socket.async_wait(asio::ip::tcp::socket::wait_read,
                        [this, slot, generation](const asio::error_code& ec) {
                          Connection& conn = *slots_[slot];
                          if (ec || !conn.live || conn.generation != generation) return;
                          conn.waiting = false;
                          service(slot, now());
                        });
  }

  void arm_channel() {
    channel_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const asio::error_code& ec) {
      if (ec) return;
      for (;;) {
        channel::Assign m;
        const ssize_t n = ::recv(setup_.channel_fd, &m, sizeof m, MSG_DONTWAIT);
        if (n == 0) {  // the supervisor is gone: so are we
          io_.stop();
          return;
        }
        if (n < 0) break;
        if (static_cast<std::size_t>(n) != sizeof m || m.type != channel::Type::Assign ||
            m.mode > static_cast<std::uint8_t>(kLastMode))
          continue;
        core::Address::Bytes b{};
        std::memcpy(b.data(), m.address, 16);
        const core::Prefix target(core::Address::from_bytes(b), m.length);
        const Assigned a{static_cast<Mode>(m.mode), core::from_micros(m.until_us)};
        if (target.is_host()) {
          assigned_[target.address()] = a;
        } else {
          assigned_networks_.emplace_back(target, a);
        }
      }
      arm_channel();
    });
  }

  void on_tick() {
    const auto t = now();
    for (std::uint32_t slot = 0; slot < slots_.size(); ++slot) {
      if (slots_[slot]->live) service(slot, t);
    }
    if (accept_paused_) {  // out of descriptors at the last accept: closes may have freed some
      accept_paused_ = false;
      arm_accept();
    }
    // Keep the accept-order list from growing with entries of connections already closed.
    if (order_.size() > 2 * static_cast<std::size_t>(open_) + 1024) {
      std::deque<std::uint64_t> live;
      for (auto entry : order_) {
        const Connection& c = *slots_[static_cast<std::uint32_t>(entry >> 32U)];
        if (c.live && c.generation == static_cast<std::uint32_t>(entry & 0xffffffffU)) live.push_back(entry);
      }
      order_.swap(live);
    }
    const auto steady = std::chrono::steady_clock::now();
    if (steady - last_counters_ >= kCountersEvery) {
      last_counters_ = steady;
      send_counters(t);
      std::erase_if(assigned_, [t](const auto& kv) { return kv.second.until <= t; });
      std::erase_if(assigned_networks_, [t](const auto& kv) { return kv.second.until <= t; });
    }
    tick_.expires_after(kTick);
    tick_.async_wait([this](const asio::error_code& ec) {
      if (!ec) on_tick();
    });
  }

  void send_counters(core::Time t) {
    channel::Counters m;
    m.counters = counters_;
    m.counters.connections_open = open_;
    std::uint64_t held = held_closed_us_;
    for (const auto& c : slots_) {
      if (!c->live) continue;
      held += static_cast<std::uint64_t>(std::max<std::int64_t>(0, (t - c->session.started()).count()));
      m.counters.bytes_in += c->session.bytes_in();
      m.counters.bytes_out += c->session.bytes_out();
    }
    m.counters.time_wasted_us = held;
    send_message(&m, sizeof m);
  }

  struct Assigned {
    Mode mode;
    core::Time until;
  };

  WorkerSetup setup_;
  const DecoyOptions& options_;
  Script script_;
  SessionContext ctx_;
  asio::io_context io_;
  asio::ip::tcp::acceptor listener_;
  asio::posix::stream_descriptor channel_;
  asio::steady_timer tick_;
  std::vector<std::unique_ptr<Connection>> slots_;
  std::vector<std::uint32_t> free_;
  std::deque<std::uint64_t> order_;  // (slot << 32 | generation) in accept order: the oldest first
  std::unordered_map<core::Address, std::uint32_t, AddressHash> per_source_;
  std::unordered_map<core::Address, Assigned, AddressHash> assigned_;
  std::vector<std::pair<core::Prefix, Assigned>> assigned_networks_;
  std::array<char, 4096> buffer_{};
  DecoyCounters counters_;
  std::uint64_t held_closed_us_ = 0;
  std::uint32_t open_ = 0;
  std::uint32_t max_connections_ = 0;
  std::uint32_t per_source_limit_ = 0;
  bool accept_paused_ = false;
  std::chrono::steady_clock::time_point last_counters_{};
};

}  // namespace

int open_listener(std::uint16_t port, std::string& error) {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  bool v6 = fd >= 0;
  if (!v6) fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const int one = 1;
  const int zero = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    error = std::string("SO_REUSEPORT: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  int rc = 0;
  if (v6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(port);
    rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    a.sin_port = htons(port);
    rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  if (rc != 0 || ::listen(fd, 4096) != 0) {
    error = "port " + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

int run_worker(const WorkerSetup& setup) {
  // SIGTERM and SIGINT end a worker at once (the kernel closes its sockets; it keeps nothing worth
  // saving); a reload's SIGHUP is the daemon's alone.
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGHUP, SIG_IGN);
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const int listener = setup.listener_fd;
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&local), &len);
  Worker worker(setup, listener, local.ss_family == AF_INET6);
  return worker.run();
}

}  // namespace strikeout::decoy
