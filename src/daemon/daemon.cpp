#include "daemon/daemon.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <asio.hpp>
#include <algorithm>
#include <functional>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include "config/loader.hpp"
#include "core/engine.hpp"
#include "core/firewall.hpp"
#include "core/log_source.hpp"
#include "enforce/nft_firewall.hpp"
#include "logs/decoder.hpp"
#include "report/decision_format.hpp"
#include "report/text_escape.hpp"
#include "sources/file_source.hpp"
#include "sources/journal_source.hpp"
#include "sources/position_file.hpp"

namespace strikeout::daemon {

namespace {

using Clock = std::chrono::system_clock;

core::Time now() {
  return std::chrono::time_point_cast<core::Duration>(Clock::now());
}

// Lines handed over by one read() call: large enough to drain a burst quickly, small enough that one
// busy log cannot keep the loop from the others (and from the firewall) for long.
constexpr std::size_t kReadBudget = 4096;
// Positions are made durable at most this often (one fsync'd file write). A crash loses at most this
// much reading progress: those lines are read again (issue 4's store commits them with the events).
constexpr auto kCommitInterval = std::chrono::seconds(1);
constexpr auto kTick = std::chrono::milliseconds(250);

std::uint64_t random_seed() {
  std::uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
    seed = static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()) ^ static_cast<std::uint64_t>(getpid());
  }
  return seed;
}

void setup_logging() {
  auto logger = spdlog::stderr_logger_st("strikeout");
  // Under systemd the journal stamps each line itself; in a terminal we add the time.
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    logger->set_pattern("<%l> %v");
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  }
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

enforce::NftOptions firewall_options(const config::Config& cfg) {
  enforce::NftOptions o;
  o.table = cfg.enforce.table;
  o.ports = cfg.ports;
  o.verdict = cfg.enforce.reject == config::RejectWith::Drop ? enforce::BanVerdict::Drop : enforce::BanVerdict::Reject;
  o.set_size = cfg.enforce.set_size;
  o.allowlist = cfg.policy.allowlist;
  o.allow_host_addresses = cfg.allow_host_addresses;
  // A set per prefix length the rules can ban, so prefix bans are hash lookups (docs/enforcement.md).
  o.prefix_lengths4.clear();
  o.prefix_lengths6.clear();
  for (const auto& rule : cfg.policy.rules) {
    const bool by_prefix = rule.key == core::KeyKind::Prefix ||
                           (rule.key == core::KeyKind::Username && rule.distinct == core::KeyKind::Prefix);
    if (!by_prefix) continue;
    if (std::find(o.prefix_lengths4.begin(), o.prefix_lengths4.end(), rule.prefix4) == o.prefix_lengths4.end()) {
      o.prefix_lengths4.push_back(rule.prefix4);
    }
    if (std::find(o.prefix_lengths6.begin(), o.prefix_lengths6.end(), rule.prefix6) == o.prefix_lengths6.end()) {
      o.prefix_lengths6.push_back(rule.prefix6);
    }
  }
  if (cfg.enforce.rate_limit) {
    o.rate_limit.enabled = true;
    o.rate_limit.connections = cfg.enforce.rate_limit->connections;
    o.rate_limit.per = std::chrono::duration_cast<std::chrono::seconds>(cfg.enforce.rate_limit->per);
  } else {
    o.rate_limit.enabled = false;
  }
  return o;
}

class Daemon;

// One configured log source with its decoder: receives lines and records from the source and hands
// their events to the daemon.
struct SourceSlot final : core::LogSink {
  Daemon* daemon = nullptr;
  std::string name;
  bool optional = false;
  std::unique_ptr<core::LogSource> source;
  std::unique_ptr<logs::LineDecoder> decoder;
  std::unique_ptr<asio::posix::stream_descriptor> watch;
  bool draining = false;
  std::uint64_t lines = 0;
  std::uint64_t events = 0;
  std::uint64_t unparsed = 0;

  void on_line(std::string_view line, const core::LineInfo& info) override;
  void on_record(const core::JournalRecord& record, const core::SourcePosition& after) override;
  void on_notice(const core::SourceNotice& notice) override;
};

class Daemon final : public core::DecisionSink {
 public:
  explicit Daemon(DaemonOptions options) : options_(std::move(options)) {}

