// `strikeout report`: one self-contained HTML page (docs/report.md), from logs through replay's engine
// or from the running daemon's state (--from-daemon).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "app/cli.hpp"

namespace strikeout::app {

struct ReportCommand {
  std::string config_path;  // empty: the built-in default configuration (or /etc's with --from-daemon)
  std::optional<int> year;
  std::string format = "auto";
  std::size_t top = 10;
  std::vector<std::string> files;
  std::vector<std::string> pcap_files;
  std::string output;  // the HTML file; "-" for standard output
  std::string title = "strikeout report";
  bool from_daemon = false;
  std::string socket;  // --from-daemon: the control socket
};

// Writes the page; errors to `err`. Exit code 0, 1 (input or daemon unreadable), 2 (usage).
int run_report_command(const ReportCommand& command, std::FILE* err);

void register_report_commands(CLI::App& app, CommandRegistry& registry);

}  // namespace strikeout::app
