#include "daemon/daemon.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <asio.hpp>
#include <algorithm>
#include <functional>
#include <chrono>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include "config/loader.hpp"
#include "control/allowlist_file.hpp"
#include "control/recent_activity.hpp"
#include "control/server.hpp"
#include "core/engine.hpp"
#include "core/engine_state.hpp"
#include "core/firewall.hpp"
#include "core/log_source.hpp"
#include "decoy/daemon_link.hpp"
#include "enforce/host_addresses.hpp"
#include "enforce/nft_firewall.hpp"
#include "logs/decoder.hpp"
#include "metrics/daemon_metrics.hpp"
#include "metrics/server.hpp"
#include "report/decision_format.hpp"
#include "report/text_escape.hpp"
#include "sources/file_source.hpp"
#include "sources/journal_source.hpp"
#include "sources/position_file.hpp"
#include "store/sqlite_store.hpp"
#include "wire/pcap_source.hpp"
#include "wire/sensor.hpp"

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
// The state store (docs/state.md): what the engine changed is handed to the store's writer thread at
// least this often, with the sources' positions of the same instant; and at once when this many keys
// were touched (a burst), so one transaction never grows without bound.
constexpr auto kStoreInterval = std::chrono::milliseconds(100);
constexpr std::size_t kStoreMaxTouched = 20000;
// Frames handed over by one read() of a live capture: a burst is drained quickly, and the loop still
// gets back to the logs, the firewall and the other captures in between (see kReadBudget).
constexpr std::size_t kWireBudget = 1024;
// How often the wire sensor looks at the host's addresses again (an address added by DHCP or SLAAC
// after start: replies from it would otherwise be taken for foreign ones).
constexpr auto kAddressCheckInterval = std::chrono::seconds(10);

// True when this host's journald has written journal files (volatile or persistent storage).
bool system_journal_present() {
  for (const char* dir : {"/run/log/journal", "/var/log/journal"}) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && it->path().extension() == ".journal") return true;
    }
  }
  return false;
}

std::uint64_t random_seed() {
  std::uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
    seed = static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()) ^
           static_cast<std::uint64_t>(getpid());
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
  o.verdict = cfg.enforce.reject == config::RejectWith::Drop ? enforce::BanVerdict::Drop
                                                             : enforce::BanVerdict::Reject;
  o.set_size = cfg.enforce.set_size;
  o.decoy_port = cfg.decoy.port;
  o.allowlist = cfg.policy.allowlist;
  o.allow_host_addresses = cfg.allow_host_addresses;
  // A set per prefix length the rules can ban, so prefix bans are hash lookups (docs/enforcement.md).
  o.prefix_lengths4.clear();
  o.prefix_lengths6.clear();
  for (const auto& rule : cfg.policy.rules) {
    const bool by_prefix = rule.key == core::KeyKind::Prefix ||
                           (rule.key == core::KeyKind::Username && rule.distinct == core::KeyKind::Prefix);
    if (!by_prefix) continue;
    if (std::find(o.prefix_lengths4.begin(), o.prefix_lengths4.end(), rule.prefix4) ==
        o.prefix_lengths4.end()) {
      o.prefix_lengths4.push_back(rule.prefix4);
    }
    if (std::find(o.prefix_lengths6.begin(), o.prefix_lengths6.end(), rule.prefix6) ==
        o.prefix_lengths6.end()) {
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

// Open files the daemon wants: every log source, the control and metrics clients, the kernel sockets
// and the store, with room to spare. Raised before the capabilities are dropped (raising the hard
// limit needs CAP_SYS_RESOURCE); the unit's LimitNOFILE sets it for systemd.
constexpr rlim_t kWantedOpenFiles = 65536;

// Raises RLIMIT_NOFILE, then keeps only CAP_NET_ADMIN (nftables, ending sessions), CAP_DAC_READ_SEARCH
// (log files are reopened after every rotation, and /var/log/mail.log is syslog:adm 0640: root without
// it could not read the new file), and CAP_NET_RAW when a packet sensor needs it, in the permitted, effective
// and bounding sets. Everything the daemon opens with other privileges (the control socket, the state
// directory, the log files) is open by now. Returns what could not be done; the daemon goes on (a non-root
// test run has nothing to drop).
std::vector<std::string> drop_privileges(bool keep_net_raw) {
  std::vector<std::string> problems;
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    rlimit wanted = nofile;
    if (wanted.rlim_max != RLIM_INFINITY && wanted.rlim_max < kWantedOpenFiles)
      wanted.rlim_max = kWantedOpenFiles;
    wanted.rlim_cur = wanted.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
      wanted.rlim_max = nofile.rlim_max;  // without CAP_SYS_RESOURCE: the soft limit up to the hard one
      wanted.rlim_cur = nofile.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &wanted) != 0) problems.push_back("cannot raise the open files limit");
    }
  }
  if (!CAP_IS_SUPPORTED(CAP_NET_ADMIN)) return problems;
  std::vector<cap_value_t> keep{CAP_NET_ADMIN, CAP_DAC_READ_SEARCH};
  if (keep_net_raw) keep.push_back(CAP_NET_RAW);
  cap_t current = cap_get_proc();
  cap_flag_value_t can_setpcap = CAP_CLEAR;
  if (current != nullptr) cap_get_flag(current, CAP_SETPCAP, CAP_EFFECTIVE, &can_setpcap);
  if (current != nullptr) cap_free(current);
  if (can_setpcap == CAP_SET) {
    for (cap_value_t c = 0; c <= CAP_LAST_CAP; ++c) {
      if (std::find(keep.begin(), keep.end(), c) != keep.end() || !CAP_IS_SUPPORTED(c)) continue;
      if (cap_drop_bound(c) != 0) {
        problems.push_back(fmt::format("cannot drop capability {} from the bounding set", c));
        break;
      }
    }
  }
  cap_t caps = cap_init();
  if (caps == nullptr) {
    problems.push_back("cannot allocate a capability set");
    return problems;
  }
  cap_set_flag(caps, CAP_PERMITTED, static_cast<int>(keep.size()), keep.data(), CAP_SET);
  cap_set_flag(caps, CAP_EFFECTIVE, static_cast<int>(keep.size()), keep.data(), CAP_SET);
  if (cap_set_proc(caps) != 0) {
    // Not root and without those capabilities (a test run): there is nothing to give up.
    problems.push_back(
        fmt::format("cannot reduce the capabilities to CAP_NET_ADMIN: {}", std::strerror(errno)));
  }
  cap_free(caps);
  return problems;
}

class Daemon;

// What every sensor of the daemon has, whatever feeds it (a log source, a live capture): its name in
// reports, status and `watch`, its index in DaemonMetrics, and its event count and newest event.
struct SensorInfo {
  std::string name;
  std::size_t metric = 0;  // index in DaemonMetrics
  std::uint64_t events = 0;
  core::Time last_event{};  // time of its newest event (zero: none yet)
};

// One configured log source with its decoder: receives lines and records from the source and hands
// their events to the daemon.
struct SourceSlot final : SensorInfo, core::LogSink {
  Daemon* daemon = nullptr;
  bool optional = false;
  std::unique_ptr<core::LogSource> source;
  std::unique_ptr<logs::LineDecoder> decoder;
  std::unique_ptr<asio::posix::stream_descriptor> watch;
  bool draining = false;
  std::uint64_t lines = 0;
  std::uint64_t unparsed = 0;
  std::uint64_t errors = 0;           // Error notices from the source
  std::uint64_t lines_at_sample = 0;  // lines at the last rate sample (status: lines/s)
  double lines_per_second = 0;

