#include "sources/file_source.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace strikeout::sources {
namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;
constexpr std::uint32_t kFingerprintMax = 1024;

// What the directory watch reports: the log's name appearing or going away (rename, create, delete).
// Modifications of other files in the directory (syslog, auth.log) are not asked for: they would wake
// us for nothing.
constexpr std::uint32_t kDirMask =
    IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// What the watch on the open file reports: growth (and truncation), and its name or link count
// changing. It follows the inode, so it keeps working after the file is renamed.
constexpr std::uint32_t kFileMask = IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF;

std::string errno_text(int err) {
  return std::strerror(err);
}

// Reads exactly `size` bytes at `offset`; false on a short read or an error.
bool pread_all(int fd, char* out, std::size_t size, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool fingerprint_matches(int fd, const core::FilePosition& p) {
  if (p.offset == 0) return true;
  if (p.fingerprint_length == 0 || p.fingerprint_length > p.offset) return false;
  std::array<char, kFingerprintMax> buffer{};
  if (!pread_all(fd, buffer.data(), p.fingerprint_length, p.offset - p.fingerprint_length)) return false;
  return fingerprint_hash(std::string_view(buffer.data(), p.fingerprint_length)) == p.fingerprint;
}

// The fingerprint of the line that ends just before `offset` (its last 1024 bytes at most, newline
// included), read back from the file. Used where the line is not in memory.
std::pair<std::uint64_t, std::uint32_t> fingerprint_at(int fd, std::uint64_t offset) {
  if (offset == 0) return {0, 0};
  const auto window = static_cast<std::uint32_t>(std::min<std::uint64_t>(offset, kFingerprintMax));
  std::array<char, kFingerprintMax> buffer{};
  if (!pread_all(fd, buffer.data(), window, offset - window)) return {0, 0};
  std::uint32_t start = 0;
  // The previous line's newline, if it is in the window: the fingerprint covers the last line only.
  for (std::uint32_t i = window - 1; i > 0; --i) {
    if (buffer[i - 1] == '\n') {
      start = i;
      break;
    }
  }
  const std::uint32_t length = window - start;
  return {fingerprint_hash(std::string_view(buffer.data() + start, length)), length};
}

bool is_compressed(std::string_view name) {
  for (std::string_view suffix : {".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".lzma", ".zip"}) {
    if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix) return true;
  }
  return false;
}

}  // namespace

std::uint64_t fingerprint_hash(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

FileSource::FileSource(FileSourceOptions options)
    : name_(options.name.empty() ? options.path : std::move(options.name)),
      path_(std::move(options.path)),
      max_line_(options.max_line_bytes),
      resume_(options.resume),
      chunk_(kChunkBytes) {
  const std::size_t slash = path_.rfind('/');
  if (slash == std::string::npos) {
    dir_ = ".";
    base_ = path_;
  } else {
    dir_ = slash == 0 ? "/" : path_.substr(0, slash);
    base_ = path_.substr(slash + 1);
  }
}

FileSource::~FileSource() {
  if (current_.fd >= 0) ::close(current_.fd);
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

std::variant<std::unique_ptr<FileSource>, std::string> FileSource::open(FileSourceOptions options) {
  if (options.path.empty()) return std::string("log file source: the path is empty");
  if (options.path.back() == '/')
    return "log file source " + options.path + ": the path names a directory, not a file";
  if (options.max_line_bytes == 0) return "log file source " + options.path + ": max_line_bytes is 0";
  std::unique_ptr<FileSource> source(new FileSource(std::move(options)));
  if (auto error = source->start()) return std::move(*error);
  return source;
}

std::optional<std::string> FileSource::start() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0)
    return "log file " + path_ + ": cannot create an inotify instance: " + errno_text(errno);
  dir_watch_ = ::inotify_add_watch(inotify_fd_, dir_.c_str(), kDirMask);
  if (dir_watch_ < 0)
    return "log file " + path_ + ": cannot watch its directory " + dir_ + ": " + errno_text(errno);

  if (resume_ && resume_->inode != 0) {
    resume_from(*resume_);
  } else {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno != ENOENT) return "log file " + path_ + ": cannot open it: " + errno_text(errno);
    if (fd < 0) {
      notice(core::SourceNoticeKind::Waiting,
             path_ + " does not exist (yet): reading starts at its beginning when it appears");
    } else if (resume_) {
      adopt(fd, 0, base_);  // saved while waiting for the file: everything in it is new
    } else {
      start_at_end(fd);
    }
  }
  if (current_.fd >= 0) {
    struct stat st {};
    if (::fstat(current_.fd, &st) == 0 && !S_ISREG(st.st_mode))
      return "log file " + path_ + ": not a regular file";
  }
  return std::nullopt;
}

