#include "control/protocol.hpp"

#include <array>
#include <utility>

namespace strikeout::control {

namespace {

using nlohmann::json;

constexpr std::array<std::pair<Command, std::string_view>, 10> kNames{{
    {Command::Status, "status"},
    {Command::List, "list"},
    {Command::Explain, "explain"},
    {Command::Watch, "watch"},
    {Command::AllowList, "allow-list"},
    {Command::Ban, "ban"},
    {Command::Unban, "unban"},
    {Command::AllowAdd, "allow-add"},
    {Command::AllowRemove, "allow-remove"},
    {Command::Reload, "reload"},
}};

// Longest free text accepted in a request (a ban's reason, a rule name): they end up in log lines
// and in every `list`, so a few hundred bytes is plenty.
constexpr std::size_t kMaxText = 512;

bool needs_target(Command c) {
  return c == Command::Ban || c == Command::Unban || c == Command::AllowAdd || c == Command::AllowRemove ||
         c == Command::Explain;
}

// Accepts "ADDR" or "ADDR/LEN" with no host bits after LEN (for explain: only an address). Refuses
// anything else with a message that quotes the text (shortened) and says what would be right.
std::variant<core::Prefix, std::string> parse_target(std::string_view text, Command c) {
  std::string shown(text.substr(0, 64));
  if (text.size() > 64) shown += "...";
  if (c == Command::Explain) {
    if (auto a = core::Address::parse(text)) return core::Prefix::host(*a);
    return "target \"" + shown + "\" is not an IPv4 or IPv6 address";
  }
  if (auto p = core::Prefix::parse(text, true)) return *p;
  if (auto loose = core::Prefix::parse(text, false)) {
    return "target \"" + shown + "\" has host bits set after the prefix length; did you mean " +
           loose->to_string() + "?";
  }
  return "target \"" + shown + "\" is not an address or ADDRESS/LENGTH network";
}

}  // namespace

std::string_view to_string(Command c) {
  for (const auto& [command, name] : kNames) {
    if (command == c) return name;
  }
  return "?";
}

std::optional<Command> command_from_string(std::string_view name) {
  for (const auto& [command, n] : kNames) {
    if (n == name) return command;
  }
  return std::nullopt;
}

bool is_read_only(Command c) {
  return c == Command::Status || c == Command::List || c == Command::Explain || c == Command::Watch ||
         c == Command::AllowList;
}

std::variant<Request, ProtocolError> parse_request(std::string_view line) {
  if (line.size() > kMaxLine) {
    return ProtocolError{0, "request longer than " + std::to_string(kMaxLine) + " bytes"};
  }
  const json j = json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded()) return ProtocolError{0, "request is not valid JSON"};
  if (!j.is_object()) return ProtocolError{0, "request is not a JSON object"};

  Request r;
  // The id first, so every later error can be matched to its request.
  if (auto it = j.find("id"); it != j.end()) {
    if (!it->is_number_unsigned()) return ProtocolError{0, "field \"id\" must be a non-negative integer"};
    r.id = it->get<std::uint64_t>();
  }
  auto fail = [&r](std::string message) -> std::variant<Request, ProtocolError> {
    return ProtocolError{r.id, std::move(message)};
  };
  auto v = j.find("v");
  if (v == j.end()) return fail("field \"v\" (protocol version) is missing");
  if (!v->is_number_unsigned() || v->get<std::uint64_t>() != static_cast<std::uint64_t>(kVersion)) {
    return fail("protocol version " + dump(*v) + " is not supported; this daemon speaks version " +
                std::to_string(kVersion));
  }
  auto c = j.find("command");
  if (c == j.end() || !c->is_string()) return fail("field \"command\" is missing or not a string");
  const auto command = command_from_string(c->get_ref<const std::string&>());
  if (!command) {
    std::string shown = c->get_ref<const std::string&>().substr(0, 64);
    return fail("unknown command " + dump(json(shown)));
  }
  r.command = *command;

  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "v" || key == "id" || key == "command") continue;
    const bool allowed = (key == "target" && needs_target(r.command)) ||
                         ((key == "for" || key == "reason") && r.command == Command::Ban) ||
                         (key == "rule" && r.command == Command::List);
    if (!allowed) {
      return fail("field " + dump(json(key.substr(0, 64))) + " is not known for command \"" +
                  std::string(to_string(r.command)) + "\"");
    }
    if (!it->is_string()) return fail("field \"" + key + "\" must be a string");
    const std::string& text = it->get_ref<const std::string&>();
    if (key == "target") {
      auto target = parse_target(text, r.command);
      if (auto* error = std::get_if<std::string>(&target)) return fail(std::move(*error));
      r.target = std::get<core::Prefix>(target);
    } else if (key == "for") {
      const auto d = core::parse_duration(text);
      if (!d || d->count() <= 0) {
        return fail("duration " + dump(json(text.substr(0, 64))) +
                    " is not a positive duration such as 90s, 20m, 1h30m, 7d");
      }
      r.duration = *d;
    } else {
      if (text.size() > kMaxText) {
        return fail("field \"" + key + "\" is longer than " + std::to_string(kMaxText) + " bytes");
      }
      (key == "reason" ? r.reason : r.rule) = text;
    }
  }
  if (needs_target(r.command) && !r.target) {
    return fail("command \"" + std::string(to_string(r.command)) + "\" needs a \"target\"");
  }
  return r;
}

