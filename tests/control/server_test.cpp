// The control server and client over a real Unix socket in a temporary directory, with a fake
// handler in place of the daemon: who may connect (root only; a group read-only), answers in order,
// and watchers (live events; a watcher that does not read is dropped, never waited for).
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <algorithm>
#include <cstring>
#include <sys/un.h>
#include <thread>

#include <gtest/gtest.h>

#include "control/client.hpp"
#include "control/server.hpp"

namespace strikeout::control {
namespace {

class FakeDaemon final : public ControlHandler {
 public:
  Reply handle(const Request& request, const Peer& peer) override {
    ++calls;
    if (request.command == Command::Ban) {
      if (request.target->to_string() == "192.0.2.1")
        return Reply::failure(code::kAllowlisted, "192.0.2.1 is on the allowlist");
      return Reply::success({{"target", request.target->to_string()}, {"uid", peer.uid}});
    }
    return Reply::success({{"command", std::string(to_string(request.command))}, {"admin", peer.admin}});
  }
  std::atomic<int> calls{0};
};

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strikeout-control-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);  // so that an unprivileged child can reach the socket's mode check
    socket_ = dir_ / "control.sock";
  }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }

  void start(ControlServerOptions options) {
    options.socket = socket_;
    auto opened = ControlServer::open(io_, options, handler_);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<ControlServer>>(opened))
        << std::get<std::string>(opened);
    server_ = std::move(std::get<0>(opened));
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    std::promise<void> done;
    asio::post(io_, [this, &done] {
      server_.reset();
      done.set_value();
    });
    done.get_future().wait();
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  // Runs `f` on the server's loop and waits for it.
  template <typename F>
  auto on_loop(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  static Request request(Command c, const char* target = nullptr) {
    Request r;
    r.command = c;
    if (target != nullptr) r.target = *core::Prefix::parse(target);
    return r;
  }

  // Runs `body` in a child process as nobody (uid 65534) with primary group `gid`; returns its exit code.
  int as_nobody(gid_t gid, const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(65534) != 0) ::_exit(100);
      ::_exit(body());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
  }

  std::filesystem::path dir_;
  std::filesystem::path socket_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  FakeDaemon handler_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ControlServerTest, RootGetsAnswersInOrderAndRefusalsWithTheirCode) {
  start({});
  struct stat st {};
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);

  auto client = ControlClient::connect(socket_.string());
  ASSERT_TRUE(std::holds_alternative<ControlClient>(client)) << std::get<std::string>(client);
  auto& c = std::get<ControlClient>(client);
  auto status = c.call(request(Command::Status));
  ASSERT_TRUE(std::holds_alternative<Response>(status)) << std::get<std::string>(status);
  EXPECT_TRUE(std::get<Response>(status).ok);
  EXPECT_EQ(std::get<Response>(status).result["command"], "status");
  EXPECT_EQ(std::get<Response>(status).result["admin"], true);

  auto refused = c.call(request(Command::Ban, "192.0.2.1"));
  ASSERT_TRUE(std::holds_alternative<Response>(refused));
  EXPECT_FALSE(std::get<Response>(refused).ok);
  EXPECT_EQ(std::get<Response>(refused).code, "allowlisted");

  auto banned = c.call(request(Command::Ban, "203.0.113.7"));
  ASSERT_TRUE(std::holds_alternative<Response>(banned));
  EXPECT_EQ(std::get<Response>(banned).result["target"], "203.0.113.7");
}

