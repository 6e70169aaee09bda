// Turning log lines into engine events. Pure: bytes in, events out; no I/O, no clock.
//
// CONTRACT (used by src/config and src/app; implemented in src/logs):
//   - LineDecoder::create() validates the options (custom matchers compile) and never throws.
//   - decode() never throws, never crashes on any bytes, and allocates nothing per line on the fast
//     path for built-in formats.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/event.hpp"
#include "core/time.hpp"
#include "logs/timezone.hpp"

namespace strikeout::logs {

// How the year of a timestamp without one (RFC 3164 "Nov 27 01:49:52") is chosen. Never the clock:
// the caller passes the reference (a file's modification time, --year, or "now" for a live source).
class YearAnchor {
 public:
  // Lines were written at or before `reference`: a line whose month is later than the reference's
  // month belongs to the year before the reference's (a December line in a file last written in
  // January). This is what syslog readers do, and it handles a file that spans New Year.
  static YearAnchor ending_at(core::Time reference);
  // The first line is in `year`; each time the month goes backwards by more than six months
  // (December to January), later lines move to the next year.
  static YearAnchor starting_in(int year);
  YearAnchor() : YearAnchor(ending_at(core::Time{})) {}

  // Resolves the year for a line with `month` (1..12). Stateful for starting_in().
  int year_for(unsigned month);

  // Two anchors in the same state answer every later line alike (replay --jobs checks that a chunk
  // decoded ahead on another thread started from the state the lines before it left).
  bool operator==(const YearAnchor&) const = default;

 private:
  enum class Mode : std::uint8_t { EndingAt, StartingIn };
  YearAnchor(Mode mode, int year, unsigned month) : mode_(mode), year_(year), month_(month) {}
  Mode mode_ = Mode::EndingAt;
  int year_ = 1970;
  unsigned month_ = 1;  // EndingAt: the reference's month; StartingIn: the last month seen (0: none)
};

// An operator's own matcher ([[matcher]] in the configuration).
struct CustomMatcherSpec {
  std::string name;                   // referred to by a source's `format`
  std::vector<std::string> patterns;  // RE2 syntax; each must contain <HOST> once; <USER> optional
  core::EventKind kind = core::EventKind::AuthFailure;
  std::string service;  // service reported with the events ("smtp", "imap", ...)
  std::string program;  // if set, only lines whose syslog program equals this
};

// Returns an error naming what is wrong with `spec` (a pattern that does not compile, <HOST> missing
// or repeated), with the pattern's index; nullopt when it is usable.
std::optional<std::string> validate_custom_matcher(const CustomMatcherSpec& spec);

// The built-in formats, as named in the configuration's `format`.
const std::vector<std::string>& builtin_format_names();  // "postfix", "dovecot", ... (not "auto")

// A log line already split into syslog fields (journald gives them this way).
struct LogRecord {
  core::Time time{};
  std::string_view host{};
  std::string_view program{};  // "postfix/submission/smtpd", "dovecot", "auth", "exim", ...
  std::uint32_t pid = 0;
  std::string_view message{};
};

enum class LineStatus : std::uint8_t {
  Event,     // `out` holds an event
  NoEvent,   // a readable line that is not an event (most of a mail log)
  Unparsed,  // no timestamp or header could be read: counted as "not recognised"
};

struct DecoderOptions {
  std::string format = "auto";            // "auto", a built-in format name, or a custom matcher's name
  std::vector<CustomMatcherSpec> custom;  // every configured custom matcher ("auto" tries them last)
  TimeZone zone = TimeZone::utc();        // for timestamps without an offset
  YearAnchor year{};
  std::string sensor;  // copied into Event::sensor
};

class LineDecoder {
 public:
  // Returns the decoder, or an error message naming the bad option.
  static std::variant<LineDecoder, std::string> create(DecoderOptions options);
  LineDecoder(LineDecoder&&) noexcept;
  LineDecoder& operator=(LineDecoder&&) noexcept;
  ~LineDecoder();

  // One line without its trailing newline. On Event, `out`'s string_views point into `line` or into
  // this decoder, valid until the next call.
  LineStatus decode(std::string_view line, core::Event& out);
  // A record whose header was already split (journald).
  LineStatus decode_record(const LogRecord& record, core::Event& out);

  // decode() for one of several decoders working through parts of one log at once (replay --jobs):
  // a line whose matcher keeps state from line to line (OpenSMTPD's sessions) is not matched here:
  // `deferred` is set and `record` holds its header, for the caller to give to decode_record() of
  // one decoder in line order. Otherwise the same result as decode().
  LineStatus decode_unordered(std::string_view line, core::Event& out, LogRecord& record, bool& deferred);

  // The year anchor's state after the lines decoded so far.
  const YearAnchor& year_anchor() const;

  // Replaces the year anchor. A live source re-anchors at "now" as days pass, so a syslog line written
  // after New Year gets the new year; other matcher state (OpenSMTPD sessions) is kept.
  void set_year_anchor(YearAnchor year);

 private:
  struct Impl;
  explicit LineDecoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strikeout::logs