std::string format_request(const Request& request) {
  json j = json::object();
  j["v"] = kVersion;
  j["id"] = request.id;
  j["command"] = std::string(to_string(request.command));
  if (request.target) j["target"] = request.target->to_string();
  if (request.duration) j["for"] = core::format_duration(*request.duration);
  if (!request.reason.empty()) j["reason"] = request.reason;
  if (!request.rule.empty()) j["rule"] = request.rule;
  return dump(j);
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string format_ok(std::uint64_t id, const json& result) {
  json j = json::object();
  j["v"] = kVersion;
  j["id"] = id;
  j["ok"] = true;
  j["result"] = result;
  return dump(j);
}

std::string format_error(std::uint64_t id, std::string_view code_text, std::string_view message) {
  json j = json::object();
  j["v"] = kVersion;
  j["id"] = id;
  j["ok"] = false;
  j["code"] = std::string(code_text);
  j["error"] = std::string(message);
  return dump(j);
}

std::string format_watch(const json& event) {
  json j = json::object();
  j["v"] = kVersion;
  j["watch"] = event;
  return dump(j);
}

std::string format_watch_end(std::string_view why) {
  json j = json::object();
  j["v"] = kVersion;
  j["watch_end"] = std::string(why);
  return dump(j);
}

std::variant<Response, std::string> parse_response(std::string_view line) {
  const json j = json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::string("the daemon's answer is not a JSON object");
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_unsigned() ||
      v->get<std::uint64_t>() != static_cast<std::uint64_t>(kVersion)) {
    return "the daemon speaks another protocol version (" + (v == j.end() ? std::string("none") : dump(*v)) +
           "); this program speaks version " + std::to_string(kVersion) +
           ": are the daemon and CLI the same release?";
  }
  Response r;
  if (auto w = j.find("watch"); w != j.end()) {
    r.kind = Response::Kind::Watch;
    r.ok = true;
    r.result = *w;
    return r;
  }
  if (auto e = j.find("watch_end"); e != j.end()) {
    r.kind = Response::Kind::WatchEnd;
    r.error = e->is_string() ? e->get<std::string>() : dump(*e);
    return r;
  }
  auto id = j.find("id");
  auto ok = j.find("ok");
  if (id == j.end() || !id->is_number_unsigned() || ok == j.end() || !ok->is_boolean()) {
    return std::string("the daemon's answer has no \"id\" or \"ok\"");
  }
  r.id = id->get<std::uint64_t>();
  r.ok = ok->get<bool>();
  if (r.ok) {
    if (auto res = j.find("result"); res != j.end()) r.result = *res;
  } else {
    auto c = j.find("code");
    auto e = j.find("error");
    r.code = (c != j.end() && c->is_string()) ? c->get<std::string>() : std::string(code::kFailed);
    r.error = (e != j.end() && e->is_string()) ? e->get<std::string>() : std::string("(no message)");
  }
  return r;
}

}  // namespace strikeout::control
