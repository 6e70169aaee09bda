// Reads a log file line by line, fast: plain files through large read() calls, gzip files (detected by
// their magic bytes, whatever their name) through zlib, and standard input ("-").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strikeout::app {

class LineReader {
 public:
  // Opens `path` ("-" for standard input). On failure returns nullopt and sets `error` to a message
  // naming the file and the reason ("cannot read 'x.log': No such file or directory").
  static std::unique_ptr<LineReader> open(const std::string& path, std::string& error);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its "\n" (and without a "\r" before it). The view stays valid until the
  // next call. Returns false at the end of input or on a read error (then error() is non-empty).
  // A final line without a newline is returned too. Lines longer than kMaxLine are cut there; the
  // rest of such a line is skipped and counted in long_lines().
  bool next(std::string_view& line);

  // For decoding on several threads: the rest of the mapped file up to and including its last
  // newline, taken in one piece (next() goes on after it). Empty when the input is not a mapped
  // file or nothing whole is left. The view stays valid as long as the reader.
  std::string_view take_mapped_lines();
  // Bytes of the input consumed so far, and the input's size when known (0 for pipes and gzip):
  // for the progress line.
  std::uint64_t position() const;
  std::uint64_t size() const { return size_; }

  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }
  // Modification time in seconds since the epoch (for a pipe: when it was last written).
  std::optional<std::int64_t> mtime() const { return mtime_; }
  bool is_pipe() const { return is_pipe_; }
  std::uint64_t long_lines() const { return long_lines_; }
  std::uint64_t bytes_read() const { return bytes_read_; }

  static constexpr std::size_t kMaxLine = 64 * 1024;

 private:
  LineReader() = default;
  bool fill();  // reads more bytes after buf_[end_]; false at end of input or on error

  std::string path_;
  std::string error_;
  int fd_ = -1;
  void* gz_ = nullptr;  // gzFile when the input is gzip
  // A plain regular file is mapped (no copy into buf_); its lines are read from the mapping, and
  // what the file gained after it was opened through read() from the mapping's end.
  const char* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::size_t map_pos_ = 0;
  bool next_mapped(std::string_view& line);
  // The mapping itself, unmapped only by the destructor: views into it (taken lines) outlive the
  // end of reading from it.
  const char* mapping_ = nullptr;
  std::size_t mapping_size_ = 0;
  std::uint64_t size_ = 0;
  std::vector<char> buf_;
  std::size_t begin_ = 0;  // start of unread data
  std::size_t end_ = 0;    // end of valid data
  bool eof_ = false;
  bool skipping_ = false;  // inside the rest of an over-long line
  bool is_pipe_ = false;
  std::optional<std::int64_t> mtime_;
  std::uint64_t long_lines_ = 0;
  std::uint64_t bytes_read_ = 0;
};

}  // namespace strikeout::app
