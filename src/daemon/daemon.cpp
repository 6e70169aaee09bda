#include "daemon/daemon.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <asio.hpp>
#include <algorithm>
#include <functional>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/loader.hpp"
#include "control/allowlist_file.hpp"
#include "control/recent_activity.hpp"
#include "control/server.hpp"
#include "core/clock.hpp"
#include "core/engine.hpp"
#include "core/engine_state.hpp"
#include "daemon/control_handlers.hpp"
#include "daemon/decision_fanout.hpp"
#include "daemon/enforcer.hpp"
#include "daemon/event_router.hpp"
#include "daemon/log_sensors.hpp"
#include "daemon/reports.hpp"
#include "daemon/start_up.hpp"
#include "daemon/store_sync.hpp"
#include "daemon/webhook_sinks.hpp"
#include "daemon/wire_sensors.hpp"
#include "decoy/daemon_link.hpp"
#include "enforce/nft_firewall.hpp"
#include "metrics/daemon_metrics.hpp"
#include "metrics/server.hpp"
#include "sources/position_file.hpp"
#include "store/sqlite_store.hpp"

namespace strikeout::daemon {

namespace {

// Wall time for the daemon's parts; tests give them a core::FakeClock instead.
class SystemClock final : public core::Clock {
 public:
  core::Time now() const override {
    return std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now());
  }
};

// The loop's heartbeat: bans due end, the firewall retries, sources wake, the watchdog is fed.
constexpr auto kTick = std::chrono::milliseconds(250);

}  // namespace

class Daemon::Impl final : public DaemonView {
 public:
  Impl(DaemonOptions options, Environment env)
      : options_(std::move(options)),
        env_(std::move(env)),
        clock_(env_.clock != nullptr ? *env_.clock : system_clock_) {}

  // Everything before the loop; 0, or 1 when start-up failed (the reason is logged).
  int start();
  void on_tick();
  void stop();
  void decoy_attempt(const core::Event& e) {
    router_->burst_started();
    router_->deliver(decoy_sensor_, e);
    router_->burst_done();
  }
  control::Reply control(const control::Request& request) {
    control::Peer root;
    root.admin = true;
    return handlers_->handle(request, root);
  }
  asio::io_context& io() { return io_; }
  bool stopping() const { return stopping_; }

  // DaemonView: what the control commands see.
  core::Time now() const override { return clock_.now(); }
  const config::Config& config() const override { return *cfg_; }
  core::Engine& engine() override { return *engine_; }
  core::DecisionSink& decisions() override { return fanout_; }
  Enforcer& enforcer() override { return *enforcer_; }
  const control::RecentActivity& recent() const override { return *recent_; }
  RuntimeAllowlist& runtime_allowlist() override { return runtime_allow_; }
  core::Status apply_allowlist() override;
  core::Status commit_state_now() override { return store_sync_->commit_now(); }
  core::Result<std::size_t> reload() override;
  void describe(nlohmann::json& status) override;

 private:
  // The engine's policy: the configuration's plus the runtime allowlist, with the daemon's hash seed.
  core::Policy effective_policy(const config::Config& cfg) const;
  std::vector<core::Prefix> effective_allowlist(const config::Config& cfg) const;
  // For bans known by their rule's name (restored, adopted): the engine's own tarpit choice.
  bool sends_to_decoy(const std::string& rule, core::RuleAction action, std::uint32_t offence) const {
    return core::tarpit_choice(cfg_->policy, core::find_rule(cfg_->policy, rule), action, offence)
        .has_value();
  }
  std::optional<config::Config> load_config();
  bool open_store();
  bool take_saved_state();
  bool start_firewall();
  void wire_parts();
  bool start_control_and_metrics();

 public:
  std::string render_metrics();

 private:
  void sample_store_commit();
  void sample_rates();

