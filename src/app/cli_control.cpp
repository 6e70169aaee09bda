#include "app/cli_control.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/client.hpp"
#include "control/protocol.hpp"
#include "core/address.hpp"
#include "core/time.hpp"
#include "report/text_escape.hpp"

namespace strikeout::app {

namespace {

using nlohmann::json;

constexpr int kFailed = 1;
constexpr int kUsage = 2;

struct Common {
  std::string socket = kDefaultControlSocket;
  bool json_output = false;
};

void add_common(CLI::App* cmd, Common& c, bool with_json = true) {
  cmd->add_option("--socket", c.socket, "The daemon's control socket ([control] socket)")
      ->capture_default_str();
  if (with_json) cmd->add_flag("--json", c.json_output, "Print the daemon's answer as one JSON object");
}

// Accepts an address or ADDRESS/LENGTH without host bits; prints why not and returns nullopt.
std::optional<core::Prefix> parse_target(const std::string& command, const std::string& text) {
  if (auto p = core::Prefix::parse(text, true)) return p;
  if (auto loose = core::Prefix::parse(text, false)) {
    std::fprintf(stderr, "strikeout %s: \"%s\" has host bits set after the prefix length; did you mean %s?\n",
                 command.c_str(), text.c_str(), loose->to_string().c_str());
  } else {
    std::fprintf(stderr, "strikeout %s: \"%s\" is not an IPv4 or IPv6 address or ADDRESS/LENGTH network\n",
                 command.c_str(), text.c_str());
  }
  return std::nullopt;
}

std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return control::dump(*it);
}

std::string quoted(const std::string& attacker_text) {
  std::string out;
  report::append_quoted(out, attacker_text);
  return out;
}

// Connects, sends `request`, and returns the daemon's successful result; on any failure prints one
// line to stderr and returns nullopt with `exit_code` set.
std::optional<json> call(const Common& c, const std::string& command, const control::Request& request,
                         int& exit_code) {
  auto client = control::ControlClient::connect(c.socket);
  if (auto* error = std::get_if<std::string>(&client)) {
    std::fprintf(stderr, "strikeout %s: %s\n", command.c_str(), error->c_str());
    exit_code = kFailed;
    return std::nullopt;
  }
  auto response = std::get<control::ControlClient>(client).call(request);
  if (auto* error = std::get_if<std::string>(&response)) {
    std::fprintf(stderr, "strikeout %s: %s\n", command.c_str(), error->c_str());
    exit_code = kFailed;
    return std::nullopt;
  }
  const auto& r = std::get<control::Response>(response);
  if (!r.ok) {
    if (c.json_output) {
      std::printf("%s\n", control::dump(json{{"ok", false}, {"code", r.code}, {"error", r.error}}).c_str());
    }
    std::fprintf(stderr, "strikeout %s: %s\n", command.c_str(), r.error.c_str());
    exit_code = r.code == control::code::kBadRequest ? kUsage : kFailed;
    return std::nullopt;
  }
  exit_code = 0;
  return r.result;
}

std::string human_bytes(std::uint64_t b) {
  if (b >= 10ULL << 20) return fmt::format("{} MiB", b >> 20);
  if (b >= 10ULL << 10) return fmt::format("{} KiB", b >> 10);
  return fmt::format("{} bytes", b);
}

void print_status(const json& s) {
  const auto uptime = std::chrono::seconds(s.value("uptime_seconds", std::int64_t{0}));
  std::printf("strikeout: running for %s (pid %s), configuration %s\n",
              core::format_duration(std::chrono::duration_cast<core::Duration>(uptime)).c_str(),
              text_of(s, "pid").c_str(), text_of(s, "config").c_str());
  std::printf("sensors:\n");
  if (s["sensors"].empty()) std::printf("  none\n");
  for (const auto& sensor : s["sensors"]) {
    std::printf("  %-14s %8.1f lines/s  last event %-24s %s lines, %s events, %s unrecognised, %s errors\n",
                text_of(sensor, "name").c_str(), sensor.value("lines_per_second", 0.0),
                text_of(sensor, "last_event").c_str(), text_of(sensor, "lines").c_str(),
                text_of(sensor, "events").c_str(), text_of(sensor, "unrecognised").c_str(),
                text_of(sensor, "errors").c_str());
  }
  const auto& e = s["engine"];
  std::printf("engine: %s tracked keys in %s; %s evictions; %s strikes and %s bans since start\n",
              text_of(e, "tracked_keys").c_str(),
              human_bytes(e.value("memory_bytes", std::uint64_t{0})).c_str(), text_of(e, "evictions").c_str(),
              text_of(e, "strikes_total").c_str(), text_of(e, "bans_total").c_str());
  std::string by_rule;
  for (const auto& [rule, n] : s["bans"]["by_rule"].items()) {
    by_rule += (by_rule.empty() ? "" : ", ") + rule + " " + control::dump(n);
  }
  std::printf("bans: %s active%s\n", text_of(s["bans"], "active").c_str(),
              by_rule.empty() ? "" : (" (" + by_rule + ")").c_str());
  const auto& k = s["kernel"];
  std::printf("kernel: table %s %s, %s (%s elements); %s batch errors\n", text_of(k, "table").c_str(),
              k.value("present", false) ? "present" : "MISSING",
              k.value("in_sync", false) ? "in sync" : "NOT in sync", text_of(k, "elements").c_str(),
              text_of(k, "batch_errors").c_str());
  if (k.contains("problem")) std::printf("  problem: %s\n", text_of(k, "problem").c_str());
  std::printf("metrics: %s\n", s["metrics"].is_null() ? "off" : text_of(s, "metrics").c_str());
  if (!s["warnings"].empty()) {
    std::printf("warnings:\n");
    for (const auto& w : s["warnings"]) std::printf("  - %s\n", w.get<std::string>().c_str());
  }
}

void print_bans(const json& bans) {
  if (bans.empty()) {
    std::printf("no active bans\n");
    return;
  }
  std::printf("%-40s %-20s %-22s %-22s %7s  %s\n", "ADDRESS/NETWORK", "RULE", "SINCE", "UNTIL", "STRIKES",
              "REASON");
  for (const auto& b : bans) {
    std::printf("%-40s %-20s %-22s %-22s %7s  %s\n", text_of(b, "target").c_str(), text_of(b, "rule").c_str(),
                text_of(b, "since").c_str(), text_of(b, "until").c_str(), text_of(b, "strikes").c_str(),
                text_of(b, "reason").c_str());
  }
}

std::string describe_entry(const json& e) {
  const std::string type = text_of(e, "type");
  std::string line;
  if (type == "event") {
    line = "event  " + text_of(e, "kind");
    if (e.contains("service")) line += " service=" + text_of(e, "service");
    if (e.contains("count")) line += " attempts=" + text_of(e, "count");
  } else if (type == "strike") {
    line =
        "strike " + text_of(e, "strike") + " of " + text_of(e, "threshold") + " rule=" + text_of(e, "rule");
  } else if (type == "ban") {
    line = std::string(e.value("extended", false) ? "ban extended" : "BAN") + " " + text_of(e, "target") +
           " rule=" + text_of(e, "rule") + " offence=" + text_of(e, "offence") + " until " +
           text_of(e, "until");
  } else {
    line = "unban  " + text_of(e, "target") + " rule=" + text_of(e, "rule");
  }
  if (e.contains("user")) line += " user=" + quoted(e["user"].get<std::string>());
  if (e.contains("sensor")) line += " sensor=" + text_of(e, "sensor");
  if (e.contains("reason") && type != "event") line += " (" + text_of(e, "reason") + ")";
  return line;
}

void print_explain(const json& x) {
  const std::string address = text_of(x, "address");
  if (x.value("allowlisted", false)) std::printf("%s is on the allowlist: never banned\n", address.c_str());
  if (!x["ban"].is_null()) {
    const auto& b = x["ban"];
    std::printf("%s is banned as %s until %s by rule %s (offence %s, %s strikes): %s\n", address.c_str(),
                text_of(b, "target").c_str(), text_of(b, "until").c_str(), text_of(b, "rule").c_str(),
                text_of(b, "offence").c_str(), text_of(b, "strikes").c_str(), text_of(b, "reason").c_str());
  } else if (!x.value("allowlisted", false)) {
    // How close: the latest strike of each rule.
    std::map<std::string, json> latest;
    for (const auto& e : x["activity"]) {
      if (text_of(e, "type") == "strike") latest[text_of(e, "rule")] = e;
    }
    if (latest.empty()) {
      std::printf("%s is not banned and has no strikes%s\n", address.c_str(),
                  x["activity"].empty() ? " (not seen recently)" : "");
    } else {
      std::printf("%s is not banned; closest:\n", address.c_str());
      for (const auto& [rule, e] : latest) {
        std::string window;
        for (const auto& r : x["rules"]) {
          if (text_of(r, "name") == rule)
            window = " (" + text_of(r, "hits") + " within " + text_of(r, "within") + " bans)";
        }
        std::printf("  rule %s: strike %s of %s at %s%s\n", rule.c_str(), text_of(e, "strike").c_str(),
                    text_of(e, "threshold").c_str(), text_of(e, "time").c_str(), window.c_str());
      }
    }
  }
  if (!x["activity"].empty()) {
    std::printf("recent activity (oldest first):\n");
    for (const auto& e : x["activity"])
      std::printf("  %s  %s\n", text_of(e, "time").c_str(), describe_entry(e).c_str());
  }
  if (!x["escalation"].empty()) {
    std::printf("escalation history:\n");
    for (const auto& e : x["escalation"]) {
      std::printf("  %s  offence %s: %s until %s (rule %s)\n", text_of(e, "time").c_str(),
                  text_of(e, "offence").c_str(), text_of(e, "target").c_str(), text_of(e, "until").c_str(),
                  text_of(e, "rule").c_str());
    }
  }
}

// One subcommand that sends one request and prints the answer.
struct Simple {
  Common common;
  control::Request request;
  std::string target_text;
  std::string duration_text;
};

int run_simple(const std::string& name, Simple& s, void (*print)(const json&)) {
  if (!s.target_text.empty()) {
    if (s.request.command == control::Command::Explain) {
      auto a = core::Address::parse(s.target_text);
      if (!a) {
        std::fprintf(stderr, "strikeout %s: \"%s\" is not an IPv4 or IPv6 address\n", name.c_str(),
                     s.target_text.c_str());
        return kUsage;
      }
      s.request.target = core::Prefix::host(*a);
    } else {
      s.request.target = parse_target(name, s.target_text);
      if (!s.request.target) return kUsage;
    }
  }
  if (!s.duration_text.empty()) {
    auto d = core::parse_duration(s.duration_text);
    if (!d || d->count() <= 0) {
      std::fprintf(stderr, "strikeout %s: --for \"%s\" is not a duration; write e.g. 90s, 20m, 1h30m, 7d\n",
                   name.c_str(), s.duration_text.c_str());
      return kUsage;
    }
    s.request.duration = *d;
  }
  int code = 0;
  auto result = call(s.common, name, s.request, code);
  if (!result) return code;
  if (s.common.json_output) {
    std::printf("%s\n", control::dump(*result).c_str());
  } else {
    print(*result);
  }
  return 0;
}

void print_nothing(const json&) {}

int run_watch(const Common& c) {
  auto client = control::ControlClient::connect(c.socket);
  if (auto* error = std::get_if<std::string>(&client)) {
    std::fprintf(stderr, "strikeout watch: %s\n", error->c_str());
    return kFailed;
  }
  auto& cl = std::get<control::ControlClient>(client);
  control::Request request;
  request.command = control::Command::Watch;
  auto response = cl.call(request);
  if (auto* error = std::get_if<std::string>(&response)) {
    std::fprintf(stderr, "strikeout watch: %s\n", error->c_str());
    return kFailed;
  }
  const auto& r = std::get<control::Response>(response);
  if (!r.ok) {
    std::fprintf(stderr, "strikeout watch: %s\n", r.error.c_str());
    return kFailed;
  }
  if (!c.json_output) {
    std::fprintf(stderr, "watching attempts, strikes and bans (Ctrl-C to stop)\n");
  }
  const std::string end = cl.follow([&c](const control::Response& event) {
    if (c.json_output) {
      std::printf("%s\n", control::dump(event.result).c_str());
    } else {
      std::string time = text_of(event.result, "time");
      std::printf("%s  %s\n", time.c_str(), text_of(event.result, "text").c_str());
    }
    std::fflush(stdout);
    return true;
  });
  if (!end.empty()) {
    std::fprintf(stderr, "strikeout watch: %s\n", end.c_str());
    return kFailed;
  }
  return 0;
}

}  // namespace

