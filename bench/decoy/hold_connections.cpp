// Load generator for the decoy (docs/benchmarks.md, "Decoy connections held"): opens and holds many
// connections to the decoy port from several loopback addresses and several processes (one process
// may hold at most ~20,000 open files here), measures when each connection's first reply line arrives,
// and samples the decoy workers' resident memory (processes named "strikeout-decoy") before and while
// the connections are held.
//
//   bench_decoy_hold --port 2626 --connections 100000 --processes 6 --sources 8 --hold 40 --expect 10
//
// --expect: when the first line is due (the decoy's endless_interval, or reply_delay); lateness is
// arrival - connect - expect. Prints one JSON object.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int port = 2626;
  long connections = 100000;
  int processes = 6;
  int sources = 8;
  int hold_seconds = 40;
  double expect_seconds = 10;
};

long rss_kib_of_decoy() {
  long total = 0;
  DIR* d = opendir("/proc");
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream comm(std::string("/proc/") + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name != "strikeout-decoy") continue;
    std::ifstream status(std::string("/proc/") + e->d_name + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) total += std::atol(line.c_str() + 6);
    }
  }
  closedir(d);
  return total;
}

struct ChildResult {
  long connected = 0;
  long failed = 0;
  long closed_early = 0;
  long first_lines = 0;
  long long bytes = 0;
};

// One load process: `count` connections from 127.1.<index>.<1..sources>, held for `hold` seconds.
void run_child(const Options& o, int index, long count, int ready_fd, int result_fd) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  struct Conn {
    int fd = -1;
    Clock::time_point started{};
    bool got_first = false;
  };
  std::vector<Conn> conns(static_cast<std::size_t>(count));
  std::vector<float> lateness_ms;
  ChildResult r;
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(o.port));
  dst.sin_addr.s_addr = htonl(0x7F000001U);
  for (long i = 0; i < count; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      ++r.failed;
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    const int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7F010000U | (static_cast<unsigned>(index) << 8U) |
                                (1U + static_cast<unsigned>(i % o.sources)));
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
        (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS)) {
      close(fd);
      ++r.failed;
      continue;
    }
    auto& c = conns[static_cast<std::size_t>(i)];
    c.fd = fd;
    c.started = Clock::now();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = static_cast<std::uint64_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    ++r.connected;
    // Pace the opening a little so the listeners' backlogs (4096 each) never overflow.
    if (i % 512 == 511) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const long connected = r.connected;
  (void)!write(ready_fd, &connected, sizeof connected);
  const auto end = Clock::now() + std::chrono::seconds(o.hold_seconds);
  std::vector<epoll_event> events(1024);
  char buf[4096];
  while (Clock::now() < end) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 200);
    const auto now = Clock::now();
    for (int k = 0; k < n; ++k) {
      auto& c = conns[events[static_cast<std::size_t>(k)].data.u64];
      if (c.fd < 0) continue;
      const ssize_t got = read(c.fd, buf, sizeof buf);
      if (got > 0) {
        r.bytes += got;
        if (!c.got_first) {
          c.got_first = true;
          ++r.first_lines;
          const double ms =
              std::chrono::duration<double, std::milli>(now - c.started).count() - o.expect_seconds * 1000;
          lateness_ms.push_back(static_cast<float>(ms));
        }
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        ++r.closed_early;
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        c.fd = -1;
      }
    }
  }
  (void)!write(result_fd, &r, sizeof r);
  const long samples = static_cast<long>(lateness_ms.size());
  (void)!write(result_fd, &samples, sizeof samples);
  const char* p = reinterpret_cast<const char*>(lateness_ms.data());
  std::size_t left = lateness_ms.size() * sizeof(float);
  while (left > 0) {
    const ssize_t w = write(result_fd, p, left);
    if (w <= 0) break;
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  _exit(0);
}

