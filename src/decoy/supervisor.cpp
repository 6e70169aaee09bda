#include "decoy/supervisor.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include "decoy/channel.hpp"
#include "decoy/records.hpp"
#include "decoy/worker.hpp"

namespace strikeout::decoy {
namespace {

constexpr auto kRestartBackoff = std::chrono::seconds(5);
constexpr auto kStatsEvery = std::chrono::seconds(5);

std::string errno_text(std::string_view what) {
  return std::string(what) + ": " + std::strerror(errno);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Opens `path` for appending, mode 0600 (created so, and refused if group or others may read it).
int open_private_append(const std::filesystem::path& path, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = errno_text(path.string());
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    error = path.string() + ": group or others may read it; it holds what attackers tried (chmod 600)";
    ::close(fd);
    return -1;
  }
  return fd;
}

nlohmann::json counters_json(const DecoyCounters& c) {
  return {{"connections_open", c.connections_open},
          {"connections_peak", c.connections_peak},
          {"connections_total", c.connections_total},
          {"refused_not_redirected", c.refused_not_redirected},
          {"refused_full", c.refused_full},
          {"closed_oldest", c.closed_oldest},
          {"refused_per_source", c.refused_per_source},
          {"closed_idle", c.closed_idle},
          {"closed_time_limit", c.closed_time_limit},
          {"closed_by_client", c.closed_by_client},
          {"bytes_in", c.bytes_in},
          {"bytes_out", c.bytes_out},
          {"time_wasted_us", c.time_wasted_us},
          {"auth_attempts", c.auth_attempts},
          {"fake_successes", c.fake_successes},
          {"replies_late", c.replies_late},
          {"max_lateness_us", c.max_lateness_us},
          {"messages_dropped", c.messages_dropped},
          {"workers_running", c.workers_running},
          {"worker_restarts", c.worker_restarts}};
}

}  // namespace

std::variant<DecoySecret, std::string> load_or_create_secret(const std::filesystem::path& path) {
  DecoySecret secret;
  std::array<std::uint8_t, 32> bytes{};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
      return errno_text("getrandom");
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return errno_text("creating the decoy secret " + path.string());
    const bool ok =
        write_all(fd, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())) &&
        ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return "writing the decoy secret " + path.string() + " failed";
  } else if (fd < 0) {
    return errno_text("the decoy secret " + path.string());
  } else {
    struct stat st {};
    const bool private_file = ::fstat(fd, &st) == 0 && (st.st_mode & 077) == 0;
    const ssize_t n = ::read(fd, bytes.data(), bytes.size());
    char extra = 0;
    const ssize_t more = ::read(fd, &extra, 1);
    ::close(fd);
    if (!private_file)
      return "the decoy secret " + path.string() + " may be read by group or others (chmod 600)";
    if (n != static_cast<ssize_t>(bytes.size()) || more != 0)
      return "the decoy secret " + path.string() + " is not 32 bytes (delete it to make a new one)";
  }
  std::memcpy(secret.verdict.data(), bytes.data(), 16);
  std::memcpy(secret.password.data(), bytes.data() + 16, 16);
  return secret;
}

core::Event to_event(const AuthAttempt& a) {
  core::Event e;
  e.time = a.time;
  e.kind = core::EventKind::AuthFailure;
  e.source = a.source;
  e.port = a.port;
  e.service = "smtp";
  e.user = a.user;
  e.reporter = core::Reporter::Decoy;
  e.sensor = "decoy";
  e.from_established = true;  // a completed connection: it may extend the sentence
  return e;
}

Supervisor::Supervisor(const DecoyOptions& options, const DecoySecret& secret)
    : options_(options), secret_(secret) {}

std::variant<std::unique_ptr<Supervisor>, std::string> Supervisor::start(const DecoyOptions& options,
                                                                         const DecoySecret& secret) {
  std::unique_ptr<Supervisor> s(new Supervisor(options, secret));
  std::string error;
  s->record_fd_ = open_private_append(options.record, error);
  if (s->record_fd_ < 0) return "the decoy's record file: " + error;
  struct stat st {};
  if (::fstat(s->record_fd_, &st) == 0) s->record_bytes_ = static_cast<std::uint64_t>(st.st_size);
  if (options.store_passwords) {
    s->passwords_fd_ = open_private_append(options.passwords, error);
    if (s->passwords_fd_ < 0) return "the decoy's password file: " + error;
  }
  s->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (s->epoll_fd_ < 0) return errno_text("epoll_create1");
  const auto cores = std::thread::hardware_concurrency();
  s->workers_.resize(worker_count(options, cores == 0 ? 1 : cores));
  for (std::size_t i = 0; i < s->workers_.size(); ++i) {
    if (std::string e = s->spawn(i); !e.empty()) return e;
  }
  return s;
}

