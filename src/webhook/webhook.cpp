#include "webhook/webhook.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "report/decision_format.hpp"
#include "report/text_escape.hpp"

namespace strikeout::webhook {

std::string hmac_sha256_hex(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", mac[i]);
  return hex;
}

namespace {

std::string_view event_name(const core::Decision& d, std::string_view event) {
  if (!event.empty()) return event;
  switch (d.kind) {
    case core::DecisionKind::Strike:
      return "strike";
    case core::DecisionKind::Ban:
      return "ban";
    case core::DecisionKind::Unban:
      return "unban";
  }
  return "ban";
}

}  // namespace

std::string json_body(const core::Decision& d, std::string_view event) {
  std::string out = fmt::format("{{\"event\":\"{}\",\"time\":\"{}\",\"target\":\"{}\",\"rule\":\"",
                                event_name(d, event), core::format_rfc3339(d.time), d.target.to_string());
  report::append_json_escaped(out, d.rule);
  if (d.kind == core::DecisionKind::Ban) {
    out += fmt::format("\",\"until\":\"{}\",\"offence\":{},\"extended\":{}", core::format_rfc3339(d.until),
                       d.offence, d.extended ? "true" : "false");
    out += ",\"reason\":\"";
    report::append_json_escaped(out, d.reason);
  } else if (d.kind == core::DecisionKind::Strike) {
    out += fmt::format("\",\"count\":{},\"threshold\":{}", d.count, d.threshold);
    out += ",\"reason\":\"";
    report::append_json_escaped(out, d.reason);
  }
  if (!d.user.empty()) {
    out += "\",\"user\":\"";
    report::append_json_escaped(out, d.user);
  }
  out += "\"}";
  return out;
}

std::string slack_body(const core::Decision& d, std::string_view event) {
  std::string text =
      fmt::format("strikeout {}: {} rule={}", event_name(d, event), d.target.to_string(), d.rule);
  if (d.kind == core::DecisionKind::Ban) {
    text += fmt::format(" until {} ({})", core::format_rfc3339(d.until), d.reason);
  } else if (d.kind == core::DecisionKind::Strike) {
    text += fmt::format(" Strike {} of {} ({})", d.count, d.threshold, d.reason);
  }
  if (!d.user.empty()) {
    text += " user=";
    report::append_quoted(text, d.user);  // attacker text: quoted, printable ASCII
  }
  std::string out = "{\"text\":\"";
  report::append_json_escaped(out, text);
  out += "\"}";
  return out;
}

WebhookSender::WebhookSender(WebhookOptions options) : options_(std::move(options)) {
  // libcurl's global set-up is not thread-safe: done once, before the first sender's thread exists.
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  thread_ = std::thread([this] { run(); });
}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  abort_ = true;
  wake_.notify_all();
  thread_.join();
}

bool WebhookSender::post(std::string body) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.queue_limit) {
      ++dropped_;
      return false;
    }
    queue_.push_back(std::move(body));
  }
  wake_.notify_one();
  return true;
}

WebhookStats WebhookSender::stats() const {
  std::size_t queued = 0;
  {
    std::lock_guard lock(mutex_);
    queued = queue_.size();
  }
  return WebhookStats{sent_.load(), failed_.load(), dropped_.load(), retries_.load(), queued};
}

void WebhookSender::run() {
  for (;;) {
    std::string body;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      body = std::move(queue_.front());
      queue_.pop_front();
    }
    auto backoff = options_.first_backoff;
    bool done = false;
    for (int attempt = 0; attempt < options_.attempts && !done; ++attempt) {
      if (attempt > 0) {
        ++retries_;
        std::unique_lock lock(mutex_);
        // Waits out the backoff, but a stop ends the wait at once.
        if (wake_.wait_for(lock, backoff, [this] { return stopping_; })) return;
        backoff *= 2;
      }
      done = send_once(body);
    }
    if (done) {
      ++sent_;
    } else {
      ++failed_;
    }
  }
}

bool WebhookSender::send_once(const std::string& body) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return false;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!options_.secret.empty()) {
    const std::string signature = "X-Strikeout-Signature: sha256=" + hmac_sha256_hex(options_.secret, body);
    headers = curl_slist_append(headers, signature.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // a thread of a daemon: no SIGALRM for DNS timeouts
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "strikeout-webhook/1");
  // A stop must not wait for a hanging endpoint's timeout: the progress callback ends the transfer.
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &abort_);
  curl_easy_setopt(
      curl, CURLOPT_XFERINFOFUNCTION, +[](void* flag, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        return static_cast<std::atomic<bool>*>(flag)->load() ? 1 : 0;
      });
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK && status >= 200 && status < 300;
}

}  // namespace strikeout::webhook
