// A log file followed through inotify, across every rotation style (docs/log-sources.md):
//
//  - rename (logrotate's default, `create` or not): we keep reading the file we have open, under
//    whatever name it now has, until the log's path holds a different file WITH CONTENT (the writer
//    has reopened); then we read the old file to its end and switch to the new one from offset 0.
//  - copytruncate: the file gets shorter than what we read, or the bytes before our offset change.
//    If the copy (a sibling such as mail.log.1 whose bytes before our offset are the ones we read) is
//    there, we read its rest first; then the truncated file from 0.
//  - delete and re-create: as rename (the deleted file stays readable through our descriptor).
//  - a file that does not exist yet: we watch its directory and read it from its beginning when it
//    appears.
//
// Positions (core::FilePosition): inode, offset after the last delivered line, and a fingerprint of
// that line. On a restart the saved inode is looked for at the path and then among the rotated
// siblings in the same directory (mail.log.1, mail.log-20261127; not compressed ones), so a rotation
// while the daemon was stopped loses nothing: the rest of the old file is read, then the new one.
//
// No threads, no blocking: the daemon polls fd() and calls read().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/log_source.hpp"

namespace strikeout::sources {

struct FileSourceOptions {
  std::string name;  // the key of its position in the PositionStore; the path when empty
  std::string path;  // the log file's name; its directory must exist
  // Longest line kept whole; a longer one is delivered cut to this size (LineInfo::truncated) and its
  // remaining bytes are skipped, so a runaway writer can never grow our memory.
  std::size_t max_line_bytes = 64 * 1024;
  // The saved position; nullopt on first start, which begins at the end of the existing file (after
  // its last complete line), or at the beginning of the file when it appears.
  std::optional<core::FilePosition> resume;
};

class FileSource final : public core::LogSource {
 public:
  // Refuses: an empty path, a path ending in '/', a directory that does not exist or cannot be
  // watched, a file that exists but cannot be opened (permissions), max_line_bytes of 0. A file that
  // does not exist is not an error (a Waiting notice is delivered on the first read()).
  static std::variant<std::unique_ptr<FileSource>, std::string> open(FileSourceOptions options);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  const std::string& name() const override { return name_; }
  int fd() const override { return inotify_fd_; }
  core::ReadResult read(core::LogSink& sink, std::size_t max_lines) override;
  core::SourcePosition checkpoint() const override { return position_; }
  const core::SourceStats& stats() const override { return stats_; }

 private:
  explicit FileSource(FileSourceOptions options);

  struct OpenFile {
    int fd = -1;
    std::uint64_t inode = 0;
    std::uint64_t device = 0;
    int watch = -1;
    std::string shown_as;  // the name it was found under, for messages
  };

  std::optional<std::string> start();
  void resume_from(const core::FilePosition& saved);
  void start_at_end(int fd);
  void adopt(int fd, std::uint64_t offset, std::string shown_as);
  void close_current();
  void drain_events();
  bool check_truncation();
  bool read_current(core::LogSink& sink, std::size_t max_lines, std::size_t& delivered);
  std::size_t split_lines(core::LogSink& sink, const char* data, std::size_t size, std::size_t budget);
  void deliver(core::LogSink& sink, std::string_view line, bool truncated, bool unterminated);
  bool switch_if_rotated(core::LogSink& sink);
  void watch_pending(std::uint64_t inode);
  void set_position(std::uint64_t offset, std::uint64_t fingerprint, std::uint32_t length);
  int find_sibling(const core::FilePosition& saved, std::uint64_t skip_inode, std::string& found_name) const;
  void notice(core::SourceNoticeKind kind, std::string message);
  void flush_notices(core::LogSink& sink);

  std::string name_;
  std::string path_;
  std::string dir_;
  std::string base_;
  std::size_t max_line_;
  std::optional<core::FilePosition> resume_;

  int inotify_fd_ = -1;
  int dir_watch_ = -1;
  OpenFile current_;
  int pending_watch_ = -1;  // watch on a new, still empty file at the path
  std::uint64_t pending_inode_ = 0;

  // Reading state. Invariant: read_pos_ == consumed offset + partial_.size() + partial_dropped_.
  std::uint64_t read_pos_ = 0;         // file offset of the next byte to read
  std::string partial_;                // bytes of a line whose newline has not arrived (<= max_line_)
  std::uint64_t partial_dropped_ = 0;  // bytes of that line beyond max_line_, skipped
  std::vector<char> chunk_;

  core::SourcePosition position_{core::FilePosition{}};
  core::SourceStats stats_;
  std::vector<core::SourceNotice> notices_;
};

// 64-bit FNV-1a, the fingerprint's hash (exposed for tests and the store).
std::uint64_t fingerprint_hash(std::string_view bytes, std::uint64_t seed = 0xcbf29ce484222325ULL);

}  // namespace strikeout::sources
