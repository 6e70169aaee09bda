// The decoy's worker processes on loopback: a real conversation through the sockets, the attempt
// reaching the supervisor and the record file, no outgoing connection ever, the redirect check, and
// the behaviour when full. (component: forks workers, binds a free port.)
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "decoy/supervisor.hpp"

namespace strikeout::decoy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A blocking client whose reads give up after 10 s (the deadline of every wait below).
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& s) { (void)::send(fd_, s.data(), s.size(), MSG_NOSIGNAL); }
  // Reads until `ending` was received; what came (without it) if the connection ended first.
  std::string read_until(const std::string& ending) {
    while (buffer_.find(ending) == std::string::npos) {
      char b[1024];
      const ssize_t n = ::recv(fd_, b, sizeof b, 0);
      if (n <= 0) {
        closed_ = true;
        return std::exchange(buffer_, "");
      }
      buffer_.append(b, static_cast<std::size_t>(n));
    }
    const std::size_t end = buffer_.find(ending) + ending.size();
    std::string out = buffer_.substr(0, end);
    buffer_.erase(0, end);
    return out;
  }
  // True when the peer closed (EOF or reset) within the deadline.
  bool closed_by_peer() {
    char b[256];
    for (;;) {
      const ssize_t n = ::recv(fd_, b, sizeof b, 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
      if (n < 0) return false;  // the 10 s deadline
    }
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string buffer_;
};

struct Collect final : AttemptSink {
  std::vector<std::string> users;
  std::vector<bool> accepted;
  void on_attempt(const AuthAttempt& a) override {
    users.emplace_back(a.user);
    accepted.push_back(a.accepted);
  }
};

class DecoyWorkers : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strikeout-decoy-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    options_.port = free_port();
    options_.reply_delay = 0s;
    options_.only_redirected = false;
    options_.workers = 2;
    options_.record = dir_ / "attempts.tsv";
    options_.stats = dir_ / "stats.json";
    options_.secret = dir_ / "key";
  }
  void TearDown() override {
    supervisor_.reset();
    std::filesystem::remove_all(dir_);
  }
  void start() {
    auto secret = load_or_create_secret(options_.secret);
    ASSERT_TRUE(std::holds_alternative<DecoySecret>(secret)) << std::get<std::string>(secret);
    auto s = Supervisor::start(options_, std::get<DecoySecret>(secret));
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Supervisor>>(s)) << std::get<std::string>(s);
    supervisor_ = std::move(std::get<0>(s));
  }
  // Polls the supervisor until `done()` or 10 s passed.
  template <typename Done>
  bool pump(Done done) {
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      supervisor_->handle_events(sink_);
      if (done()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::filesystem::path dir_;
  DecoyOptions options_;
  std::unique_ptr<Supervisor> supervisor_;
  Collect sink_;
};

std::string b64_plain(const std::string& user, const std::string& password) {
  static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string s = std::string(1, '\0') + user + std::string(1, '\0') + password;
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 3) {
    unsigned v = static_cast<unsigned>(static_cast<unsigned char>(s[i])) << 16U;
    if (i + 1 < s.size()) v |= static_cast<unsigned>(static_cast<unsigned char>(s[i + 1])) << 8U;
    if (i + 2 < s.size()) v |= static_cast<unsigned char>(s[i + 2]);
    out += k[(v >> 18U) & 63U];
    out += k[(v >> 12U) & 63U];
    out += i + 1 < s.size() ? k[(v >> 6U) & 63U] : '=';
    out += i + 2 < s.size() ? k[v & 63U] : '=';
  }
  return out;
}