  DaemonOptions options_;
  Environment env_;
  SystemClock system_clock_;
  const core::Clock& clock_;
  asio::io_context io_;
  asio::signal_set signals_{io_};
  std::function<void(const asio::error_code&, int)> on_signal_;
  asio::steady_timer tick_{io_};
  std::unique_ptr<config::Config> cfg_;
  std::unique_ptr<core::Engine> engine_;
  std::unique_ptr<store::SqliteStore> store_;
  std::optional<core::LoadedState> loaded_state_;  // read at start, until the engine takes it
  std::unique_ptr<core::Firewall> firewall_;

  // The parts (docs/architecture.md): the sensors deliver through router_; the engine's decisions go
  // to fanout_'s sinks in order.
  metrics::DaemonMetrics metrics_;
  std::unique_ptr<control::RecentActivity> recent_;
  std::unique_ptr<StoreSync> store_sync_;
  std::unique_ptr<WatchStream> watch_;
  std::unique_ptr<LogLines> log_lines_;
  std::unique_ptr<Enforcer> enforcer_;
  std::unique_ptr<decoy::DaemonLink> decoy_;  // null when no rule sends anyone to the decoy
  std::unique_ptr<WebhookSinks> webhooks_;    // [[webhook]] (none configured: an empty list)
  DecisionFanout fanout_;
  std::unique_ptr<EventRouter> router_;
  std::unique_ptr<LogSensors> logs_;
  std::unique_ptr<WireSensors> wire_;
  Sensor decoy_sensor_{"decoy"};
  std::unique_ptr<ControlHandlers> handlers_;
  std::unique_ptr<control::ControlServer> control_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;

  // Store commit durations, sampled: the writer thread publishes the last commit's duration, read on
  // every tick and every scrape (commits come every <= 100 ms, ticks every 250 ms: a sample, not all).
  metrics::Histogram store_commit_{{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0}};
  std::uint64_t store_commits_seen_ = 0;
  RuntimeAllowlist runtime_allow_;
  std::uint64_t hash_seed_ = 0;
  core::Time started_{};
  bool stopping_ = false;
  bool running_ = false;                         // start() went through
  std::vector<std::string> warnings_;            // for status: what the operator should know
  std::vector<std::string> last_config_errors_;  // the last load's diagnostics (reload's answer)
  std::chrono::steady_clock::time_point last_rate_sample_{};
  std::uint64_t reloads_ = 0;
  std::uint64_t reload_failures_ = 0;
};

std::optional<config::Config> Daemon::Impl::load_config() {
  config::LoadResult loaded;
  std::error_code ec;
  if (!options_.config_path_given && !std::filesystem::exists(options_.config_path, ec)) {
    spdlog::info("{} does not exist: using the built-in default configuration", options_.config_path);
    loaded = config::load_default_config();
  } else {
    loaded = config::load_config_file(options_.config_path);
  }
  last_config_errors_.clear();
  if (auto* diagnostics = std::get_if<config::Diagnostics>(&loaded)) {
    for (const auto& d : *diagnostics) {
      last_config_errors_.push_back(config::format_diagnostic(d));
      spdlog::error("{}", last_config_errors_.back());
    }
    return std::nullopt;
  }
  return std::get<config::Config>(std::move(loaded));
}

bool Daemon::Impl::start_firewall() {
  auto options = firewall_options(*cfg_);
  options.allowlist = effective_allowlist(*cfg_);
  for (const auto& problem : enforce::validate(options)) spdlog::error("[enforce]: {}", problem);
  std::string error;
  if (env_.open_firewall) {
    auto opened = env_.open_firewall(options, now());
    if (!opened)
      error = opened.error();
    else
      firewall_ = std::move(*opened);
  } else {
    firewall_ = enforce::NftFirewall::open(options, now(), error);
  }
  if (!firewall_) {
    spdlog::error("cannot set up the nftables table inet {}: {}", cfg_->enforce.table, error);
    return false;
  }
  enforcer_ = std::make_unique<Enforcer>(
      *firewall_, cfg_->enforce.table, clock_, metrics_,
      [this](const std::string& rule, core::RuleAction action, std::uint32_t offence) {
        return sends_to_decoy(rule, action, offence);
      });
  return true;
}

