// strikeout: argument parsing and dispatch only. Every command lives in a library; each part adds its
// subcommands through a register_*_commands() function (app/cli.hpp).
//
// Exit codes (docs/cli.md): 0 success; 1 the command failed (unreadable input, configuration errors,
// daemon unreachable); 2 usage error (unknown option, malformed argument).
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "app/cli.hpp"
#include "app/cli_control.hpp"
#include "app/cli_decoy.hpp"
#include "app/cli_import.hpp"
#include "app/cli_wire.hpp"
#include "app/commands.hpp"
#include "app/report_command.hpp"
#include "daemon/daemon.hpp"

namespace {
constexpr int kUsageError = 2;

// replay, check-config, default-config, daemon.
void register_core_commands(CLI::App& app, strikeout::app::CommandRegistry& registry) {
  auto replay = std::make_shared<strikeout::app::ReplayCommand>();
  auto* replay_cmd = app.add_subcommand(
      "replay",
      "Run the engine over mail logs in their own time: what would have been banned, when and why.\n"
      "Plain or gzip files, or '-' for standard input; several files are merged by time.");
  replay_cmd->add_option("--config", replay->config_path,
                         "Configuration file (default: the built-in default configuration)");
  replay_cmd->add_flag("--json", replay->json, "One JSON object per line per decision, then a summary");
  replay_cmd
      ->add_option("--year", replay->year,
                   "Year of the first syslog (RFC 3164) line; default: from each file's modification time")
      ->check(CLI::Range(1970, 9999));
  replay_cmd->add_option("--format", replay->format,
                         "Log format of every file: auto (default), postfix, dovecot, exim, sendmail, "
                         "opensmtpd, courier, cyrus, or a custom matcher's name");
  replay_cmd->add_option("--top", replay->top, "Entries in the summary's top lists (default 10)")
      ->check(CLI::Range(1, 10000));
  replay_cmd
      ->add_option("--jobs,-j", replay->jobs,
                   "Threads decoding log files in parallel (default: one per core); the output is the same "
                   "for every value")
      ->check(CLI::Range(1u, 1024u));
  replay_cmd->add_option("FILE", replay->files, "Log files, or '-' for standard input");
  replay_cmd->add_option("--pcap", replay->pcap_files,
                         "Packet captures (pcap or pcapng) read by the wire sensor, merged with the logs "
                         "by time (repeatable)");
  registry.add(replay_cmd, [replay] {
    if (replay->files.empty() && replay->pcap_files.empty()) {
      std::fprintf(stderr, "strikeout replay: give log files, '-' for standard input, or --pcap FILE\n");
      return kUsageError;
    }
    replay->progress = isatty(STDERR_FILENO) == 1;
    return strikeout::app::run_replay_command(*replay, stdout, stderr);
  });

  auto check_path = std::make_shared<std::string>(strikeout::app::kDefaultConfigPath);
  auto check_json = std::make_shared<bool>(false);
  auto* check_cmd = app.add_subcommand(
      "check-config",
      "Validate a configuration file and report every error at once (FILE:LINE:COLUMN: error: ...).");
  check_cmd->add_option("FILE", *check_path, "Configuration file")->capture_default_str();
  check_cmd->add_flag("--json", *check_json, "Errors as JSON lines");
  registry.add(check_cmd, [check_path, check_json] {
    return strikeout::app::run_check_config(*check_path, *check_json, stdout, stderr);
  });

  auto* default_cmd = app.add_subcommand("default-config", "Print the built-in default configuration.");
  registry.add(default_cmd, [] { return strikeout::app::print_default_config(stdout); });

  auto daemon_options = std::make_shared<strikeout::daemon::DaemonOptions>();
  daemon_options->config_path = strikeout::app::kDefaultConfigPath;
  auto* daemon_cmd = app.add_subcommand(
      "daemon",
      "Protect this server: follow the mail logs, ban offenders in the kernel (nftables table inet "
      "strikeout).\n"
      "Runs in the foreground; SIGHUP reloads the configuration, SIGTERM stops (bans stay in the kernel).");
  auto* daemon_config =
      daemon_cmd->add_option("--config", daemon_options->config_path,
                             "Configuration file (without it, the built-in default is used if "
                             "/etc/strikeout/strikeout.toml does not exist)");
  daemon_cmd->add_option(
      "--positions", daemon_options->positions_path,
      "State file of the log sources' positions (default: 'positions' beside [state] path)");
  daemon_cmd->add_flag("--flush-on-exit", daemon_options->flush_on_exit,
                       "Remove the nftables table and its bans when stopping (also [enforce] flush_on_exit); "
                       "the bans stay in the state store and come back at the next start");
  daemon_cmd->add_flag(
      "--reset-state", daemon_options->reset_state,
      "Move a damaged state database aside (state.db.corrupt-TIME) and start with an empty one");
  registry.add(daemon_cmd, [daemon_options, daemon_config] {
    daemon_options->config_path_given = daemon_config->count() > 0;
    return strikeout::daemon::run_daemon(*daemon_options);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "strikeout: stops password guessing on SMTP AUTH. It reads mail logs (and the wire), counts\n"
      "failed logins per address, network and username in exact sliding windows, and bans offenders\n"
      "in the kernel."};
  app.set_version_flag("--version", std::string("strikeout ") + STRIKEOUT_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success, 1 the command failed, 2 usage error.\n"
      "Run 'strikeout COMMAND --help' for a command's options.");

  strikeout::app::CommandRegistry registry;
  register_core_commands(app, registry);
  strikeout::app::register_control_commands(app, registry);
  strikeout::app::register_decoy_commands(app, registry);
  strikeout::app::register_wire_commands(app, registry);
  strikeout::app::register_report_commands(app, registry);
  strikeout::app::register_import_commands(app, registry);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // also --help and --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsageError;
  }
  return registry.run_parsed();
}
