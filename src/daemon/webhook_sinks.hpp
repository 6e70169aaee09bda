// The [[webhook]] sections as one decision sink (docs/webhooks.md): each decision is named as one of
// the webhook events (ban, unban, alert, campaign), and handed to every webhook that asked for that
// event. Sending happens on each webhook's own thread (webhook::WebhookSender): on_decision() formats
// a body and queues it, never waiting on the network, so a dead or hanging endpoint cannot slow a ban.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/decision.hpp"
#include "core/policy.hpp"
#include "core/result.hpp"
#include "metrics/daemon_metrics.hpp"
#include "webhook/webhook.hpp"

namespace strikeout::daemon {

// The webhook event a decision is, or 0 when it is none of them:
// - a Ban of a username rule (a campaign) is "campaign" the first time that rule bans for that username
//   within the rule's window, and "ban" after;
// - other Bans are "ban" (extensions too: the receiver sees the new end), Unbans "unban";
// - a Strike that reaches its rule's threshold on a rule that blocks nothing (notice) is "alert".
// `campaigns_seen` remembers when each (rule, username) last raised "campaign"; it is bounded by the
// caller.
unsigned webhook_event(const core::Decision& d, const core::Policy& policy,
                       std::map<std::pair<std::string, std::string>, core::Time>& campaigns_seen);

class WebhookSinks final : public core::DecisionSink {
 public:
  // Reads each webhook's secret file and starts its sender. Refuses (naming the webhook and the file)
  // when a secret file cannot be read or is empty; nothing is started then.
  static core::Result<std::unique_ptr<WebhookSinks>> start(const std::vector<config::WebhookSettings>& hooks,
                                                           const core::Policy& policy);

  // Takes a reloaded configuration: webhooks whose settings and secret are unchanged keep their
  // sender (and its queue); changed or new ones get a new sender, removed ones stop. Refuses, changing
  // nothing, when a secret file cannot be read.
  core::Status reload(const std::vector<config::WebhookSettings>& hooks, const core::Policy& policy);

  void on_decision(const core::Decision& d) override;
  void metrics(std::vector<metrics::ComponentMetric>& out) const;
  // For `strikeout status`: each webhook's name, events and counters (never its URL: chat tools put
  // their secret in it).
  void status(nlohmann::json& out) const;
  std::size_t size() const { return hooks_.size(); }

 private:
  struct Hook {
    config::WebhookSettings settings;
    std::string secret;
    std::unique_ptr<webhook::WebhookSender> sender;
    core::Time drop_warned{};  // decision time of the last "queue full" warning (one a minute)
  };
  static core::Result<std::vector<Hook>> prepare(const std::vector<config::WebhookSettings>& hooks,
                                                 std::vector<Hook>* keep_from);

  std::vector<Hook> hooks_;
  core::Policy policy_;
  std::map<std::pair<std::string, std::string>, core::Time> campaigns_seen_;
  // Counters of senders that were replaced or removed at a reload: the totals never go down.
  webhook::WebhookStats retired_{};
};

}  // namespace strikeout::daemon
