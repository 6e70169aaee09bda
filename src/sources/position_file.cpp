#include "sources/position_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>
#include <vector>

namespace strikeout::sources {
namespace {

constexpr std::string_view kHeader = "strikeout-positions 1";
constexpr std::uint32_t kMaxFingerprintLength = 1024;

bool needs_escape(unsigned char c) {
  return c <= 0x20 || c == '%' || c >= 0x7f;
}

std::string escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (needs_escape(c)) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Accepts what escape() writes: printable bytes except '%', and %XX (either case). Refuses a lone '%',
// bad hex, and raw bytes that escape() would have escaped (a space, a control byte, non-ASCII).
std::optional<std::string> unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;  // a lone '%' or one hex digit at the end
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (needs_escape(c)) {
      return std::nullopt;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Decimal without sign or leading zeros (except "0"), within uint64.
std::optional<std::uint64_t> parse_u64(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::uint64_t> parse_hex64(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    const int v = hex_value(c);
    if (v < 0 || (c >= 'A' && c <= 'F')) return std::nullopt;  // lower case only, as written
    value = value * 16 + static_cast<std::uint64_t>(v);
  }
  return value;
}

// Splits on single spaces; an empty field (two spaces, leading or trailing space) is refused by the
// callers through the field count and content checks.
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t space = line.find(' ', start);
    if (space == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, space - start));
    start = space + 1;
  }
}

// "key=value" with the exact key; returns the value.
std::optional<std::string_view> keyed(std::string_view field, std::string_view key) {
  if (field.size() < key.size() + 1 || field.substr(0, key.size()) != key || field[key.size()] != '=')
    return std::nullopt;
  return field.substr(key.size() + 1);
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view file_name) : text_(text), file_(file_name) {}

  std::variant<PositionMap, std::string> run() {
    bool header_seen = false;
    std::optional<std::uint64_t> end_count;
    std::size_t pos = 0;
    while (pos < text_.size()) {
      ++line_no_;
      const std::size_t nl = text_.find('\n', pos);
      if (nl == std::string_view::npos) return error("the last line has no newline (the file was cut short)");
      const std::string_view line = text_.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.empty() || line[0] == '#') continue;
      if (end_count) return error("text after the 'end' line");
      if (!header_seen) {
        if (line != kHeader)
          return error("expected the header '" + std::string(kHeader) +
                       "' (not a positions file, "
                       "or a newer version)");
        header_seen = true;
        continue;
      }
      const auto fields = split_fields(line);
      if (fields[0] == "end") {
        if (fields.size() != 2) return error("expected 'end COUNT'");
        end_count = parse_u64(fields[1]);
        if (!end_count) return error("bad entry count '" + std::string(fields[1]) + "'");
        if (*end_count != positions_.size())
          return error("the 'end' line counts " + std::to_string(*end_count) + " entries but " +
                       std::to_string(positions_.size()) + " were read");
        continue;
      }
      if (auto failure = entry(fields)) return error(*failure);
    }
    if (!header_seen) return error_at(0, "empty file: no header (the file was cut short)");
    if (!end_count) return error_at(0, "no 'end' line (the file was cut short)");
    return std::move(positions_);
  }

 private:
  std::optional<std::string> entry(const std::vector<std::string_view>& fields) {
    if (fields[0] != "file" && fields[0] != "journal")
      return "unknown entry kind '" + escape(fields[0]) + "' (expected file, journal or end)";
    if (fields.size() < 2 || fields[1].empty()) return std::string("missing source name");
    auto name = unescape(fields[1]);
    if (!name || name->empty()) return "bad source name '" + std::string(fields[1]) + "'";
    if (positions_.contains(*name)) return "source '" + *name + "' appears twice";

    if (fields[0] == "journal") {
      if (fields.size() != 3) return std::string("expected 'journal NAME cursor=CURSOR'");
      const auto value = keyed(fields[2], "cursor");
      if (!value) return std::string("expected cursor=CURSOR");
      auto cursor = unescape(*value);
      // An empty cursor is valid: the journal held nothing when the source started, so everything
      // in it now is new.
      if (!cursor) return "bad cursor '" + std::string(*value) + "'";
      positions_.emplace(std::move(*name), core::JournalCursor{std::move(*cursor)});
      return std::nullopt;
    }

    if (fields.size() != 6)
      return std::string("expected 'file NAME inode=N offset=N fingerprint=HEX length=N'");
    static constexpr std::string_view kKeys[] = {"inode", "offset", "fingerprint", "length"};
    std::uint64_t values[4] = {0, 0, 0, 0};
    for (std::size_t i = 0; i < 4; ++i) {
      const auto value = keyed(fields[i + 2], kKeys[i]);
      if (!value) return "expected " + std::string(kKeys[i]) + "=... as field " + std::to_string(i + 3);
      const auto number = i == 2 ? parse_hex64(*value) : parse_u64(*value);
      if (!number)
        return "bad " + std::string(kKeys[i]) + " '" + escape(*value) + "'" +
               (i == 2 ? " (16 lower-case hex digits)" : " (a decimal number)");
      values[i] = *number;
    }
    core::FilePosition p;
    p.inode = values[0];
    p.offset = values[1];
    p.fingerprint = values[2];
    if (values[3] > kMaxFingerprintLength)
      return "fingerprint length " + std::to_string(values[3]) + " is above 1024";
    if (values[3] > p.offset)
      return "fingerprint length " + std::to_string(values[3]) + " is above the offset";
    if (p.offset > 0 && values[3] == 0) return std::string("an offset above 0 needs a fingerprint length");
    p.fingerprint_length = static_cast<std::uint32_t>(values[3]);
    positions_.emplace(std::move(*name), p);
    return std::nullopt;
  }

  std::string error(const std::string& what) const { return error_at(line_no_, what); }
  std::string error_at(std::size_t line, const std::string& what) const {
    std::string out(file_);
    if (line > 0) out += ":" + std::to_string(line);
    return out + ": " + what;
  }

  std::string_view text_;
  std::string_view file_;
  std::size_t line_no_ = 0;
  PositionMap positions_;
};

