#include "daemon/control_handlers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "control/allowlist_file.hpp"

namespace strikeout::daemon {

namespace {

// A ban made through the CLI without --for lasts this long.
constexpr auto kDefaultOperatorBan = std::chrono::hours(24);

nlohmann::json ban_json(const core::BanInfo& ban) {
  nlohmann::json j = nlohmann::json::object();
  j["target"] = ban.target.to_string();
  j["rule"] = ban.rule;
  j["action"] = ban.action == core::RuleAction::Tarpit ? "tarpit" : "ban";
  j["reason"] = ban.reason;
  j["since"] = core::format_rfc3339(ban.since);
  j["until"] = core::format_rfc3339(ban.until);
  j["strikes"] = ban.count;
  j["offence"] = ban.offence;
  return j;
}

nlohmann::json prefixes_json(const std::vector<core::Prefix>& list) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& p : list) j.push_back(p.to_string());
  return j;
}

}  // namespace

control::Reply ControlHandlers::handle(const control::Request& request, const control::Peer& peer) {
  if (!control::is_read_only(request.command)) {
    spdlog::info("control: {} {} (uid {}, pid {})", control::to_string(request.command),
                 request.target ? request.target->to_string() : std::string(), peer.uid, peer.pid);
  }
  switch (request.command) {
    case control::Command::Status:
      return status();
    case control::Command::List:
      return list(request.rule);
    case control::Command::Ban:
      return ban(request);
    case control::Command::Unban:
      return unban(*request.target);
    case control::Command::Explain:
      return explain(request.target->address());
    case control::Command::AllowAdd:
      return allow_add(*request.target);
    case control::Command::AllowRemove:
      return allow_remove(*request.target);
    case control::Command::AllowList:
      return allow_list();
    case control::Command::Watch:
      return control::Reply::success({{"watching", true}});
    case control::Command::Reload:
      return reload();
  }
  return control::Reply::failure(control::code::kBadRequest, "unknown command");
}

control::Reply ControlHandlers::reload() {
  auto reloaded = d_.reload();
  if (!reloaded) return control::Reply::failure(control::code::kFailed, reloaded.error());
  return control::Reply::success({{"rules", *reloaded}});
}

control::Reply ControlHandlers::status() {
  const auto t = d_.now();
  nlohmann::json j = nlohmann::json::object();
  d_.describe(j);
  const auto& engine = d_.engine();
  const auto& st = engine.stats();
  j["engine"] = {{"tracked_keys", st.tracked_keys}, {"memory_bytes", st.memory_bytes},
                 {"evictions", st.evictions},       {"strikes_total", st.strikes_total},
                 {"bans_total", st.bans_total},     {"duplicates", st.duplicates},
                 {"events_failure", st.events[0]},  {"events_success", st.events[1]},
                 {"events_connect", st.events[2]}};
  nlohmann::json by_rule = nlohmann::json::object();
  std::uint64_t active = 0;
  for (const auto& ban : engine.active_bans()) {
    ++active;
    by_rule[ban.rule] = by_rule.value(ban.rule, std::uint64_t{0}) + 1;
  }
  j["bans"] = {{"active", active}, {"by_rule", by_rule}};
  auto& enforcer = d_.enforcer();
  const auto intact = enforcer.firewall().table_intact();
  std::vector<core::FirewallBan> kernel;
  std::string list_error;
  const bool listed = enforcer.firewall().list(t, kernel, list_error);
  nlohmann::json k = {
      {"table", "inet " + enforcer.table()}, {"present", intact.ok()}, {"batch_errors", enforcer.failures()}};
  if (!intact) k["problem"] = intact.error();
  if (listed) {
    k["elements"] = kernel.size();
    // In sync: the kernel holds exactly the engine's bans (pending changes are flushed at every read).
    k["in_sync"] = kernel.size() == active && enforcer.idle();
  } else {
    k["in_sync"] = false;
    k["problem"] = list_error;
  }
  j["kernel"] = std::move(k);
  return control::Reply::success(std::move(j));
}

control::Reply ControlHandlers::list(const std::string& rule) {
  nlohmann::json bans = nlohmann::json::array();
  for (const auto& ban : d_.engine().active_bans()) {
    if (!rule.empty() && ban.rule != rule) continue;
    bans.push_back(ban_json(ban));
  }
  return control::Reply::success({{"bans", std::move(bans)}});
}

control::Reply ControlHandlers::ban(const control::Request& request) {
  const core::Prefix target = *request.target;
  const core::Duration length = request.duration.value_or(kDefaultOperatorBan);
  const std::string reason = request.reason.empty() ? "banned by the operator" : request.reason;
  const auto t = d_.now();
  auto& engine = d_.engine();
  switch (engine.ban(target, t, length, reason, d_.decisions())) {
    case core::OperatorResult::Allowlisted:
      return control::Reply::failure(
          control::code::kAllowlisted,
          target.to_string() + " is on the allowlist (or holds an allowlisted address): not banned");
    case core::OperatorResult::Invalid:
      return control::Reply::failure(control::code::kBadRequest, "the ban's duration must be positive");
    default:
      break;
  }
  const auto result = d_.enforcer().flush();
  if (!result) {
    return control::Reply::failure(control::code::kFailed, "the kernel refused the ban: " + result.error +
                                                               " (the daemon keeps retrying)");
  }
  if (std::find(result.allowlisted.begin(), result.allowlisted.end(), target) != result.allowlisted.end()) {
    (void)engine.unban(target, t, d_.decisions());
    d_.enforcer().flush();
    return control::Reply::failure(
        control::code::kAllowlisted,
        target.to_string() + " is one of this host's own addresses (on the allowlist): not banned");
  }
  // A CLI ban is on disk before the CLI hears it is done (docs/state.md).
  if (auto saved = d_.commit_state_now(); !saved) {
    return control::Reply::failure(
        control::code::kFailed,
        "the ban is in force but could not be saved: " + saved.error() + " (the daemon keeps retrying)");
  }
  auto ban = engine.ban_covering(target.address());
  nlohmann::json j = ban ? ban_json(*ban) : nlohmann::json::object();
  return control::Reply::success(std::move(j));
}

