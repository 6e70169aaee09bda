// The log sources' positions in a small state file, until the SQLite store (issue 4) takes them over
// through the same core::PositionStore interface.
//
// Format (text, one entry a line, so an operator can read it and a damaged file is easy to point at):
//
//   strikeout-positions 1
//   file mail.log inode=1835021 offset=48213 fingerprint=9f3a0c1d22e4b7a1 length=131
//   journal postfix-journal cursor=s=3cf3...;i=154;b=149a...;m=19b23d22;t=661397d7c05ee;x=1c74...
//   end 2
//
// Source names and cursors are percent-escaped (bytes <= 0x20, '%' and >= 0x7f become %XX), so they
// never contain a space or a newline. The `end N` line, with the number of entries, tells a file cut
// short from a complete one. Lines starting with '#' and empty lines are ignored.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/log_source.hpp"

namespace strikeout::sources {

using PositionMap = std::map<std::string, core::SourcePosition, std::less<>>;

// Parses the text of a state file. `file_name` is only used in messages. Accepts exactly the format
// above; refuses (with "FILE:LINE: what is wrong") a missing or unknown header, an unknown entry kind,
// a malformed or out-of-range number, a fingerprint length above 1024 or above the offset, a
// duplicate source, a bad escape, a line without its newline, and a file without its `end` line or
// whose `end` count disagrees. Never throws.
std::variant<PositionMap, std::string> parse_positions(std::string_view text, std::string_view file_name);

// The inverse: text that parse_positions() reads back to the same map.
std::string format_positions(const PositionMap& positions);

// A core::PositionStore kept in one file, replaced atomically on each commit (write FILE.tmp, fsync,
// rename over FILE, fsync the directory), so a crash leaves either the old or the new file, never a
// mix. One writer per file: the daemon.
class PositionFile final : public core::PositionStore {
 public:
  // Reads `path` if it exists (a missing file is an empty store: first start). Returns an error naming
  // the file and line when it exists but cannot be read or parsed: the daemon refuses to start rather
  // than silently re-reading (or skipping) every log.
  static std::variant<std::unique_ptr<PositionFile>, std::string> open(std::string path);

  std::optional<core::SourcePosition> load(std::string_view source) const override;
  void save(std::string_view source, const core::SourcePosition& position) override;
  std::optional<std::string> commit() override;

  const std::string& path() const { return path_; }

 private:
  PositionFile(std::string path, PositionMap positions);
  std::string path_;
  PositionMap positions_;
  bool dirty_ = false;
};

}  // namespace strikeout::sources