std::string Supervisor::spawn(std::size_t index) {
  std::string error;
  const int listener = open_listener(options_.port, error);
  if (listener < 0) return "the decoy cannot listen on " + error;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    ::close(listener);
    return errno_text("socketpair");
  }
  const int big = 1 << 20;  // room for bursts of attempts while the daemon is busy
  ::setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  ::setsockopt(pair[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(listener);
    ::close(pair[0]);
    ::close(pair[1]);
    return errno_text("fork");
  }
  if (pid == 0) {
    // The worker: nothing of the parent's but its own two descriptors (the daemon's netlink sockets,
    // log files and control socket stay out of reach of a process full of attacker connections).
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::dup2(pair[1], 3);
    ::dup2(listener, 4);
    ::close_range(5, ~0U, 0);
    ::prctl(PR_SET_NAME, "strikeout-decoy");
    // A process full of attackers' connections needs no privilege: it has its sockets already. As
    // root, become nobody (a restart after the daemon dropped CAP_SETUID keeps the daemon's user).
    if (::geteuid() == 0 && ::setgroups(0, nullptr) == 0 && ::setgid(65534) == 0) (void)::setuid(65534);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a change of user clears it: set it again for nobody
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    WorkerSetup setup;
    setup.options = &options_;
    setup.secret = secret_;
    setup.channel_fd = 3;
    setup.listener_fd = 4;
    setup.index = static_cast<std::uint32_t>(index);
    setup.workers = static_cast<std::uint32_t>(workers_.size());
    ::_exit(run_worker(setup));
  }
  ::close(listener);
  ::close(pair[1]);
  ::fcntl(pair[0], F_SETFL, ::fcntl(pair[0], F_GETFL) | O_NONBLOCK);
  WorkerProcess& w = workers_[index];
  w.pid = pid;
  w.channel = pair[0];
  w.counters = {};
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = index;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, w.channel, &ev);
  // A restarted worker learns the sources already sent here.
  for (const auto& [target, assigned] : assignments_) {
    channel::Assign m;
    m.mode = static_cast<std::uint8_t>(assigned.first);
    m.length = static_cast<std::uint8_t>(target.length());
    m.until_us = core::to_micros(assigned.second);
    std::memcpy(m.address, target.address().bytes().data(), 16);
    ::send(w.channel, &m, sizeof m, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  return {};
}

Supervisor::~Supervisor() {
  if (record_fd_ >= 0 && !workers_.empty())
    write_stats(std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now()));
  // Closing a worker's channel is what ends it: it stops at the channel's end of file. SIGTERM alone
  // is not enough: the workers run as nobody, and the daemon has dropped CAP_KILL by now, so its
  // kill() fails with EPERM and the waitpid() below would wait forever (an e2e test's daemon hung on
  // SIGTERM that way).
  for (auto& w : workers_) {
    if (w.channel >= 0) ::close(w.channel);
    w.channel = -1;
    if (w.pid > 0) ::kill(w.pid, SIGTERM);
  }
  for (auto& w : workers_) {
    if (w.pid > 0) ::waitpid(w.pid, nullptr, 0);
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (record_fd_ >= 0) ::close(record_fd_);
  if (passwords_fd_ >= 0) ::close(passwords_fd_);
}

void Supervisor::reap(std::size_t index, core::Time now) {
  WorkerProcess& w = workers_[index];
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, w.channel, nullptr);
  ::close(w.channel);
  w.channel = -1;
  ::kill(w.pid, SIGTERM);
  ::waitpid(w.pid, nullptr, 0);
  w.pid = -1;
  w.died = now;
  DecoyCounters gone = w.counters;
  gone.connections_open = 0;  // its connections went with it
  gone.connections_peak = 0;
  closed_workers_ += gone;
  w.counters = {};
}

void Supervisor::handle_events(AttemptSink& sink) {
  std::array<epoll_event, 16> events{};
  const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
  for (int i = 0; i < n; ++i) {
    const std::size_t index = events[static_cast<std::size_t>(i)].data.u64;
    WorkerProcess& w = workers_[index];
    // A bounded number of messages per call, so a busy decoy cannot keep the daemon from its logs.
    for (int m = 0; m < 1024 && w.channel >= 0; ++m) {
      channel::Attempt buffer;  // the largest message
      const ssize_t got = ::recv(w.channel, &buffer, sizeof buffer, MSG_DONTWAIT);
      if (got == 0) {
        reap(index, std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now()));
        break;
      }
      if (got < 0) break;
      if (buffer.type == channel::Type::Counters &&
          static_cast<std::size_t>(got) == sizeof(channel::Counters)) {
        channel::Counters c;
        std::memcpy(static_cast<void*>(&c), static_cast<const void*>(&buffer), sizeof c);
        w.counters = c.counters;
      } else if (buffer.type == channel::Type::Attempt && static_cast<std::size_t>(got) == sizeof buffer) {
        AuthAttempt a;
        core::Address::Bytes b{};
        std::memcpy(b.data(), buffer.source, 16);
        a.source = core::Address::from_bytes(b);
        a.time = core::from_micros(buffer.time_us);
        a.port = buffer.port;
        a.mechanism = buffer.mechanism <= static_cast<std::uint8_t>(kLastMechanism)
                          ? static_cast<Mechanism>(buffer.mechanism)
                          : Mechanism::Other;
        a.mode = buffer.mode <= static_cast<std::uint8_t>(kLastMode) ? static_cast<Mode>(buffer.mode)
                                                                     : Mode::Decoy;
        a.has_credentials = buffer.has_credentials != 0;
        a.accepted = buffer.accepted != 0;
        a.user = std::string_view(buffer.user, std::min<std::size_t>(buffer.user_length, sizeof buffer.user));
        a.password = std::string_view(buffer.password,
                                      std::min<std::size_t>(buffer.password_length, sizeof buffer.password));
        const std::string_view hash =
            a.has_credentials ? std::string_view(buffer.password_hash, sizeof buffer.password_hash)
                              : std::string_view{};
        record(a, hash);
        sink.on_attempt(a);
      }
    }
  }
}