control::Reply ControlHandlers::unban(const core::Prefix& target) {
  auto& engine = d_.engine();
  if (engine.unban(target, d_.now(), d_.decisions()) == core::OperatorResult::NotBanned) {
    std::string hint;
    if (target.is_host()) {
      if (auto covering = engine.ban_covering(target.address())) {
        hint = "; it is inside the banned network " + covering->target.to_string();
      }
    }
    return control::Reply::failure(control::code::kNotFound, target.to_string() + " is not banned" + hint);
  }
  const auto result = d_.enforcer().flush();
  if (!result) {
    return control::Reply::failure(control::code::kFailed, "the kernel refused the unban: " + result.error +
                                                               " (the daemon keeps retrying)");
  }
  if (auto saved = d_.commit_state_now(); !saved) {
    return control::Reply::failure(
        control::code::kFailed,
        "the unban is done but could not be saved: " + saved.error() + " (the daemon keeps retrying)");
  }
  return control::Reply::success({{"target", target.to_string()}});
}

control::Reply ControlHandlers::explain(const core::Address& address) {
  const auto& engine = d_.engine();
  const auto& recent = d_.recent();
  nlohmann::json j = nlohmann::json::object();
  j["address"] = address.to_string();
  j["allowlisted"] = engine.is_allowlisted(address);
  auto ban = engine.ban_covering(address);
  j["ban"] = ban ? ban_json(*ban) : nlohmann::json(nullptr);
  nlohmann::json activity = nlohmann::json::array();
  for (const auto& e : recent.entries(address)) activity.push_back(control::to_json(e));
  // A network ban is filed under the network's address: show its history too.
  if (ban && !ban->target.is_host()) {
    for (const auto& e : recent.entries(ban->target.address())) activity.push_back(control::to_json(e));
  }
  j["activity"] = std::move(activity);
  nlohmann::json bans = nlohmann::json::array();
  for (const auto& e : recent.bans(address)) bans.push_back(control::to_json(e));
  j["escalation"] = std::move(bans);
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& rule : engine.policy().rules) {
    rules.push_back({{"name", rule.name},
                     {"on", std::string(core::to_string(rule.on))},
                     {"hits", rule.hits},
                     {"within", core::format_duration(rule.within)},
                     {"ban", core::format_duration(rule.ban)}});
  }
  j["rules"] = std::move(rules);
  return control::Reply::success(std::move(j));
}

control::Reply ControlHandlers::allow_add(const core::Prefix& target) {
  const auto& configured = d_.config().policy.allowlist;
  auto& runtime = d_.runtime_allowlist();
  if (std::find(configured.begin(), configured.end(), target) != configured.end() ||
      std::find(runtime.entries.begin(), runtime.entries.end(), target) != runtime.entries.end()) {
    return control::Reply::success({{"target", target.to_string()}, {"added", false}});
  }
  runtime.entries.push_back(target);
  if (auto error = control::save_allowlist_file(runtime.file, runtime.entries)) {
    runtime.entries.pop_back();
    return control::Reply::failure(control::code::kFailed, *error);
  }
  if (!d_.apply_allowlist()) {
    return control::Reply::failure(control::code::kFailed,
                                   "saved, but the kernel refused the new allowlist (see the daemon's log)");
  }
  return control::Reply::success({{"target", target.to_string()}, {"added", true}});
}

control::Reply ControlHandlers::allow_remove(const core::Prefix& target) {
  const auto& configured = d_.config().policy.allowlist;
  auto& runtime = d_.runtime_allowlist();
  if (std::find(configured.begin(), configured.end(), target) != configured.end()) {
    return control::Reply::failure(
        control::code::kInConfig, target.to_string() + " is in the configuration file " + d_.config().origin +
                                      " ([allow] networks): edit the file, then run `strikeout reload`");
  }
  auto it = std::find(runtime.entries.begin(), runtime.entries.end(), target);
  if (it == runtime.entries.end()) {
    return control::Reply::failure(control::code::kNotFound, target.to_string() + " is not on the allowlist");
  }
  runtime.entries.erase(it);
  if (auto error = control::save_allowlist_file(runtime.file, runtime.entries)) {
    runtime.entries.push_back(target);
    return control::Reply::failure(control::code::kFailed, *error);
  }
  if (!d_.apply_allowlist()) {
    return control::Reply::failure(control::code::kFailed,
                                   "saved, but the kernel refused the new allowlist (see the daemon's log)");
  }
  return control::Reply::success({{"target", target.to_string()}, {"removed", true}});
}

control::Reply ControlHandlers::allow_list() {
  const auto& runtime = d_.runtime_allowlist();
  nlohmann::json j = nlohmann::json::object();
  j["configuration"] = prefixes_json(d_.config().policy.allowlist);
  j["runtime"] = prefixes_json(runtime.entries);
  j["runtime_file"] = runtime.file.string();
  j["host_addresses"] = d_.config().allow_host_addresses;
  j["kernel"] = prefixes_json(d_.enforcer().firewall().allowlist());
  return control::Reply::success(std::move(j));
}

}  // namespace strikeout::daemon
