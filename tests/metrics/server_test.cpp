// The metrics endpoint on loopback (port 0): scraped with a plain HTTP client and parsed as strict
// Prometheus text; wrong paths, methods and oversized requests get their status; connections are bounded.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "metrics/daemon_metrics.hpp"
#include "metrics/server.hpp"
#include "prometheus_parser.hpp"

namespace strikeout::metrics {
namespace {

std::string http(std::uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void start(std::function<std::string()> render) {
    MetricsServerOptions o;
    o.port = 0;
    auto opened = MetricsServer::open(io_, o, std::move(render));
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<MetricsServer>>(opened))
        << std::get<std::string>(opened);
    server_ = std::move(std::get<0>(opened));
    port_ = server_->port();
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
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
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::unique_ptr<MetricsServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(MetricsServerTest, ScrapeParsesAsPrometheusText) {
  // The daemon's real rendering, with some counts in it.
  DaemonMetrics m;
  const auto postfix = m.sensor("postfix");
  m.event(postfix, core::EventKind::AuthFailure, "smtp");
  m.event(postfix, core::EventKind::AuthFailure, "smtp");
  m.event(postfix, core::EventKind::Connect, "submission");
  core::Decision strike;
  strike.kind = core::DecisionKind::Strike;
  strike.rule = "auth-failures";
  m.decision(strike);
  core::Decision ban = strike;
  ban.kind = core::DecisionKind::Ban;
  m.decision(ban);
  m.ban_latency(0.0004);
  core::EngineStats stats;
  stats.tracked_keys = 3;
  stats.evictions = 1;
  const std::string text = m.render(stats, {{"postfix", 100, 2, 0}}, DaemonGauges{});
  start([text] { return text; });

  const std::string reply = http(port_, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
  ASSERT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << reply;
  EXPECT_NE(reply.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  const std::string body = reply.substr(reply.find("\r\n\r\n") + 4);
  const auto parsed = test::parse_prometheus(body);
  ASSERT_TRUE(parsed.error.empty()) << parsed.error << "\n" << body;
  EXPECT_EQ(parsed.value("strikeout_events_total",
                         {{"sensor", "postfix"}, {"kind", "auth-failure"}, {"service", "smtp"}}),
            2);
  EXPECT_EQ(parsed.value("strikeout_log_lines_read_total", {{"sensor", "postfix"}}), 100);
  EXPECT_EQ(parsed.value("strikeout_log_lines_unrecognised_total", {{"sensor", "postfix"}}), 2);
  EXPECT_EQ(parsed.value("strikeout_strikes_total", {{"rule", "auth-failures"}}), 1);
  EXPECT_EQ(parsed.value("strikeout_bans_total", {{"rule", "auth-failures"}}), 1);
  EXPECT_EQ(parsed.value("strikeout_bans_active", {{"rule", "auth-failures"}}), 1);
  EXPECT_EQ(parsed.value("strikeout_ban_latency_seconds_count", {}), 1);
  EXPECT_EQ(parsed.value("strikeout_evictions_total", {}), 1);
  EXPECT_EQ(server_->scrapes(), 1U);
}

TEST_F(MetricsServerTest, WrongPathMethodAndOversizedRequests) {
  start([] { return std::string("# HELP x x\n# TYPE x gauge\nx 1\n"); });
  EXPECT_EQ(http(port_, "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0U);
  EXPECT_EQ(http(port_, "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0U);
  EXPECT_EQ(http(port_, "GET /metrics HTTP/1.1\r\nX: " + std::string(10000, 'a') + "\r\n\r\n")
                .rfind("HTTP/1.1 431", 0),
            0U);
  EXPECT_EQ(http(port_, "BREW /pot HTCPCP/1.0\r\n\r\n").rfind("HTTP/1.1 505", 0), 0U);
  const std::string head = http(port_, "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0U);
  EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "");
}

}  // namespace
}  // namespace strikeout::metrics
