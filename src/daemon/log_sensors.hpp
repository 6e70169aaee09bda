// The log sensors: every configured log source (files through inotify, journald) with its decoder,
// watched on the daemon's loop. Lines become core::Events delivered through the EventPath; the
// sources' positions go to the store with the engine's changes (PositionSource).
#pragma once

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/log_source.hpp"
#include "core/result.hpp"
#include "daemon/sensor.hpp"
#include "daemon/store_sync.hpp"
#include "logs/decoder.hpp"
#include "metrics/daemon_metrics.hpp"

namespace strikeout::daemon {

class LogSensors;

// One configured log source with its decoder.
struct LogSlot final : Sensor, core::LogSink {
  LogSensors* owner = nullptr;
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

class LogSensors final : public PositionSource {
 public:
  LogSensors(asio::io_context& io, EventPath& path, const core::Clock& clock,
             std::vector<std::string>& warnings);
  ~LogSensors() override;

  // Opens every source of `cfg` (resuming at its saved position), skipping a fallback whose source is
  // available, an optional file that does not exist and a journal this host lacks (each said in the
  // log and in `warnings`). Fails, logged, on a file source that cannot be opened or a bad matcher.
  core::Status open(const config::Config& cfg, core::PositionStore& positions);
  // Reads everything the sources hold after their saved positions (at start, before reconciling).
  void catch_up();
  // On the daemon's tick: sources that wake by time (a re-created file), and once a day the year
  // that RFC 3164 lines lack.
  void on_tick(core::Time now);
  // Lines per second of each source since the last sample.
  void sample_rates(double seconds);
  void stop();

  bool empty() const { return slots_.empty(); }
  std::size_t size() const { return slots_.size(); }
  void status(nlohmann::json& sensors) const;
  void counters(std::vector<metrics::SensorCounters>& out) const;

  bool positions_moved() const override { return moved_; }
  void checkpoint(core::SavedPositions& out) override;

  EventPath& path() { return path_; }

 private:
  void arm(LogSlot& slot);
  void drain(LogSlot& slot);
  logs::YearAnchor live_anchor() const;

  asio::io_context& io_;
  EventPath& path_;
  const core::Clock& clock_;
  std::vector<std::string>& warnings_;
  std::vector<std::unique_ptr<LogSlot>> slots_;
  bool moved_ = false;
  bool stopping_ = false;
  int day_of_anchor_ = -1;
};

}  // namespace strikeout::daemon