  int run();

  void handle_event(SourceSlot& slot, const core::Event& event);
  void on_decision(const core::Decision& d) override;

 private:
  std::optional<config::Config> load_config();
  bool start_firewall(const config::Config& cfg);
  bool open_sources(const config::Config& cfg);
  void arm_source(SourceSlot& slot);
  void drain_source(SourceSlot& slot);
  void arm_firewall();
  void flush_firewall();
  void on_tick();
  void commit_positions(bool force);
  void reload();
  void stop();
  logs::YearAnchor live_anchor() const {
    // Lines are written at or before now: an RFC 3164 line from a later month is last year's.
    return logs::YearAnchor::ending_at(now() + std::chrono::hours(24));
  }

  DaemonOptions options_;
  asio::io_context io_;
  asio::signal_set signals_{io_};
  asio::steady_timer tick_{io_};
  std::unique_ptr<config::Config> cfg_;
  std::unique_ptr<core::Engine> engine_;
  std::unique_ptr<report::DecisionFormatter> formatter_;
  std::unique_ptr<enforce::NftFirewall> firewall_;
  std::unique_ptr<asio::posix::stream_descriptor> firewall_watch_;
  std::unique_ptr<sources::PositionFile> positions_;
  std::vector<std::unique_ptr<SourceSlot>> slots_;
  std::vector<core::FirewallBan> pending_bans_;
  std::vector<core::Prefix> pending_unbans_;
  std::chrono::steady_clock::time_point last_commit_{};
  bool positions_dirty_ = false;
  bool stopping_ = false;
  bool quiet_ = false;  // adopting bans at start: no log line per ban
  std::uint64_t firewall_failures_ = 0;
  std::uint64_t rate_limited_ = 0;
  int day_of_anchor_ = -1;
};

void SourceSlot::on_line(std::string_view line, const core::LineInfo& info) {
  ++lines;
  core::Event event;
  switch (decoder->decode(line, event)) {
    case logs::LineStatus::Event:
      ++events;
      daemon->handle_event(*this, event);
      break;
    case logs::LineStatus::NoEvent: break;
    case logs::LineStatus::Unparsed: ++unparsed; break;
  }
  (void)info;
}

void SourceSlot::on_record(const core::JournalRecord& record, const core::SourcePosition& after) {
  ++lines;
  logs::LogRecord rec;
  rec.time = record.time;
  rec.host = record.host;
  rec.program = record.program;
  rec.pid = record.pid;
  rec.message = record.message;
  core::Event event;
  if (decoder->decode_record(rec, event) == logs::LineStatus::Event) {
    ++events;
    daemon->handle_event(*this, event);
  }
  (void)after;
}

void SourceSlot::on_notice(const core::SourceNotice& notice) {
  switch (notice.kind) {
    case core::SourceNoticeKind::Rotated:
      spdlog::info("source {}: {}", name, notice.message);
      break;
    case core::SourceNoticeKind::Waiting:
      if (optional) {
        spdlog::info("source {}: {}", name, notice.message);
      } else {
        spdlog::warn("source {}: {}", name, notice.message);
      }
      break;
    case core::SourceNoticeKind::Error:
      spdlog::error("source {}: {}", name, notice.message);
      break;
    default:
      spdlog::warn("source {}: {}", name, notice.message);
      break;
  }
}

void Daemon::handle_event(SourceSlot& slot, const core::Event& event) {
  (void)slot;
  engine_->on_event(event, *this);
}

void Daemon::on_decision(const core::Decision& d) {
  switch (d.kind) {
    case core::DecisionKind::Strike:
      if (!quiet_) spdlog::info("{}", formatter_->human(d));
      break;
    case core::DecisionKind::Ban:
      if (!quiet_) spdlog::warn("{}", formatter_->human(d));
      pending_bans_.push_back(core::FirewallBan{d.target, d.until, d.action == core::RuleAction::Tarpit});
      break;
    case core::DecisionKind::Unban:
      if (!quiet_) spdlog::info("{}", formatter_->human(d));
      pending_unbans_.push_back(d.target);
      break;
  }
}