// The decision sinks in their order (decision_fanout.hpp says why it matters) and the one event path.
void Daemon::Impl::wire_parts() {
  fanout_.add(*store_sync_);
  fanout_.add(metrics_);
  fanout_.add(*recent_, DecisionFanout::During::LiveOnly);
  fanout_.add(*watch_, DecisionFanout::During::LiveOnly);
  fanout_.add(*log_lines_, DecisionFanout::During::LiveOnly);
  fanout_.add(*enforcer_);
  if (decoy_) fanout_.add(*decoy_);
  fanout_.add(*webhooks_, DecisionFanout::During::LiveOnly);  // adopted bans are not news to a receiver
  router_ = std::make_unique<EventRouter>(
      EventRouter::Parts{*engine_, fanout_, *enforcer_, *store_sync_, metrics_, *recent_, *watch_});
  logs_ = std::make_unique<LogSensors>(io_, *router_, clock_, warnings_);
  wire_ = std::make_unique<WireSensors>(io_, *router_, warnings_);
  store_sync_->read_positions_from(*logs_);
  router_->enrol(decoy_sensor_);
}

void Daemon::Impl::on_tick() {
  const auto t = now();
  sample_store_commit();
  engine_->advance(t, fanout_);
  enforcer_->flush();
  logs_->on_tick(t);
  wire_->on_tick(t);
  sample_rates();
  sd_notify(0, "WATCHDOG=1");
  tick_.expires_after(kTick);
  tick_.async_wait([this](const asio::error_code& ec) {
    if (!ec && !stopping_) on_tick();
  });
}

core::Result<std::size_t> Daemon::Impl::reload() {
  sd_notify(0, "RELOADING=1");
  spdlog::info("reloading {}", options_.config_path);
  auto fresh = load_config();
  if (!fresh) {
    spdlog::error("reload refused: the new configuration has errors; the old one stays in force");
    ++reload_failures_;
    sd_notify(0, "READY=1");
    std::string message =
        "reload refused: " + options_.config_path + " has errors; the old configuration stays in force";
    for (const auto& e : last_config_errors_) message += "\n  " + e;
    return core::Failure{message};
  }
  // The webhooks first: a secret file that cannot be read refuses the whole reload, before anything
  // else changed (never a half-applied configuration).
  if (auto hooks = webhooks_->reload(fresh->webhooks, effective_policy(*fresh)); !hooks) {
    spdlog::error("reload refused: {}; the old configuration stays in force", hooks.error());
    ++reload_failures_;
    sd_notify(0, "READY=1");
    return core::Failure{"reload refused: " + hooks.error() + "; the old configuration stays in force"};
  }
  // The engine takes the new rules and allowlist: bans, offence history and the windows of rules
  // that kept their name and settings carry over; bans the new allowlist covers are lifted.
  engine_->reload(effective_policy(*fresh), now(), fanout_);
  // Windows of changed rules were dropped: the store takes the whole state again (off the loop).
  store_sync_->replace_all();
  const auto result = firewall_->set_allowlist(effective_allowlist(*fresh));
  if (!result) spdlog::error("reload: the kernel allowlist could not be replaced: {}", result.error);
  if (fresh->ports != cfg_->ports || fresh->enforce.table != cfg_->enforce.table) {
    spdlog::warn("reload: protected ports and the table name take effect at the next restart");
  }
  if (fresh->wire != cfg_->wire) {
    // The captures were opened with privileges the daemon no longer has (and CAP_NET_RAW is kept
    // only when the wire ran at start): they stay as they are until the next restart.
    spdlog::warn(
        "reload: [wire] settings take effect at the next restart; the running captures keep the old ones");
  }
  *cfg_ = std::move(*fresh);
  log_lines_->set_policy(engine_->policy());
  watch_->set_policy(engine_->policy());
  enforcer_->flush();
  spdlog::info("reloaded: {} rules, {} allowlisted networks", cfg_->policy.rules.size(),
               cfg_->policy.allowlist.size());
  ++reloads_;
  sd_notify(0, "READY=1");
  return cfg_->policy.rules.size();
}