  void on_line(std::string_view line, const core::LineInfo& info) override;
  void on_record(const core::JournalRecord& record, const core::SourcePosition& after) override;
  void on_notice(const core::SourceNotice& notice) override;
};

// One live capture of the wire sensor ([wire] interfaces, docs/wire.md "Live operation"): the
// libpcap source, the sensor that turns its frames into events, and the loop's watch on its fd.
struct WireSlot final : SensorInfo, wire::WireSink {
  Daemon* daemon = nullptr;
  std::string interface;
  std::unique_ptr<wire::PacketSource> capture;
  std::unique_ptr<wire::WireSensor> sensor;
  std::unique_ptr<asio::posix::stream_descriptor> watch;
  bool draining = false;
  bool stopped = false;  // the capture failed for good (its interface went away)
  std::uint64_t read_errors = 0;
  std::uint32_t failing_reads = 0;     // failed reads in a row (a capture that only fails is stopped)
  std::uint64_t dropped_reported = 0;  // kernel drops already said in the log
  std::uint64_t packets_at_sample = 0;
  double packets_per_second = 0;

  void on_event(const core::Event& event) override;
  void on_notice(const wire::WireNotice& notice) override;
};

class Daemon final : public core::DecisionSink, public control::ControlHandler {
 public:
  explicit Daemon(DaemonOptions options) : options_(std::move(options)) {}

  int run();

  void handle_event(SensorInfo& sensor, const core::Event& event);
  // A "cannot see" notice of a wire sensor: said once per kind for the daemon's life, whatever the
  // number of captures, in the log and in status' warnings.
  void wire_notice(const wire::WireNotice& notice);
  void on_decision(const core::Decision& d) override;
  // Commits everything the engine changed so far, with the positions, and returns once it is on disk
  // (synchronous=FULL). The control socket calls it before answering a ban or an unban: a CLI ban is
  // durable when the CLI says it is done. False with `error` when the database refused it.
  bool commit_state_now(std::string& error);
  control::Reply handle(const control::Request& request, const control::Peer& peer) override;

 private:
  // The control commands (docs/cli.md). Each runs on the loop and answers after the kernel has the
  // change (a ban, unban or allowlist change is flushed in its own batch before the reply).
  control::Reply status();
  control::Reply list(const std::string& rule);
  control::Reply operator_ban(const control::Request& request);
  control::Reply operator_unban(const core::Prefix& target);
  control::Reply explain(const core::Address& address);
  control::Reply allow_add(const core::Prefix& target);
  control::Reply allow_remove(const core::Prefix& target);
  control::Reply allow_list();
  // The engine's policy: the configuration's plus the runtime allowlist, with the daemon's hash seed.
  core::Policy effective_policy(const config::Config& cfg) const;
  std::vector<core::Prefix> effective_allowlist(const config::Config& cfg) const;
  bool apply_allowlist();
  bool start_control_and_metrics();
  std::string render_metrics();
  void publish_event(const SensorInfo& sensor, const core::Event& event);
  void publish_decision(const core::Decision& d);
  void sample_rates();
  std::optional<config::Config> load_config();
  bool start_firewall(const config::Config& cfg);
  bool open_sources(const config::Config& cfg);
  void arm_source(SourceSlot& slot);
  void drain_source(SourceSlot& slot);
  // The wire sensor (docs/wire.md, "Live operation").
  bool open_wire(const config::Config& cfg);
  void arm_wire(WireSlot& slot);
  void drain_wire(WireSlot& slot);
  void check_wire(core::Time t);
  // The sensor settings of one capture, from the configuration the captures were opened with.
  wire::TrackerSettings wire_settings(const std::string& interface) const;
  void arm_firewall();
  core::FirewallResult flush_firewall();
  void on_tick();
  void commit_positions(bool force);
  // The state store (issue 4, part 1; docs/state.md).
  bool open_store();
  void note_touched(const core::Event& event);
  core::StateUpdate take_update();
  void arm_store_timer();
  void reconcile_with_kernel();
  bool reload();
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
  std::unique_ptr<decoy::DaemonLink> decoy_;  // null when no rule sends anyone to the decoy
  std::unique_ptr<asio::posix::stream_descriptor> firewall_watch_;
  core::PositionStore* positions_ = nullptr;  // the store's PositionStore face
  std::unique_ptr<store::SqliteStore> store_;
  std::optional<core::LoadedState> loaded_state_;  // read at start, until the engine takes it
  core::TouchedKeys touched_;                      // keys changed since the last store update
  asio::steady_timer store_timer_{io_};
  std::vector<std::unique_ptr<SourceSlot>> slots_;
  std::vector<std::unique_ptr<WireSlot>> wire_slots_;
  std::vector<core::Address> host_addresses_;  // what the wire sensors take as this host's own
  // [wire] and [protect] ports as they were when the captures opened: a reload does not change them
  // (a restart does), also when a sensor is rebuilt for new host addresses.
  config::WireSettings wire_config_;
  std::vector<std::uint16_t> wire_ports_;
  std::chrono::steady_clock::time_point last_address_check_{};
  bool wire_noticed_[2] = {false, false};  // per wire::WireNoticeKind
  std::vector<core::FirewallBan> pending_bans_;
  std::vector<core::Prefix> pending_unbans_;
  std::chrono::steady_clock::time_point last_commit_{};
  bool positions_dirty_ = false;
  bool stopping_ = false;
  bool quiet_ = false;  // adopting bans at start: no log line per ban
  std::uint64_t firewall_failures_ = 0;
  std::uint64_t rate_limited_ = 0;
  int day_of_anchor_ = -1;

  // Control socket, metrics, explain's memory (issue 4).
  std::unique_ptr<control::ControlServer> control_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  metrics::DaemonMetrics metrics_;
  // Store commit durations, sampled: the writer thread publishes the last commit's duration, read on
  // every tick and every scrape (commits come every <= 100 ms, ticks every 250 ms: a sample, not all).
  metrics::Histogram store_commit_{{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0}};
  std::uint64_t store_commits_seen_ = 0;
  void sample_store_commit() {
    if (!store_) return;
    const core::StoreStats st = store_->stats();
    if (st.commits == store_commits_seen_) return;
    store_commits_seen_ = st.commits;
    store_commit_.observe(static_cast<double>(st.last_commit_us) / 1e6);
  }
  std::unique_ptr<control::RecentActivity> recent_;
  std::vector<core::Prefix> runtime_allow_;  // `strikeout allow add`, kept in allowlist_path_
  std::filesystem::path allowlist_path_;
  std::uint64_t hash_seed_ = 0;
  core::Time started_{};
  std::vector<std::string> warnings_;            // for status: what the operator should know
  std::vector<std::string> last_config_errors_;  // the last load's diagnostics (reload's answer)
  std::optional<std::chrono::steady_clock::time_point> batch_read_at_;  // ban latency: lines read
  std::chrono::steady_clock::time_point last_rate_sample_{};
  std::uint64_t reloads_ = 0;
  std::uint64_t reload_failures_ = 0;
};

void SourceSlot::on_line(std::string_view line, const core::LineInfo& info) {
  ++lines;
  core::Event event;
  switch (decoder->decode(line, event)) {
    case logs::LineStatus::Event:
      ++events;
      daemon->handle_event(*this, event);
      break;
    case logs::LineStatus::NoEvent:
      break;
    case logs::LineStatus::Unparsed:
      ++unparsed;
      break;
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
      ++errors;
      spdlog::error("source {}: {}", name, notice.message);
      break;
    default:
      spdlog::warn("source {}: {}", name, notice.message);
      break;
  }
}

