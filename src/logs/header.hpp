// Splitting a log line into its header (time, host, program, pid) and the message.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/time.hpp"
#include "logs/decoder.hpp"
#include "logs/timezone.hpp"

namespace strikeout::logs::detail {

enum class HeaderShape : std::uint8_t { Rfc3164, Rfc5424, Iso8601, EximMainlog, Tai64n };

struct Header {
  core::Time time{};
  std::string_view host{};
  std::string_view program{};  // the syslog tag's name part: "postfix/submission/smtpd", "auth-worker"
  std::uint32_t pid = 0;       // 0 when the tag carries none
  std::string_view message{};
  HeaderShape shape = HeaderShape::Rfc3164;
};

// Accepts, each optionally preceded by a syslog "<PRI>":
//   RFC 3164   "Nov 27 01:49:52 host prog[pid]: msg", "Nov  7 ...", host-less "Nov 27 01:49:52 auth: msg"
//   RFC 5424   "1 2026-11-27T01:49:52.003Z host app procid msgid [sd] msg" (nil values as "-")
//   ISO 8601   "2026-11-27T01:49:52[.frac][Z|+01:00|+0100] host prog[pid]: msg" (rsyslog, journalctl
//              short-iso and short-iso-precise); without an offset the time is in `zone`
//   Exim       "2026-11-27 01:49:52[.mmm][ +0100] [pid] msg" (program reported as "exim"); the same
//              date followed by "host exim[pid]: msg" (rsyslog templates) or by a Dovecot tag
//              ("auth-worker(default): ", "imap-login: ": Dovecot's log_timestamp set to this shape)
//   TAI64N     "@4000000067468a30123abc00 tag: msg" (daemontools multilog; no host)
// Refuses (false) anything whose timestamp is not one of these or is out of range (month 13, Feb 30,
// hour 24, a nil RFC 5424 timestamp). A readable timestamp followed by no tag still succeeds, with an
// empty program. Allocation-free.
bool parse_header(std::string_view line, const TimeZone& zone, YearAnchor& year, Header& out);

// The time of the last RFC 3164 timestamp read, by its 15 bytes ("Mar  9 06:25:13"): a log has
// runs of lines written in the same second, and those skip the date arithmetic and the zone
// lookup. Only valid for one decoder (one zone, one year anchor); reset it when the anchor changes.
struct HeaderCache {
  bool valid = false;
  char stamp[15] = {};
  core::Time time{};
};

// parse_header() with `cache`: the same result for every line, faster for runs of one second.
bool parse_header(std::string_view line, const TimeZone& zone, YearAnchor& year, Header& out,
                  HeaderCache& cache);

// Splits a syslog tag "prog[pid]" / "prog(pid)" / "prog" into program and pid.
void split_tag(std::string_view tag, std::string_view& program, std::uint32_t& pid);

}  // namespace strikeout::logs::detail
