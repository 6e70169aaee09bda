// The strikeout program under test, for the C++ tests that run it (label kernel: the control socket
// driven by the CLI, restarts under load): a network namespace of the test's own, the daemon as a
// child process with its log in a file, the CLI run and its output captured, polling with a deadline,
// and the configuration sections every such test writes the same way. The Python tests share the same
// set-up in tests/support/strikeout_process.py.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace strikeout::testsupport {

namespace fs = std::filesystem;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh directory under /tmp, e.g. temp_dir("strikeout-restart").
inline fs::path temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

// `command` through the shell; its standard output and error together.
inline std::string shell(const std::string& command) {
  std::string out;
  FILE* f = ::popen((command + " 2>&1").c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

// args[0] (a path) with its arguments, without a shell; exit code, standard output and error apart.
inline Outcome run(const std::vector<std::string>& args) {
  const fs::path dir = temp_dir("strikeout-cli");
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open((dir / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open((dir / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  Outcome r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  fs::remove_all(dir);
  return r;
}

// Polls `done` until it is true or `deadline` passes. The pause between polls is not a wait for the
// thing itself: the condition is checked each time.
inline bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    ::poll(nullptr, 0, 5);
  }
  return done();
}

// Moves the whole test process into a network namespace of its own (with `lo` up), so the daemons it
// starts never touch the host's firewall. Empty on success, else why not.
inline std::string enter_own_network_namespace() {
  if (::geteuid() != 0) return "needs root (a network namespace and nftables)";
  if (::unshare(CLONE_NEWNET) != 0) return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
  shell("ip link set lo up");
  return {};
}

// The sections every test configuration writes the same way: a log file as a source, and where the
// daemon keeps its state, its control socket and its metrics ("off", or an address).
inline std::string file_source_section(const std::string& name, const fs::path& path,
                                       const std::string& format = "postfix") {
  return "\n[[source]]\ntype = \"file\"\nname = \"" + name + "\"\npath = \"" + path.string() +
         "\"\nformat = \"" + format + "\"\n";
}

inline std::string state_sections(const fs::path& database, const fs::path& socket,
                                  const std::string& metrics = "off") {
  return "\n[state]\npath = \"" + database.string() + "\"\n\n[control]\nsocket = \"" + socket.string() +
         "\"\n\n[metrics]\nlisten = \"" + metrics + "\"\n";
}

// `strikeout daemon --config CONFIG` as a child process, its standard output and error appended to
// `log`. Killed (SIGKILL) when the object goes, if still running.
class DaemonProcess {
 public:
  DaemonProcess(std::string program, fs::path config, fs::path log)
      : program_(std::move(program)), config_(std::move(config)), log_(std::move(log)) {}
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess() { stop(SIGKILL); }

  void start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execl(program_.c_str(), program_.c_str(), "daemon", "--config", config_.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }

  // True once `ready()` holds while the daemon runs; false if it exits first or `deadline` passes.
  bool wait_ready(const std::function<bool()>& ready, std::chrono::milliseconds deadline) {
    return poll_until([&] { return !running() || ready(); }, deadline) && running();
  }

  // True once `strikeout status` answers on `socket`.
  bool wait_answering(const fs::path& socket, std::chrono::milliseconds deadline) {
    return wait_ready(
        [&] {
          return run({program_, "status", "--socket", socket.string()}).code == 0;
        },
        deadline);
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) pid_ = -1;
    return pid_ > 0;
  }

  // Sends `sig` and waits for the daemon to end; its exit status as waitpid gives it, -1 if none ran.
  int stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  pid_t pid() const { return pid_; }
  const fs::path& log() const { return log_; }

 private:
  std::string program_;
  fs::path config_;
  fs::path log_;
  pid_t pid_ = -1;
};

}  // namespace strikeout::testsupport