void Daemon::handle_event(SensorInfo& sensor, const core::Event& event) {
  metrics_.event(sensor.metric, event.kind, event.service);
  sensor.last_event = event.time;
  recent_->record_event(event);
  if (control_ && control_->has_watchers()) publish_event(sensor, event);
  note_touched(event);
  engine_->on_event(event, *this);
}

void WireSlot::on_event(const core::Event& event) {
  ++events;
  daemon->handle_event(*this, event);
}

void WireSlot::on_notice(const wire::WireNotice& notice) {
  daemon->wire_notice(notice);
}

void Daemon::wire_notice(const wire::WireNotice& notice) {
  bool& said = wire_noticed_[static_cast<std::size_t>(notice.kind) & 1U];
  if (said) return;
  said = true;
  spdlog::warn("{}", notice.message);
  warnings_.push_back(notice.message);
}

void Daemon::on_decision(const core::Decision& d) {
  if (d.kind != core::DecisionKind::Strike) touched_.targets.push_back(d.target);  // for the store
  metrics_.decision(d);
  if (!quiet_) {
    recent_->record_decision(d, d.target.address());
    if (control_ && control_->has_watchers()) publish_decision(d);
  }
  switch (d.kind) {
    case core::DecisionKind::Strike:
      if (!quiet_) spdlog::info("{}", formatter_->human(d));
      break;
    case core::DecisionKind::Ban:
      if (!quiet_) spdlog::warn("{}", formatter_->human(d));
      pending_bans_.push_back(core::FirewallBan{d.target, d.until, decoy::tarpit(cfg_->decoy, d)});
      if (decoy_) decoy_->on_decision(d);  // the workers learn the rule's mode for this source
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

bool Daemon::start_firewall(const config::Config& cfg) {
  auto options = firewall_options(cfg);
  options.allowlist = effective_allowlist(cfg);
  for (const auto& problem : enforce::validate(options)) spdlog::error("[enforce]: {}", problem);
  std::string error;
  firewall_ = enforce::NftFirewall::open(options, now(), error);
  if (!firewall_) {
    spdlog::error("cannot set up the nftables table inet {}: {}", cfg.enforce.table, error);
    return false;
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
    bool available = true;  // may stand in for a source that falls back for this one
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
        warnings_.push_back(
            fmt::format("source {}: {} does not exist; not read", src.name, file->path.string()));
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
        warnings_.push_back(fmt::format("source {}: {}; not read", src.name, *error));
        continue;
      }
      slot->source = std::move(std::get<0>(opened_source));
      // sd-journal opens even where no journald writes (a container with rsyslog): an empty system
      // journal is read (journald may start later) but is no reason to leave unread a file source
      // that falls back for it.
      if (journal.directory.empty() && !system_journal_present()) {
        available = false;
        spdlog::info("source {}: no journal files on this host yet (/run/log/journal, /var/log/journal)",
                     src.name);
      }
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
    if (available) opened.insert(src.name);
    slot->metric = metrics_.sensor(src.name);
    spdlog::info("source {}: reading", src.name);
    slots_.push_back(std::move(slot));
  }
  if (slots_.empty() && !cfg.wire.enabled) {
    spdlog::warn("no log source could be opened: nothing is watched");
    warnings_.push_back("no log source could be opened: nothing is watched");
  } else if (slots_.empty()) {
    spdlog::info("no log source: the wire sensor alone is watching");
  }
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
  slot.watch->async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, &slot](const asio::error_code& ec) {
                           if (ec || stopping_) return;
                           drain_source(slot);
                           arm_source(slot);
                         });
}

void Daemon::drain_source(SourceSlot& slot) {
  batch_read_at_ = std::chrono::steady_clock::now();
  const core::ReadResult result = slot.source->read(slot, kReadBudget);
  // Bans go to the kernel as soon as the lines that caused them are handled: this is the latency that
  // matters (log line written -> address in the kernel set).
  flush_firewall();
  positions_dirty_ = true;  // the position goes to the store with the next update (take_update)
  if (store_ && touched_.size() >= kStoreMaxTouched) store_->submit(take_update());
  if (result.more && !slot.draining) {
    slot.draining = true;
    asio::post(io_, [this, &slot] {
      slot.draining = false;
      if (!stopping_) drain_source(slot);
    });
  }
}

// ---- the wire sensor (docs/wire.md, "Live operation") ----

// This host's addresses as the wire sensor needs them: every address on an interface of the daemon's
// network namespace, sorted. A reply counts only when it leaves from one of them.
std::vector<core::Address> current_host_addresses(std::string& error) {
  std::vector<core::Address> out;
  for (const auto& p : enforce::host_addresses(error)) {
    if (p.is_host()) out.push_back(p.address());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

wire::TrackerSettings Daemon::wire_settings(const std::string& interface) const {
  wire::TrackerSettings t;
  t.ports = wire_ports_;
  t.implicit_tls_ports = wire_config_.implicit_tls_ports;
  std::string error;
  // open_wire() checked them (and the loader takes only what ReplyPatterns takes).
  if (auto patterns = wire::ReplyPatterns::create(wire_config_.failure_replies, error))
    t.failure_replies = *patterns;
  t.server_addresses = host_addresses_;
  t.require_outgoing = true;  // live capture: only what the kernel marks as sent by this host
  t.max_connections = wire_config_.max_connections;
  t.idle_timeout = wire_config_.idle_timeout;
  t.hash_seed = random_seed();  // the connection table is keyed by attacker-chosen ports and addresses
  t.sensor = "wire:" + interface;
  return t;
}

// Opens one live capture per [wire] interfaces entry, when [wire] enabled. Accepts a host where each
// opens; refuses (false, with the interface and the reason logged) a missing interface, a missing
// CAP_NET_RAW, a libpcap without cooked capture v2: the operator asked for the wire, and running
// without it would be protection silently missing. Must run before the capabilities are dropped.
bool Daemon::open_wire(const config::Config& cfg) {
  if (!cfg.wire.enabled) return true;
  wire_config_ = cfg.wire;
  wire_ports_ = cfg.ports;
  std::string error;
  host_addresses_ = current_host_addresses(error);
  if (!error.empty()) {
    spdlog::error("not started: wire: {}", error);
    return false;
  }
  last_address_check_ = std::chrono::steady_clock::now();
  if (std::string check; !wire::ReplyPatterns::create(cfg.wire.failure_replies, check)) {
    spdlog::error("not started: wire: {}", check);
    return false;
  }
  for (const auto& interface : cfg.wire.interfaces) {
    wire::LiveCaptureOptions options;
    options.interface = interface;
    options.ports = cfg.ports;
    auto capture = wire::open_live_capture(options, error);
    if (!capture) {
      spdlog::error("not started: {}", error);
      return false;
    }
    auto slot = std::make_unique<WireSlot>();
    slot->daemon = this;
    slot->interface = interface;
    slot->name = "wire:" + interface;
    slot->capture = std::move(capture);
    slot->sensor = std::make_unique<wire::WireSensor>(wire_settings(interface), *slot);
    slot->metric = metrics_.sensor(slot->name);
    slot->watch = std::make_unique<asio::posix::stream_descriptor>(io_, dup(slot->capture->fd()));
    spdlog::info("source {}: capturing replies on ports {} ({} addresses of this host)", slot->name,
                 fmt::join(cfg.ports, ","), host_addresses_.size());
    wire_slots_.push_back(std::move(slot));
  }
  // The wire alone sees no implicit-TLS port: say so now rather than at the first such connection.
  if (slots_.empty()) {
    for (const auto port : cfg.wire.implicit_tls_ports) {
      if (std::find(cfg.ports.begin(), cfg.ports.end(), port) == cfg.ports.end()) continue;  // not captured
      warnings_.push_back(fmt::format(
          "port {} is TLS-only and the wire sensor is the only sensor: failed logins on it are not seen; "
          "add a log source (journald or the mail log)",
          port));
      spdlog::warn("{}", warnings_.back());
    }
  }
  for (auto& slot : wire_slots_) arm_wire(*slot);
  return true;
}

void Daemon::arm_wire(WireSlot& slot) {
  if (!slot.watch || slot.stopped) return;
  slot.watch->async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, &slot](const asio::error_code& ec) {
                           if (ec || stopping_) return;
                           drain_wire(slot);
                           arm_wire(slot);
                         });
}