void register_control_commands(CLI::App& app, CommandRegistry& registry) {
  auto make = [&app](const char* name, const char* help, control::Command command) {
    auto s = std::make_shared<Simple>();
    s->request.command = command;
    auto* cmd = app.add_subcommand(name, help);
    add_common(cmd, s->common);
    return std::make_pair(s, cmd);
  };

  {
    auto [s, cmd] =
        make("status",
             "The running daemon: uptime, configuration, each sensor's health, tracked keys and memory,\n"
             "active bans by rule, whether the kernel table is present and in sync, and warnings.",
             control::Command::Status);
    registry.add(cmd, [s] { return run_simple("status", *s, print_status); });
  }
  {
    auto [s, cmd] = make("list", "Active bans: address or network, rule, since, until, strikes, reason.",
                         control::Command::List);
    cmd->add_option("--rule", s->request.rule, "Only the bans of this rule");
    registry.add(cmd, [s] { return run_simple("list", *s, [](const json& r) { print_bans(r["bans"]); }); });
  }
  {
    auto [s, cmd] = make(
        "ban",
        "Ban an address or network now (in the kernel before this returns). Refuses allowlisted targets.",
        control::Command::Ban);
    cmd->add_option("TARGET", s->target_text, "ADDRESS or ADDRESS/LENGTH")->required();
    cmd->add_option("--for", s->duration_text, "How long (e.g. 90s, 20m, 1h30m, 7d; default 1d)");
    cmd->add_option("--reason", s->request.reason, "Why (shown by list and explain)");
    registry.add(cmd, [s] {
      return run_simple("ban", *s, [](const json& r) {
        std::printf("banned %s until %s\n", text_of(r, "target").c_str(), text_of(r, "until").c_str());
      });
    });
  }
  {
    auto [s, cmd] =
        make("unban", "Lift a ban now (from the kernel before this returns).", control::Command::Unban);
    cmd->add_option("TARGET", s->target_text, "ADDRESS or ADDRESS/LENGTH, as `list` shows it")->required();
    registry.add(cmd, [s] {
      return run_simple("unban", *s,
                        [](const json& r) { std::printf("unbanned %s\n", text_of(r, "target").c_str()); });
    });
  }
  {
    auto [s, cmd] =
        make("explain",
             "Why an address is banned, or how close it is: its recent events with times and sensors,\n"
             "the strikes per rule, and its escalation history.",
             control::Command::Explain);
    cmd->add_option("ADDRESS", s->target_text, "An IPv4 or IPv6 address")->required();
    registry.add(cmd, [s] { return run_simple("explain", *s, print_explain); });
  }
  {
    auto* allow =
        app.add_subcommand("allow",
                           "The allowlist in force: the configuration's networks plus those added here\n"
                           "(kept across restarts). Changes take effect at once.");
    allow->require_subcommand(1);
    auto add = std::make_shared<Simple>();
    add->request.command = control::Command::AllowAdd;
    auto* add_cmd = allow->add_subcommand("add", "Never ban this address or network; lifts bans it covers.");
    add_common(add_cmd, add->common);
    add_cmd->add_option("CIDR", add->target_text, "ADDRESS or ADDRESS/LENGTH")->required();
    registry.add(add_cmd, [add] {
      return run_simple("allow add", *add, [](const json& r) {
        std::printf(r.value("added", false) ? "allowlisted %s\n" : "%s was already on the allowlist\n",
                    text_of(r, "target").c_str());
      });
    });
    auto remove = std::make_shared<Simple>();
    remove->request.command = control::Command::AllowRemove;
    auto* remove_cmd = allow->add_subcommand(
        "remove",
        "Remove an entry added with `allow add` (entries from the configuration file are edited there).");
    add_common(remove_cmd, remove->common);
    remove_cmd->add_option("CIDR", remove->target_text, "ADDRESS or ADDRESS/LENGTH")->required();
    registry.add(remove_cmd, [remove] {
      return run_simple("allow remove", *remove, [](const json& r) {
        std::printf("removed %s from the allowlist\n", text_of(r, "target").c_str());
      });
    });
    auto list = std::make_shared<Simple>();
    list->request.command = control::Command::AllowList;
    auto* list_cmd = allow->add_subcommand("list", "The allowlist in force and where each entry comes from.");
    add_common(list_cmd, list->common);
    registry.add(list_cmd, [list] {
      return run_simple("allow list", *list, [](const json& r) {
        for (const auto& p : r["configuration"])
          std::printf("%-44s configuration\n", p.get<std::string>().c_str());
        for (const auto& p : r["runtime"])
          std::printf("%-44s strikeout allow add\n", p.get<std::string>().c_str());
        if (r.value("host_addresses", false))
          std::printf("%-44s [allow] host_addresses\n", "(this host's own addresses)");
      });
    });
  }
  {
    auto c = std::make_shared<Common>();
    auto* cmd = app.add_subcommand(
        "watch",
        "Follow attempts, strikes and bans live, one line each (the recipe's tcpdump view\n"
        "without the packets). --json: one JSON object per line.");
    add_common(cmd, *c);
    registry.add(cmd, [c] { return run_watch(*c); });
  }
  {
    auto [s, cmd] = make(
        "reload",
        "Load the configuration file again (as SIGHUP does): bans, history and unchanged rules' windows\n"
        "are kept; a file with errors is refused and the old configuration stays.",
        control::Command::Reload);
    registry.add(cmd, [s] {
      return run_simple("reload", *s, [](const json& r) {
        std::printf("reloaded: %s rules\n", text_of(r, "rules").c_str());
      });
    });
  }
  (void)print_nothing;
}

}  // namespace strikeout::app