void Daemon::Impl::stop() {
  if (stopping_ || !running_) return;  // stopped already, or never started
  stopping_ = true;
  sd_notify(0, "STOPPING=1");
  const bool remove_bans = options_.flush_on_exit || (cfg_ && cfg_->enforce.flush_on_exit);
  if (!remove_bans) {
    spdlog::info("stopping; {} bans stay in the kernel until their timeouts",
                 engine_ ? engine_->stats().active_bans : 0);
  }
  enforcer_->flush();
  if (auto saved = commit_state_now(); !saved) spdlog::error("saving the state at stop: {}", saved.error());
  if (remove_bans) {
    // The operator wants no ban to outlive the daemon: our table goes, and nothing else. The bans stay
    // in the store, so the next start puts them back.
    enforcer_->stop_watching();  // our own deletion is not a "table gone" to repair
    if (auto removed = firewall_->remove_table(); removed) {
      spdlog::info("stopping; removed the nftables table inet {} with its {} bans (flush on exit)",
                   cfg_->enforce.table, engine_ ? engine_->stats().active_bans : 0);
    } else {
      spdlog::error("flush on exit: {}", removed.error());
    }
  }
  control_.reset();  // removes the socket: a CLI now says the daemon is not running
  watch_->publish_to(nullptr);
  metrics_server_.reset();
  signals_.cancel();
  tick_.cancel();
  decoy_.reset();  // stops the decoy's workers
  store_sync_->stop();
  logs_->stop();
  wire_->stop();
  enforcer_->stop_watching();
  io_.stop();
}

