// `probe`: against tiny fake SMTP servers on loopback (port 0): a Postfix-like server that offers
// AUTH before TLS, one that needs STARTTLS, and the failures an operator meets (refused, silent,
// not SMTP, a bad target).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "app/probe.hpp"

namespace strikeout::app {
namespace {

using Responder = std::function<std::string(const std::string& line)>;

// Listens on 127.0.0.1, port 0; serves one connection with a greeting and a reply per line.
class FakeSmtp {
 public:
  FakeSmtp(std::string greeting, Responder respond, bool accept = true) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 4);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (accept) thread_ = std::thread([this, greeting, respond] { serve(greeting, respond); });
  }
  ~FakeSmtp() {
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }

 private:
  void serve(const std::string& greeting, const Responder& respond) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) return;
    const int c = ::accept(fd_, nullptr, nullptr);
    send(c, greeting.data(), greeting.size(), MSG_NOSIGNAL);
    std::string buffer;
    for (;;) {
      pollfd q{c, POLLIN, 0};
      if (poll(&q, 1, 5000) <= 0) break;
      char buf[1024];
      const ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      buffer.append(buf, static_cast<std::size_t>(n));
      std::size_t nl;
      bool quit = false;
      while ((nl = buffer.find("\r\n")) != std::string::npos) {
        const std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 2);
        const std::string reply = respond(line);
        send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        if (line == "QUIT") quit = true;
      }
      if (quit) break;
    }
    close(c);
  }
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

const std::string kFailure = "535 5.7.8 Error: authentication failed: authentication failure";

std::string postfix_like(const std::string& line, bool auth_before_tls) {
  if (line.rfind("EHLO", 0) == 0) {
    return auth_before_tls ? "250-mx.test\r\n250-AUTH PLAIN LOGIN\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
                           : "250-mx.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
  }
  if (line == "AUTH LOGIN") return "334 VXNlcm5hbWU6\r\n";
  if (line.rfind("AUTH PLAIN ", 0) == 0) return kFailure + "\r\n";
  if (line == "STARTTLS") return "454 4.7.0 TLS not available due to local problem\r\n";
  if (line == "QUIT") return "221 2.0.0 Bye\r\n";
  static int login_step = 0;
  return (++login_step % 2 == 1) ? "334 UGFzc3dvcmQ6\r\n" : kFailure + "\r\n";
}

ProbeOptions options_for(const std::string& target) {
  ProbeOptions o;
  o.target = target;
  o.timeout = std::chrono::milliseconds(2000);
  return o;
}

TEST(Probe, PrintsWhatAPostfixLikeServerAnswers) {
  FakeSmtp server("220 mx.test ESMTP Postfix (Debian/GNU)\r\n",
                  [](const std::string& l) { return postfix_like(l, true); });
  const ProbeReport r = probe_server(options_for(server.target()));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.banner, std::vector<std::string>{"220 mx.test ESMTP Postfix (Debian/GNU)"});
  EXPECT_TRUE(r.auth_before_tls);
  EXPECT_EQ(r.mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN"}));
  EXPECT_TRUE(r.starttls_offered);
  ASSERT_EQ(r.attempts.size(), 2U);
  EXPECT_EQ(r.attempts[0].mechanism, "LOGIN");
  EXPECT_EQ(r.attempts[0].steps.size(), 3U);
  EXPECT_EQ(r.attempts[0].final_reply, kFailure);
  EXPECT_EQ(r.attempts[1].mechanism, "PLAIN");
  EXPECT_EQ(r.attempts[1].final_reply, kFailure);
  EXPECT_TRUE(r.attempts[1].failed);
#if STRIKEOUT_HAVE_OPENSSL
  EXPECT_EQ(r.tls_status, "refused: 454 4.7.0 TLS not available due to local problem");
#endif
  const auto config = suggested_configuration(r);
  EXPECT_NE(std::find(config.begin(), config.end(), "failure_replies = [\"535\"]   # every 535 reply"),
            config.end());
  EXPECT_NE(
      std::find(config.begin(), config.end(), "# failure_replies = [\"" + kFailure.substr(0, 64) + "\"]"),
      config.end());
  EXPECT_NE(std::find(config.begin(), config.end(), "format = \"postfix\""), config.end());
}

