// Webhooks: decisions sent to an HTTP endpoint (docs/webhooks.md). The daemon's [[webhook]] sections
// become daemon::WebhookSinks, one of the DecisionFanout's sinks, which formats bodies and posts them here.
//
// WebhookSender owns a bounded queue and one thread. post() never blocks: when the queue is full the
// message is dropped and counted, so a dead or hanging endpoint can never slow the caller (the daemon's
// loop, which must ban in milliseconds). The thread POSTs each message with libcurl (HTTPS with
// certificate checks, proxies from the environment), retrying failures with doubling backoff.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/decision.hpp"

namespace strikeout::webhook {

// HMAC-SHA256 of `body` under `secret`, as lowercase hex: the X-Strikeout-Signature header's value
// after "sha256=".
std::string hmac_sha256_hex(std::string_view secret, std::string_view body);

// The JSON body of a decision: {"event":...,"time":...,"target":...,"rule":...,...}. `event` names it
// ("ban", "unban", "alert", "campaign"); empty: "ban", "unban" or "strike" from the decision's kind.
std::string json_body(const core::Decision& d, std::string_view event = {});
// A chat tool's body ({"text":"..."}), one line in the recipe's words.
std::string slack_body(const core::Decision& d, std::string_view event = {});

struct WebhookOptions {
  std::string url;                               // http:// or https://
  std::string secret;                            // empty: no signature header
  std::size_t queue_limit = 1000;                // messages waiting; beyond it new ones are dropped
  int attempts = 4;                              // tries per message, the first included
  std::chrono::milliseconds first_backoff{500};  // doubled after each failed try
  std::chrono::milliseconds timeout{5000};       // per try, connection included
};

struct WebhookStats {
  std::uint64_t sent = 0;     // answered 2xx
  std::uint64_t failed = 0;   // given up after every attempt
  std::uint64_t dropped = 0;  // the queue was full
  std::uint64_t retries = 0;
  std::uint64_t queued = 0;  // waiting now (not a total)
};

class WebhookSender {
 public:
  explicit WebhookSender(WebhookOptions options);
  ~WebhookSender();  // stops the thread; messages still queued are not sent
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Queues `body` (JSON); returns false when it was dropped. Never blocks on the network.
  bool post(std::string body);
  WebhookStats stats() const;

 private:
  void run();
  bool send_once(const std::string& body);

  WebhookOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  std::atomic<bool> abort_{false};  // set at stop: a transfer in flight ends at its next progress call
  std::atomic<std::uint64_t> sent_{0}, failed_{0}, dropped_{0}, retries_{0};
  std::thread thread_;
};

}  // namespace strikeout::webhook
