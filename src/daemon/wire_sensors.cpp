#include "daemon/wire_sensors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>

#include "enforce/host_addresses.hpp"

namespace strikeout::daemon {

namespace {

// Frames handed over by one read() of a live capture: a burst is drained quickly, and the loop still
// gets back to the logs, the firewall and the other captures in between.
constexpr std::size_t kWireBudget = 1024;
// How often the wire sensor looks at the host's addresses again (an address added by DHCP or SLAAC
// after start: replies from it would otherwise be taken for foreign ones).
constexpr auto kAddressCheckInterval = std::chrono::seconds(10);

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

std::uint64_t connection_table_seed() {
  std::uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
    seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
           static_cast<std::uint64_t>(getpid());
  }
  return seed;
}

}  // namespace

void WireSlot::on_event(const core::Event& event) {
  owner->path().deliver(*this, event);
}

void WireSlot::on_notice(const wire::WireNotice& notice) {
  owner->notice(notice);
}

WireSensors::WireSensors(asio::io_context& io, EventPath& path, std::vector<std::string>& warnings)
    : io_(io), path_(path), warnings_(warnings) {}

WireSensors::~WireSensors() {
  stop();
}

void WireSensors::notice(const wire::WireNotice& notice) {
  bool& said = noticed_[static_cast<std::size_t>(notice.kind) & 1U];
  if (said) return;
  said = true;
  spdlog::warn("{}", notice.message);
  warnings_.push_back(notice.message);
}

wire::TrackerSettings WireSensors::settings(const std::string& interface) const {
  wire::TrackerSettings t;
  t.ports = ports_;
  t.implicit_tls_ports = config_.implicit_tls_ports;
  std::string error;
  // open() checked them (and the loader takes only what ReplyPatterns takes).
  if (auto patterns = wire::ReplyPatterns::create(config_.failure_replies, error))
    t.failure_replies = *patterns;
  t.server_addresses = host_addresses_;
  t.require_outgoing = true;  // live capture: only what the kernel marks as sent by this host
  t.max_connections = config_.max_connections;
  t.idle_timeout = config_.idle_timeout;
  t.hash_seed = connection_table_seed();  // the table is keyed by attacker-chosen ports and addresses
  t.sensor = "wire:" + interface;
  return t;
}

core::Status WireSensors::open(const config::Config& cfg, bool logs_too) {
  if (!cfg.wire.enabled) return {};
  config_ = cfg.wire;
  ports_ = cfg.ports;
  std::string error;
  host_addresses_ = current_host_addresses(error);
  if (!error.empty()) {
    spdlog::error("not started: wire: {}", error);
    return core::Failure{"wire: " + error};
  }
  last_address_check_ = std::chrono::steady_clock::now();
  if (std::string check; !wire::ReplyPatterns::create(cfg.wire.failure_replies, check)) {
    spdlog::error("not started: wire: {}", check);
    return core::Failure{"wire: " + check};
  }
  for (const auto& interface : cfg.wire.interfaces) {
    wire::LiveCaptureOptions options;
    options.interface = interface;
    options.ports = cfg.ports;
    auto capture = wire::open_live_capture(options, error);
    if (!capture) {
      spdlog::error("not started: {}", error);
      return core::Failure{error};
    }
    auto slot = std::make_unique<WireSlot>();
    slot->owner = this;
    slot->interface = interface;
    slot->name = "wire:" + interface;
    slot->capture = std::move(capture);
    slot->sensor = std::make_unique<wire::WireSensor>(settings(interface), *slot);
    path_.enrol(*slot);
    slot->watch = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(slot->capture->fd()));
    spdlog::info("source {}: capturing replies on ports {} ({} addresses of this host)", slot->name,
                 fmt::join(cfg.ports, ","), host_addresses_.size());
    slots_.push_back(std::move(slot));
  }
  // The wire alone sees no implicit-TLS port: say so now rather than at the first such connection.
  if (!logs_too) {
    for (const auto port : cfg.wire.implicit_tls_ports) {
      if (std::find(cfg.ports.begin(), cfg.ports.end(), port) == cfg.ports.end()) continue;  // not captured
      warnings_.push_back(fmt::format(
          "port {} is TLS-only and the wire sensor is the only sensor: failed logins on it are not seen; "
          "add a log source (journald or the mail log)",
          port));
      spdlog::warn("{}", warnings_.back());
    }
  }
  for (auto& slot : slots_) arm(*slot);
  return {};
}

