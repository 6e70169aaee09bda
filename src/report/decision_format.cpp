#include "report/decision_format.hpp"

#include <fmt/format.h>

#include <chrono>

#include "report/text_escape.hpp"

namespace strikeout::report {

const core::Rule* DecisionFormatter::find_rule(const std::string& name) const {
  for (const auto& rule : policy_.rules) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
}

std::string_view DecisionFormatter::tag_for(const std::string& rule_name) const {
  const core::Rule* rule = find_rule(rule_name);
  if (rule == nullptr) return "SMTP_OPERATOR";
  if (rule->key == core::KeyKind::Username) return "SMTP_AUTH_CAMPAIGN";
  switch (rule->on) {
    case core::EventKind::AuthFailure: return "SMTP_AUTH_FAIL";
    case core::EventKind::Connect: return "SMTP_CONN_RATE";
    case core::EventKind::AuthSuccess: return "SMTP_AUTH_OK";
  }
  return "SMTP";
}

std::string DecisionFormatter::human(const core::Decision& d) const {
  std::string out;
  out.reserve(160);
  const std::string target = d.target.to_string();
  switch (d.kind) {
    case core::DecisionKind::Strike:
      out += tag_for(d.rule);
      out += fmt::format(": Strike {}: SRC={} rule={}", d.count, target, d.rule);
      if (d.count >= d.threshold && d.action == core::RuleAction::Notice) out += " action=notice";
      break;
    case core::DecisionKind::Ban: {
      const auto length = std::chrono::duration_cast<core::Duration>(d.until - d.time);
      const char* what = d.action == core::RuleAction::Tarpit ? "SMTP_AUTH_TARPIT: Off to the decoy"
                                                               : "SMTP_AUTH_REJECTED: Go AWAY";
      out += fmt::format("{}{}: SRC={} rule={} {}={} until={} offence={} count={}", what,
                         d.extended ? " (again)" : "", target, d.rule, d.extended ? "extended_by" : "ban",
                         core::format_duration(length), until_text(d.until), d.offence, d.count);
      break;
    }
    case core::DecisionKind::Unban:
      out += fmt::format("SMTP_AUTH_UNBAN: Ban over: SRC={} rule={}", target, d.rule);
      break;
  }
  if (!d.user.empty() && d.kind != core::DecisionKind::Unban) {
    out += " user=";
    append_quoted(out, d.user);
  }
  if (!d.reason.empty() && d.kind == core::DecisionKind::Ban) {
    out += " reason=";
    append_quoted(out, d.reason);
  }
  return out;
}

namespace {
void append_string_field(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":\"";
  append_json_escaped(out, value);
  out += '"';
}
}  // namespace

void DecisionFormatter::append_json(std::string& out, const core::Decision& d) const {
  out += "{\"time\":\"";
  out += time_text(d.time);
  out += "\",\"action\":\"";
  switch (d.kind) {
    case core::DecisionKind::Strike: out += "strike"; break;
    case core::DecisionKind::Ban: out += "ban"; break;
    case core::DecisionKind::Unban: out += "unban"; break;
  }
  out += '"';
  append_string_field(out, "address", d.target.to_string());
  append_string_field(out, "rule", d.rule);
  if (d.kind != core::DecisionKind::Unban) {
    fmt::format_to(std::back_inserter(out), ",\"count\":{}", d.count);
  }
  if (d.kind == core::DecisionKind::Strike) {
    fmt::format_to(std::back_inserter(out), ",\"threshold\":{}", d.threshold);
  }
  if (d.kind == core::DecisionKind::Ban) {
    append_string_field(out, "until", until_text(d.until));
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(d.until - d.time).count();
    fmt::format_to(std::back_inserter(out), ",\"ban_seconds\":{},\"offence\":{},\"extended\":{}", secs,
                   d.offence, d.extended ? "true" : "false");
    const char* action = d.action == core::RuleAction::Tarpit ? "tarpit" : "ban";
    append_string_field(out, "rule_action", action);
  }
  if (!d.user.empty()) append_string_field(out, "user", d.user);
  if (!d.reason.empty()) append_string_field(out, "reason", d.reason);
  if (!d.sensor.empty()) append_string_field(out, "sensor", d.sensor);
  out += '}';
}

void append_ban_json(std::string& out, const core::BanInfo& ban) {
  out += "{\"address\":\"";
  out += ban.target.to_string();
  out += '"';
  append_string_field(out, "rule", ban.rule);
  append_string_field(out, "since", core::format_rfc3339(ban.since));
  append_string_field(out, "until", core::format_rfc3339(ban.until));
  fmt::format_to(std::back_inserter(out), ",\"count\":{},\"offence\":{}", ban.count, ban.offence);
  if (!ban.reason.empty()) append_string_field(out, "reason", ban.reason);
  out += '}';
}

}  // namespace strikeout::report