TEST(Probe, HumanAndJsonOutput) {
  FakeSmtp server("220 mx.test ESMTP Postfix\r\n",
                  [](const std::string& l) { return postfix_like(l, true); });
  ProbeOptions o = options_for(server.target());
  o.json = true;
  o.username = "probe-user";
  char* text = nullptr;
  std::size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  EXPECT_EQ(run_probe(o, out, stderr), 0);
  std::fclose(out);
  const auto j = nlohmann::json::parse(std::string(text, size));
  std::free(text);
  EXPECT_EQ(j["port"], server.port());
  EXPECT_EQ(j["auth_before_tls"], true);
  EXPECT_EQ(j["starttls_required"], false);
  EXPECT_EQ(j["attempts"][1]["final_reply"], kFailure);
  EXPECT_EQ(j["attempts"][1]["wire_visible"], true);
  // The password never appears: only its placeholder.
  EXPECT_EQ(j["attempts"][0]["exchange"][2]["sent"], "(password, base64)");
}

TEST(Probe, SaysWhenTheServerNeedsStartTls) {
  FakeSmtp server("220 mx.test ESMTP\r\n", [](const std::string& l) { return postfix_like(l, false); });
  ProbeOptions o = options_for(server.target());
  char* text = nullptr;
  std::size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  EXPECT_EQ(run_probe(o, out, stderr), 0);
  std::fclose(out);
  const std::string human(text, size);
  std::free(text);
  EXPECT_NE(human.find("AUTH before TLS: not offered"), std::string::npos) << human;
  EXPECT_NE(human.find("needs STARTTLS before AUTH"), std::string::npos) << human;
  EXPECT_NE(human.find("the wire sensor\n  cannot see them"), std::string::npos) << human;
  EXPECT_NE(human.find("The wire sees no failure reply"), std::string::npos) << human;
}

TEST(Probe, ConnectionRefused) {
  std::uint16_t port = 0;
  {
    FakeSmtp closed("", nullptr, false);
    port = closed.port();
  }  // bound, then closed: nothing listens
  const ProbeReport r = probe_server(options_for("127.0.0.1:" + std::to_string(port)));
  EXPECT_NE(r.error.find("connection refused by 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.error;
}

TEST(Probe, SilentServerTimesOut) {
  FakeSmtp silent("", nullptr, false);  // the kernel accepts; nobody ever speaks
  ProbeOptions o = options_for(silent.target());
  o.timeout = std::chrono::milliseconds(200);
  const ProbeReport r = probe_server(o);
  EXPECT_EQ(r.error, "no greeting within 200 ms (is this an SMTP port?)");
}

TEST(Probe, NotAnSmtpServer) {
  FakeSmtp web("HTTP/1.1 400 Bad Request\r\n\r\n", [](const std::string&) { return std::string(); });
  const ProbeReport r = probe_server(options_for(web.target()));
  EXPECT_EQ(r.error, "not an SMTP server: the greeting was \"HTTP/1.1 400 Bad Request\"");
}

TEST(Probe, BadTargets) {
  EXPECT_EQ(probe_server(options_for("mx.example:99999")).error,
            "\"mx.example:99999\": the port must be a number from 1 to 65535");
  EXPECT_EQ(probe_server(options_for("[2001:db8::1")).error,
            "\"[2001:db8::1\": missing ']' after the IPv6 address");
  EXPECT_EQ(probe_server(options_for(":25")).error, "\":25\": no host given");
}

}  // namespace
}  // namespace strikeout::app
