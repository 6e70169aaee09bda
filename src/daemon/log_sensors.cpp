#include "daemon/log_sensors.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <unordered_set>

#include "sources/file_source.hpp"
#include "sources/journal_source.hpp"

namespace strikeout::daemon {

namespace {

// Lines handed over by one read() call: large enough to drain a burst quickly, small enough that one
// busy log cannot keep the loop from the others (and from the firewall) for long.
constexpr std::size_t kReadBudget = 4096;

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

}  // namespace

void LogSlot::on_line(std::string_view line, const core::LineInfo& /*info*/) {
  ++lines;
  core::Event event;
  switch (decoder->decode(line, event)) {
    case logs::LineStatus::Event:
      owner->path().deliver(*this, event);
      break;
    case logs::LineStatus::NoEvent:
      break;
    case logs::LineStatus::Unparsed:
      ++unparsed;
      break;
  }
}

void LogSlot::on_record(const core::JournalRecord& record, const core::SourcePosition& /*after*/) {
  ++lines;
  logs::LogRecord rec;
  rec.time = record.time;
  rec.host = record.host;
  rec.program = record.program;
  rec.pid = record.pid;
  rec.message = record.message;
  core::Event event;
  if (decoder->decode_record(rec, event) == logs::LineStatus::Event) owner->path().deliver(*this, event);
}

void LogSlot::on_notice(const core::SourceNotice& notice) {
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

LogSensors::LogSensors(asio::io_context& io, EventPath& path, const core::Clock& clock,
                       std::vector<std::string>& warnings)
    : io_(io), path_(path), clock_(clock), warnings_(warnings) {}

LogSensors::~LogSensors() {
  stop();
}

logs::YearAnchor LogSensors::live_anchor() const {
  // Lines are written at or before now: an RFC 3164 line from a later month is last year's.
  return logs::YearAnchor::ending_at(clock_.now() + std::chrono::hours(24));
}

core::Status LogSensors::open(const config::Config& cfg, core::PositionStore& positions) {
  std::unordered_set<std::string> opened;
  for (const auto& src : cfg.sources) {
    auto slot = std::make_unique<LogSlot>();
    slot->owner = this;
    slot->name = src.name;
    bool available = true;  // may stand in for a source that falls back for this one
    if (!src.fallback_for.empty() && opened.count(src.fallback_for) != 0) {
      spdlog::info("source {}: not read, {} is available", src.name, src.fallback_for);
      continue;
    }
    const auto saved = positions.load(src.name);
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
        return core::Failure{"source " + src.name + ": " + *error};
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
      return core::Failure{"source " + src.name + ": " + *error};
    }
    slot->decoder = std::make_unique<logs::LineDecoder>(std::move(std::get<logs::LineDecoder>(decoder)));
    if (available) opened.insert(src.name);
    path_.enrol(*slot);
    spdlog::info("source {}: reading", src.name);
    slots_.push_back(std::move(slot));
  }
  if (slots_.empty() && !cfg.wire.enabled) {
    spdlog::warn("no log source could be opened: nothing is watched");
    warnings_.push_back("no log source could be opened: nothing is watched");
  } else if (slots_.empty()) {
    spdlog::info("no log source: the wire sensor alone is watching");
  }
  day_of_anchor_ =
      static_cast<int>(std::chrono::floor<std::chrono::days>(clock_.now()).time_since_epoch().count());
  for (auto& slot : slots_) {
    if (slot->source->fd() >= 0) {
      slot->watch = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(slot->source->fd()));
    }
    drain(*slot);  // there may be lines left from before a restart
    arm(*slot);
  }
  return {};
}

void LogSensors::catch_up() {
  for (auto& slot : slots_) {
    while (slot->source->read(*slot, kReadBudget).more) {
    }
  }
}

void LogSensors::arm(LogSlot& slot) {
  if (!slot.watch) return;
  slot.watch->async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, &slot](const asio::error_code& ec) {
                           if (ec || stopping_) return;
                           drain(slot);
                           arm(slot);
                         });
}

void LogSensors::drain(LogSlot& slot) {
  path_.burst_started();
  const core::ReadResult result = slot.source->read(slot, kReadBudget);
  moved_ = true;  // the position goes to the store with the next update
  path_.burst_done();
  if (result.more && !slot.draining) {
    slot.draining = true;
    asio::post(io_, [this, &slot] {
      slot.draining = false;
      if (!stopping_) drain(slot);
    });
  }
}

void LogSensors::on_tick(core::Time now) {
  // A live RFC 3164 log has no year: re-anchor once a day so New Year's lines get the new year.
  const auto days = static_cast<int>(std::chrono::floor<std::chrono::days>(now).time_since_epoch().count());
  if (days != day_of_anchor_) {
    day_of_anchor_ = days;
    for (auto& slot : slots_) slot->decoder->set_year_anchor(live_anchor());
  }
  for (auto& slot : slots_) {
    if (slot->source->wake_within()) drain(*slot);
  }
}

void LogSensors::sample_rates(double seconds) {
  for (auto& slot : slots_) {
    slot->lines_per_second = static_cast<double>(slot->lines - slot->lines_at_sample) / seconds;
    slot->lines_at_sample = slot->lines;
  }
}

void LogSensors::stop() {
  stopping_ = true;
  for (auto& slot : slots_) {
    if (slot->watch) {
      asio::error_code ec;
      slot->watch->cancel(ec);
    }
  }
}

void LogSensors::checkpoint(core::SavedPositions& out) {
  for (const auto& slot : slots_) out[slot->name] = slot->source->checkpoint();
  moved_ = false;
}

void LogSensors::status(nlohmann::json& sensors) const {
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
}

void LogSensors::counters(std::vector<metrics::SensorCounters>& out) const {
  for (const auto& slot : slots_) out.push_back({slot->name, slot->lines, slot->unparsed, slot->errors});
}

}  // namespace strikeout::daemon
