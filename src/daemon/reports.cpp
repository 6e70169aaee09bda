#include "daemon/reports.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "report/text_escape.hpp"

namespace strikeout::daemon {

void LogLines::on_decision(const core::Decision& d) {
  if (d.kind == core::DecisionKind::Ban) {
    spdlog::warn("{}", formatter_.human(d));
  } else {
    spdlog::info("{}", formatter_.human(d));
  }
}

void WatchStream::on_event(const Sensor& sensor, const core::Event& event) {
  if (!watched()) return;
  nlohmann::json j = nlohmann::json::object();
  std::string text;
  switch (event.kind) {
    case core::EventKind::AuthFailure:
      j["type"] = "attempt";
      text = "AUTH failure: SRC=";
      break;
    case core::EventKind::AuthSuccess:
      j["type"] = "success";
      text = "AUTH success: SRC=";
      break;
    case core::EventKind::Connect:
      j["type"] = "connect";
      text = "connect: SRC=";
      break;
    case core::EventKind::ProtocolAbuse:
      j["type"] = "abuse";
      text = "protocol abuse: SRC=";
      break;
  }
  text += event.source.to_string();
  if (!event.service.empty()) text += fmt::format(" service={}", event.service);
  if (!event.user.empty()) {
    text += " user=";
    report::append_quoted(text, event.user);
  }
  text += fmt::format(" sensor={}", sensor.name);
  if (engine_.is_allowlisted(event.source)) text += " (allowlisted)";
  j["time"] = core::format_rfc3339(event.time);
  j["address"] = event.source.to_string();
  j["service"] = std::string(event.service);
  j["user"] = std::string(event.user);
  j["sensor"] = sensor.name;
  j["text"] = text;
  server_->publish(j);
}

void WatchStream::on_decision(const core::Decision& d) {
  if (!watched()) return;
  std::string json_text;
  formatter_.append_json(json_text, d);
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded()) j = nlohmann::json::object();
  j["type"] = d.kind == core::DecisionKind::Strike ? "strike"
              : d.kind == core::DecisionKind::Ban  ? "ban"
                                                   : "unban";
  j["text"] = formatter_.human(d);
  server_->publish(j);
}

}  // namespace strikeout::daemon