// First start: skip what the file holds, up to its last complete line (a line being written now is
// read whole once its newline arrives, not as a fragment).
void FileSource::start_at_end(int fd) {
  struct stat st {};
  std::uint64_t offset = 0;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const std::uint64_t window = std::min<std::uint64_t>(size, max_line_ + 1);
    std::string tail(window, '\0');
    if (pread_all(fd, tail.data(), window, size - window)) {
      const std::size_t nl = tail.rfind('\n');
      if (nl != std::string::npos) {
        offset = size - window + nl + 1;
      } else if (window < size) {
        offset = size;  // inside a line longer than the limit: nothing sensible to keep of it
      }
    } else {
      offset = size;
    }
  }
  adopt(fd, offset, base_);
}

void FileSource::resume_from(const core::FilePosition& saved) {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  const int open_errno = errno;
  struct stat st {};
  bool same_inode = false;
  if (fd >= 0 && ::fstat(fd, &st) == 0) {
    same_inode = static_cast<std::uint64_t>(st.st_ino) == saved.inode;
    if (same_inode && static_cast<std::uint64_t>(st.st_size) >= saved.offset &&
        fingerprint_matches(fd, saved)) {
      adopt(fd, saved.offset, base_);
      set_position(saved.offset, saved.fingerprint, saved.fingerprint_length);
      return;
    }
  }
  // Not at the path any more: rotated while we were stopped. Find the file we were reading (by inode
  // after a rename, by content after copytruncate) and read its rest before the new file.
  std::string sibling_name;
  const int sibling = find_sibling(saved, 0, sibling_name);
  if (sibling >= 0) {
    if (fd >= 0) ::close(fd);
    adopt(sibling, saved.offset, sibling_name);
    set_position(saved.offset, saved.fingerprint, saved.fingerprint_length);
    notice(core::SourceNoticeKind::Rotated,
           path_ + " was rotated while strikeout was stopped: reading the rest of " + dir_ + "/" +
               sibling_name + " from offset " + std::to_string(saved.offset) + ", then " + path_ +
               " from its beginning");
    return;
  }
  if (fd >= 0) {
    if (same_inode && static_cast<std::uint64_t>(st.st_size) < saved.offset) {
      stats_.truncations++;
      notice(core::SourceNoticeKind::Truncated,
             path_ + " is shorter than the saved offset " + std::to_string(saved.offset) +
                 " (truncated while strikeout was stopped, and no copy found next to it): reading it "
                 "from the beginning");
    } else if (same_inode) {
      notice(core::SourceNoticeKind::Replaced,
             path_ + " is not the file the saved position belongs to (same inode " +
                 std::to_string(saved.inode) + ", but the line before offset " +
                 std::to_string(saved.offset) + " differs): reading it from the beginning");
    } else {
      notice(core::SourceNoticeKind::PositionLost, "the file " + path_ + " was read from before (inode " +
                                                       std::to_string(saved.inode) + ") is no longer in " +
                                                       dir_ +
                                                       " (rotated and then removed or compressed while "
                                                       "strikeout was stopped): reading " +
                                                       path_ +
                                                       " from its beginning; lines written to "
                                                       "the old file after offset " +
                                                       std::to_string(saved.offset) + " were not read");
    }
    adopt(fd, 0, base_);
    return;
  }
  if (open_errno == ENOENT) {
    notice(core::SourceNoticeKind::PositionLost,
           "the file " + path_ + " was read from before (inode " + std::to_string(saved.inode) +
               ") is gone and " + path_ +
               " does not exist: reading starts at its beginning when it "
               "appears");
  } else {
    stats_.errors++;
    notice(core::SourceNoticeKind::Error,
           "cannot open " + path_ + ": " + errno_text(open_errno) + "; trying again on the next change");
  }
}