void WireSensors::arm(WireSlot& slot) {
  if (!slot.watch || slot.stopped) return;
  slot.watch->async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, &slot](const asio::error_code& ec) {
                           if (ec || stopping_) return;
                           drain(slot);
                           arm(slot);
                         });
}

// Hands up to kWireBudget captured frames to the sensor, then the bans they made to the kernel at
// once: the latency that matters is the failure reply leaving -> the address in the kernel set
// (bench/wire-latency). A full budget is continued from the loop, after the others had their turn.
void WireSensors::drain(WireSlot& slot) {
  if (slot.stopped) return;
  path_.burst_started();
  const wire::PacketReadResult result = slot.capture->read(*slot.sensor, kWireBudget);
  path_.burst_done();
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
      if (!stopping_) drain(slot);
    });
  }
}

// On the tick: idle connections leave the table even while the capture is quiet; kernel drops are
// said (a failure in a dropped frame was not seen); and when this host's addresses changed, the
// sensors start again with the new list (connections in flight are followed anew: a reply on one of
// them counts again once its client has acknowledged bytes we sent).
void WireSensors::on_tick(core::Time now) {
  if (slots_.empty()) return;
  for (auto& slot : slots_) {
    slot->sensor->expire(now);
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
  for (auto& slot : slots_)
    slot->sensor = std::make_unique<wire::WireSensor>(settings(slot->interface), *slot);
}

void WireSensors::sample_rates(double seconds) {
  for (auto& slot : slots_) {
    const std::uint64_t packets = slot->capture->stats().packets;
    slot->packets_per_second = static_cast<double>(packets - slot->packets_at_sample) / seconds;
    slot->packets_at_sample = packets;
  }
}

void WireSensors::stop() {
  stopping_ = true;
  for (auto& slot : slots_) {
    if (slot->watch) {
      asio::error_code ec;
      slot->watch->cancel(ec);
    }
  }
}

// One live capture in `status` (docs/wire.md, "Live operation"): the fields every sensor has (`lines`
// are its captured frames, so `strikeout status` prints them as for a log) and the capture's own.
// `health`: "capturing", "dropping" (the kernel dropped frames: failures in them were not seen) or
// "stopped" (the capture ended; a restart is needed).
void WireSensors::status(nlohmann::json& sensors) const {
  for (const auto& slot : slots_) {
    const auto& c = slot->capture->stats();
    const auto& d = slot->sensor->decode_stats();
    const auto& w = slot->sensor->stats();
    nlohmann::json s = nlohmann::json::object();
    s["name"] = slot->name;
    s["kind"] = "wire";
    s["interface"] = slot->interface;
    s["health"] = slot->stopped ? "stopped" : c.dropped > 0 ? "dropping" : "capturing";
    s["lines"] = c.packets;
    s["events"] = slot->events;
    s["unrecognised"] = d.malformed + d.truncated;
    s["errors"] = slot->read_errors + c.dropped;
    s["lines_per_second"] = slot->packets_per_second;
    s["last_event"] = slot->last_event == core::Time{}
                          ? nlohmann::json(nullptr)
                          : nlohmann::json(core::format_rfc3339(slot->last_event));
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
    sensors.push_back(std::move(s));
  }
}

void WireSensors::counters(std::vector<metrics::SensorCounters>& out) const {
  // A capture's "lines" are its captured frames; its errors, failed reads and kernel drops.
  for (const auto& slot : slots_) {
    const auto& c = slot->capture->stats();
    out.push_back({slot->name, c.packets, 0, slot->read_errors + c.dropped});
  }
}

}  // namespace strikeout::daemon
