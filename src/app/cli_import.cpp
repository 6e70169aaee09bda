#include "app/cli_import.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <variant>

#include "app/fail2ban_import.hpp"
#include "config/loader.hpp"

namespace strikeout::app {

namespace {

struct ImportOptions {
  std::string dir = "/etc/fail2ban";
  std::string output;  // empty: standard output
  bool force = false;
  bool json = false;
};

int run_import_fail2ban(const ImportOptions& options, std::FILE* out, std::FILE* err) {
  fail2ban::ImportResult result = fail2ban::import_fail2ban(options.dir);
  if (result.errors.empty()) {
    // What is written must be what check-config accepts; anything else is strikeout's own bug.
    config::LoadResult loaded = config::load_config(result.toml, "<imported>");
    if (auto* diagnostics = std::get_if<config::Diagnostics>(&loaded)) {
      for (const auto& d : *diagnostics) fmt::print(err, "{}\n", config::format_diagnostic(d));
      fmt::print(err,
                 "strikeout import fail2ban: the configuration it wrote does not load (a bug in strikeout); "
                 "nothing was written\n");
      return 1;
    }
  }
  if (!result.errors.empty()) {
    if (options.json) {
      std::fputs(fail2ban::format_json(result).c_str(), out);
    } else {
      std::fputs(fail2ban::format_report(result).c_str(), err);
      fmt::print(err, "strikeout import fail2ban: nothing was written\n");
    }
    return 1;
  }
  if (!options.output.empty()) {
    std::error_code ec;
    if (!options.force && std::filesystem::exists(options.output, ec)) {
      fmt::print(err, "strikeout import fail2ban: {} exists; give --force to replace it\n", options.output);
      return 1;
    }
    std::ofstream file(options.output, std::ios::binary | std::ios::trunc);
    file << result.toml;
    file.close();
    if (!file) {
      fmt::print(err, "strikeout import fail2ban: cannot write {}\n", options.output);
      return 1;
    }
  }
  if (options.json) {
    std::fputs(fail2ban::format_json(result).c_str(), out);
  } else {
    if (options.output.empty()) std::fputs(result.toml.c_str(), out);
    std::fputs(fail2ban::format_report(result).c_str(), err);
    if (!options.output.empty()) {
      fmt::print(err, "wrote {}; check it with: strikeout check-config {}\n", options.output, options.output);
    }
  }
  return 0;
}

}  // namespace

void register_import_commands(CLI::App& app, CommandRegistry& registry) {
  auto* import_cmd = app.add_subcommand("import", "Bring another tool's configuration over to strikeout.");
  import_cmd->require_subcommand(1);
  auto options = std::make_shared<ImportOptions>();
  auto* fail2ban_cmd = import_cmd->add_subcommand(
      "fail2ban",
      "Read fail2ban's jail.conf, jail.d/*.conf, jail.local, jail.d/*.local and the filters of the enabled "
      "mail\n"
      "jails, and write the strikeout.toml that does the same: maxretry/findtime/bantime/bantime.increment "
      "as\n"
      "rules, ignoreip as the allowlist, built-in matchers where strikeout has them, custom failregex "
      "translated\n"
      "to RE2 where the translation is exact. Everything not carried over is reported with the reason.\n"
      "The configuration goes to standard output (or --output), the report to standard error.");
  fail2ban_cmd->add_option("DIR", options->dir, "fail2ban's configuration directory")->capture_default_str();
  fail2ban_cmd->add_option("--output,-o", options->output, "Write the configuration to FILE");
  fail2ban_cmd->add_flag("--force", options->force, "Replace FILE if it exists");
  fail2ban_cmd->add_flag("--json", options->json,
                         "One JSON object on standard output: files read, jails, notes, errors and the "
                         "configuration");
  registry.add(fail2ban_cmd, [options] { return run_import_fail2ban(*options, stdout, stderr); });
}

}  // namespace strikeout::app
