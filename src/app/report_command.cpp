#include "app/report_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <variant>

#include "app/cli_control.hpp"
#include "app/commands.hpp"
#include "app/replay.hpp"
#include "config/loader.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"
#include "report/html_report.hpp"

namespace strikeout::app {

namespace {

constexpr int kFailed = 1;
constexpr int kUsage = 2;

// Feeds replay's events and decisions to the page.
class ReportObserver final : public ReplayObserver {
 public:
  ReportObserver(report::HtmlReport& page, report::ReportSource& source) : page_(page), source_(source) {}
  void on_event(const core::Event& e) override { page_.add_event(e); }
  void on_decision(const core::Decision& d) override { page_.add_decision(d); }
  void on_end(std::uint64_t lines, std::uint64_t with_event, std::uint64_t unrecognised) override {
    source_.lines_read = lines;
    source_.lines_with_event = with_event;
    source_.lines_unrecognised = unrecognised;
  }

 private:
  report::HtmlReport& page_;
  report::ReportSource& source_;
};

std::vector<std::string> campaign_rules(const core::Policy& policy) {
  std::vector<std::string> names;
  for (const auto& rule : policy.rules) {
    if (rule.key == core::KeyKind::Username) names.push_back(rule.name);
  }
  return names;
}

// "2026-11-27T01:49:52Z" or with a fraction, as the daemon writes them (core::format_rfc3339).
std::optional<core::Time> parse_utc(const std::string& text) {
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (std::sscanf(text.c_str(), "%4d-%2u-%2uT%2u:%2u:%2u", &y, &mo, &d, &h, &mi, &s) != 6)
    return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{mo}, std::chrono::day{d}};
  if (!ymd.ok()) return std::nullopt;
  return core::Time{std::chrono::sys_days{ymd}} + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(s);
}

std::string now_text() {
  const auto now = std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now());
  return core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(now));
}

std::optional<nlohmann::json> ask(control::ControlClient& client, control::Command command, std::FILE* err) {
  control::Request request;
  request.id = 1;
  request.command = command;
  auto response = client.call(request);
  if (auto* error = std::get_if<std::string>(&response)) {
    fmt::print(err, "strikeout report: {}\n", *error);
    return std::nullopt;
  }
  const auto& r = std::get<control::Response>(response);
  if (!r.ok) {
    fmt::print(err, "strikeout report: the daemon refused: {}\n", r.error);
    return std::nullopt;
  }
  return r.result;
}

// What the daemon holds now: its sensors' counts (status) and its active bans (list).
int collect_from_daemon(const ReportCommand& command, report::HtmlReport& page, report::ReportSource& source,
                        std::FILE* err) {
  const std::string socket = command.socket.empty() ? std::string(kDefaultControlSocket) : command.socket;
  auto connected = control::ControlClient::connect(socket);
  if (auto* error = std::get_if<std::string>(&connected)) {
    fmt::print(err, "strikeout report: {}\n", *error);
    return kFailed;
  }
  auto& client = std::get<control::ControlClient>(connected);
  auto status = ask(client, control::Command::Status, err);
  if (!status) return kFailed;
  auto list = ask(client, control::Command::List, err);
  if (!list) return kFailed;
  try {
    for (const auto& sensor : status->at("sensors")) {
      page.add_sensor_count(sensor.value("name", std::string("-")), "events",
                            sensor.value("events", std::uint64_t{0}));
    }
    for (const auto& b : list->at("bans")) {
      core::Decision d;
      d.kind = core::DecisionKind::Ban;
      auto target = core::Prefix::parse(b.value("target", std::string()));
      auto since = parse_utc(b.value("since", std::string()));
      auto until = parse_utc(b.value("until", std::string()));
      if (!target || !since || !until) continue;
      d.target = *target;
      d.time = *since;
      d.until = *until;
      d.rule = b.value("rule", std::string());
      d.reason = b.value("reason", std::string());
      d.offence = b.value("offence", std::uint32_t{1});
      d.count = b.value("strikes", std::uint32_t{0});
      page.add_decision(d);
    }
  } catch (const nlohmann::json::exception& e) {
    fmt::print(err, "strikeout report: the daemon's answer is not what this version reads: {}\n", e.what());
    return kFailed;
  }
  source.origin = fmt::format("the daemon at {} (pid {}, configuration {})", socket, status->value("pid", 0),
                              status->value("config", std::string("?")));
  source.notes.push_back(
      "From a running daemon: the bans in force now (over time by when each began) and each sensor's event "
      "count since the daemon started. Failures per address, network and username are not kept by the "
      "daemon; run strikeout report on the mail logs for those.");
  return 0;
}

}  // namespace

