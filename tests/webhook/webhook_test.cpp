// The webhook sender against a local HTTP receiver on 127.0.0.1, port 0.
#include "webhook/webhook.hpp"

#include "receiver.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace strikeout::webhook {
namespace {

using test::Receiver;

bool poll_until(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

core::Decision a_ban() {
  core::Decision d;
  d.kind = core::DecisionKind::Ban;
  d.time = core::from_seconds(1'800'000'000);
  d.until = d.time + std::chrono::minutes(20);
  d.target = *core::Prefix::parse("203.0.113.7");
  d.rule = "auth-failures";
  d.offence = 1;
  d.reason = "3 auth-failure within 20m";
  d.user = "bob\"\n";
  return d;
}

TEST(Webhook, BanReachesReceiverWithValidSignature) {
  Receiver receiver({200});
  WebhookSender sender({receiver.url(), "s3cret"});
  const std::string body = json_body(a_ban());
  ASSERT_TRUE(sender.post(body));
  ASSERT_TRUE(poll_until([&] { return sender.stats().sent == 1; }));
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1U);
  const std::string& req = requests[0];
  EXPECT_EQ(req.rfind("POST /hook HTTP/1.1\r\n", 0), 0U);
  EXPECT_NE(req.find("\r\n\r\n" + body), std::string::npos);
  // The receiver's check: HMAC-SHA256 of the body it got, under the shared secret.
  const std::string received_body = req.substr(req.find("\r\n\r\n") + 4);
  EXPECT_NE(req.find("X-Strikeout-Signature: sha256=" + hmac_sha256_hex("s3cret", received_body)),
            std::string::npos);
  EXPECT_NE(body.find("\"event\":\"ban\""), std::string::npos);
  EXPECT_NE(body.find("\"user\":\"bob\\\"\\n\""), std::string::npos);  // attacker text JSON-escaped
}

TEST(Webhook, HmacMatchesRfc4231) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Webhook, FailuresAreRetriedWithBackoff) {
  Receiver receiver({500, 503, 200});
  WebhookOptions options{receiver.url(), ""};
  options.first_backoff = std::chrono::milliseconds(10);
  WebhookSender sender(options);
  ASSERT_TRUE(sender.post(json_body(a_ban())));
  ASSERT_TRUE(poll_until([&] { return sender.stats().sent == 1; }));
  EXPECT_EQ(sender.stats().retries, 2U);
  EXPECT_EQ(receiver.requests().size(), 3U);
}

TEST(Webhook, HangingEndpointNeverBlocksPostAndDropsAreCounted) {
  Receiver receiver({0});  // reads the request, never answers
  WebhookOptions options{receiver.url(), ""};
  options.queue_limit = 2;
  options.timeout = std::chrono::seconds(10);
  WebhookSender sender(options);
  ASSERT_TRUE(sender.post(json_body(a_ban())));
  ASSERT_TRUE(poll_until([&] { return receiver.requests().size() == 1; }));  // the thread is stuck
  // Two fit in the queue; the rest are dropped at once, counted, and post() returned.
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += sender.post(json_body(a_ban())) ? 1 : 0;
  EXPECT_EQ(accepted, 2);
  EXPECT_EQ(sender.stats().dropped, 8U);
}

TEST(Webhook, SlackBodyIsOneQuotedLine) {
  const std::string body = slack_body(a_ban());
  EXPECT_EQ(body.rfind("{\"text\":\"strikeout ban: 203.0.113.7 rule=auth-failures until", 0), 0U);
  EXPECT_NE(body.find("user=\\\"bob\\\\\\\"\\\\x0a\\\""), std::string::npos) << body;
}

}  // namespace
}  // namespace strikeout::webhook