int Daemon::Impl::start() {
  if (env_.process) setup_logging();
  auto cfg = load_config();
  if (!cfg) {
    spdlog::error("not started: the configuration {} has errors", options_.config_path);
    return 1;
  }
  cfg_ = std::make_unique<config::Config>(std::move(*cfg));
  started_ = now();
  hash_seed_ = random_seed();
  if (!open_store()) return 1;  // may take the saved seed instead: saved windows and reports use it
  recent_ = std::make_unique<control::RecentActivity>(16384, 32, hash_seed_ ^ 0x9e3779b97f4a7c15ULL);
  // Runtime allowlist entries (`strikeout allow add`) live beside the state until the store keeps them.
  runtime_allow_.file = cfg_->state.path.parent_path() / "allowlist";
  {
    auto loaded_allow = control::load_allowlist_file(runtime_allow_.file);
    if (auto* error = std::get_if<std::string>(&loaded_allow)) {
      spdlog::error("not started: {}", *error);
      return 1;
    }
    runtime_allow_.entries = std::get<0>(std::move(loaded_allow));
  }
  engine_ = std::make_unique<core::Engine>(effective_policy(*cfg_));
  store_sync_ = std::make_unique<StoreSync>(*store_, *engine_);
  log_lines_ = std::make_unique<LogLines>(engine_->policy());
  watch_ = std::make_unique<WatchStream>(*engine_, engine_->policy());
  if (!take_saved_state()) return 1;

  // The decoy's workers are forked before the firewall and the sources are opened (they keep none
  // of the daemon's descriptors anyway); each AUTH attempt they see is an event like a log line's,
  // through the same path.
  auto decoy_link = decoy::DaemonLink::start(
      io_, cfg_->decoy, cfg_->policy, [this](const core::Event& e) { decoy_attempt(e); },
      [](const std::string& problem) { spdlog::warn("{}", problem); });
  if (auto* error = std::get_if<std::string>(&decoy_link)) {
    spdlog::error("not started: {}", *error);
    return 1;
  }
  decoy_ = std::move(std::get<0>(decoy_link));
  // The webhooks' threads start after the decoy's workers were forked (no thread crosses a fork).
  auto webhooks = WebhookSinks::start(cfg_->webhooks, engine_->policy());
  if (!webhooks) {
    spdlog::error("not started: {}", webhooks.error());
    return 1;
  }
  webhooks_ = std::move(*webhooks);
  if (!start_firewall()) return 1;
  wire_parts();
  if (!logs_->open(*cfg_, *store_)) return 1;
  if (!wire_->open(*cfg_, !logs_->empty())) return 1;
  // Lines after the saved positions are read again first: the bans they make again are then the
  // engine's own, and only what is left in the kernel beyond them is taken over (docs/state.md).
  logs_->catch_up();
  enforcer_->flush();
  enforcer_->reconcile(*engine_, fanout_, [this](bool adopting) { fanout_.set_adopting(adopting); });
  enforcer_->watch(io_, *engine_);
  // Where reading starts is on disk before anything else happens: a first start begins at the end of
  // each log, and a crash before the first commit must resume there, not at the then end.
  if (auto saved = commit_state_now(); !saved) {
    spdlog::error("not started: {}", saved.error());
    return 1;
  }
  if (!start_control_and_metrics()) return 1;
  // Everything that needs root is open: keep only what nftables needs (docs/cli.md, "Running as a
  // service"), and CAP_NET_RAW while a wire capture runs (its packet socket is open already; the
  // capability is kept so that a capture can be reopened without a restart).
  if (env_.process) {
    for (const auto& problem : drop_privileges(!wire_->empty())) spdlog::info("privileges: {}", problem);
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.add(SIGHUP);
    on_signal_ = [this](const asio::error_code& e, int sig) {
      if (e) return;
      if (sig == SIGHUP) {
        (void)reload();
        signals_.async_wait(on_signal_);
      } else {
        spdlog::info("signal {} received", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        stop();
      }
    };
    signals_.async_wait(on_signal_);
  }
  on_tick();
  store_sync_->start(io_);

  spdlog::info("strikeout started: {} rules, {} sources, protecting ports {}", cfg_->policy.rules.size(),
               logs_->size() + wire_->size(), fmt::join(cfg_->ports, ","));
  running_ = true;
  sd_notify(0, "READY=1");
  return 0;
}

// ---- state store (docs/state.md) ----

// Opens [state] path, reads it whole (loaded_state_) and takes its hash seed. A damaged, foreign or
// newer database stops the start with a message naming it, unless --reset-state was given: then it
// is moved aside (PATH.corrupt-TIME) and an empty one is started. Never a silent empty start.
bool Daemon::Impl::open_store() {
  const std::string path = cfg_->state.path.string();
  std::error_code ec;
  // A state directory the daemon makes itself is root's and its group's, whatever the umask (the unit's
  // StateDirectoryMode=0750 says the same when systemd makes it).
  if (std::filesystem::create_directories(cfg_->state.path.parent_path(), ec))
    ::chmod(cfg_->state.path.parent_path().c_str(), 0750);
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<store::StoreError> problem;
    auto opened = store::SqliteStore::open({path});
    if (auto* error = std::get_if<store::StoreError>(&opened)) {
      problem = *error;
    } else {
      store_ = std::move(std::get<0>(opened));
      core::LoadedState loaded;
      if (auto unreadable = store_->load_state(now(), loaded)) {
        store_.reset();
        problem = store::StoreError{store::StoreError::Kind::Corrupt, *unreadable};
      } else {
        loaded_state_ = std::move(loaded);
      }
    }
    if (!problem) break;
    if (!problem->resettable()) {
      spdlog::error("not started: {}", problem->message);
      return false;
    }
    if (!options_.reset_state || attempt > 0) {
      spdlog::error("not started: {}", problem->message);
      spdlog::error(
          "to keep the bad file aside and start with an empty state, start once with --reset-state "
          "(bans still in the kernel are taken over)");
      return false;
    }
    auto moved = store::move_aside(path, now());
    if (moved.index() == 1) {
      spdlog::error("not started: {}; --reset-state could not move it aside: {}", problem->message,
                    std::get<1>(moved));
      return false;
    }
    spdlog::warn("{}; --reset-state: moved it to {} and starting with an empty state", problem->message,
                 std::get<0>(moved));
  }
  if (loaded_state_->hash_seed) {
    hash_seed_ = *loaded_state_->hash_seed;
  } else {
    core::StateUpdate u;
    u.hash_seed = hash_seed_;
    store_->submit(std::move(u));
  }
  return true;
}