int run_report_command(const ReportCommand& command, std::FILE* err) {
  if (command.output.empty()) {
    fmt::print(err, "strikeout report: give the page's file with -o FILE ('-' for standard output)\n");
    return kUsage;
  }
  if (command.from_daemon == (!command.files.empty() || !command.pcap_files.empty())) {
    fmt::print(err, "strikeout report: give log files (or --pcap FILE), or --from-daemon, not both\n");
    return kUsage;
  }
  const bool use_etc =
      command.config_path.empty() && command.from_daemon && access(kDefaultConfigPath, R_OK) == 0;
  const std::string config_path = use_etc ? std::string(kDefaultConfigPath) : command.config_path;
  config::LoadResult loaded =
      config_path.empty() ? config::load_default_config() : config::load_config_file(config_path);
  if (auto* diagnostics = std::get_if<config::Diagnostics>(&loaded)) {
    for (const auto& d : *diagnostics) fmt::print(err, "{}\n", config::format_diagnostic(d));
    fmt::print(err, "strikeout report: the configuration has errors; no report was written\n");
    return kFailed;
  }
  const auto& cfg = std::get<config::Config>(loaded);

  report::HtmlReport page(campaign_rules(cfg.policy), command.top);
  report::ReportSource source;
  source.title = command.title;
  source.generated = now_text();
  if (command.from_daemon) {
    if (const int status = collect_from_daemon(command, page, source, err); status != 0) return status;
  } else {
    ReportObserver observer(page, source);
    ReplayOptions options;
    options.policy = cfg.policy;
    options.files = command.files;
    options.year = command.year;
    options.format = command.format;
    options.custom = cfg.matchers;
    options.zone = cfg.logs.timezone;
    options.pcap_files = command.pcap_files;
    options.ports = cfg.ports;
    options.implicit_tls_ports = cfg.wire.implicit_tls_ports;
    options.failure_replies = cfg.wire.failure_replies;
    options.observer = &observer;
    if (run_replay(options, stdout, err) != 0) {
      fmt::print(err, "strikeout report: no report was written\n");
      return kFailed;
    }
    std::string inputs;
    for (const auto& f : command.files) inputs += (inputs.empty() ? "" : ", ") + f;
    for (const auto& f : command.pcap_files) inputs += (inputs.empty() ? "" : ", ") + f;
    source.origin = fmt::format("replay of {} ({} lines, {} with an event, {} not recognised)", inputs,
                                source.lines_read, source.lines_with_event, source.lines_unrecognised);
  }

  const std::string page_text = page.render(source);
  if (command.output == "-") {
    std::fwrite(page_text.data(), 1, page_text.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : kFailed;
  }
  // Written beside the target and renamed, so a reader never sees half a page.
  const std::string tmp = command.output + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    fmt::print(err, "strikeout report: cannot write {}: {}\n", tmp, std::strerror(errno));
    return kFailed;
  }
  const bool written = std::fwrite(page_text.data(), 1, page_text.size(), f) == page_text.size();
  if (std::fclose(f) != 0 || !written || std::rename(tmp.c_str(), command.output.c_str()) != 0) {
    fmt::print(err, "strikeout report: cannot write {}: {}\n", command.output, std::strerror(errno));
    std::remove(tmp.c_str());
    return kFailed;
  }
  fmt::print(err, "strikeout report: wrote {} ({} bytes; {} auth failures, {} bans)\n", command.output,
             page_text.size(), page.failures(), page.bans());
  return 0;
}

void register_report_commands(CLI::App& app, CommandRegistry& registry) {
  auto c = std::make_shared<ReportCommand>();
  auto* cmd = app.add_subcommand(
      "report",
      "Write one self-contained HTML page: failures, strikes and bans over time, top addresses, networks\n"
      "and usernames, campaigns, sensors, bans by rule and length. From mail logs (through the same\n"
      "engine as replay) or from the running daemon (--from-daemon). The page loads nothing from anywhere.");
  cmd->add_option("-o,--output", c->output, "The HTML file to write ('-' for standard output)")->required();
  cmd->add_option("--config", c->config_path,
                  "Configuration file (default: the built-in default; with --from-daemon, " +
                      std::string(kDefaultConfigPath) + " when readable)");
  cmd->add_option("--year", c->year,
                  "Year of the first syslog (RFC 3164) line; default: from each file's mtime")
      ->check(CLI::Range(1970, 9999));
  cmd->add_option("--format", c->format, "Log format of every file (as replay's --format)");
  cmd->add_option("--top", c->top, "Entries in each top list (default 10)")->check(CLI::Range(1, 1000));
  cmd->add_option("--title", c->title, "The page's title");
  cmd->add_option("--pcap", c->pcap_files, "Packet captures read by the wire sensor (repeatable)");
  cmd->add_flag("--from-daemon", c->from_daemon,
                "Ask the running daemon (control socket) instead of reading logs");
  cmd->add_option("--socket", c->socket,
                  std::string("The daemon's control socket (default ") + kDefaultControlSocket + ")");
  cmd->add_option("FILE", c->files, "Log files, or '-' for standard input");
  registry.add(cmd, [c] { return run_report_command(*c, stderr); });
}

}  // namespace strikeout::app