TEST_F(ControlServerTest, MalformedRequestIsAnsweredNotFatal) {
  start({});
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, socket_.c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string garbage =
      "{\"v\":1,\"id\":5,\"command\":\"ban\",\"target\":\"1.2.3\"}\n{\"v\":1,\"id\":6,\"command\":\"status\"}"
      "\n";
  ASSERT_EQ(::write(fd, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  std::string got;
  char buf[4096];
  while (std::count(got.begin(), got.end(), '\n') < 2) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto first = std::get<Response>(parse_response(got.substr(0, got.find('\n'))));
  EXPECT_EQ(first.id, 5U);
  EXPECT_EQ(first.code, "bad-request");
  EXPECT_NE(first.error.find("\"1.2.3\""), std::string::npos);
  const auto second =
      std::get<Response>(parse_response(got.substr(got.find('\n') + 1, got.size() - got.find('\n') - 2)));
  EXPECT_EQ(second.id, 6U);
  EXPECT_TRUE(second.ok);
}

TEST_F(ControlServerTest, RootOnlySocketRefusesOthers) {
  start({});
  const int code = as_nobody(65534, [this] {
    auto client = ControlClient::connect(socket_.string());
    if (auto* e = std::get_if<std::string>(&client))
      return e->find("permission denied") != std::string::npos ? 0 : 1;
    return 2;  // connected: the mode did not protect the socket
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(handler_.calls.load(), 0);
}

TEST_F(ControlServerTest, GroupMayReadButNotChange) {
  const group* g = ::getgrgid(65534);
  ASSERT_NE(g, nullptr) << "this test needs the group 65534 (nogroup)";
  ControlServerOptions options;
  options.group = g->gr_name;
  start(options);
  struct stat st {};
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660U);
  EXPECT_EQ(st.st_gid, 65534U);

  const int code = as_nobody(65534, [this] {
    auto client = ControlClient::connect(socket_.string());
    if (!std::holds_alternative<ControlClient>(client)) return 1;
    auto& c = std::get<ControlClient>(client);
    auto status = c.call(request(Command::Status));
    if (!std::holds_alternative<Response>(status) || !std::get<Response>(status).ok) return 2;
    if (std::get<Response>(status).result["admin"] != false) return 3;
    auto ban = c.call(request(Command::Ban, "203.0.113.7"));
    if (!std::holds_alternative<Response>(ban) || std::get<Response>(ban).ok) return 4;
    if (std::get<Response>(ban).code != "forbidden") return 5;
    return 0;
  });
  EXPECT_EQ(code, 0);

  // A user outside the group is refused by the daemon even though it could open the socket file
  // (here: a primary group that is not the socket's).
  const int outsider = as_nobody(12345, [this] {
    auto client = ControlClient::connect(socket_.string());
    if (!std::holds_alternative<ControlClient>(client)) return 0;  // refused by the mode: also fine
    auto status = std::get<ControlClient>(client).call(request(Command::Status));
    if (std::holds_alternative<Response>(status) && std::get<Response>(status).code == "forbidden") return 0;
    return 1;
  });
  EXPECT_EQ(outsider, 0);
}

TEST_F(ControlServerTest, WatcherReceivesPublishedEvents) {
  start({});
  auto client = ControlClient::connect(socket_.string());
  ASSERT_TRUE(std::holds_alternative<ControlClient>(client));
  auto& c = std::get<ControlClient>(client);
  auto ok = c.call(request(Command::Watch));
  ASSERT_TRUE(std::holds_alternative<Response>(ok));
  ASSERT_TRUE(std::get<Response>(ok).ok);
  ASSERT_TRUE(on_loop([this] { return server_->has_watchers(); }));
  on_loop([this] {
    for (int i = 0; i < 3; ++i) server_->publish({{"type", "strike"}, {"n", i}});
    return 0;
  });
  int seen = 0;
  c.follow([&seen](const Response& event) {
    EXPECT_EQ(event.result["n"], seen);
    return ++seen < 3;
  });
  EXPECT_EQ(seen, 3);
}

TEST_F(ControlServerTest, SlowWatcherIsDroppedWithANotice) {
  ControlServerOptions options;
  options.max_watch_backlog = 4096;
  start(options);
  auto client = ControlClient::connect(socket_.string());
  ASSERT_TRUE(std::holds_alternative<ControlClient>(client));
  auto& c = std::get<ControlClient>(client);
  ASSERT_TRUE(std::get<Response>(c.call(request(Command::Watch))).ok);
  // The watcher reads nothing while far more than the kernel's socket buffer and the backlog is
  // published: the loop must not block, and the watcher is dropped.
  const std::string payload(200, 'x');
  on_loop([&] {
    for (int i = 0; i < 20000; ++i) server_->publish({{"type", "attempt"}, {"pad", payload}});
    return 0;
  });
  EXPECT_EQ(on_loop([this] { return server_->watchers_dropped(); }), 1U);
  const std::string end = c.follow([](const Response&) { return true; });
  EXPECT_NE(end.find("dropped"), std::string::npos) << "[" << end << "]";
}

TEST_F(ControlServerTest, SecondDaemonOnTheSameSocketIsRefusedAndStaleSocketReplaced) {
  start({});
  asio::io_context other;
  FakeDaemon h;
  ControlServerOptions o;
  o.socket = socket_;
  auto second = ControlServer::open(other, o, h);
  ASSERT_TRUE(std::holds_alternative<std::string>(second));
  EXPECT_NE(std::get<std::string>(second).find("another strikeout daemon"), std::string::npos);
  stop();
  EXPECT_FALSE(std::filesystem::exists(socket_));  // removed on close

  // A socket file left by a daemon that died is replaced.
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, socket_.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  auto third = ControlServer::open(other, o, h);
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<ControlServer>>(third));
}

TEST(ControlClient, DaemonNotRunningIsOneClearLine) {
  auto client = ControlClient::connect("/nonexistent/strikeout/control.sock");
  ASSERT_TRUE(std::holds_alternative<std::string>(client));
  EXPECT_EQ(std::get<std::string>(client),
            "the strikeout daemon is not running (nothing answers on /nonexistent/strikeout/control.sock)");
}

}  // namespace
}  // namespace strikeout::control
