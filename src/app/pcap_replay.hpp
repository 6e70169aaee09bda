// `strikeout replay --pcap FILE...`: the wire sensor over capture files (pcap or pcapng), as a stream
// of events in the packets' own time, for replay to merge with its log inputs and hand to the same
// engine and output.
//
// Order (deterministic): events come in time order of the packets that carried the replies; events
// of equal time keep file order (as given) and then packet order within the file. A capture file is
// read as it was recorded: directions are trusted when the link type carries them (Linux cooked
// captures from `tcpdump -i any`); otherwise (Ethernet, raw IP) every reply from a server address
// counts as sent by the server, and the other two checks of docs/wire.md still apply (the reply
// comes from one of `server_addresses` when given, and its connection's client acknowledged the
// server's bytes).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/event.hpp"

namespace strikeout::app {

struct PcapReplayOptions {
  std::vector<std::string> files;                      // capture paths, in command-line order
  std::vector<std::uint16_t> ports{25, 465, 587};      // the server's SMTP ports ([protect] ports)
  std::vector<std::uint16_t> implicit_tls_ports{465};  // of those, implicit TLS (replies not visible)
  std::vector<std::string> failure_replies{"535"};     // wire failure_replies (see wire/smtp.hpp)
  std::vector<core::Address> server_addresses;         // the server's addresses; empty: any
};

struct PcapReplayStats {
  std::uint64_t files = 0;
  std::uint64_t packets = 0;                   // frames read
  std::uint64_t tcp_segments = 0;              // frames that decoded to TCP
  std::uint64_t undecodable = 0;               // truncated or malformed frames
  std::uint64_t failures = 0;                  // AuthFailure events
  std::uint64_t successes = 0;                 // AuthSuccess events
  std::uint64_t unverified_replies = 0;        // replies on connections whose client never acknowledged us
  std::uint64_t starttls_sessions = 0;         // not visible: encrypted after STARTTLS
  std::uint64_t implicit_tls_connections = 0;  // not visible: port 465
};

class PcapEventStream {
 public:
  // Opens every file first; a file that cannot be opened, is not a capture or has a link type the
  // decoder does not know is an error naming it (nothing is read then). An invalid failure_replies
  // entry is an error too.
  static std::unique_ptr<PcapEventStream> open(const PcapReplayOptions& options, std::string& error);
  ~PcapEventStream();
  PcapEventStream(const PcapEventStream&) = delete;
  PcapEventStream& operator=(const PcapEventStream&) = delete;

  // The next event in the order above. Its string views stay valid until the next call. False at
  // the end of all files.
  bool next(core::Event& event);

  // Read errors met on the way (a file cut short: what was read before stands), each naming its file.
  const std::vector<std::string>& errors() const { return errors_; }
  // The sensor's "cannot see" notices, each said once (implicit TLS, STARTTLS).
  const std::vector<std::string>& notices() const { return notices_; }
  PcapReplayStats stats() const;
  // One line for the human summary, e.g. "events from pcap: 2 files, 1200 packets, 35 auth-failure,
  // 2 auth-success; not visible: 4 STARTTLS sessions, 3 implicit-TLS connections".
  std::string summary_line() const;
  // The same as a JSON object (no trailing newline), for the --json summary's "pcap" member.
  std::string summary_json() const;

 private:
  struct Input;  // one capture file and the events it has produced but not yet handed out
  PcapEventStream() = default;
  bool fill(Input& in);
  std::vector<std::unique_ptr<Input>> inputs_;
  std::vector<std::string> errors_;
  std::vector<std::string> notices_;
  struct Owned;
  std::unique_ptr<Owned> current_;
};

}  // namespace strikeout::app