// Hands up to kWireBudget captured frames to the sensor, then the bans they made to the kernel at
// once: the latency that matters is the failure reply leaving -> the address in the kernel set
// (bench/wire-latency). A full budget is continued from the loop, after the others had their turn.
void Daemon::drain_wire(WireSlot& slot) {
  if (slot.stopped) return;
  batch_read_at_ = std::chrono::steady_clock::now();
  const wire::PacketReadResult result = slot.capture->read(*slot.sensor, kWireBudget);
  flush_firewall();
  if (!result.error.empty()) {
    ++slot.read_errors;
    // A failed read is retried at the next readiness; only the first few are logged.
    if (slot.read_errors <= 3) spdlog::error("source {}: {}", slot.name, result.error);
  }
  // A socket that stays readable and only fails would keep the loop spinning: after this many failed
  // reads in a row, with no frame in between, the capture is given up (said in the log and status).
  constexpr std::uint32_t kMaxFailingReads = 1000;
  slot.failing_reads = result.error.empty() || result.delivered > 0 ? 0 : slot.failing_reads + 1;
  if (slot.failing_reads >= kMaxFailingReads) {
    slot.stopped = true;
    const std::string message = fmt::format(
        "source {}: the capture failed {} times in a row ({}); given up, "
        "restart strikeout to capture again",
        slot.name, slot.failing_reads, result.error);
    spdlog::error("{}", message);
    warnings_.push_back(message);
    return;
  }
  if (result.finished) {
    slot.stopped = true;
    const std::string message =
        fmt::format("source {}: the capture ended ({}); restart strikeout to capture again", slot.name,
                    result.error.empty() ? "its interface went away" : result.error);
    spdlog::error("{}", message);
    warnings_.push_back(message);
    return;
  }
  if (result.more && !slot.draining) {
    slot.draining = true;
    asio::post(io_, [this, &slot] {
      slot.draining = false;
      if (!stopping_) drain_wire(slot);
    });
  }
}