bool read_all(int fd, void* out, std::size_t size) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t n = read(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--port")
      o.port = std::atoi(v);
    else if (k == "--connections")
      o.connections = std::atol(v);
    else if (k == "--processes")
      o.processes = std::atoi(v);
    else if (k == "--sources")
      o.sources = std::atoi(v);
    else if (k == "--hold")
      o.hold_seconds = std::atoi(v);
    else if (k == "--expect")
      o.expect_seconds = std::atof(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const long baseline = rss_kib_of_decoy();
  if (baseline <= 0) {
    std::fprintf(stderr, "no strikeout-decoy process found: start `strikeout decoy serve` first\n");
    return 1;
  }
  std::vector<int> ready(static_cast<std::size_t>(o.processes)),
      results(static_cast<std::size_t>(o.processes));
  std::vector<pid_t> pids;
  const auto t0 = Clock::now();
  for (int p = 0; p < o.processes; ++p) {
    int rp[2], sp[2];
    if (pipe(rp) != 0 || pipe(sp) != 0) return 1;
    const long share = o.connections / o.processes + (p < o.connections % o.processes ? 1 : 0);
    const pid_t pid = fork();
    if (pid == 0) {
      close(rp[0]);
      close(sp[0]);
      run_child(o, p, share, rp[1], sp[1]);
    }
    close(rp[1]);
    close(sp[1]);
    ready[static_cast<std::size_t>(p)] = rp[0];
    results[static_cast<std::size_t>(p)] = sp[0];
    pids.push_back(pid);
  }
  long opened = 0;
  for (int fd : ready) {
    long n = 0;
    read_all(fd, &n, sizeof n);
    opened += n;
  }
  const double open_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  // Let every connection get its first line (and the workers settle), then sample memory twice.
  std::this_thread::sleep_for(std::chrono::duration<double>(o.expect_seconds + 5));
  const long loaded = rss_kib_of_decoy();
  ChildResult total;
  std::vector<float> lateness;
  for (int fd : results) {
    ChildResult r;
    long samples = 0;
    if (!read_all(fd, &r, sizeof r) || !read_all(fd, &samples, sizeof samples)) continue;
    std::vector<float> s(static_cast<std::size_t>(samples));
    read_all(fd, s.data(), s.size() * sizeof(float));
    lateness.insert(lateness.end(), s.begin(), s.end());
    total.connected += r.connected;
    total.failed += r.failed;
    total.closed_early += r.closed_early;
    total.first_lines += r.first_lines;
    total.bytes += r.bytes;
  }
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  std::sort(lateness.begin(), lateness.end());
  auto pct = [&](double q) {
    return lateness.empty()
               ? 0.0
               : static_cast<double>(
                     lateness[static_cast<std::size_t>(q * static_cast<double>(lateness.size() - 1))]);
  };
  const long held = total.connected - total.closed_early;
  const double per_connection =
      held > 0 ? static_cast<double>(loaded - baseline) * 1024.0 / static_cast<double>(held) : 0;
  std::printf(
      "{\"connections_requested\": %ld, \"connected\": %ld, \"failed\": %ld, \"closed_early\": %ld, "
      "\"held\": %ld, \"open_seconds\": %.1f, \"first_lines\": %ld, "
      "\"lateness_ms\": {\"p50\": %.1f, \"p99\": %.1f, \"max\": %.1f}, "
      "\"decoy_rss_kib\": {\"before\": %ld, \"held\": %ld}, \"bytes_per_connection\": %.0f, "
      "\"endlessh_design_bytes_per_connection\": 100, \"spamd_bytes_per_connection\": 20480, "
      "\"ratio_held_vs_endlessh_default_4096\": %.1f}\n",
      o.connections, total.connected, total.failed, total.closed_early, held, open_seconds, total.first_lines,
      pct(0.5), pct(0.99), lateness.empty() ? 0.0 : static_cast<double>(lateness.back()), baseline, loaded,
      per_connection, static_cast<double>(held) / 4096.0);
  (void)opened;
  return 0;
}