// A sibling of the log in its directory ("mail.log.1", "mail.log-20261127", not compressed ones)
// whose bytes before saved.offset carry the saved fingerprint. A file with the saved inode wins; else
// the first with the same content (the copy left by copytruncate). A different inode is only accepted
// with a real fingerprint (offset > 0): at offset 0 any file would match. Returns an open descriptor
// or -1.
int FileSource::find_sibling(const core::FilePosition& saved, std::uint64_t skip_inode,
                             std::string& found_name) const {
  DIR* dir = ::opendir(dir_.c_str());
  if (dir == nullptr) return -1;
  int best = -1;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name(entry->d_name);
    if (name.size() <= base_.size() + 1 || name.substr(0, base_.size()) != base_) continue;
    const char separator = name[base_.size()];
    if (separator != '.' && separator != '-' && separator != '_') continue;
    if (is_compressed(name)) continue;
    const int fd = ::openat(::dirfd(dir), entry->d_name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat st {};
    const bool usable = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                        static_cast<std::uint64_t>(st.st_ino) != skip_inode &&
                        static_cast<std::uint64_t>(st.st_size) >= saved.offset;
    const bool same_inode = usable && static_cast<std::uint64_t>(st.st_ino) == saved.inode;
    if (usable && (same_inode || (best < 0 && saved.fingerprint_length > 0)) &&
        fingerprint_matches(fd, saved)) {
      if (same_inode) {
        if (best >= 0) ::close(best);
        found_name = std::string(name);
        ::closedir(dir);
        return fd;
      }
      best = fd;
      found_name = std::string(name);
      continue;
    }
    ::close(fd);
  }
  ::closedir(dir);
  return best;
}

// Makes `fd` the file being read, from `offset` (just after a newline, or 0).
void FileSource::adopt(int fd, std::uint64_t offset, std::string shown_as) {
  struct stat st {};
  ::fstat(fd, &st);
  current_.fd = fd;
  current_.inode = static_cast<std::uint64_t>(st.st_ino);
  current_.device = static_cast<std::uint64_t>(st.st_dev);
  current_.shown_as = std::move(shown_as);
  // Watch the open file itself (through /proc, so it is this inode and not whatever the name points
  // at by now); the watch follows it through renames.
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  current_.watch = ::inotify_add_watch(inotify_fd_, self.c_str(), kFileMask);
  if (current_.watch < 0) {
    const std::string by_name = dir_ + "/" + current_.shown_as;
    current_.watch = ::inotify_add_watch(inotify_fd_, by_name.c_str(), kFileMask);
  }
  if (current_.watch < 0) {
    stats_.errors++;
    notice(core::SourceNoticeKind::Error, "cannot watch " + dir_ + "/" + current_.shown_as + ": " +
                                              errno_text(errno) + "; new lines are seen late");
  }
  if (current_.watch >= 0 && current_.watch == pending_watch_) {
    pending_watch_ = -1;  // the same inode's watch, now with the full mask
    pending_inode_ = 0;
  }
  read_pos_ = offset;
  partial_.clear();
  partial_dropped_ = 0;
  const auto [hash, length] = fingerprint_at(fd, offset);
  set_position(offset, hash, length);
}

void FileSource::close_current() {
  if (current_.watch >= 0) ::inotify_rm_watch(inotify_fd_, current_.watch);
  if (current_.fd >= 0) ::close(current_.fd);
  current_ = OpenFile{};
}

void FileSource::set_position(std::uint64_t offset, std::uint64_t fingerprint, std::uint32_t length) {
  auto& p = std::get<core::FilePosition>(position_);
  p.inode = current_.inode;
  p.offset = offset;
  p.fingerprint = fingerprint;
  p.fingerprint_length = length;
}

void FileSource::notice(core::SourceNoticeKind kind, std::string message) {
  notices_.push_back(core::SourceNotice{kind, std::move(message)});
}

void FileSource::flush_notices(core::LogSink& sink) {
  for (const auto& n : notices_) sink.on_notice(n);
  notices_.clear();
}

// Empties the inotify queue. The events themselves only say "look again": read() re-checks the file
// and the path each time, so a lost or coalesced event (or a queue overflow) costs nothing.
void FileSource::drain_events() {
  alignas(inotify_event) char buffer[4096];
  while (true) {
    const ssize_t n = ::read(inotify_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n;) {
      inotify_event event{};
      std::memcpy(&event, buffer + i, sizeof event);
      if ((event.mask & IN_IGNORED) != 0) {
        if (event.wd == dir_watch_) {
          dir_watch_ = -1;
          stats_.errors++;
          notice(core::SourceNoticeKind::Error, "the directory " + dir_ + " of " + path_ +
                                                    " was removed or moved: a new " + path_ +
                                                    " is only noticed if the directory comes back");
        } else if (event.wd == pending_watch_) {
          pending_watch_ = -1;
          pending_inode_ = 0;
        } else if (event.wd == current_.watch) {
          current_.watch = -1;
        }
      }
      i += static_cast<ssize_t>(sizeof(inotify_event) + event.len);
    }
  }
  if (dir_watch_ < 0) dir_watch_ = ::inotify_add_watch(inotify_fd_, dir_.c_str(), kDirMask);
}