// On the tick: idle connections leave the table even while the capture is quiet; kernel drops are
// said (a failure in a dropped frame was not seen); and when this host's addresses changed, the
// sensors start again with the new list (connections in flight are followed anew: a reply on one of
// them counts again once its client has acknowledged bytes we sent).
void Daemon::check_wire(core::Time t) {
  if (wire_slots_.empty()) return;
  for (auto& slot : wire_slots_) {
    slot->sensor->expire(t);
    const std::uint64_t dropped = slot->capture->stats().dropped;
    if (dropped > slot->dropped_reported) {
      spdlog::warn(
          "source {}: the kernel dropped {} captured frames (capture buffer full); failures in them "
          "were not seen",
          slot->name, dropped - slot->dropped_reported);
      slot->dropped_reported = dropped;
    }
  }
  const auto steady = std::chrono::steady_clock::now();
  if (steady - last_address_check_ < kAddressCheckInterval) return;
  last_address_check_ = steady;
  std::string error;
  auto addresses = current_host_addresses(error);
  if (!error.empty() || addresses == host_addresses_) return;
  spdlog::info("wire: this host's addresses changed ({} now); the wire sensors follow connections anew",
               addresses.size());
  host_addresses_ = std::move(addresses);
  for (auto& slot : wire_slots_) {
    slot->sensor = std::make_unique<wire::WireSensor>(wire_settings(slot->interface), *slot);
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
        all.push_back(core::FirewallBan{ban.target, ban.until, decoy::tarpit(cfg_->decoy, ban)});
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

core::FirewallResult Daemon::flush_firewall() {
  const auto read_at = batch_read_at_;
  batch_read_at_.reset();
  if (pending_bans_.empty() && pending_unbans_.empty()) return core::FirewallResult::success();
  const auto result = firewall_->apply(pending_bans_, pending_unbans_, now());
  if (!result) {
    // Nothing was applied: keep every change and try again on the next tick. Never a silent loss.
    ++firewall_failures_;
    spdlog::error("nftables refused {} ban and {} unban changes: {} (retrying)", pending_bans_.size(),
                  pending_unbans_.size(), result.error);
    return result;
  }
  if (read_at) {
    // Line read -> kernel batch done, once per ban the batch carried (docs/cli.md, Metrics).
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - *read_at;
    for (std::size_t i = 0; i < pending_bans_.size(); ++i) metrics_.ban_latency(took.count());
  }
  for (const auto& refused : result.allowlisted) {
    spdlog::warn("not banned: {} is on the allowlist (the host's own addresses are on it)",
                 refused.to_string());
  }
  if (result.sessions_ended > 0)
    spdlog::info("ended {} open sessions of newly banned sources", result.sessions_ended);
  pending_bans_.clear();
  pending_unbans_.clear();
  return result;
}

// Positions go to the state store with the engine's changes (arm_store_timer, every kStoreInterval).
// Forced (at stop): everything is committed and on disk before the daemon exits.
void Daemon::commit_positions(bool force) {
  if (!store_ || !force) return;
  std::string error;
  if (!commit_state_now(error)) spdlog::error("saving the state at stop: {}", error);
  last_commit_ = std::chrono::steady_clock::now();
}

void Daemon::on_tick() {
  const auto t = now();
  sample_store_commit();
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
  check_wire(t);
  commit_positions(false);
  sample_rates();
  sd_notify(0, "WATCHDOG=1");
  tick_.expires_after(kTick);
  tick_.async_wait([this](const asio::error_code& ec) {
    if (!ec && !stopping_) on_tick();
  });
}

bool Daemon::reload() {
  sd_notify(0, "RELOADING=1");
  spdlog::info("reloading {}", options_.config_path);
  auto fresh = load_config();
  if (!fresh) {
    spdlog::error("reload refused: the new configuration has errors; the old one stays in force");
    ++reload_failures_;
    sd_notify(0, "READY=1");
    return false;
  }
  // The engine takes the new rules and allowlist: bans, offence history and the windows of rules
  // that kept their name and settings carry over; bans the new allowlist covers are lifted.
  engine_->reload(effective_policy(*fresh), now(), *this);
  if (store_) {
    // Windows of changed rules were dropped: the store takes the whole state again (off the loop).
    core::StateUpdate whole = take_update();
    whole.engine = core::EngineDelta{};
    whole.engine.present = engine_->export_state();
    whole.replace_all = true;
    store_->submit(std::move(whole));
  }
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
  formatter_ = std::make_unique<report::DecisionFormatter>(engine_->policy());
  flush_firewall();
  spdlog::info("reloaded: {} rules, {} allowlisted networks", cfg_->policy.rules.size(),
               cfg_->policy.allowlist.size());
  ++reloads_;
  sd_notify(0, "READY=1");
  return true;
}

void Daemon::stop() {
  if (stopping_) return;
  stopping_ = true;
  sd_notify(0, "STOPPING=1");
  const bool remove_bans = options_.flush_on_exit || (cfg_ && cfg_->enforce.flush_on_exit);
  if (!remove_bans) {
    spdlog::info("stopping; {} bans stay in the kernel until their timeouts",
                 engine_ ? engine_->stats().active_bans : 0);
  }
  flush_firewall();
  commit_positions(true);
  if (remove_bans && firewall_) {
    // The operator wants no ban to outlive the daemon: our table goes, and nothing else. The bans stay
    // in the store, so the next start puts them back.
    if (firewall_watch_) firewall_watch_->cancel();  // our own deletion is not a "table gone" to repair
    std::string error;
    if (firewall_->remove_table(error)) {
      spdlog::info("stopping; removed the nftables table inet {} with its {} bans (flush on exit)",
                   cfg_->enforce.table, engine_ ? engine_->stats().active_bans : 0);
    } else {
      spdlog::error("flush on exit: {}", error);
    }
  }
  control_.reset();  // removes the socket: a CLI now says the daemon is not running
  metrics_server_.reset();
  signals_.cancel();
  tick_.cancel();
  decoy_.reset();  // stops the decoy's workers
  store_timer_.cancel();
  for (auto& slot : slots_) {
    if (slot->watch) slot->watch->cancel();
  }
  for (auto& slot : wire_slots_) {
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
  started_ = now();
  hash_seed_ = random_seed();
  if (!open_store()) return 1;  // may take the saved seed instead: saved windows and reports use it
  recent_ = std::make_unique<control::RecentActivity>(16384, 32, hash_seed_ ^ 0x9e3779b97f4a7c15ULL);
  // Runtime allowlist entries (`strikeout allow add`) live beside the state until the store keeps them.
  allowlist_path_ = cfg_->state.path.parent_path() / "allowlist";
  {
    auto loaded_allow = control::load_allowlist_file(allowlist_path_);
    if (auto* error = std::get_if<std::string>(&loaded_allow)) {
      spdlog::error("not started: {}", *error);
      return 1;
    }
    runtime_allow_ = std::get<0>(std::move(loaded_allow));
  }
  engine_ = std::make_unique<core::Engine>(effective_policy(*cfg_));
  formatter_ = std::make_unique<report::DecisionFormatter>(engine_->policy());
  {
    // The saved state: windows and strikes, bans, offence history, duplicate pairing.
    const core::EngineState& saved = loaded_state_->engine;
    engine_->import_state(saved, now());
    spdlog::info("state {}: {} bans, {} offenders, {} windows, {} campaigns taken back", store_->path(),
                 engine_->stats().active_bans, saved.offenders.size(), saved.windows.size(),
                 saved.campaigns.size());
    const bool positions_saved = !loaded_state_->positions.empty();
    loaded_state_.reset();
    // Before the store, positions were kept in a file of their own: read it once into the store.
    std::string positions_path = options_.positions_path;
    if (positions_path.empty()) positions_path = (cfg_->state.path.parent_path() / "positions").string();
    std::error_code ec;
    if (!positions_saved && std::filesystem::exists(positions_path, ec)) {
      auto positions = sources::PositionFile::open(positions_path);
      if (auto* error = std::get_if<std::string>(&positions)) {
        spdlog::error("not started: {}", *error);
        return 1;
      }
      auto& file = *std::get<0>(positions);
      core::StateUpdate u;
      for (const auto& src : cfg_->sources) {
        if (auto pos = file.load(src.name)) u.positions[src.name] = *pos;
      }
      if (auto error = store_->commit_now(std::move(u))) {
        spdlog::error("not started: moving the log positions of {} into the state database: {}",
                      positions_path, *error);
        return 1;
      }
      const std::string moved = positions_path + ".moved-to-state-db";
      std::filesystem::rename(positions_path, moved, ec);
      spdlog::info(
          "log positions of {} are now kept in {} ({})", positions_path, store_->path(),
          ec ? "the old file could not be renamed: " + ec.message() : "old file renamed to " + moved);
    }
  }
  positions_ = store_.get();

  // The decoy's workers are forked before the firewall and the sources are opened (they keep none
  // of the daemon's descriptors anyway); each AUTH attempt they see is an event like a log line's.
  auto decoy_link = decoy::DaemonLink::start(
      io_, cfg_->decoy, cfg_->policy,
      [this](const core::Event& e) {
        engine_->on_event(e, *this);
        flush_firewall();
      },
      [](const std::string& problem) { spdlog::warn("{}", problem); });
  if (auto* error = std::get_if<std::string>(&decoy_link)) {
    spdlog::error("not started: {}", *error);
    return 1;
  }
  decoy_ = std::move(std::get<0>(decoy_link));
  if (!start_firewall(*cfg_)) return 1;
  if (!open_sources(*cfg_)) return 1;
  if (!open_wire(*cfg_)) return 1;
  // Lines after the saved positions are read again first: the bans they make again are then the
  // engine's own, and only what is left in the kernel beyond them is taken over (docs/state.md).
  for (auto& slot : slots_) {
    while (slot->source->read(*slot, kReadBudget).more) {
    }
  }
  flush_firewall();
  reconcile_with_kernel();
  // Where reading starts is on disk before anything else happens: a first start begins at the end of
  // each log, and a crash before the first commit must resume there, not at the then end.
  if (std::string error; !commit_state_now(error)) {
    spdlog::error("not started: {}", error);
    return 1;
  }
  if (!start_control_and_metrics()) return 1;
  // Everything that needs root is open: keep only what nftables needs (docs/cli.md, "Running as a
  // service"), and CAP_NET_RAW while a wire capture runs (its packet socket is open already; the
  // capability is kept so that a capture can be reopened without a restart).
  for (const auto& problem : drop_privileges(!wire_slots_.empty())) spdlog::info("privileges: {}", problem);

  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  std::function<void(const asio::error_code&, int)> on_signal = [this, &on_signal](const asio::error_code& e,
                                                                                   int sig) {
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
  arm_store_timer();

  spdlog::info("strikeout started: {} rules, {} sources, protecting ports {}", cfg_->policy.rules.size(),
               slots_.size() + wire_slots_.size(), fmt::join(cfg_->ports, ","));
  sd_notify(0, "READY=1");
  io_.run();
  return 0;
}

// ---- state store (issue 4, part 1; docs/state.md) ----

// Opens [state] path, reads it whole (loaded_state_) and takes its hash seed. A damaged, foreign or
// newer database stops the start with a message naming it, unless --reset-state was given: then it
// is moved aside (PATH.corrupt-TIME) and an empty one is started. Never a silent empty start.
bool Daemon::open_store() {
  const std::string path = cfg_->state.path.string();
  std::error_code ec;
  std::filesystem::create_directories(cfg_->state.path.parent_path(), ec);
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

void Daemon::note_touched(const core::Event& event) {
  // Consecutive events of one attacker touch the same keys: keep one entry for them.
  if (touched_.sources.empty() || touched_.sources.back() != event.source)
    touched_.sources.push_back(event.source);
  if (!event.user.empty() && (touched_.usernames.empty() || touched_.usernames.back() != event.user)) {
    touched_.usernames.emplace_back(event.user);
  }
}

// What the engine changed since the last update, with every source's position taken at the same
// instant (all lines before those positions have been handed to the engine), so a crash leaves a
// state whose windows and positions agree.
core::StateUpdate Daemon::take_update() {
  auto unique = [](auto& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  unique(touched_.sources);
  unique(touched_.usernames);
  unique(touched_.targets);
  core::StateUpdate u;
  u.engine = engine_->export_touched(touched_);
  touched_.clear();
  for (const auto& slot : slots_) u.positions[slot->name] = slot->source->checkpoint();
  positions_dirty_ = false;
  return u;
}

bool Daemon::commit_state_now(std::string& error) {
  if (!store_) return true;
  if (auto e = store_->commit_now(take_update())) {
    error = *e;
    return false;
  }
  return true;
}

void Daemon::arm_store_timer() {
  store_timer_.expires_after(kStoreInterval);
  store_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopping_) return;
    if (!touched_.empty() || positions_dirty_) store_->submit(take_update());
    if (auto error = store_->take_error()) spdlog::error("{} (kept queued, retrying)", *error);
    arm_store_timer();
  });
}

// At start: the kernel's table and the saved state are made to agree. A ban the kernel holds that the
// store does not know (made while the store was lost, or by a run without one) is taken over by the
// engine; a saved ban the kernel lacks (after a reboot, a flush, or a crash before the kernel batch)
// is put back, with every other such ban, in one batch (NftFirewall::restore).
void Daemon::reconcile_with_kernel() {
  const auto t = now();
  std::vector<core::BanInfo> saved = engine_->active_bans();
  std::vector<core::Prefix> known;
  known.reserve(saved.size());
  for (const auto& b : saved) known.push_back(b.target);
  std::sort(known.begin(), known.end());
  const auto& in_kernel = firewall_->adopted();
  std::size_t taken_over = 0;
  quiet_ = true;
  for (const auto& ban : in_kernel) {
    if (std::binary_search(known.begin(), known.end(), ban.target)) continue;
    engine_->ban(ban.target, t, std::chrono::duration_cast<core::Duration>(ban.until - t),
                 "taken over from the kernel table at start", *this);
    ++taken_over;
  }
  quiet_ = false;
  pending_bans_.clear();  // already in the kernel
  std::vector<core::FirewallBan> kernel = in_kernel;
  std::sort(kernel.begin(), kernel.end(), [](const auto& a, const auto& b) { return a.target < b.target; });
  std::vector<core::FirewallBan> missing;
  for (const auto& b : saved) {
    auto it =
        std::lower_bound(kernel.begin(), kernel.end(), b.target,
                         [](const core::FirewallBan& k, const core::Prefix& p) { return k.target < p; });
    // A kernel timeout a second or more short of the saved end is set again (a re-tag the kernel
    // did not get before a crash).
    if (it == kernel.end() || it->target != b.target || it->until + std::chrono::seconds(1) < b.until) {
      // The same choice as when the ban was made: a rule's tarpit action, or an escalation step
      // (tarpit_from_offence) that sends repeat offenders to the decoy.
      missing.push_back(core::FirewallBan{b.target, b.until, decoy::tarpit(cfg_->decoy, b)});
    }
  }
  if (!missing.empty()) {
    const auto result = firewall_->restore(missing, t);
    if (!result) {
      ++firewall_failures_;
      spdlog::error("putting {} saved bans back into the kernel failed: {} (retrying with the next batch)",
                    missing.size(), result.error);
      pending_bans_ = missing;
    }
  }
  spdlog::info(
      "kernel table and saved state reconciled: {} bans in the kernel, {} saved; {} taken over from the "
      "kernel, {} put back into it",
      in_kernel.size(), saved.size(), taken_over, missing.size());
}

// ---- control socket, metrics (issue 4; docs/cli.md) ----

nlohmann::json ban_json(const core::BanInfo& ban) {
  nlohmann::json j = nlohmann::json::object();
  j["target"] = ban.target.to_string();
  j["rule"] = ban.rule;
  j["action"] = ban.action == core::RuleAction::Tarpit ? "tarpit" : "ban";
  j["reason"] = ban.reason;
  j["since"] = core::format_rfc3339(ban.since);
  j["until"] = core::format_rfc3339(ban.until);
  j["strikes"] = ban.count;
  j["offence"] = ban.offence;
  return j;
}

nlohmann::json prefixes_json(const std::vector<core::Prefix>& list) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& p : list) j.push_back(p.to_string());
  return j;
}

// One live capture in `status` (docs/wire.md, "Live operation"): the fields every sensor has (`lines`
// are its captured frames, so `strikeout status` prints them as for a log) and the capture's own.
// `health`: "capturing", "dropping" (the kernel dropped frames: failures in them were not seen) or
// "stopped" (the capture ended; a restart is needed).
nlohmann::json wire_status(const WireSlot& slot) {
  const auto& c = slot.capture->stats();
  const auto& d = slot.sensor->decode_stats();
  const auto& w = slot.sensor->stats();
  nlohmann::json s = nlohmann::json::object();
  s["name"] = slot.name;
  s["kind"] = "wire";
  s["interface"] = slot.interface;
  s["health"] = slot.stopped ? "stopped" : c.dropped > 0 ? "dropping" : "capturing";
  s["lines"] = c.packets;
  s["events"] = slot.events;
  s["unrecognised"] = d.malformed + d.truncated;
  s["errors"] = slot.read_errors + c.dropped;
  s["lines_per_second"] = slot.packets_per_second;
  s["last_event"] = slot.last_event == core::Time{} ? nlohmann::json(nullptr)
                                                    : nlohmann::json(core::format_rfc3339(slot.last_event));
  s["packets"] = c.packets;
  s["bytes"] = c.bytes;
  s["dropped"] = c.dropped;
  s["truncated"] = c.truncated;
  s["failures"] = w.failures;
  s["successes"] = w.successes;
  s["usernames"] = w.usernames;
  s["unverified_replies"] = w.unverified_replies;
  s["received_replies"] = w.received_replies;
  s["foreign_replies"] = w.foreign_replies;
  s["connections_active"] = w.active;
  s["connections_evicted"] = w.evicted;
  s["gaps"] = w.gaps;
  s["starttls_sessions"] = w.starttls_sessions;
  s["implicit_tls_connections"] = w.implicit_tls_connections;
  return s;
}

// A ban made through the CLI without --for lasts this long.
constexpr auto kDefaultOperatorBan = std::chrono::hours(24);

core::Policy Daemon::effective_policy(const config::Config& cfg) const {
  core::Policy policy = cfg.policy;
  policy.allowlist = effective_allowlist(cfg);
  policy.limits.hash_seed = hash_seed_;
  return policy;
}

std::vector<core::Prefix> Daemon::effective_allowlist(const config::Config& cfg) const {
  std::vector<core::Prefix> all = cfg.policy.allowlist;
  for (const auto& p : runtime_allow_) {
    if (std::find(all.begin(), all.end(), p) == all.end()) all.push_back(p);
  }
  return all;
}

bool Daemon::start_control_and_metrics() {
  last_rate_sample_ = std::chrono::steady_clock::now();
  control::ControlServerOptions c;
  c.socket = cfg_->control.socket;
  c.group = cfg_->control.group;
  auto opened = control::ControlServer::open(io_, c, *this);
  if (auto* error = std::get_if<std::string>(&opened)) {
    spdlog::error("not started: {}", *error);
    return false;
  }
  control_ = std::move(std::get<0>(opened));
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

void Daemon::sample_rates() {
  const auto t = std::chrono::steady_clock::now();
  const std::chrono::duration<double> span = t - last_rate_sample_;
  if (span < std::chrono::seconds(5)) return;
  for (auto& slot : slots_) {
    slot->lines_per_second = static_cast<double>(slot->lines - slot->lines_at_sample) / span.count();
    slot->lines_at_sample = slot->lines;
  }
  for (auto& slot : wire_slots_) {
    const std::uint64_t packets = slot->capture->stats().packets;
    slot->packets_per_second = static_cast<double>(packets - slot->packets_at_sample) / span.count();
    slot->packets_at_sample = packets;
  }
  last_rate_sample_ = t;
}

std::string Daemon::render_metrics() {
  std::vector<metrics::SensorCounters> sensors;
  for (const auto& slot : slots_) sensors.push_back({slot->name, slot->lines, slot->unparsed, slot->errors});
  // A capture's "lines" are its captured frames; its errors, failed reads and kernel drops.
  for (const auto& slot : wire_slots_) {
    const auto& c = slot->capture->stats();
    sensors.push_back({slot->name, c.packets, 0, slot->read_errors + c.dropped});
  }
  metrics::DaemonGauges g;
  g.start_time_seconds = static_cast<double>(core::to_micros(started_)) / 1e6;
  g.kernel_batch_errors = firewall_failures_;
  g.rate_limited = rate_limited_;
  std::string why;
  g.kernel_table_intact = firewall_->table_intact(why);
  g.watchers = control_ ? control_->watchers() : 0;
  g.watchers_dropped = control_ ? control_->watchers_dropped() : 0;
  g.reloads = reloads_;
  g.reload_failures = reload_failures_;
  sample_store_commit();
  g.store_commit = &store_commit_;
  return metrics_.render(engine_->stats(), sensors, g);
}

void Daemon::publish_event(const SensorInfo& slot, const core::Event& event) {
  nlohmann::json j = nlohmann::json::object();
  std::string text;
  switch (event.kind) {
    case core::EventKind::AuthFailure:
      j["type"] = "attempt";
      text = "AUTH failure: SRC=";
      break;
    case core::EventKind::AuthSuccess:
      j["type"] = "success";
      text = "AUTH success: SRC=";
      break;
    case core::EventKind::Connect:
      j["type"] = "connect";
      text = "connect: SRC=";
      break;
    case core::EventKind::ProtocolAbuse:
      j["type"] = "abuse";
      text = "protocol abuse: SRC=";
      break;
  }
  text += event.source.to_string();
  if (!event.service.empty()) text += fmt::format(" service={}", event.service);
  if (!event.user.empty()) {
    text += " user=";
    report::append_quoted(text, event.user);
  }
  text += fmt::format(" sensor={}", slot.name);
  if (engine_->is_allowlisted(event.source)) text += " (allowlisted)";
  j["time"] = core::format_rfc3339(event.time);
  j["address"] = event.source.to_string();
  j["service"] = std::string(event.service);
  j["user"] = std::string(event.user);
  j["sensor"] = slot.name;
  j["text"] = text;
  control_->publish(j);
}

void Daemon::publish_decision(const core::Decision& d) {
  std::string json_text;
  formatter_->append_json(json_text, d);
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded()) j = nlohmann::json::object();
  j["type"] = d.kind == core::DecisionKind::Strike ? "strike"
              : d.kind == core::DecisionKind::Ban  ? "ban"
                                                   : "unban";
  j["text"] = formatter_->human(d);
  control_->publish(j);
}

control::Reply Daemon::handle(const control::Request& request, const control::Peer& peer) {
  if (!control::is_read_only(request.command)) {
    spdlog::info("control: {} {} (uid {}, pid {})", control::to_string(request.command),
                 request.target ? request.target->to_string() : std::string(), peer.uid, peer.pid);
  }
  switch (request.command) {
    case control::Command::Status:
      return status();
    case control::Command::List:
      return list(request.rule);
    case control::Command::Ban:
      return operator_ban(request);
    case control::Command::Unban:
      return operator_unban(*request.target);
    case control::Command::Explain:
      return explain(request.target->address());
    case control::Command::AllowAdd:
      return allow_add(*request.target);
    case control::Command::AllowRemove:
      return allow_remove(*request.target);
    case control::Command::AllowList:
      return allow_list();
    case control::Command::Watch:
      return control::Reply::success({{"watching", true}});
    case control::Command::Reload:
      if (reload()) return control::Reply::success({{"rules", cfg_->policy.rules.size()}});
      {
        nlohmann::json errors = nlohmann::json::array();
        for (const auto& e : last_config_errors_) errors.push_back(e);
        std::string message =
            "reload refused: " + options_.config_path + " has errors; the old configuration stays in force";
        for (const auto& e : last_config_errors_) message += "\n  " + e;
        return control::Reply::failure(control::code::kFailed, message);
      }
  }
  return control::Reply::failure(control::code::kBadRequest, "unknown command");
}

control::Reply Daemon::status() {
  const auto t = now();
  nlohmann::json j = nlohmann::json::object();
  j["version"] = 1;
  j["pid"] = getpid();
  j["started"] = core::format_rfc3339(started_);
  j["uptime_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(t - started_).count();
  j["config"] = cfg_->origin;
  nlohmann::json sensors = nlohmann::json::array();
  for (const auto& slot : slots_) {
    nlohmann::json s = nlohmann::json::object();
    s["name"] = slot->name;
    s["lines"] = slot->lines;
    s["events"] = slot->events;
    s["unrecognised"] = slot->unparsed;
    s["errors"] = slot->errors;
    s["lines_per_second"] = slot->lines_per_second;
    s["last_event"] = slot->last_event == core::Time{}
                          ? nlohmann::json(nullptr)
                          : nlohmann::json(core::format_rfc3339(slot->last_event));
    s["kind"] = "log";
    sensors.push_back(std::move(s));
  }
  for (const auto& slot : wire_slots_) sensors.push_back(wire_status(*slot));
  j["sensors"] = std::move(sensors);
  const auto& st = engine_->stats();
  j["engine"] = {{"tracked_keys", st.tracked_keys}, {"memory_bytes", st.memory_bytes},
                 {"evictions", st.evictions},       {"strikes_total", st.strikes_total},
                 {"bans_total", st.bans_total},     {"duplicates", st.duplicates},
                 {"events_failure", st.events[0]},  {"events_success", st.events[1]},
                 {"events_connect", st.events[2]}};
  nlohmann::json by_rule = nlohmann::json::object();
  std::uint64_t active = 0;
  for (const auto& ban : engine_->active_bans()) {
    ++active;
    by_rule[ban.rule] = by_rule.value(ban.rule, std::uint64_t{0}) + 1;
  }
  j["bans"] = {{"active", active}, {"by_rule", by_rule}};
  std::string why;
  const bool intact = firewall_->table_intact(why);
  std::vector<core::FirewallBan> kernel;
  std::string list_error;
  const bool listed = firewall_->list(t, kernel, list_error);
  nlohmann::json k = {
      {"table", "inet " + cfg_->enforce.table}, {"present", intact}, {"batch_errors", firewall_failures_}};
  if (!intact) k["problem"] = why;
  if (listed) {
    k["elements"] = kernel.size();
    // In sync: the kernel holds exactly the engine's bans (pending changes are flushed at every read).
    k["in_sync"] = kernel.size() == active && pending_bans_.empty() && pending_unbans_.empty();
  } else {
    k["in_sync"] = false;
    k["problem"] = list_error;
  }
  j["kernel"] = std::move(k);
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto& w : warnings_) warnings.push_back(w);
  j["warnings"] = std::move(warnings);
  j["control"] = {{"socket", cfg_->control.socket.string()}, {"clients", control_->clients()}};
  j["metrics"] = cfg_->metrics.listen
                     ? nlohmann::json("http://" + cfg_->metrics.listen->to_string() + "/metrics")
                     : nlohmann::json(nullptr);
  return control::Reply::success(std::move(j));
}

control::Reply Daemon::list(const std::string& rule) {
  nlohmann::json bans = nlohmann::json::array();
  for (const auto& ban : engine_->active_bans()) {
    if (!rule.empty() && ban.rule != rule) continue;
    bans.push_back(ban_json(ban));
  }
  return control::Reply::success({{"bans", std::move(bans)}});
}

control::Reply Daemon::operator_ban(const control::Request& request) {
  const core::Prefix target = *request.target;
  const core::Duration length = request.duration.value_or(kDefaultOperatorBan);
  const std::string reason = request.reason.empty() ? "banned by the operator" : request.reason;
  const auto t = now();
  switch (engine_->ban(target, t, length, reason, *this)) {
    case core::OperatorResult::Allowlisted:
      return control::Reply::failure(
          control::code::kAllowlisted,
          target.to_string() + " is on the allowlist (or holds an allowlisted address): not banned");
    case core::OperatorResult::Invalid:
      return control::Reply::failure(control::code::kBadRequest, "the ban's duration must be positive");
    default:
      break;
  }
  const auto result = flush_firewall();
  if (!result) {
    return control::Reply::failure(control::code::kFailed, "the kernel refused the ban: " + result.error +
                                                               " (the daemon keeps retrying)");
  }
  if (std::find(result.allowlisted.begin(), result.allowlisted.end(), target) != result.allowlisted.end()) {
    engine_->unban(target, t, *this);
    flush_firewall();
    return control::Reply::failure(
        control::code::kAllowlisted,
        target.to_string() + " is one of this host's own addresses (on the allowlist): not banned");
  }
  // A CLI ban is on disk before the CLI hears it is done (docs/state.md).
  if (std::string error; !commit_state_now(error)) {
    return control::Reply::failure(control::code::kFailed, "the ban is in force but could not be saved: " +
                                                               error + " (the daemon keeps retrying)");
  }
  auto ban = engine_->ban_covering(target.address());
  nlohmann::json j = ban ? ban_json(*ban) : nlohmann::json::object();
  return control::Reply::success(std::move(j));
}

control::Reply Daemon::operator_unban(const core::Prefix& target) {
  if (engine_->unban(target, now(), *this) == core::OperatorResult::NotBanned) {
    std::string hint;
    if (target.is_host()) {
      if (auto covering = engine_->ban_covering(target.address())) {
        hint = "; it is inside the banned network " + covering->target.to_string();
      }
    }
    return control::Reply::failure(control::code::kNotFound, target.to_string() + " is not banned" + hint);
  }
  const auto result = flush_firewall();
  if (!result) {
    return control::Reply::failure(control::code::kFailed, "the kernel refused the unban: " + result.error +
                                                               " (the daemon keeps retrying)");
  }
  if (std::string error; !commit_state_now(error)) {
    return control::Reply::failure(control::code::kFailed, "the unban is done but could not be saved: " +
                                                               error + " (the daemon keeps retrying)");
  }
  return control::Reply::success({{"target", target.to_string()}});
}

control::Reply Daemon::explain(const core::Address& address) {
  nlohmann::json j = nlohmann::json::object();
  j["address"] = address.to_string();
  j["allowlisted"] = engine_->is_allowlisted(address);
  auto ban = engine_->ban_covering(address);
  j["ban"] = ban ? ban_json(*ban) : nlohmann::json(nullptr);
  nlohmann::json activity = nlohmann::json::array();
  for (const auto& e : recent_->entries(address)) activity.push_back(control::to_json(e));
  // A network ban is filed under the network's address: show its history too.
  if (ban && !ban->target.is_host()) {
    for (const auto& e : recent_->entries(ban->target.address())) activity.push_back(control::to_json(e));
  }
  j["activity"] = std::move(activity);
  nlohmann::json bans = nlohmann::json::array();
  for (const auto& e : recent_->bans(address)) bans.push_back(control::to_json(e));
  j["escalation"] = std::move(bans);
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& rule : engine_->policy().rules) {
    rules.push_back({{"name", rule.name},
                     {"on", std::string(core::to_string(rule.on))},
                     {"hits", rule.hits},
                     {"within", core::format_duration(rule.within)},
                     {"ban", core::format_duration(rule.ban)}});
  }
  j["rules"] = std::move(rules);
  return control::Reply::success(std::move(j));
}

