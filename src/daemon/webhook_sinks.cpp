#include "daemon/webhook_sinks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace strikeout::daemon {

namespace {

// At most this many (rule, username) campaigns remembered; beyond it the oldest are forgotten, so a
// flood of usernames can cost a repeated "campaign" message, never unbounded memory.
constexpr std::size_t kCampaignsRemembered = 4096;

const core::Rule* find_rule(const core::Policy& policy, const std::string& name) {
  for (const auto& r : policy.rules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

// The secret in `path`: its bytes without trailing white space (a file written by `echo` ends in a
// newline that is not part of the key). Refuses an unreadable, empty or oversized file.
core::Result<std::string> read_secret(const config::WebhookSettings& hook) {
  std::ifstream in(hook.secret_file, std::ios::binary);
  if (!in) {
    return core::Failure{"webhook " + hook.name + ": secret_file " + hook.secret_file.string() +
                         " cannot be read: " + std::strerror(errno)};
  }
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!secret.empty() &&
         (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ' || secret.back() == '\t')) {
    secret.pop_back();
  }
  if (secret.empty()) {
    return core::Failure{"webhook " + hook.name + ": secret_file " + hook.secret_file.string() + " is empty"};
  }
  if (secret.size() > 4096) {
    return core::Failure{"webhook " + hook.name + ": secret_file " + hook.secret_file.string() +
                         " is longer than 4096 bytes; it should hold one key"};
  }
  return secret;
}

webhook::WebhookOptions sender_options(const config::WebhookSettings& s, const std::string& secret) {
  webhook::WebhookOptions o;
  o.url = s.url;
  o.secret = secret;
  o.queue_limit = s.queue;
  o.attempts = s.attempts;
  o.first_backoff = std::chrono::duration_cast<std::chrono::milliseconds>(s.backoff);
  o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(s.timeout);
  return o;
}

std::string_view event_text(unsigned event) {
  switch (event) {
    case config::kWebhookBan:
      return "ban";
    case config::kWebhookUnban:
      return "unban";
    case config::kWebhookAlert:
      return "alert";
    case config::kWebhookCampaign:
      return "campaign";
    default:
      return "";
  }
}

}  // namespace

unsigned webhook_event(const core::Decision& d, const core::Policy& policy,
                       std::map<std::pair<std::string, std::string>, core::Time>& campaigns_seen) {
  switch (d.kind) {
    case core::DecisionKind::Unban:
      return config::kWebhookUnban;
    case core::DecisionKind::Strike:
      // Only the strike that completes a rule which blocks nothing: the operator's "tell me" rules.
      if (d.threshold != 0 && d.count >= d.threshold && d.action != core::RuleAction::Ban &&
          d.action != core::RuleAction::Tarpit) {
        return config::kWebhookAlert;
      }
      return 0;
    case core::DecisionKind::Ban: {
      const core::Rule* rule = find_rule(policy, d.rule);
      if (rule == nullptr || rule->key != core::KeyKind::Username || d.user.empty() || d.extended) {
        return config::kWebhookBan;
      }
      auto key = std::make_pair(d.rule, d.user);
      auto it = campaigns_seen.find(key);
      if (it != campaigns_seen.end() && d.time - it->second <= rule->within) {
        it->second = d.time;  // the same campaign goes on
        return config::kWebhookBan;
      }
      if (it == campaigns_seen.end() && campaigns_seen.size() >= kCampaignsRemembered) {
        auto oldest = std::min_element(campaigns_seen.begin(), campaigns_seen.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
        campaigns_seen.erase(oldest);
      }
      campaigns_seen[key] = d.time;
      return config::kWebhookCampaign;
    }
  }
  return 0;
}

core::Result<std::vector<WebhookSinks::Hook>> WebhookSinks::prepare(
    const std::vector<config::WebhookSettings>& hooks, std::vector<Hook>* keep_from) {
  std::vector<Hook> out;
  out.reserve(hooks.size());
  for (const auto& settings : hooks) {
    std::string secret;
    if (!settings.secret_file.empty()) {
      auto read = read_secret(settings);
      if (!read) return core::Failure{read.error()};
      secret = std::move(*read);
    }
    Hook hook{settings, std::move(secret), nullptr};
    if (keep_from != nullptr) {
      auto same = std::find_if(keep_from->begin(), keep_from->end(), [&](const Hook& old) {
        return old.sender && old.settings == hook.settings && old.secret == hook.secret;
      });
      if (same != keep_from->end()) hook.sender = std::move(same->sender);
    }
    out.push_back(std::move(hook));
  }
  // Senders are started only once every secret was read: a refusal starts nothing.
  for (auto& hook : out) {
    if (!hook.sender)
      hook.sender = std::make_unique<webhook::WebhookSender>(sender_options(hook.settings, hook.secret));
  }
  return out;
}

core::Result<std::unique_ptr<WebhookSinks>> WebhookSinks::start(
    const std::vector<config::WebhookSettings>& hooks, const core::Policy& policy) {
  auto prepared = prepare(hooks, nullptr);
  if (!prepared) return core::Failure{prepared.error()};
  auto sinks = std::make_unique<WebhookSinks>();
  sinks->hooks_ = std::move(*prepared);
  sinks->policy_ = policy;
  for (const auto& h : sinks->hooks_) {
    spdlog::info("webhook {}: sending {} ({}{})", h.settings.name,
                 h.settings.slack ? "a chat text body" : "a JSON body",
                 h.settings.secret_file.empty() ? "unsigned" : "signed with ",
                 h.settings.secret_file.string());
  }
  return sinks;
}

core::Status WebhookSinks::reload(const std::vector<config::WebhookSettings>& hooks,
                                  const core::Policy& policy) {
  auto prepared = prepare(hooks, &hooks_);
  if (!prepared) return core::Failure{prepared.error()};
  for (const auto& old : hooks_) {
    if (!old.sender) continue;  // taken over by the new list
    const auto s = old.sender->stats();
    retired_.sent += s.sent;
    retired_.failed += s.failed;
    retired_.dropped += s.dropped;
    retired_.retries += s.retries;
  }
  hooks_ = std::move(*prepared);  // the old senders left stop here; their queued messages are not sent
  policy_ = policy;
  return {};
}

void WebhookSinks::on_decision(const core::Decision& d) {
  if (hooks_.empty()) return;
  const unsigned event = webhook_event(d, policy_, campaigns_seen_);
  if (event == 0) return;
  std::string json, slack;  // each body made once, for the hooks that want it
  for (auto& h : hooks_) {
    if ((h.settings.events & event) == 0) continue;
    std::string& body = h.settings.slack ? slack : json;
    if (body.empty()) {
      body = h.settings.slack ? webhook::slack_body(d, event_text(event))
                              : webhook::json_body(d, event_text(event));
    }
    if (!h.sender->post(body) && d.time - h.drop_warned >= std::chrono::minutes(1)) {
      // Every drop is counted (status, strikeout_webhook_dropped_total); the log says it at most once a
      // minute per webhook, so a dead endpoint under an attack cannot flood it.
      h.drop_warned = d.time;
      spdlog::warn(
          "webhook {}: its endpoint is not keeping up; queue of {} full, messages dropped ({} so far)",
          h.settings.name, h.settings.queue, h.sender->stats().dropped);
    }
  }
}

void WebhookSinks::metrics(std::vector<metrics::ComponentMetric>& out) const {
  webhook::WebhookStats total = retired_;
  std::uint64_t queued = 0;
  for (const auto& h : hooks_) {
    const auto s = h.sender->stats();
    total.sent += s.sent;
    total.failed += s.failed;
    total.dropped += s.dropped;
    total.retries += s.retries;
    queued += s.queued;
  }
  out.push_back({"strikeout_webhook_sent_total", "counter", "Webhook messages the endpoint accepted (2xx).",
                 total.sent});
  out.push_back({"strikeout_webhook_failed_total", "counter",
                 "Webhook messages given up after every attempt failed.", total.failed});
  out.push_back({"strikeout_webhook_dropped_total", "counter",
                 "Webhook messages dropped because the webhook's queue was full.", total.dropped});
  out.push_back(
      {"strikeout_webhook_retries_total", "counter", "Webhook tries after a failed one.", total.retries});
  out.push_back({"strikeout_webhook_queued", "gauge", "Webhook messages waiting to be sent.", queued});
}

void WebhookSinks::status(nlohmann::json& out) const {
  out = nlohmann::json::array();
  for (const auto& h : hooks_) {
    const auto s = h.sender->stats();
    nlohmann::json events = nlohmann::json::array();
    for (unsigned e :
         {config::kWebhookBan, config::kWebhookUnban, config::kWebhookAlert, config::kWebhookCampaign}) {
      if ((h.settings.events & e) != 0) events.push_back(std::string(event_text(e)));
    }
    out.push_back({{"name", h.settings.name},
                   {"format", h.settings.slack ? "slack" : "json"},
                   {"signed", !h.secret.empty()},
                   {"events", std::move(events)},
                   {"sent", s.sent},
                   {"failed", s.failed},
                   {"dropped", s.dropped},
                   {"retries", s.retries},
                   {"queued", s.queued}});
  }
}

}  // namespace strikeout::daemon
