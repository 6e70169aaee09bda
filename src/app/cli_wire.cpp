#include "app/cli_wire.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "app/export.hpp"
#include "app/probe.hpp"
#include "config/loader.hpp"

namespace strikeout::app {

void register_wire_commands(CLI::App& app, CommandRegistry& registry) {
  auto probe = std::make_shared<ProbeOptions>();
  auto timeout_seconds = std::make_shared<double>(10.0);
  auto no_starttls = std::make_shared<bool>(false);
  auto* probe_cmd = app.add_subcommand(
      "probe",
      "Connect to an SMTP server, try AUTH LOGIN and AUTH PLAIN with a random username and password, and\n"
      "print exactly what it answered and the configuration lines that match it (the recipe's telnet\n"
      "session, automated).");
  probe_cmd->add_option("TARGET", probe->target, "HOST, HOST:PORT or [IPv6]:PORT (port default 587)")
      ->required();
  probe_cmd
      ->add_option("--timeout", *timeout_seconds, "Seconds to wait for the connection and for each reply")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  probe_cmd->add_flag("--json", probe->json, "One JSON object instead of the report");
  probe_cmd->add_flag("--no-starttls", *no_starttls, "Do not try AUTH through STARTTLS");
  probe_cmd->add_option("--helo", probe->helo, "The EHLO name")->capture_default_str();
  probe_cmd->add_option("--username", probe->username, "Username to try (default: a random probe-XXXXXXXX)");
  registry.add(probe_cmd, [probe, timeout_seconds, no_starttls] {
    probe->timeout = std::chrono::milliseconds(static_cast<long long>(*timeout_seconds * 1000.0));
    probe->starttls = !*no_starttls;
    return run_probe(*probe, stdout, stderr);
  });

  auto format = std::make_shared<std::string>();
  auto config_path = std::make_shared<std::string>();
  auto replies = std::make_shared<std::vector<std::string>>();
  auto table = std::make_shared<std::string>("strikeout_export");
  auto* export_cmd = app.add_subcommand(
      "export",
      "Write a ruleset that does what the configuration says with the kernel alone, in the recipe's manner\n"
      "(for hosts that cannot run the daemon). Its limits are written at its top.");
  export_cmd->add_option("FORMAT", *format, "nft or iptables")
      ->required()
      ->check(CLI::IsMember({"nft", "iptables"}));
  export_cmd->add_option("--config", *config_path, "Configuration file (default: the built-in default)");
  export_cmd->add_option("--failure-reply", *replies,
                         "A failure reply to match at the start of a reply line (repeatable; default: 535)");
  export_cmd->add_option("--table", *table, "nft table (family inet) or iptables chain prefix")
      ->capture_default_str();
  registry.add(export_cmd, [format, config_path, replies, table] {
    config::LoadResult loaded =
        config_path->empty() ? config::load_default_config() : config::load_config_file(*config_path);
    if (auto* diagnostics = std::get_if<config::Diagnostics>(&loaded)) {
      for (const auto& d : *diagnostics) std::fprintf(stderr, "%s\n", config::format_diagnostic(d).c_str());
      std::fprintf(stderr, "strikeout export: the configuration has errors; nothing was written\n");
      return 1;
    }
    ExportOptions options;
    options.format = *format == "nft" ? ExportFormat::Nft : ExportFormat::Iptables;
    options.config = std::get<config::Config>(std::move(loaded));
    if (!replies->empty()) options.failure_replies = *replies;
    options.table = *table;
    return run_export(options, stdout, stderr);
  });
}

}  // namespace strikeout::app