TEST_F(DecoyWorkers, FakeSuccessIsRecordedHashedAndNoMessageIsAccepted) {
  options_.success_probability = 1.0;
  start();
  Client c(options_.port);
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.read_until("\r\n"), "220 mail ESMTP Postfix (Debian/GNU)\r\n");
  c.send("EHLO attacker\r\n");
  EXPECT_NE(c.read_until("250 CHUNKING\r\n").find("250-AUTH PLAIN LOGIN"), std::string::npos);
  c.send("AUTH PLAIN " + b64_plain("admin", "Tr0ub4dor") + "\r\n");
  EXPECT_EQ(c.read_until("\r\n"), "235 2.7.0 Authentication successful\r\n");
  c.send("MAIL FROM:<spam@example.org>\r\n");
  EXPECT_EQ(c.read_until("\r\n"), "451 4.3.0 Error: queue file write error\r\n");
  c.send("RCPT TO:<victim@example.net>\r\n");
  EXPECT_EQ(c.read_until("\r\n"), "451 4.3.0 Temporary lookup failure\r\n");
  c.send("DATA\r\n");
  EXPECT_EQ(c.read_until("\r\n"), "421 4.3.0 Error: queue file write error, closing connection\r\n");
  EXPECT_TRUE(c.closed_by_peer());

  ASSERT_TRUE(pump([&] { return !sink_.users.empty(); }));
  EXPECT_EQ(sink_.users[0], "admin");
  EXPECT_TRUE(sink_.accepted[0]);
  std::ifstream record(options_.record);
  std::stringstream text;
  text << record.rdbuf();
  EXPECT_NE(text.str().find("\t127.0.0.1\t"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("\tdecoy\tPLAIN\tfake-success\tadmin\t"), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find("Tr0ub4dor"), std::string::npos) << "the password must only be hashed";
  EXPECT_EQ(std::filesystem::status(options_.record).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// Every socket a worker holds: its listener on the decoy port, or a connection accepted on it. A
// connection the decoy opened itself would have another local port.
TEST_F(DecoyWorkers, WorkersNeverConnectAnywhere) {
  start();
  Client a(options_.port), b(options_.port);
  a.read_until("\r\n");
  b.read_until("\r\n");
  b.send("EHLO x\r\nAUTH PLAIN " + b64_plain("root", "x") + "\r\nMAIL FROM:<a@b>\r\n");
  b.read_until("451");
  const auto pids = supervisor_->worker_pids();
  ASSERT_EQ(pids.size(), 2U);
  std::size_t sockets_seen = 0;
  for (pid_t pid : pids) {
    std::set<std::string> inodes;
    for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
      const std::string target = std::filesystem::read_symlink(e.path()).string();
      if (target.starts_with("socket:[")) inodes.insert(target.substr(8, target.size() - 9));
    }
    for (const char* table : {"tcp", "tcp6", "udp", "udp6"}) {
      std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
      std::string line;
      std::getline(in, line);  // header
      while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
        fields >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
        if (!inodes.contains(inode)) continue;
        ++sockets_seen;
        EXPECT_TRUE(std::string(table).starts_with("tcp")) << "a UDP socket in a decoy worker: " << line;
        const auto local_port = std::stoul(local.substr(local.find(':') + 1), nullptr, 16);
        EXPECT_EQ(local_port, static_cast<unsigned long>(options_.port))
            << "a socket not on the decoy port: " << line;
      }
    }
  }
  EXPECT_GE(sockets_seen, 4U);  // two listeners and the two connections
}

TEST_F(DecoyWorkers, ConnectionsThatDidNotComeThroughTheRedirectAreRefused) {
  options_.only_redirected = true;
  start();
  Client c(options_.port);
  ASSERT_TRUE(c.connected());
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_TRUE(pump([&] { return supervisor_->counters().refused_not_redirected == 1; }));
  EXPECT_EQ(supervisor_->counters().connections_total, 0U);
}

TEST_F(DecoyWorkers, WhenFullTheOldestConnectionIsClosed) {
  options_.workers = 1;
  options_.max_connections = 2;
  start();
  Client first(options_.port), second(options_.port);
  EXPECT_FALSE(first.read_until("\r\n").empty());
  EXPECT_FALSE(second.read_until("\r\n").empty());
  Client third(options_.port);
  EXPECT_FALSE(third.read_until("\r\n").empty());
  EXPECT_TRUE(first.closed_by_peer());
  second.send("NOOP\r\n");
  EXPECT_EQ(second.read_until("\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_TRUE(pump([&] { return supervisor_->counters().closed_oldest == 1; }));
}

TEST_F(DecoyWorkers, InsultModeSendsTheConfiguredLines) {
  options_.mode = Mode::Insult;
  options_.insults = {"Go away", "Really, go away"};
  start();
  Client c(options_.port);
  c.read_until("\r\n");
  c.send("EHLO x\r\n");
  c.read_until("250 CHUNKING\r\n");
  c.send("MAIL FROM:<a@b>\r\n");
  EXPECT_EQ(c.read_until("\r\n"), "451 4.7.1 Go away\r\n");
  c.send("AUTH LOGIN\r\n");
  EXPECT_EQ(c.read_until("\r\n"), "451 4.7.1 Really, go away\r\n");
}

}  // namespace
}  // namespace strikeout::decoy