std::optional<config::Config> Daemon::load_config() {
  config::LoadResult loaded;
  std::error_code ec;
  if (!options_.config_path_given && !std::filesystem::exists(options_.config_path, ec)) {
    spdlog::info("{} does not exist: using the built-in default configuration", options_.config_path);
    loaded = config::load_default_config();
  } else {
    loaded = config::load_config_file(options_.config_path);
  }
  if (auto* diagnostics = std::get_if<config::Diagnostics>(&loaded)) {
    for (const auto& d : *diagnostics) spdlog::error("{}", config::format_diagnostic(d));
    return std::nullopt;
  }
  return std::get<config::Config>(std::move(loaded));
}

bool Daemon::start_firewall(const config::Config& cfg) {
  auto options = firewall_options(cfg);
  for (const auto& problem : enforce::validate(options)) spdlog::error("[enforce]: {}", problem);
  std::string error;
  firewall_ = enforce::NftFirewall::open(options, now(), error);
  if (!firewall_) {
    spdlog::error("cannot set up the nftables table inet {}: {}", cfg.enforce.table, error);
    return false;
  }
  // Bans a previous run left in the kernel stay in force; the engine takes them over so that it
  // knows them (for unbans, list, and not banning them twice).
  const auto& adopted = firewall_->adopted();
  if (!adopted.empty()) {
    quiet_ = true;
    const auto t = now();
    for (const auto& ban : adopted) {
      engine_->ban(ban.target, t, std::chrono::duration_cast<core::Duration>(ban.until - t),
                   "taken over from the kernel table at start", *this);
    }
    quiet_ = false;
    pending_bans_.clear();  // already in the kernel
    spdlog::info("took over {} bans left in the kernel table by a previous run", adopted.size());
  }
  arm_firewall();
  return true;
}

bool Daemon::open_sources(const config::Config& cfg) {
  std::unordered_set<std::string> opened;
  for (const auto& src : cfg.sources) {
    auto slot = std::make_unique<SourceSlot>();
    slot->daemon = this;
    slot->name = src.name;
    if (!src.fallback_for.empty() && opened.count(src.fallback_for) != 0) {
      spdlog::info("source {}: not read, {} is available", src.name, src.fallback_for);
      continue;
    }
    const auto saved = positions_->load(src.name);
    if (const auto* file = std::get_if<config::FileSource>(&src.settings)) {
      slot->optional = file->optional;
      std::error_code ec;
      if (file->optional && !std::filesystem::exists(file->path, ec)) {
        spdlog::info("source {}: {} does not exist; not read", src.name, file->path.string());
        continue;
      }
      sources::FileSourceOptions o;
      o.name = src.name;
      o.path = file->path.string();
      if (saved) {
        if (const auto* pos = std::get_if<core::FilePosition>(&*saved)) o.resume = *pos;
      }
      auto opened_source = sources::FileSource::open(std::move(o));
      if (auto* error = std::get_if<std::string>(&opened_source)) {
        spdlog::error("source {}: {}", src.name, *error);
        return false;
      }
      slot->source = std::move(std::get<0>(opened_source));
    } else {
      const auto& journal = std::get<config::JournaldSource>(src.settings);
      sources::JournalSourceOptions o;
      o.name = src.name;
      o.directory = journal.directory.string();
      o.matches = journal.matches;
      if (saved) {
        if (const auto* cursor = std::get_if<core::JournalCursor>(&*saved)) o.cursor = cursor->cursor;
      }
      auto opened_source = sources::JournalSource::open(std::move(o));
      if (auto* error = std::get_if<std::string>(&opened_source)) {
        // The journal is the default source; a host without one (a container, no journald) still has
        // its files.
        spdlog::warn("source {}: {}; not read", src.name, *error);
        continue;
      }
      slot->source = std::move(std::get<0>(opened_source));
    }
    logs::DecoderOptions d;
    d.format = src.format;
    d.custom = cfg.matchers;
    d.zone = cfg.logs.timezone;
    d.year = live_anchor();
    d.sensor = src.name;
    auto decoder = logs::LineDecoder::create(std::move(d));
    if (auto* error = std::get_if<std::string>(&decoder)) {
      spdlog::error("source {}: {}", src.name, *error);
      return false;
    }
    slot->decoder = std::make_unique<logs::LineDecoder>(std::move(std::get<logs::LineDecoder>(decoder)));
    opened.insert(src.name);
    spdlog::info("source {}: reading", src.name);
    slots_.push_back(std::move(slot));
  }
  if (slots_.empty()) spdlog::warn("no log source could be opened: nothing is watched");
  for (auto& slot : slots_) {
    if (slot->source->fd() >= 0) {
      slot->watch = std::make_unique<asio::posix::stream_descriptor>(io_, dup(slot->source->fd()));
    }
    drain_source(*slot);  // there may be lines left from before a restart
    arm_source(*slot);
  }
  return true;
}