// The saved state goes into the engine: windows and strikes, bans, offence history, duplicate
// pairing. Log positions kept in a file of their own (before the store) are moved into the store once.
bool Daemon::Impl::take_saved_state() {
  const core::EngineState& saved = loaded_state_->engine;
  engine_->import_state(saved, now());
  spdlog::info("state {}: {} bans, {} offenders, {} windows, {} campaigns taken back", store_->path(),
               engine_->stats().active_bans, saved.offenders.size(), saved.windows.size(),
               saved.campaigns.size());
  const bool positions_saved = !loaded_state_->positions.empty();
  loaded_state_.reset();
  std::string positions_path = options_.positions_path;
  if (positions_path.empty()) positions_path = (cfg_->state.path.parent_path() / "positions").string();
  std::error_code ec;
  if (positions_saved || !std::filesystem::exists(positions_path, ec)) return true;
  auto positions = sources::PositionFile::open(positions_path);
  if (auto* error = std::get_if<std::string>(&positions)) {
    spdlog::error("not started: {}", *error);
    return false;
  }
  auto& file = *std::get<0>(positions);
  core::StateUpdate u;
  for (const auto& src : cfg_->sources) {
    if (auto pos = file.load(src.name)) u.positions[src.name] = *pos;
  }
  if (auto error = store_->commit_now(std::move(u))) {
    spdlog::error("not started: moving the log positions of {} into the state database: {}", positions_path,
                  *error);
    return false;
  }
  const std::string moved = positions_path + ".moved-to-state-db";
  std::filesystem::rename(positions_path, moved, ec);
  spdlog::info("log positions of {} are now kept in {} ({})", positions_path, store_->path(),
               ec ? "the old file could not be renamed: " + ec.message() : "old file renamed to " + moved);
  return true;
}

// ---- control socket, metrics (docs/cli.md) ----

core::Policy Daemon::Impl::effective_policy(const config::Config& cfg) const {
  core::Policy policy = cfg.policy;
  policy.allowlist = effective_allowlist(cfg);
  policy.limits.hash_seed = hash_seed_;
  return policy;
}

std::vector<core::Prefix> Daemon::Impl::effective_allowlist(const config::Config& cfg) const {
  std::vector<core::Prefix> all = cfg.policy.allowlist;
  for (const auto& p : runtime_allow_.entries) {
    if (std::find(all.begin(), all.end(), p) == all.end()) all.push_back(p);
  }
  return all;
}

core::Status Daemon::Impl::apply_allowlist() {
  engine_->reload(effective_policy(*cfg_), now(), fanout_);
  const auto result = firewall_->set_allowlist(effective_allowlist(*cfg_));
  enforcer_->flush();
  if (!result) {
    spdlog::error("the kernel allowlist could not be replaced: {}", result.error);
    return core::Failure{result.error};
  }
  return {};
}

bool Daemon::Impl::start_control_and_metrics() {
  last_rate_sample_ = std::chrono::steady_clock::now();
  handlers_ = std::make_unique<ControlHandlers>(*this);
  control::ControlServerOptions c;
  c.socket = cfg_->control.socket;
  c.group = cfg_->control.group;
  auto opened = control::ControlServer::open(io_, c, *handlers_);
  if (auto* error = std::get_if<std::string>(&opened)) {
    spdlog::error("not started: {}", *error);
    return false;
  }
  control_ = std::move(std::get<0>(opened));
  watch_->publish_to(control_.get());
  spdlog::info("control socket {} ({})", c.socket.string(),
               c.group.empty() ? std::string("root only") : "root, and group " + c.group + " read-only");
  if (cfg_->metrics.listen) {
    metrics::MetricsServerOptions m;
    m.address = cfg_->metrics.listen->address;
    m.port = cfg_->metrics.listen->port;
    auto server = metrics::MetricsServer::open(io_, m, [this] { return render_metrics(); });
    if (auto* error = std::get_if<std::string>(&server)) {
      spdlog::error("not started: {} ([metrics] listen = \"off\" turns metrics off)", *error);
      return false;
    }
    metrics_server_ = std::move(std::get<0>(server));
    spdlog::info("metrics on http://{}/metrics", cfg_->metrics.listen->to_string());
  }
  return true;
}

