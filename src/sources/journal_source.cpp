#include "sources/journal_source.hpp"

#include <systemd/sd-journal.h>
#include <time.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace strikeout::sources {
namespace {

std::string errno_text(int negative_errno) {
  return std::strerror(-negative_errno);
}

// The value of FIELD in the current record, without the "FIELD=" prefix; empty when absent.
std::string_view field(sd_journal* j, const char* name) {
  const void* data = nullptr;
  size_t length = 0;
  if (sd_journal_get_data(j, name, &data, &length) < 0) return {};
  const std::string_view all(static_cast<const char*>(data), length);
  const std::size_t prefix = std::strlen(name) + 1;
  if (all.size() < prefix) return {};
  return all.substr(prefix);
}

// SYSLOG_PID is written by the client: digits only, within 32 bits, else not a pid.
std::uint32_t parse_pid(std::string_view text) {
  std::uint32_t pid = 0;
  if (text.empty()) return 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc{} || end != text.data() + text.size()) return 0;
  return pid;
}

}  // namespace

std::optional<std::string> validate_journal_match(std::string_view match) {
  const std::size_t eq = match.find('=');
  if (eq == std::string_view::npos) return "journal match '" + std::string(match) + "': expected FIELD=value";
  if (eq == 0) return "journal match '" + std::string(match) + "': the field name is empty";
  if (match[0] >= '0' && match[0] <= '9')
    return "journal match '" + std::string(match) + "': a field name cannot start with a digit";
  for (std::size_t i = 0; i < eq; ++i) {
    const char c = match[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return "journal match '" + std::string(match) +
             "': field names are upper-case letters, digits "
             "and '_'";
  }
  return std::nullopt;
}

JournalSource::JournalSource(JournalSourceOptions options)
    : name_(options.name.empty() ? std::string("journal") : options.name), options_(std::move(options)) {}

JournalSource::~JournalSource() {
  if (journal_ != nullptr) sd_journal_close(journal_);
}

std::variant<std::unique_ptr<JournalSource>, std::string> JournalSource::open(JournalSourceOptions options) {
  for (const auto& m : options.matches) {
    if (auto error = validate_journal_match(m)) return std::move(*error);
  }
  if (options.max_message_bytes == 0) return std::string("journal source: max_message_bytes is 0");
  std::unique_ptr<JournalSource> source(new JournalSource(std::move(options)));
  if (auto error = source->start()) return std::move(*error);
  return source;
}

std::optional<std::string> JournalSource::start() {
  const std::string which =
      options_.directory.empty() ? std::string("the system journal") : "the journal in " + options_.directory;
  int r = options_.directory.empty() ? sd_journal_open(&journal_, SD_JOURNAL_LOCAL_ONLY)
                                     : sd_journal_open_directory(&journal_, options_.directory.c_str(), 0);
  if (r < 0) {
    journal_ = nullptr;
    return "cannot open " + which + ": " + errno_text(r);
  }
  // Whole fields: we cut MESSAGE ourselves, so a cut is known and counted.
  sd_journal_set_data_threshold(journal_, 0);
  // sd-journal's own meaning, which the configuration documents: values of one field are ORed,
  // different fields ANDed ("SYSLOG_IDENTIFIER=postfix/smtpd" + "SYSLOG_IDENTIFIER=dovecot": either).
  for (const auto& m : options_.matches) {
    r = sd_journal_add_match(journal_, m.data(), m.size());
    if (r < 0) return "journal match '" + m + "': " + errno_text(r);
  }
  // The descriptor must exist before the first sd_journal_process() for changes to be seen.
  fd_ = sd_journal_get_fd(journal_);
  if (fd_ < 0) return "cannot watch " + which + ": " + errno_text(fd_);
  position_at_start();
  return std::nullopt;
}

// Saved cursor: just after it. None: at the tail, so only records written from now on are read.
void JournalSource::position_at_start() {
  auto at_tail = [this] {
    sd_journal_seek_tail(journal_);
    // Step onto the last record (if any) so the next sd_journal_next() yields the first new one, and
    // so checkpoint() names it: saved at once, a restart resumes here.
    if (sd_journal_previous(journal_) > 0) {
      char* cursor = nullptr;
      if (sd_journal_get_cursor(journal_, &cursor) >= 0) {
        position_ = core::JournalCursor{cursor};
        std::free(cursor);
      }
      return;
    }
    // Nothing matches yet, so whatever matches later is new: read from the head. (Staying at the
    // tail is wrong with libsystemd 252: the first sd_journal_next() after records arrive jumps to
    // the newest of them, skipping the others. Seen in this project's journald test.)
    sd_journal_seek_head(journal_);
  };
  if (!options_.cursor) {
    at_tail();
    return;
  }
  const std::string& saved = *options_.cursor;
  if (saved.empty()) {  // the journal held nothing matching when we first started: all of it is new
    sd_journal_seek_head(journal_);
    return;
  }
  const int r = sd_journal_seek_cursor(journal_, saved.c_str());
  if (r < 0) {
    notice(core::SourceNoticeKind::CursorNotFound, "the saved journal cursor of " + name_ +
                                                       " is not usable (" + errno_text(r) +
                                                       "): starting at the end of the journal");
    at_tail();
    return;
  }
  position_ = core::JournalCursor{saved};
  const int moved = sd_journal_next(journal_);
  if (moved <= 0) return;  // nothing at or after it yet: the next record is new
  if (sd_journal_test_cursor(journal_, saved.c_str()) > 0) return;  // on the record already read
  // The saved record is gone (the journal was vacuumed or rotated away): we stand on the first record
  // after where it was, which has not been delivered.
  deliver_current_first_ = true;
  notice(core::SourceNoticeKind::CursorNotFound,
         "the record at the saved journal cursor of " + name_ +
             " is no longer in the journal: resuming at the first record after it");
}

void JournalSource::notice(core::SourceNoticeKind kind, std::string message) {
  notices_.push_back(core::SourceNotice{kind, std::move(message)});
}

// Hands the current record to the sink. A record without MESSAGE has nothing to decode: it moves the
// position but is not delivered. Returns whether it was delivered.
bool JournalSource::deliver_current(core::LogSink& sink) {
  char* cursor = nullptr;
  if (sd_journal_get_cursor(journal_, &cursor) >= 0) {
    std::get<core::JournalCursor>(position_).cursor.assign(cursor);
    std::free(cursor);
  }
  const std::string_view message = field(journal_, "MESSAGE");
  if (message.data() == nullptr) return false;
  core::JournalRecord record;
  std::uint64_t usec = 0;
  if (sd_journal_get_realtime_usec(journal_, &usec) >= 0)
    record.time = core::from_micros(static_cast<std::int64_t>(usec));
  record.host = field(journal_, "_HOSTNAME");
  record.program = field(journal_, "SYSLOG_IDENTIFIER");
  record.pid = parse_pid(field(journal_, "SYSLOG_PID"));
  if (record.pid == 0) record.pid = parse_pid(field(journal_, "_PID"));
  record.truncated = message.size() > options_.max_message_bytes;
  record.message = message.substr(0, options_.max_message_bytes);
  stats_.lines++;
  stats_.bytes += record.message.size();
  if (record.truncated) {
    stats_.long_lines++;
    notice(core::SourceNoticeKind::LineTooLong, name_ + ": a journal MESSAGE longer than " +
                                                    std::to_string(options_.max_message_bytes) +
                                                    " bytes was cut to that size");
  }
  sink.on_record(record, position_);
  return true;
}

core::ReadResult JournalSource::read(core::LogSink& sink, std::size_t max_lines) {
  core::ReadResult result;
  for (const auto& n : notices_) sink.on_notice(n);
  notices_.clear();
  // Acknowledges the wakeup and picks up new or rotated journal files.
  const int processed = sd_journal_process(journal_);
  if (processed < 0) {
    stats_.errors++;
    sink.on_notice({core::SourceNoticeKind::Error,
                    "reading the journal for " + name_ + " failed: " + errno_text(processed)});
  }
  if (deliver_current_first_ && max_lines > 0) {
    deliver_current_first_ = false;
    if (deliver_current(sink)) result.delivered++;
  }
  while (result.delivered < max_lines) {
    const int r = sd_journal_next(journal_);
    if (r < 0) {
      stats_.errors++;
      sink.on_notice(
          {core::SourceNoticeKind::Error, "reading the journal for " + name_ + " failed: " + errno_text(r)});
      break;
    }
    if (r == 0) break;
    if (deliver_current(sink)) result.delivered++;
  }
  result.more = result.delivered >= max_lines;
  for (const auto& n : notices_) sink.on_notice(n);
  notices_.clear();
  return result;
}

std::optional<core::Duration> JournalSource::wake_within() const {
  std::uint64_t when = 0;  // CLOCK_MONOTONIC, microseconds; UINT64_MAX: no timeout
  if (sd_journal_get_timeout(journal_, &when) < 0 || when == UINT64_MAX) return std::nullopt;
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto now_us =
      static_cast<std::uint64_t>(now.tv_sec) * 1000000U + static_cast<std::uint64_t>(now.tv_nsec) / 1000U;
  return core::Duration{when > now_us ? static_cast<std::int64_t>(when - now_us) : 0};
}

}  // namespace strikeout::sources