void Daemon::arm_source(SourceSlot& slot) {
  if (!slot.watch) return;
  slot.watch->async_wait(asio::posix::stream_descriptor::wait_read, [this, &slot](const asio::error_code& ec) {
    if (ec || stopping_) return;
    drain_source(slot);
    arm_source(slot);
  });
}

void Daemon::drain_source(SourceSlot& slot) {
  const core::ReadResult result = slot.source->read(slot, kReadBudget);
  // Bans go to the kernel as soon as the lines that caused them are handled: this is the latency that
  // matters (log line written -> address in the kernel set).
  flush_firewall();
  positions_->save(slot.name, slot.source->checkpoint());
  positions_dirty_ = true;
  if (result.more && !slot.draining) {
    slot.draining = true;
    asio::post(io_, [this, &slot] {
      slot.draining = false;
      if (!stopping_) drain_source(slot);
    });
  }
}

void Daemon::arm_firewall() {
  if (!firewall_ || firewall_->event_fd() < 0) return;
  if (!firewall_watch_) {
    firewall_watch_ = std::make_unique<asio::posix::stream_descriptor>(io_, dup(firewall_->event_fd()));
  }
  firewall_watch_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const asio::error_code& ec) {
    if (ec || stopping_) return;
    const core::FirewallEvents events = firewall_->handle_events(now());
    if (!events.error.empty()) spdlog::warn("watching nftables: {}", events.error);
    for (const auto& hit : events.rate_limited) {
      ++rate_limited_;
      spdlog::info("SMTP Brute Force Attempt: SRC={} DPT={} rule=connection-rate (kernel limit)",
                   hit.source.to_string(), hit.port);
    }
    if (events.table_gone) {
      std::vector<core::FirewallBan> all;
      for (const auto& ban : engine_->active_bans()) {
        all.push_back(core::FirewallBan{ban.target, ban.until, ban.action == core::RuleAction::Tarpit});
      }
      const auto result = firewall_->restore(all, now());
      if (result) {
        spdlog::warn("the nftables table inet {} was removed from outside; put it back with {} active bans",
                     cfg_->enforce.table, all.size());
      } else {
        ++firewall_failures_;
        spdlog::error("the nftables table inet {} was removed and could not be put back: {} (retrying)",
                      cfg_->enforce.table, result.error);
      }
    }
    arm_firewall();
  });
}

void Daemon::flush_firewall() {
  if (pending_bans_.empty() && pending_unbans_.empty()) return;
  const auto result = firewall_->apply(pending_bans_, pending_unbans_, now());
  if (!result) {
    // Nothing was applied: keep every change and try again on the next tick. Never a silent loss.
    ++firewall_failures_;
    spdlog::error("nftables refused {} ban and {} unban changes: {} (retrying)", pending_bans_.size(),
                  pending_unbans_.size(), result.error);
    return;
  }
  for (const auto& refused : result.allowlisted) {
    spdlog::warn("not banned: {} is on the allowlist (the host's own addresses are on it)", refused.to_string());
  }
  if (result.sessions_ended > 0) spdlog::info("ended {} open sessions of newly banned sources", result.sessions_ended);
  pending_bans_.clear();
  pending_unbans_.clear();
}

void Daemon::commit_positions(bool force) {
  const auto t = std::chrono::steady_clock::now();
  if (!positions_dirty_ || (!force && t - last_commit_ < kCommitInterval)) return;
  if (auto error = positions_->commit()) {
    spdlog::error("saving log positions: {}", *error);
    return;
  }
  last_commit_ = t;
  positions_dirty_ = false;
}

