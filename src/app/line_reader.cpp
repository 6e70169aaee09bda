#include "app/line_reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

namespace strikeout::app {

namespace {
constexpr std::size_t kBufferSize = 4 * 1024 * 1024;
}

std::unique_ptr<LineReader> LineReader::open(const std::string& path, std::string& error) {
  std::unique_ptr<LineReader> reader(new LineReader());
  reader->path_ = path;
  const bool is_stdin = path == "-";
  const std::string shown = is_stdin ? std::string("standard input") : "'" + path + "'";
  int fd = is_stdin ? dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot read " + shown + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    error = "cannot read " + shown + ": " + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  if (S_ISDIR(st.st_mode)) {
    error = "cannot read " + shown + ": Is a directory";
    ::close(fd);
    return nullptr;
  }
  // For a pipe the modification time is when data was last written into it: close to "now", and the
  // only date there is; replay warns that --year makes such a run reproducible.
  reader->mtime_ = static_cast<std::int64_t>(st.st_mtim.tv_sec);
  reader->is_pipe_ = !S_ISREG(st.st_mode);
  reader->buf_.resize(kBufferSize + 1);
  // Peek at the first two bytes for the gzip magic. A pipe cannot seek back, so the peeked bytes stay
  // in the buffer and zlib is given the descriptor only for regular files (gzdopen reads from the
  // current offset, so we rewind first).
  std::size_t have = 0;
  while (have < 2) {
    const ssize_t n = ::read(fd, reader->buf_.data() + have, 2 - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "cannot read " + shown + ": " + std::strerror(errno);
      ::close(fd);
      return nullptr;
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  const bool gzip = have == 2 && static_cast<unsigned char>(reader->buf_[0]) == 0x1f &&
                    static_cast<unsigned char>(reader->buf_[1]) == 0x8b;
  if (gzip) {
    if (reader->is_pipe_) {
      error = "cannot read " + shown + ": gzip input must be a file (decompress it with zcat first)";
      ::close(fd);
      return nullptr;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
      error = "cannot read " + shown + ": " + std::strerror(errno);
      ::close(fd);
      return nullptr;
    }
    gzFile gz = gzdopen(fd, "rb");
    if (gz == nullptr) {
      error = "cannot read " + shown + ": not a readable gzip file";
      ::close(fd);
      return nullptr;
    }
    gzbuffer(gz, 1 << 20);
    reader->gz_ = gz;
    reader->fd_ = -1;  // owned by zlib now
  } else {
    reader->fd_ = fd;
    reader->end_ = have;
    reader->bytes_read_ = have;
    reader->eof_ = have < 2;  // the read loop above only stops early at the end of input
    if (!reader->is_pipe_ && st.st_size > 2) {
      // Map the file as it is now: replay reads every byte once, and a mapping saves copying the
      // whole file through read(). If mapping fails, the read() path below does the job.
      const auto size = static_cast<std::size_t>(st.st_size);
      void* m = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (m != MAP_FAILED) {
        madvise(m, size, MADV_SEQUENTIAL);
        reader->map_ = static_cast<const char*>(m);
        reader->map_size_ = size;
        reader->mapping_ = reader->map_;
        reader->mapping_size_ = size;
        reader->size_ = size;
        reader->end_ = 0;
        reader->bytes_read_ = size;
        reader->eof_ = false;
      }
    }
  }
  return reader;
}

LineReader::~LineReader() {
  if (mapping_ != nullptr) munmap(const_cast<char*>(mapping_), mapping_size_);
  if (gz_ != nullptr) gzclose(static_cast<gzFile>(gz_));
  if (fd_ >= 0) ::close(fd_);
}

bool LineReader::fill() {
  if (eof_) return false;
  // Move the unread tail to the front, then read as much as fits.
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ >= kBufferSize) return true;  // full: the caller handles the over-long line
  const std::size_t room = kBufferSize - end_;
  for (;;) {
    long n = 0;
    if (gz_ != nullptr) {
      n = gzread(static_cast<gzFile>(gz_), buf_.data() + end_, static_cast<unsigned>(room));
      if (n < 0) {
        int errnum = 0;
        const char* msg = gzerror(static_cast<gzFile>(gz_), &errnum);
        error_ = "cannot read '" + path_ + "': " + (msg != nullptr ? msg : "gzip error");
        eof_ = true;
        return false;
      }
    } else {
      n = ::read(fd_, buf_.data() + end_, room);
      if (n < 0) {
        if (errno == EINTR) continue;
        error_ = "cannot read '" + path_ + "': " + std::strerror(errno);
        eof_ = true;
        return false;
      }
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    end_ += static_cast<std::size_t>(n);
    bytes_read_ += static_cast<std::uint64_t>(n);
    return true;
  }
}

// Lines straight from the mapping. At its end, a last piece without a newline moves into buf_
// and reading goes on with read() from the end of the mapping: the file may have grown since it
// was opened, and that piece may be the start of a line written since.
bool LineReader::next_mapped(std::string_view& line) {
  const char* start = map_ + map_pos_;
  const std::size_t avail = map_size_ - map_pos_;
  const void* nl = std::memchr(start, '\n', avail);
  if (nl != nullptr) {
    std::size_t len = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
    map_pos_ += len + 1;
    if (len > kMaxLine) {
      ++long_lines_;
      line = std::string_view(start, kMaxLine);
      return true;
    }
    if (len > 0 && start[len - 1] == '\r') --len;
    line = std::string_view(start, len);
    return true;
  }
  std::size_t keep = avail;
  if (avail > kMaxLine) {  // an over-long last line: its start now, the rest skipped
    ++long_lines_;
    skipping_ = true;
    keep = 0;
    line = std::string_view(start, kMaxLine);
  }
  std::memcpy(buf_.data(), start + avail - keep, keep);
  begin_ = 0;
  end_ = keep;
  map_pos_ = map_size_;
  if (lseek(fd_, static_cast<off_t>(map_size_), SEEK_SET) < 0) eof_ = true;
  map_ = nullptr;
  if (skipping_) return true;
  return next(line);
}

std::string_view LineReader::take_mapped_lines() {
  if (map_ == nullptr || map_pos_ >= map_size_) return {};
  const char* start = map_ + map_pos_;
  const void* last_nl = memrchr(start, '\n', map_size_ - map_pos_);
  if (last_nl == nullptr) return {};
  const auto len = static_cast<std::size_t>(static_cast<const char*>(last_nl) - start) + 1;
  map_pos_ += len;
  return std::string_view(start, len);
}

std::uint64_t LineReader::position() const {
  if (map_ != nullptr) return map_pos_;
  return bytes_read_ - (end_ - begin_);
}

bool LineReader::next(std::string_view& line) {
  if (map_ != nullptr) return next_mapped(line);
  for (;;) {
    const char* start = buf_.data() + begin_;
    const std::size_t avail = end_ - begin_;
    const void* nl = avail > 0 ? std::memchr(start, '\n', avail) : nullptr;
    if (nl != nullptr) {
      const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
      begin_ += len + 1;
      if (skipping_) {  // the end of an over-long line we already returned the start of
        skipping_ = false;
        continue;
      }
      if (len > kMaxLine) {  // whole in the buffer, still over-long: cut as the mapped path does
        ++long_lines_;
        line = std::string_view(start, kMaxLine);
        return true;
      }
      std::size_t cut = len;
      if (cut > 0 && start[cut - 1] == '\r') --cut;
      line = std::string_view(start, cut);
      return true;
    }
    if (skipping_) {  // drop everything up to the next newline
      begin_ = end_;
      if (!fill()) return false;
      continue;
    }
    if (avail >= kMaxLine) {
      line = std::string_view(start, kMaxLine);
      begin_ += kMaxLine;
      skipping_ = true;
      ++long_lines_;
      return true;
    }
    if (!fill()) {
      if (!error_.empty()) return false;
      if (end_ > begin_) {  // the last line has no newline
        const char* tail = buf_.data() + begin_;
        std::size_t len = end_ - begin_;
        if (len > 0 && tail[len - 1] == '\r') --len;
        begin_ = end_;
        line = std::string_view(tail, len);
        return true;
      }
      return false;
    }
  }
}

}  // namespace strikeout::app
