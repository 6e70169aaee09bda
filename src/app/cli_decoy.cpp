#include "app/cli_decoy.hpp"

#include <asio.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>

#include "app/commands.hpp"
#include "config/loader.hpp"
#include "decoy/report.hpp"
#include "decoy/records.hpp"
#include "decoy/supervisor.hpp"

namespace strikeout::app {
namespace {

struct DecoyCommand {
  std::string config_path;
  bool config_given = false;
  bool json = false;
  std::size_t top = 10;
};

// The configuration the daemon would use: --config FILE, else /etc/strikeout/strikeout.toml, else the
// built-in default. Prints the diagnostics and returns nullopt when it has errors.
std::optional<config::Config> load(const DecoyCommand& c, std::FILE* err) {
  config::LoadResult loaded;
  std::error_code ec;
  if (!c.config_given && !std::filesystem::exists(c.config_path, ec)) {
    loaded = config::load_default_config();
  } else {
    loaded = config::load_config_file(c.config_path);
  }
  if (auto* diagnostics = std::get_if<config::Diagnostics>(&loaded)) {
    for (const auto& d : *diagnostics) std::fprintf(err, "%s\n", config::format_diagnostic(d).c_str());
    return std::nullopt;
  }
  return std::get<config::Config>(std::move(loaded));
}

core::Time now() {
  return std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now());
}

// Standalone, nobody is banned: each attempt is one line on standard output.
class PrintAttempts final : public decoy::AttemptSink {
 public:
  void on_attempt(const decoy::AuthAttempt& a) override {
    const char* outcome = !a.has_credentials ? "no password" : a.accepted ? "FAKE SUCCESS" : "refused";
    std::printf("%s decoy %s %s AUTH %s user %s: %s\n", core::format_rfc3339(a.time).c_str(),
                decoy::kModeNames[static_cast<std::size_t>(a.mode)], a.source.to_string().c_str(),
                decoy::kMechanismNames[static_cast<std::size_t>(a.mechanism)],
                decoy::escape_field(a.user).c_str(), outcome);
    std::fflush(stdout);
  }
};

int run_serve(const DecoyCommand& c) {
  auto cfg = load(c, stderr);
  if (!cfg) return 1;
  if (!cfg->decoy.enabled) {
    std::fprintf(stderr, "strikeout decoy serve: [decoy] enabled = false in %s\n", cfg->origin.c_str());
    return 1;
  }
  auto secret = decoy::load_or_create_secret(cfg->decoy.secret);
  if (auto* error = std::get_if<std::string>(&secret)) {
    std::fprintf(stderr, "strikeout decoy serve: %s\n", error->c_str());
    return 1;
  }
  // Block the signals before the workers are forked; each worker restores their default action.
  asio::io_context io;
  asio::signal_set signals(io, SIGTERM, SIGINT);
  auto started = decoy::Supervisor::start(cfg->decoy, std::get<decoy::DecoySecret>(secret));
  if (auto* error = std::get_if<std::string>(&started)) {
    std::fprintf(stderr, "strikeout decoy serve: %s\n", error->c_str());
    return 1;
  }
  auto supervisor = std::move(std::get<0>(started));
  std::fprintf(
      stderr, "decoy listening on port %u, mode %s, %llu workers, up to %u connections\n",
      static_cast<unsigned>(cfg->decoy.port), decoy::kModeNames[static_cast<std::size_t>(cfg->decoy.mode)],
      static_cast<unsigned long long>(supervisor->counters().workers_running), cfg->decoy.max_connections);
  PrintAttempts printer;
  asio::posix::stream_descriptor events(io, ::dup(supervisor->event_fd()));
  std::function<void()> arm = [&] {
    events.async_wait(asio::posix::stream_descriptor::wait_read, [&](const asio::error_code& ec) {
      if (ec) return;
      supervisor->handle_events(printer);
      arm();
    });
  };
  arm();
  asio::steady_timer tick(io);
  std::function<void()> on_tick = [&] {
    for (const auto& problem : supervisor->tick(now())) std::fprintf(stderr, "%s\n", problem.c_str());
    tick.expires_after(std::chrono::seconds(1));
    tick.async_wait([&](const asio::error_code& ec) {
      if (!ec) on_tick();
    });
  };
  on_tick();
  signals.async_wait([&](const asio::error_code& ec, int) {
    if (ec) return;
    events.cancel();
    tick.cancel();
    io.stop();
  });
  io.run();
  supervisor.reset();  // stops the workers and writes the last counters
  return 0;
}

int run_report(const DecoyCommand& c) {
  auto cfg = load(c, stderr);
  if (!cfg) return 1;
  std::string error;
  const decoy::DecoyReport report = decoy::read_report(cfg->decoy, c.top, error);
  if (!error.empty()) {
    std::fprintf(stderr, "strikeout decoy report: %s\n", error.c_str());
    return 1;
  }
  if (c.json) {
    decoy::print_report_json(report, stdout);
  } else {
    decoy::print_report_text(report, stdout);
  }
  return 0;
}

}  // namespace

void register_decoy_commands(CLI::App& app, CommandRegistry& registry) {
  auto* decoy = app.add_subcommand(
      "decoy", "The decoy SMTP server that tarpitted sources are redirected to (docs/decoy.md).");
  decoy->require_subcommand(1);

  auto serve = std::make_shared<DecoyCommand>();
  serve->config_path = kDefaultConfigPath;
  auto* serve_cmd = decoy->add_subcommand(
      "serve",
      "Run the decoy's workers alone, without the daemon (the daemon starts them itself): each AUTH attempt\n"
      "is printed and recorded; nobody is banned. SIGTERM or SIGINT stops.");
  auto* serve_config =
      serve_cmd->add_option("--config", serve->config_path,
                            "Configuration file (default /etc/strikeout/strikeout.toml, else the "
                            "built-in default)");
  registry.add(serve_cmd, [serve, serve_config] {
    serve->config_given = serve_config->count() > 0;
    return run_serve(*serve);
  });

  auto report = std::make_shared<DecoyCommand>();
  report->config_path = kDefaultConfigPath;
  auto* report_cmd = decoy->add_subcommand(
      "report",
      "What the decoy has held and learnt: connections held, attackers' time wasted, bytes sent, AUTH\n"
      "attempts, fake successes given, top usernames and top passwords (by salted hash).");
  auto* report_config = report_cmd->add_option("--config", report->config_path, "Configuration file");
  report_cmd->add_flag("--json", report->json, "One JSON object");
  report_cmd->add_option("--top", report->top, "Entries in the top lists (default 10)")
      ->check(CLI::Range(1, 10000));
  registry.add(report_cmd, [report, report_config] {
    report->config_given = report_config->count() > 0;
    return run_report(*report);
  });
}

}  // namespace strikeout::app