void Daemon::on_tick() {
  const auto t = now();
  engine_->advance(t, *this);
  flush_firewall();
  // A live RFC 3164 log has no year: re-anchor once a day so New Year's lines get the new year.
  const auto days = static_cast<int>(std::chrono::floor<std::chrono::days>(t).time_since_epoch().count());
  if (days != day_of_anchor_) {
    day_of_anchor_ = days;
    for (auto& slot : slots_) slot->decoder->set_year_anchor(live_anchor());
  }
  for (auto& slot : slots_) {
    if (slot->source->wake_within()) drain_source(*slot);
  }
  commit_positions(false);
  sd_notify(0, "WATCHDOG=1");
  tick_.expires_after(kTick);
  tick_.async_wait([this](const asio::error_code& ec) {
    if (!ec && !stopping_) on_tick();
  });
}

void Daemon::reload() {
  sd_notify(0, "RELOADING=1");
  spdlog::info("reloading {}", options_.config_path);
  auto fresh = load_config();
  if (!fresh) {
    spdlog::error("reload refused: the new configuration has errors; the old one stays in force");
    sd_notify(0, "READY=1");
    return;
  }
  // The engine takes the new rules and allowlist: bans, offence history and the windows of rules
  // that kept their name and settings carry over; bans the new allowlist covers are lifted.
  engine_->reload(fresh->policy, now(), *this);
  const auto result = firewall_->set_allowlist(fresh->policy.allowlist);
  if (!result) spdlog::error("reload: the kernel allowlist could not be replaced: {}", result.error);
  if (fresh->ports != cfg_->ports || fresh->enforce.table != cfg_->enforce.table) {
    spdlog::warn("reload: protected ports and the table name take effect at the next restart");
  }
  *cfg_ = std::move(*fresh);
  formatter_ = std::make_unique<report::DecisionFormatter>(engine_->policy());
  flush_firewall();
  spdlog::info("reloaded: {} rules, {} allowlisted networks", cfg_->policy.rules.size(),
               cfg_->policy.allowlist.size());
  sd_notify(0, "READY=1");
}

void Daemon::stop() {
  if (stopping_) return;
  stopping_ = true;
  sd_notify(0, "STOPPING=1");
  spdlog::info("stopping; {} bans stay in the kernel until their timeouts", engine_ ? engine_->stats().active_bans : 0);
  flush_firewall();
  commit_positions(true);
  signals_.cancel();
  tick_.cancel();
  for (auto& slot : slots_) {
    if (slot->watch) slot->watch->cancel();
  }
  if (firewall_watch_) firewall_watch_->cancel();
  io_.stop();
}

int Daemon::run() {
  setup_logging();
  auto cfg = load_config();
  if (!cfg) {
    spdlog::error("not started: the configuration {} has errors", options_.config_path);
    return 1;
  }
  cfg_ = std::make_unique<config::Config>(std::move(*cfg));
  core::Policy policy = cfg_->policy;
  policy.limits.hash_seed = random_seed();
  engine_ = std::make_unique<core::Engine>(std::move(policy));
  formatter_ = std::make_unique<report::DecisionFormatter>(engine_->policy());

  std::string positions_path = options_.positions_path;
  if (positions_path.empty()) positions_path = (cfg_->state.path.parent_path() / "positions").string();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(positions_path).parent_path(), ec);
  auto positions = sources::PositionFile::open(positions_path);
  if (auto* error = std::get_if<std::string>(&positions)) {
    spdlog::error("not started: {}", *error);
    return 1;
  }
  positions_ = std::move(std::get<0>(positions));

  if (!start_firewall(*cfg_)) return 1;
  if (!open_sources(*cfg_)) return 1;

  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  std::function<void(const asio::error_code&, int)> on_signal = [this, &on_signal](const asio::error_code& e, int sig) {
    if (e) return;
    if (sig == SIGHUP) {
      reload();
      signals_.async_wait(on_signal);
    } else {
      spdlog::info("signal {} received", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      stop();
    }
  };
  signals_.async_wait(on_signal);
  day_of_anchor_ = static_cast<int>(std::chrono::floor<std::chrono::days>(now()).time_since_epoch().count());
  on_tick();

  spdlog::info("strikeout started: {} rules, {} sources, protecting ports {}", cfg_->policy.rules.size(),
               slots_.size(), fmt::join(cfg_->ports, ","));
  sd_notify(0, "READY=1");
  io_.run();
  return 0;
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  Daemon daemon(options);
  return daemon.run();
}

}  // namespace strikeout::daemon