void Daemon::Impl::describe(nlohmann::json& j) {
  j["version"] = 1;
  j["pid"] = getpid();
  j["started"] = core::format_rfc3339(started_);
  j["uptime_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(now() - started_).count();
  j["config"] = cfg_->origin;
  nlohmann::json sensors = nlohmann::json::array();
  logs_->status(sensors);
  wire_->status(sensors);
  j["sensors"] = std::move(sensors);
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto& w : warnings_) warnings.push_back(w);
  nlohmann::json store;
  store_sync_->status(store);
  if (store_sync_->failing()) {
    warnings.push_back("the state store cannot commit (" + store["problem"].get<std::string>() +
                       "): changes are kept in memory and retried; they are lost if strikeout stops before a "
                       "commit succeeds");
  }
  j["store"] = std::move(store);
  nlohmann::json hooks;
  webhooks_->status(hooks);
  j["webhooks"] = std::move(hooks);
  j["warnings"] = std::move(warnings);
  j["control"] = {{"socket", cfg_->control.socket.string()}, {"clients", control_->clients()}};
  j["metrics"] = cfg_->metrics.listen
                     ? nlohmann::json("http://" + cfg_->metrics.listen->to_string() + "/metrics")
                     : nlohmann::json(nullptr);
}

void Daemon::Impl::sample_store_commit() {
  const core::StoreStats st = store_->stats();
  if (st.commits == store_commits_seen_) return;
  store_commits_seen_ = st.commits;
  store_commit_.observe(static_cast<double>(st.last_commit_us) / 1e6);
}

void Daemon::Impl::sample_rates() {
  const auto t = std::chrono::steady_clock::now();
  const std::chrono::duration<double> span = t - last_rate_sample_;
  if (span < std::chrono::seconds(5)) return;
  logs_->sample_rates(span.count());
  wire_->sample_rates(span.count());
  last_rate_sample_ = t;
}

std::string Daemon::Impl::render_metrics() {
  std::vector<metrics::SensorCounters> sensors;
  logs_->counters(sensors);
  wire_->counters(sensors);
  metrics::DaemonGauges g;
  g.start_time_seconds = static_cast<double>(core::to_micros(started_)) / 1e6;
  g.kernel_batch_errors = enforcer_->failures();
  g.rate_limited = enforcer_->rate_limited();
  g.kernel_table_intact = firewall_->table_intact().ok();
  g.watchers = control_ ? control_->watchers() : 0;
  g.watchers_dropped = control_ ? control_->watchers_dropped() : 0;
  g.reloads = reloads_;
  g.reload_failures = reload_failures_;
  sample_store_commit();
  g.store_commit = &store_commit_;
  store_sync_->metrics(g.components);
  enforcer_->metrics(g.components);
  if (decoy_) decoy_->metrics(g.components);
  webhooks_->metrics(g.components);
  return metrics_.render(engine_->stats(), sensors, g);
}

Daemon::Daemon(DaemonOptions options, Environment env)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(env))) {}

Daemon::~Daemon() {
  impl_->stop();
}

int Daemon::run() {
  if (impl_->start() != 0) return 1;
  impl_->io().run();
  return 0;
}

core::Status Daemon::start() {
  if (impl_->start() != 0) return core::Failure{"not started (the reason is in the log)"};
  return {};
}

asio::io_context& Daemon::io() {
  return impl_->io();
}

void Daemon::tick() {
  impl_->on_tick();
}

control::Reply Daemon::control(const control::Request& request) {
  return impl_->control(request);
}

std::string Daemon::metrics_text() {
  return impl_->render_metrics();
}

void Daemon::decoy_attempt(const core::Event& event) {
  impl_->decoy_attempt(event);
}

void Daemon::stop() {
  impl_->stop();
}

int run_daemon(const DaemonOptions& options) {
  Daemon daemon(options);
  return daemon.run();
}

}  // namespace strikeout::daemon
