// `strikeout replay`: the engine over log files in event time, as the daemon would have run it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "core/decision.hpp"
#include "core/event.hpp"
#include "core/policy.hpp"
#include "logs/decoder.hpp"
#include "logs/timezone.hpp"

namespace strikeout::app {

// Takes everything replay sees instead of its timeline and summary (`strikeout report`): the same
// inputs through the same engine, written another way.
class ReplayObserver {
 public:
  virtual ~ReplayObserver() = default;
  virtual void on_event(const core::Event& e) = 0;
  virtual void on_decision(const core::Decision& d) = 0;
  // At the end: lines read, lines that gave an event, lines not recognised.
  virtual void on_end(std::uint64_t lines, std::uint64_t with_event, std::uint64_t unrecognised) = 0;
};

struct ReplayOptions {
  core::Policy policy;                          // rules, allowlist, limits
  std::vector<std::string> files;               // paths, "-" for standard input; merged by time
  bool json = false;                            // JSON lines instead of the human timeline
  std::optional<int> year;                      // year of the first RFC 3164 line (else file mtime)
  std::string format = "auto";                  // log format for every file
  std::vector<logs::CustomMatcherSpec> custom;  // the configuration's custom matchers
  logs::TimeZone zone = logs::TimeZone::utc();  // for timestamps without an offset
  bool progress = false;                        // progress line on `err` (when it is a terminal)
  // Threads decoding mapped log files in parallel (0: one per core). The output is the same for
  // every value: the engine still takes the events in order on one thread.
  unsigned jobs = 0;
  std::size_t chunk_bytes = 0;  // bytes per part decoded on one thread (0: chosen from the size)
  std::size_t top = 10;         // entries in the summary's top lists
  // Packet captures (pcap or pcapng) read by the wire sensor, merged with the logs by time; after the
  // log files for equal times. See pcap_replay.hpp.
  std::vector<std::string> pcap_files;
  std::vector<std::uint16_t> ports{25, 465, 587};      // the server's SMTP ports ([protect] ports)
  std::vector<std::uint16_t> implicit_tls_ports{465};  // [wire] implicit_tls_ports
  std::vector<std::string> failure_replies{"535"};     // [wire] failure_replies
  ReplayObserver* observer = nullptr;  // set: nothing is written to `out`; the observer gets it all
};

// Runs the replay, writing the timeline and summary to `out` and errors/warnings to `err`.
// Returns the process exit code: 0 on success, 1 when an input could not be read (named in `err`;
// nothing is replayed then, so a typo never yields a half report).
int run_replay(const ReplayOptions& options, std::FILE* out, std::FILE* err);

}  // namespace strikeout::app
