// Live log sources as the daemon sees them: a narrow interface to log files (inotify) and journald.
//
// The adapters live in src/sources (library strikeout_sources). The daemon owns the event loop: a
// source has no threads and no callbacks of its own. It exposes one pollable file descriptor; the loop
// waits for it to be readable and then calls read(), which hands complete lines (files) or records
// (journald) to a LogSink, each with the position just after it. Decoding lines into events is the
// logs layer's job (logs::LineDecoder); a source only delivers bytes.
//
// Positions: a source starts from the position the daemon saved for it (or, on first start, at the end
// of the log) and its checkpoint() is what to save next. Positions go through a PositionStore: a small
// state file now (sources::PositionFile), the SQLite store later (issue 4). Saving a position after the
// events its lines produced were handled is what makes "no line lost, none counted twice" hold across
// a restart.
//
// Pure declarations: nothing here reads a clock or makes a system call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/time.hpp"

namespace strikeout::core {

// Where a file source stands: the file (by inode, which survives a rename), how far it was read, and a
// fingerprint of the bytes just before that offset, so a different file that happens to reuse the
// inode, or a file truncated and written again past the offset, is not mistaken for the one we read.
struct FilePosition {
  std::uint64_t inode = 0;               // st_ino of the file the offset is in
  std::uint64_t offset = 0;              // bytes; always just after a newline (or 0)
  std::uint64_t fingerprint = 0;         // 64-bit FNV-1a of the `fingerprint_length` bytes before offset
  std::uint32_t fingerprint_length = 0;  // bytes hashed: the last line read, newline included, at most
                                         // its last 1024 bytes; 0 when offset is 0

  friend bool operator==(const FilePosition&, const FilePosition&) = default;
};

// Where a journald source stands: the cursor of the last record delivered (sd_journal_get_cursor).
struct JournalCursor {
  std::string cursor;  // opaque text, "s=...;i=...;b=...;m=...;t=...;x=..."; empty: the journal held
                       // no matching record when the source started, so resume from its head

  friend bool operator==(const JournalCursor&, const JournalCursor&) = default;
};

using SourcePosition = std::variant<FilePosition, JournalCursor>;

// A journald record with the fields the decoder needs (logs::LogRecord has the same shape; the daemon
// copies the views across). The views are valid only during the on_record() call.
struct JournalRecord {
  Time time{};                 // __REALTIME_TIMESTAMP
  std::string_view host{};     // _HOSTNAME
  std::string_view program{};  // SYSLOG_IDENTIFIER ("postfix/smtpd", "dovecot")
  std::uint32_t pid = 0;       // SYSLOG_PID, else _PID, else 0
  std::string_view message{};  // MESSAGE (cut at the source's line limit)
  bool truncated = false;      // MESSAGE was longer than the limit and was cut
};

// Something the operator should hear about, said once when it happens (the daemon logs it at warn,
// or info for the routine ones, and counts it).
enum class SourceNoticeKind : std::uint8_t {
  Rotated,         // routine: the file was renamed or re-created; we finished it and moved on
  Truncated,       // copytruncate: the rest of the copy if found, then the file again from 0
  Replaced,        // the saved position does not match the file found (fingerprint): started over
  PositionLost,    // the saved file is gone (rotated away and deleted/compressed): lines may be lost
  Waiting,         // the log file does not exist (yet): reading starts when it appears
  LineTooLong,     // a line longer than the limit was delivered cut (LineInfo::truncated)
  CursorNotFound,  // journald: the saved cursor is no longer in the journal; resumed nearby
  Error,           // a read or watch failed; the source keeps trying on the next wakeup
};

struct SourceNotice {
  SourceNoticeKind kind = SourceNoticeKind::Error;
  std::string message;  // one line, names the file (or journal) and what happened
};

// What accompanies a delivered line.
struct LineInfo {
  const SourcePosition* after = nullptr;  // the position just after this line: save it once the
                                          // line's events are handled (valid during the call only)
  bool truncated = false;                 // the line was longer than the limit: these are its first bytes
  bool unterminated = false;              // the file ended without a newline and will not grow (rotated away)
};

// Receives what a source reads. Called only from inside LogSource::read().
class LogSink {
 public:
  virtual ~LogSink() = default;
  // One line of a log file, without its newline.
  virtual void on_line(std::string_view line, const LineInfo& info) = 0;
  // One journald record; `after` is the position to save once it is handled.
  virtual void on_record(const JournalRecord& record, const SourcePosition& after) = 0;
  virtual void on_notice(const SourceNotice& notice) = 0;
};

struct SourceStats {
  std::uint64_t lines = 0;        // lines or records delivered
  std::uint64_t bytes = 0;        // bytes consumed from files (journald: message bytes)
  std::uint64_t long_lines = 0;   // lines cut at the limit
  std::uint64_t rotations = 0;    // switches to a new file (rename, re-creation)
  std::uint64_t truncations = 0;  // copytruncate detected
  std::uint64_t errors = 0;       // failed reads or watches
};

struct ReadResult {
  std::size_t delivered = 0;  // lines or records handed to the sink in this call
  bool more = false;          // the budget ran out with input left: call read() again soon (the fd
                              // will not necessarily become readable again for what is left)
};

class LogSource {
 public:
  virtual ~LogSource() = default;

  // The name the source was configured with, for reports and as its key in the PositionStore.
  virtual const std::string& name() const = 0;

  // A file descriptor that becomes readable when read() may have something to do. Stays the same for
  // the source's life. The daemon must also call read() once right after creating the source (there
  // may be input left from before a restart) and again whenever read() said `more`.
  virtual int fd() const = 0;

  // Delivers up to `max_lines` complete lines (or records), in order, with the position after each.
  // Never blocks. Errors are reported as notices and counted; the source stays usable.
  virtual ReadResult read(LogSink& sink, std::size_t max_lines) = 0;

  // The position after the last line or record delivered: what to save. For a source that has not
  // delivered anything yet, where it would resume now (so saving it at start is correct too).
  virtual SourcePosition checkpoint() const = 0;

  virtual const SourceStats& stats() const = 0;

  // Most sources are woken by fd() alone. journald on a file system without inotify asks to be looked
  // at again within some time: the loop then calls read() after at most this long. nullopt: never.
  virtual std::optional<Duration> wake_within() const { return std::nullopt; }
};

// Where positions are kept between runs, keyed by the source's name. Now a state file
// (sources::PositionFile); later the SQLite store implements this same interface, committing the
// positions in the same transaction as the events they produced.
class PositionStore {
 public:
  virtual ~PositionStore() = default;
  // The position saved for `source`, if any.
  virtual std::optional<SourcePosition> load(std::string_view source) const = 0;
  // Records a position to be made durable at the next commit().
  virtual void save(std::string_view source, const SourcePosition& position) = 0;
  // Makes everything saved so far durable. Returns an error message naming the file (or database)
  // and what failed, or nullopt on success; on failure the saved positions stay pending.
  virtual std::optional<std::string> commit() = 0;
};

}  // namespace strikeout::core