// Returns true when the file we read was truncated under us (copytruncate) and reading moved: to the
// rest of the copy if one is next to it, else to offset 0. Detected by the size falling below what
// we read, or by the line before our offset no longer being the one we read (truncated and written
// again past our offset before we looked).
bool FileSource::check_truncation() {
  struct stat st {};
  if (::fstat(current_.fd, &st) != 0) return false;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const auto& here = std::get<core::FilePosition>(position_);
  const bool shrank = size < read_pos_;
  if (!shrank && (here.offset == 0 || fingerprint_matches(current_.fd, here))) return false;

  stats_.truncations++;
  std::string copy_name;
  const int copy = find_sibling(here, current_.inode, copy_name);
  if (copy >= 0) {
    // The copy holds the same bytes at the same offsets, so what we hold of a partial line stays valid.
    const std::uint64_t keep_read_pos = read_pos_;
    std::string keep_partial = std::move(partial_);
    const std::uint64_t keep_dropped = partial_dropped_;
    const core::FilePosition keep_position = here;
    close_current();
    adopt(copy, keep_position.offset, copy_name);
    read_pos_ = keep_read_pos;
    partial_ = std::move(keep_partial);
    partial_dropped_ = keep_dropped;
    set_position(keep_position.offset, keep_position.fingerprint, keep_position.fingerprint_length);
    notice(core::SourceNoticeKind::Truncated,
           path_ + " was truncated (copytruncate): reading the rest of its copy " + dir_ + "/" + copy_name +
               " from offset " + std::to_string(keep_position.offset) + ", then " + path_ +
               " from its beginning");
    return true;
  }
  notice(core::SourceNoticeKind::Truncated, path_ + " was truncated (copytruncate) at offset " +
                                                std::to_string(here.offset) +
                                                ": reading it again from the beginning");
  read_pos_ = 0;
  partial_.clear();
  partial_dropped_ = 0;
  set_position(0, 0, 0);
  return true;
}

void FileSource::deliver(core::LogSink& sink, std::string_view line, bool truncated, bool unterminated) {
  stats_.lines++;
  if (truncated) {
    stats_.long_lines++;
    notice(core::SourceNoticeKind::LineTooLong,
           path_ + ": a line longer than " + std::to_string(max_line_) + " bytes was cut to that size");
  }
  core::LineInfo info;
  info.after = &position_;
  info.truncated = truncated;
  info.unterminated = unterminated;
  sink.on_line(line, info);
}

// Splits `data` (read at read_pos_) into lines and delivers at most `budget` of them. Returns the
// bytes consumed: all of them, or up to the end of the last line delivered when the budget ran out
// (the rest is read again on the next call).
std::size_t FileSource::split_lines(core::LogSink& sink, const char* data, std::size_t size,
                                    std::size_t budget) {
  std::size_t i = 0;
  std::size_t count = 0;
  while (i < size) {
    if (count == budget) return i;
    const auto* nl = static_cast<const char*>(std::memchr(data + i, '\n', size - i));
    const std::size_t piece = nl == nullptr ? size - i : static_cast<std::size_t>(nl - (data + i));
    const std::size_t room = max_line_ - partial_.size();
    if (nl == nullptr) {
      const std::size_t take = std::min(piece, room);
      partial_.append(data + i, take);
      partial_dropped_ += piece - take;
      read_pos_ += piece;
      stats_.bytes += piece;
      return size;
    }
    const std::uint64_t line_bytes = partial_.size() + partial_dropped_ + piece + 1;
    const std::uint64_t end = read_pos_ + piece + 1;
    stats_.bytes += piece + 1;
    // Fingerprint: the last (at most 1024) bytes of this line, newline included. They are in memory
    // unless a cut-off part of a long line lies in between (then read them back).
    const auto length = static_cast<std::uint32_t>(std::min<std::uint64_t>(line_bytes, kFingerprintMax));
    std::uint64_t hash = 0;
    if (length <= piece + 1) {
      hash = fingerprint_hash(std::string_view(data + i + piece + 1 - length, length));
    } else if (partial_dropped_ == 0) {
      const std::size_t from_partial = length - piece - 1;
      hash = fingerprint_hash(
          std::string_view(data + i, piece + 1),
          fingerprint_hash(std::string_view(partial_).substr(partial_.size() - from_partial)));
    } else {
      hash = fingerprint_at(current_.fd, end).first;
    }
    const bool truncated = line_bytes - 1 > max_line_;
    read_pos_ = end;
    set_position(end, hash, length);
    if (partial_.empty() && partial_dropped_ == 0) {
      deliver(sink, std::string_view(data + i, std::min(piece, max_line_)), truncated, false);
    } else {
      partial_.append(data + i, std::min(piece, room));
      deliver(sink, partial_, truncated, false);
      partial_.clear();
      partial_dropped_ = 0;
    }
    ++count;
    i += piece + 1;
  }
  return i;
}