bool Daemon::apply_allowlist() {
  engine_->reload(effective_policy(*cfg_), now(), *this);
  const auto result = firewall_->set_allowlist(effective_allowlist(*cfg_));
  flush_firewall();
  if (!result) spdlog::error("the kernel allowlist could not be replaced: {}", result.error);
  return static_cast<bool>(result);
}

control::Reply Daemon::allow_add(const core::Prefix& target) {
  const auto& configured = cfg_->policy.allowlist;
  if (std::find(configured.begin(), configured.end(), target) != configured.end() ||
      std::find(runtime_allow_.begin(), runtime_allow_.end(), target) != runtime_allow_.end()) {
    return control::Reply::success({{"target", target.to_string()}, {"added", false}});
  }
  runtime_allow_.push_back(target);
  if (auto error = control::save_allowlist_file(allowlist_path_, runtime_allow_)) {
    runtime_allow_.pop_back();
    return control::Reply::failure(control::code::kFailed, *error);
  }
  if (!apply_allowlist()) {
    return control::Reply::failure(control::code::kFailed,
                                   "saved, but the kernel refused the new allowlist (see the daemon's log)");
  }
  return control::Reply::success({{"target", target.to_string()}, {"added", true}});
}

control::Reply Daemon::allow_remove(const core::Prefix& target) {
  const auto& configured = cfg_->policy.allowlist;
  if (std::find(configured.begin(), configured.end(), target) != configured.end()) {
    return control::Reply::failure(control::code::kInConfig,
                                   target.to_string() + " is in the configuration file " + cfg_->origin +
                                       " ([allow] networks): edit the file, then run `strikeout reload`");
  }
  auto it = std::find(runtime_allow_.begin(), runtime_allow_.end(), target);
  if (it == runtime_allow_.end()) {
    return control::Reply::failure(control::code::kNotFound, target.to_string() + " is not on the allowlist");
  }
  runtime_allow_.erase(it);
  if (auto error = control::save_allowlist_file(allowlist_path_, runtime_allow_)) {
    runtime_allow_.push_back(target);
    return control::Reply::failure(control::code::kFailed, *error);
  }
  if (!apply_allowlist()) {
    return control::Reply::failure(control::code::kFailed,
                                   "saved, but the kernel refused the new allowlist (see the daemon's log)");
  }
  return control::Reply::success({{"target", target.to_string()}, {"removed", true}});
}

control::Reply Daemon::allow_list() {
  nlohmann::json j = nlohmann::json::object();
  j["configuration"] = prefixes_json(cfg_->policy.allowlist);
  j["runtime"] = prefixes_json(runtime_allow_);
  j["runtime_file"] = allowlist_path_.string();
  j["host_addresses"] = cfg_->allow_host_addresses;
  j["kernel"] = prefixes_json(firewall_->allowlist());
  return control::Reply::success(std::move(j));
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  Daemon daemon(options);
  return daemon.run();
}

}  // namespace strikeout::daemon
