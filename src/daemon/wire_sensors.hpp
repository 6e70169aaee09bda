// The wire sensor in the daemon ([wire] interfaces, docs/wire.md "Live operation"): one live capture
// per interface, the sensor that turns its frames into core::Events delivered through the EventPath,
// and this host's addresses, followed as they change.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/result.hpp"
#include "daemon/sensor.hpp"
#include "metrics/daemon_metrics.hpp"
#include "wire/pcap_source.hpp"
#include "wire/sensor.hpp"

namespace strikeout::daemon {

class WireSensors;

struct WireSlot final : Sensor, wire::WireSink {
  WireSensors* owner = nullptr;
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

class WireSensors {
 public:
  WireSensors(asio::io_context& io, EventPath& path, std::vector<std::string>& warnings);
  ~WireSensors();

  // Opens one live capture per [wire] interfaces entry, when [wire] enabled. Fails (logged) on a
  // missing interface, a missing CAP_NET_RAW, a libpcap without cooked capture v2: the operator asked
  // for the wire, and running without it would be protection silently missing. Must run before the
  // capabilities are dropped. `logs_too`: whether log sensors run beside it (TLS ports need them).
  core::Status open(const config::Config& cfg, bool logs_too);
  // On the tick: idle connections expire, kernel drops are said, new host addresses are followed.
  void on_tick(core::Time now);
  void sample_rates(double seconds);
  void stop();

  bool empty() const { return slots_.empty(); }
  std::size_t size() const { return slots_.size(); }
  void status(nlohmann::json& sensors) const;
  void counters(std::vector<metrics::SensorCounters>& out) const;

  EventPath& path() { return path_; }
  // A "cannot see" notice: said once per kind for the daemon's life, whatever the number of captures.
  void notice(const wire::WireNotice& notice);

 private:
  wire::TrackerSettings settings(const std::string& interface) const;
  void arm(WireSlot& slot);
  void drain(WireSlot& slot);

  asio::io_context& io_;
  EventPath& path_;
  std::vector<std::string>& warnings_;
  std::vector<std::unique_ptr<WireSlot>> slots_;
  std::vector<core::Address> host_addresses_;  // what the sensors take as this host's own
  // [wire] and [protect] ports as they were when the captures opened: a reload does not change them
  // (a restart does), also when a sensor is rebuilt for new host addresses.
  config::WireSettings config_;
  std::vector<std::uint16_t> ports_;
  std::chrono::steady_clock::time_point last_address_check_{};
  bool noticed_[2] = {false, false};  // per wire::WireNoticeKind
  bool stopping_ = false;
};

}  // namespace strikeout::daemon
