#include "report/decision_format.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstring>

#include "report/address_text.hpp"
#include "report/text_escape.hpp"

namespace strikeout::report {

const core::Rule* DecisionFormatter::find_rule(const std::string& name) const {
  for (const auto& rule : rules_) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
}

std::string_view DecisionFormatter::tag_for(const std::string& rule_name) const {
  const core::Rule* rule = find_rule(rule_name);
  if (rule == nullptr) return "SMTP_OPERATOR";
  if (rule->key == core::KeyKind::Username) return "SMTP_AUTH_CAMPAIGN";
  switch (rule->on) {
    case core::EventKind::AuthFailure:
      return "SMTP_AUTH_FAIL";
    case core::EventKind::Connect:
      return "SMTP_CONN_RATE";
    case core::EventKind::AuthSuccess:
      return "SMTP_AUTH_OK";
    case core::EventKind::ProtocolAbuse:
      return "SMTP_AUTH_ABUSE";
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

char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

template <typename Int>
char* put_number(char* p, Int v) {
  return std::to_chars(p, p + 24, v).ptr;
}

// ,"NAME":"VALUE" with VALUE escaped. `head` is the literal `,"NAME":"`.
char* put_string_field(char* p, std::string_view head, std::string_view value) {
  p = put(p, head);
  p = write_json_escaped(p, value);
  *p++ = '"';
  return p;
}

char* put_two(char* p, std::int64_t v) {
  *p++ = static_cast<char>('0' + v / 10);
  *p++ = static_cast<char>('0' + v % 10);
  return p;
}

// Room for the fixed text of one JSON decision (field names, numbers, times, an address).
constexpr std::size_t kJsonFixedBound = 512;
}  // namespace

char* DecisionFormatter::FastTime::write(char* p, core::Time t) const {
  if (t == last && last_size > 0) {  // decisions come in bursts with one time
    std::memcpy(p, last_text, last_size);
    return p + last_size;
  }
  char* const start = p;
  p = format(p, t);
  last = t;
  last_size = static_cast<std::size_t>(p - start);
  if (last_size > sizeof last_text) {
    last_size = 0;  // an odd year: not remembered
  } else {
    std::memcpy(last_text, start, last_size);
  }
  return p;
}

char* DecisionFormatter::FastTime::format(char* p, core::Time t) const {
  const std::int64_t us = core::to_micros(t);
  std::int64_t secs = us / 1'000'000;
  std::int64_t frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    secs -= 1;
  }
  std::int64_t days = secs / 86400;
  std::int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  if (days != day || date.empty()) {
    // The date part as core::format_rfc3339 writes it (whatever the year), once per day.
    day = days;
    const std::string full = core::format_rfc3339(core::from_micros(days * 86'400'000'000LL));
    date = full.substr(0, full.find('T') + 1);
  }
  p = put(p, date);
  p = put_two(p, sod / 3600);
  *p++ = ':';
  p = put_two(p, (sod / 60) % 60);
  *p++ = ':';
  p = put_two(p, sod % 60);
  if (frac != 0) {
    *p++ = '.';
    std::int64_t digits = frac;
    int width = 6;
    if (frac % 1000 == 0) {
      digits = frac / 1000;
      width = 3;
    }
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + digits % 10);
      digits /= 10;
    }
    p += width;
  }
  *p++ = 'Z';
  return p;
}

char* DecisionFormatter::EscapedField::write(char* p, std::string_view value) const {
  for (std::size_t i = 0; i < kEntries; ++i) {
    // (An unused entry is empty, and so is the text of an empty value.)
    if (value.size() == raw[i].size() && std::memcmp(value.data(), raw[i].data(), value.size()) == 0) {
      return put(p, escaped[i]);
    }
  }
  const std::size_t i = next;
  next = (next + 1) % kEntries;
  raw[i].assign(value);
  escaped[i].resize(kMaxJsonEscapedGrowth * value.size());
  escaped[i].resize(
      static_cast<std::size_t>(write_json_escaped(escaped[i].data(), value) - escaped[i].data()));
  return put(p, escaped[i]);
}

std::size_t DecisionFormatter::json_bound(const core::Decision& d) {
  return kJsonFixedBound +
         kMaxJsonEscapedGrowth * (d.rule.size() + d.user.size() + d.reason.size() + d.sensor.size());
}

char* DecisionFormatter::write_json(char* p, const core::Decision& d) const {
  p = put(p, "{\"time\":\"");
  p = fast_time_.write(p, d.time);
  switch (d.kind) {
    case core::DecisionKind::Strike:
      p = put(p, "\",\"action\":\"strike\"");
      break;
    case core::DecisionKind::Ban:
      p = put(p, "\",\"action\":\"ban\"");
      break;
    case core::DecisionKind::Unban:
      p = put(p, "\",\"action\":\"unban\"");
      break;
  }
  p = put(p, ",\"address\":\"");
  p = write_prefix(p, d.target);
  *p++ = '"';
  p = put(p, ",\"rule\":\"");
  p = rule_field_.write(p, d.rule);
  *p++ = '"';
  if (d.kind != core::DecisionKind::Unban) {
    p = put(p, ",\"count\":");
    p = put_number(p, d.count);
  }
  if (d.kind == core::DecisionKind::Strike) {
    p = put(p, ",\"threshold\":");
    p = put_number(p, d.threshold);
  }
  if (d.kind == core::DecisionKind::Ban) {
    p = put(p, ",\"until\":\"");
    p = fast_until_.write(p, d.until);
    p = put(p, "\",\"ban_seconds\":");
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(d.until - d.time).count();
    p = put_number(p, static_cast<std::int64_t>(secs));
    p = put(p, ",\"offence\":");
    p = put_number(p, d.offence);
    p = put(p, d.extended ? ",\"extended\":true" : ",\"extended\":false");
    p = put(
        p, d.action == core::RuleAction::Tarpit ? ",\"rule_action\":\"tarpit\"" : ",\"rule_action\":\"ban\"");
  }
  if (!d.user.empty()) p = put_string_field(p, ",\"user\":\"", d.user);
  if (!d.reason.empty()) {
    p = put(p, ",\"reason\":\"");
    p = write_json_escaped(p, d.reason);
    *p++ = '"';
  }
  if (!d.sensor.empty()) {
    p = put(p, ",\"sensor\":\"");
    p = sensor_field_.write(p, d.sensor);
    *p++ = '"';
  }
  *p++ = '}';
  return p;
}

void DecisionFormatter::append_json(std::string& out, const core::Decision& d) const {
  const std::size_t old = out.size();
  out.resize(old + json_bound(d));
  char* end = write_json(out.data() + old, d);
  out.resize(static_cast<std::size_t>(end - out.data()));
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
