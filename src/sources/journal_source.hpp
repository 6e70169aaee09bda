// journald through libsystemd's sd-journal: the default log source on a fresh Debian 12, which writes
// no mail.log.
//
// Records are selected by matches ("SYSLOG_IDENTIFIER=postfix/smtpd", "SYSLOG_IDENTIFIER=dovecot", or
// "_SYSTEMD_UNIT=postfix@-.service" under systemd), as sd_journal_add_match() takes them: several
// values of one field are ORed, different fields are ANDed (the configuration's documented meaning). The
// position is journald's cursor of the last record delivered: on restart reading resumes just after it
// (checked with sd_journal_test_cursor); on first start at the journal's tail.
//
// No threads, no blocking: the daemon polls fd() and calls read().
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/log_source.hpp"

struct sd_journal;

namespace strikeout::sources {

struct JournalSourceOptions {
  std::string name = "journal";  // the key of its cursor in the PositionStore
  // A directory of journal files (tests, a copied journal, a container's journal); empty: this
  // machine's system journal (local only).
  std::string directory;
  // "FIELD=value": values of one field ORed, different fields ANDed. FIELD is upper-case letters,
  // digits and '_' (journald's field names); the value is matched exactly. Empty: every record.
  std::vector<std::string> matches;
  std::size_t max_message_bytes = 64 * 1024;  // longer MESSAGEs are cut (JournalRecord::truncated)
  // The saved cursor; nullopt on first start (begin at the tail: only records written from now on).
  std::optional<std::string> cursor;
};

class JournalSource final : public core::LogSource {
 public:
  // Refuses: a malformed match (no '=', a bad field name), a journal that cannot be opened (the
  // message names the directory or "the system journal" and libsystemd's reason). A saved cursor that
  // is malformed or no longer in the journal is not an error: a CursorNotFound notice says where
  // reading resumed instead.
  static std::variant<std::unique_ptr<JournalSource>, std::string> open(JournalSourceOptions options);
  ~JournalSource() override;
  JournalSource(const JournalSource&) = delete;
  JournalSource& operator=(const JournalSource&) = delete;

  const std::string& name() const override { return name_; }
  int fd() const override { return fd_; }
  core::ReadResult read(core::LogSink& sink, std::size_t max_lines) override;
  core::SourcePosition checkpoint() const override { return position_; }
  const core::SourceStats& stats() const override { return stats_; }
  std::optional<core::Duration> wake_within() const override;

 private:
  explicit JournalSource(JournalSourceOptions options);
  std::optional<std::string> start();
  void position_at_start();
  bool deliver_current(core::LogSink& sink);
  void notice(core::SourceNoticeKind kind, std::string message);

  std::string name_;
  JournalSourceOptions options_;
  sd_journal* journal_ = nullptr;
  int fd_ = -1;
  bool deliver_current_first_ = false;  // positioned on a record not yet delivered (cursor not found)
  core::SourcePosition position_{core::JournalCursor{}};
  core::SourceStats stats_;
  std::vector<core::SourceNotice> notices_;
};

// Checks one match as JournalSourceOptions::matches takes it; an error message naming it, or nullopt.
std::optional<std::string> validate_journal_match(std::string_view match);

}  // namespace strikeout::sources