// Reads the current file from read_pos_ to its end, or until `max_lines` were delivered. Returns true
// at the end of the file, false when the budget ran out or reading failed.
bool FileSource::read_current(core::LogSink& sink, std::size_t max_lines, std::size_t& delivered) {
  while (delivered < max_lines) {
    const ssize_t n = ::pread(current_.fd, chunk_.data(), chunk_.size(), static_cast<off_t>(read_pos_));
    if (n < 0) {
      if (errno == EINTR) continue;
      stats_.errors++;
      notice(core::SourceNoticeKind::Error, "cannot read " + dir_ + "/" + current_.shown_as + ": " +
                                                errno_text(errno) + "; trying again on the next change");
      return false;
    }
    if (n == 0) return true;
    const std::uint64_t before = stats_.lines;
    const auto size = static_cast<std::size_t>(n);
    const std::size_t used = split_lines(sink, chunk_.data(), size, max_lines - delivered);
    delivered += static_cast<std::size_t>(stats_.lines - before);
    if (used < size) return false;
  }
  return false;
}

// At the end of the file we read: has the path moved on to another file? We switch only once the new
// file has content — until then the writer may still be appending to the old one (logrotate creates
// the new file before the daemon is told to reopen). Returns true when reading moved to a new file.
bool FileSource::switch_if_rotated(core::LogSink& sink) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const auto inode = static_cast<std::uint64_t>(st.st_ino);
  if (inode == current_.inode && static_cast<std::uint64_t>(st.st_dev) == current_.device) return false;
  if (st.st_size == 0) {
    watch_pending(inode);  // so its first write wakes us
    return false;
  }
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat now {};
  if (::fstat(fd, &now) != 0 || !S_ISREG(now.st_mode) || now.st_size == 0 ||
      (static_cast<std::uint64_t>(now.st_ino) == current_.inode &&
       static_cast<std::uint64_t>(now.st_dev) == current_.device)) {
    ::close(fd);
    return false;
  }
  // The old file ended without a newline and will not grow any more: its last bytes are a line.
  std::string tail = std::move(partial_);
  const bool had_tail = !tail.empty() || partial_dropped_ > 0;
  const bool tail_cut = partial_dropped_ > 0;
  const std::string old_name = current_.shown_as;
  const std::uint64_t old_end = read_pos_;
  close_current();
  adopt(fd, 0, base_);
  stats_.rotations++;
  if (had_tail) deliver(sink, tail, tail_cut, true);
  notice(core::SourceNoticeKind::Rotated, path_ + " was rotated: finished the previous file (" + old_name +
                                              ", " + std::to_string(old_end) +
                                              " bytes), reading the new one from its beginning");
  return true;
}

void FileSource::watch_pending(std::uint64_t inode) {
  if (pending_watch_ >= 0 && pending_inode_ == inode) return;
  if (pending_watch_ >= 0 && pending_watch_ != current_.watch)
    ::inotify_rm_watch(inotify_fd_, pending_watch_);
  pending_watch_ = ::inotify_add_watch(inotify_fd_, path_.c_str(), IN_MODIFY | IN_ATTRIB);
  pending_inode_ = pending_watch_ >= 0 ? inode : 0;
}

core::ReadResult FileSource::read(core::LogSink& sink, std::size_t max_lines) {
  flush_notices(sink);
  drain_events();
  core::ReadResult result;
  // Each pass reads one file to its end; a pass ends with a switch to a newer file or with nothing
  // left. The bound only keeps a pathological directory from holding the loop.
  for (int pass = 0; pass < 8; ++pass) {
    if (current_.fd < 0) {
      const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0) break;
      struct stat st {};
      if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        break;
      }
      adopt(fd, 0, base_);
      notice(core::SourceNoticeKind::Rotated, path_ + " appeared: reading it from its beginning");
    }
    check_truncation();
    const bool at_end = read_current(sink, max_lines, result.delivered);
    flush_notices(sink);
    if (!at_end) {
      result.more = result.delivered >= max_lines;
      return result;
    }
    if (!switch_if_rotated(sink)) break;
    flush_notices(sink);
    if (pass == 7) result.more = true;
  }
  flush_notices(sink);
  return result;
}

}  // namespace strikeout::sources