void Supervisor::record(const AuthAttempt& a, std::string_view hash) {
  std::string line = core::format_rfc3339(a.time);
  line += '\t';
  line += a.source.to_string();
  line += '\t';
  line += std::to_string(a.port);
  line += '\t';
  line += kModeNames[static_cast<std::size_t>(a.mode)];
  line += '\t';
  line += kMechanismNames[static_cast<std::size_t>(a.mechanism)];
  line += '\t';
  line += !a.has_credentials ? "no-password" : a.accepted ? "fake-success" : "refused";
  line += '\t';
  line += escape_field(a.user);
  line += '\t';
  line += hash;
  line += '\n';
  if (record_bytes_ + line.size() > options_.record_max_bytes) {
    // Rotate: the current file becomes FILE.1 (the previous .1 is dropped), so the records stay bounded.
    std::filesystem::path old = options_.record;
    old += ".1";
    std::error_code ec;
    std::filesystem::rename(options_.record, old, ec);
    std::string error;
    const int fd = open_private_append(options_.record, error);
    if (fd >= 0) {
      ::close(record_fd_);
      record_fd_ = fd;
      record_bytes_ = 0;
    }
  }
  if (write_all(record_fd_, line)) record_bytes_ += line.size();
  if (passwords_fd_ >= 0 && a.has_credentials) {
    write_all(passwords_fd_, core::format_rfc3339(a.time) + '\t' + a.source.to_string() + '\t' +
                                 escape_field(a.user) + '\t' + escape_field(a.password) + '\n');
  }
}

std::vector<std::string> Supervisor::tick(core::Time now) {
  std::vector<std::string> problems;
  std::erase_if(assignments_, [now](const auto& a) { return a.second.second <= now; });
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    WorkerProcess& w = workers_[i];
    if (w.pid > 0) {
      int status = 0;
      if (::waitpid(w.pid, &status, WNOHANG) == w.pid) {
        w.pid = -1;
        problems.push_back("decoy worker " + std::to_string(i) + " stopped (status " +
                           std::to_string(status) + ")");
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, w.channel, nullptr);
        ::close(w.channel);
        w.channel = -1;
        w.died = now;
        DecoyCounters gone = w.counters;
        gone.connections_open = 0;
        gone.connections_peak = 0;
        closed_workers_ += gone;
        w.counters = {};
      }
      continue;
    }
    if (now - w.died < kRestartBackoff) continue;
    if (std::string error = spawn(i); !error.empty()) {
      w.died = now;
      problems.push_back("decoy worker " + std::to_string(i) + " could not be restarted: " + error);
    } else {
      ++restarts_;
      problems.push_back("decoy worker " + std::to_string(i) + " restarted");
    }
  }
  if (now - last_stats_ >= kStatsEvery) {
    last_stats_ = now;
    write_stats(now);
  }
  return problems;
}

void Supervisor::assign(const core::Prefix& target, Mode mode, core::Time until) {
  channel::Assign m;
  m.mode = static_cast<std::uint8_t>(mode);
  m.length = static_cast<std::uint8_t>(target.length());
  m.until_us = core::to_micros(until);
  std::memcpy(m.address, target.address().bytes().data(), 16);
  for (auto& w : workers_) {
    if (w.channel >= 0) ::send(w.channel, &m, sizeof m, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  std::erase_if(assignments_, [&](const auto& a) { return a.first == target; });
  assignments_.emplace_back(target, std::make_pair(mode, until));
}

DecoyCounters Supervisor::counters() const {
  DecoyCounters total = closed_workers_;
  for (const auto& w : workers_) {
    total += w.counters;
    if (w.pid > 0) ++total.workers_running;
  }
  total.worker_restarts = restarts_;
  return total;
}

void Supervisor::write_stats(core::Time now) {
  nlohmann::json j = counters_json(counters());
  j["time"] = core::format_rfc3339(now);
  j["workers"] = workers_.size();
  j["max_connections"] = options_.max_connections;
  const std::string text = j.dump(2) + "\n";
  std::filesystem::path tmp = options_.stats;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  ::fchmod(fd, 0600);  // whatever the umask (docs/architecture.md, "Files")
  const bool ok = write_all(fd, text);
  ::close(fd);
  if (ok) ::rename(tmp.c_str(), options_.stats.c_str());
}

}  // namespace strikeout::decoy
