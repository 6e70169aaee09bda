#include "app/commands.hpp"

#include <fmt/format.h>

#include <variant>

#include "app/replay.hpp"
#include "report/text_escape.hpp"
#include "config/loader.hpp"

namespace strikeout::app {

using report::append_json_escaped;

namespace {

void print_diagnostics(const config::Diagnostics& diagnostics, std::FILE* err) {
  for (const auto& d : diagnostics) fmt::print(err, "{}\n", config::format_diagnostic(d));
}

}  // namespace

int run_replay_command(const ReplayCommand& command, std::FILE* out, std::FILE* err) {
  config::LoadResult loaded = command.config_path.empty() ? config::load_default_config()
                                                          : config::load_config_file(command.config_path);
  if (auto* diagnostics = std::get_if<config::Diagnostics>(&loaded)) {
    print_diagnostics(*diagnostics, err);
    fmt::print(err, "strikeout replay: the configuration has {} error{}; nothing was replayed\n",
               diagnostics->size(), diagnostics->size() == 1 ? "" : "s");
    return 1;
  }
  const auto& cfg = std::get<config::Config>(loaded);
  ReplayOptions options;
  options.policy = cfg.policy;
  options.files = command.files;
  options.json = command.json;
  options.year = command.year;
  options.format = command.format;
  options.custom = cfg.matchers;
  options.zone = cfg.logs.timezone;
  options.progress = command.progress;
  options.jobs = command.jobs;
  options.top = command.top;
  options.pcap_files = command.pcap_files;
  options.ports = cfg.ports;
  options.implicit_tls_ports = cfg.wire.implicit_tls_ports;
  options.failure_replies = cfg.wire.failure_replies;
  return run_replay(options, out, err);
}

int run_check_config(const std::string& path, bool json, std::FILE* out, std::FILE* err) {
  const config::Diagnostics diagnostics = config::check_config(path);
  if (json) {
    for (const auto& d : diagnostics) {
      std::string line = "{\"file\":\"";
      append_json_escaped(line, d.file);
      line += fmt::format("\",\"line\":{},\"column\":{},\"key\":\"", d.line, d.column);
      append_json_escaped(line, d.key);
      line += "\",\"message\":\"";
      append_json_escaped(line, d.message);
      line += "\"}\n";
      std::fputs(line.c_str(), out);
    }
  } else {
    print_diagnostics(diagnostics, err);
    if (diagnostics.empty()) {
      fmt::print(out, "{}: configuration is valid\n", path);
    } else {
      fmt::print(err, "{}: {} error{}\n", path, diagnostics.size(), diagnostics.size() == 1 ? "" : "s");
    }
  }
  return diagnostics.empty() ? 0 : 1;
}

int print_default_config(std::FILE* out) {
  const std::string_view text = config::default_config_text();
  std::fwrite(text.data(), 1, text.size(), out);
  return 0;
}

}  // namespace strikeout::app