std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace

std::variant<PositionMap, std::string> parse_positions(std::string_view text, std::string_view file_name) {
  return Parser(text, file_name).run();
}

std::string format_positions(const PositionMap& positions) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kHeader);
  out += '\n';
  for (const auto& [name, position] : positions) {
    if (const auto* file = std::get_if<core::FilePosition>(&position)) {
      std::string fp(16, '0');
      for (int i = 0; i < 16; ++i)
        fp[static_cast<std::size_t>(15 - i)] = kHex[(file->fingerprint >> (4 * i)) & 0xf];
      out += "file " + escape(name) + " inode=" + std::to_string(file->inode) +
             " offset=" + std::to_string(file->offset) + " fingerprint=" + fp +
             " length=" + std::to_string(file->fingerprint_length) + "\n";
    } else {
      const auto& cursor = std::get<core::JournalCursor>(position);
      out += "journal " + escape(name) + " cursor=" + escape(cursor.cursor) + "\n";
    }
  }
  out += "end " + std::to_string(positions.size()) + "\n";
  return out;
}

PositionFile::PositionFile(std::string path, PositionMap positions)
    : path_(std::move(path)), positions_(std::move(positions)) {}

std::variant<std::unique_ptr<PositionFile>, std::string> PositionFile::open(std::string path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::unique_ptr<PositionFile>(new PositionFile(std::move(path), {}));
    return "cannot open the positions file " + path + ": " + errno_text(errno);
  }
  // The file is small (a line per source); a cap keeps a wrong path (a huge file) from eating memory.
  constexpr std::size_t kMaxSize = 16 * 1024 * 1024;
  std::string text;
  char buffer[8192];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return "cannot read the positions file " + path + ": " + errno_text(err);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxSize) {
      ::close(fd);
      return "the positions file " + path + " is larger than 16 MiB: not a positions file";
    }
  }
  ::close(fd);
  auto parsed = parse_positions(text, path);
  if (auto* error = std::get_if<std::string>(&parsed)) return std::move(*error);
  return std::unique_ptr<PositionFile>(
      new PositionFile(std::move(path), std::move(std::get<PositionMap>(parsed))));
}

std::optional<core::SourcePosition> PositionFile::load(std::string_view source) const {
  const auto it = positions_.find(source);
  if (it == positions_.end()) return std::nullopt;
  return it->second;
}

void PositionFile::save(std::string_view source, const core::SourcePosition& position) {
  const auto it = positions_.find(source);
  if (it == positions_.end()) {
    positions_.emplace(std::string(source), position);
  } else if (it->second == position) {
    return;
  } else {
    it->second = position;
  }
  dirty_ = true;
}

std::optional<std::string> PositionFile::commit() {
  if (!dirty_) return std::nullopt;
  const std::string text = format_positions(positions_);
  const std::string temp = path_ + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write the positions file " + temp + ": " + errno_text(errno);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return "cannot write the positions file " + temp + ": " + errno_text(err);
    }
    done += static_cast<std::size_t>(n);
  }
  // fsync before rename: otherwise a crash can leave the new name pointing at an empty file.
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return "cannot flush the positions file " + temp + ": " + errno_text(err);
  }
  ::close(fd);
  if (::rename(temp.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return "cannot replace the positions file " + path_ + ": " + errno_text(err);
  }
  // The rename itself is durable only once the directory is flushed.
  const std::size_t slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    const int rc = ::fsync(dir_fd);
    const int err = errno;
    ::close(dir_fd);
    if (rc != 0) return "cannot flush the directory " + dir + " of the positions file: " + errno_text(err);
  }
  dirty_ = false;
  return std::nullopt;
}

}  // namespace strikeout::sources
