// The wire sensor's logic: TCP segments in (already decoded, see packet.hpp), authentication events
// out. Pure: no I/O, no clock (the packet's own time is an argument), one thread.
//
// Which replies count (docs/wire.md, "What counts as a reply"): a failure reply counts against the
// client only when all three hold:
//   1. direction: the capture says the segment was SENT by this host (Linux cooked header
//      PACKET_OUTGOING). A segment the capture says was received never counts as a reply, whatever
//      its addresses say. Capture files without a direction (Ethernet, raw IP) count as "sent" only
//      when TrackerSettings::require_outgoing is false (replay of a file the operator chose);
//   2. source address: the segment's source is one of this host's own addresses
//      (TrackerSettings::server_addresses; empty means "any", for capture files only);
//   3. connection state: the connection is "verified": the client sent a segment whose ACK number
//      acknowledges sequence space this server really sent on the connection (its SYN or reply
//      bytes). That needs the server's initial sequence number, which a blind attacker forging a
//      victim's address never sees: it would have to guess a 32-bit number.
// A forged packet that looks like a reply arriving from outside fails 1 (it is received, not sent);
// in a capture without directions it still fails 3 (no handshake was completed by the forged
// "client").
//
// Per connection state is bounded (ConnectionTracker::kMax* constants) and the table holds at most
// max_connections entries, keyed by a seeded hash. At the bound a new connection evicts, first, the
// least recently active connection that is not yet verified, and only when there is none the least
// recently active verified one (counted in WireStats::evicted). Entries end with the connection (RST,
// or FIN from both sides) or after idle_timeout without a segment.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/address.hpp"
#include "core/event.hpp"
#include "core/time.hpp"
#include "wire/packet.hpp"
#include "wire/smtp.hpp"

namespace strikeout::wire {

struct TrackerSettings {
  std::vector<std::uint16_t> ports{25, 465, 587};      // the server's SMTP ports to watch
  std::vector<std::uint16_t> implicit_tls_ports{465};  // of those, the ones encrypted from the start
  ReplyPatterns failure_replies{};                     // default: every 535 reply
  std::vector<core::Address> server_addresses;         // this host's addresses; empty: any (files only)
  bool require_outgoing = true;          // replies must be marked sent by this host (live capture: always)
  std::size_t max_connections = 65'536;  // table bound, see above
  core::Duration idle_timeout = std::chrono::minutes(10);  // a connection silent this long is dropped
  std::uint64_t hash_seed = 0;                             // seeds the connection table's hash
  std::string sensor = "wire";                             // Event::sensor
};

struct WireStats {
  std::uint64_t segments = 0;                  // TCP segments handed to the tracker
  std::uint64_t not_smtp = 0;                  // neither port is a watched port (or both are)
  std::uint64_t received_replies = 0;          // reply-side segments the capture says were received: ignored
  std::uint64_t foreign_replies = 0;           // reply-side segments not from one of our addresses: ignored
  std::uint64_t foreign_clients = 0;           // client-side segments not to one of our addresses: ignored
  std::uint64_t unverified_replies = 0;        // failure/success replies on a connection with no verified
                                               // client: not counted (a forgery, or a capture that began
                                               // after the handshake and saw no client ACK yet)
  std::uint64_t failures = 0;                  // AuthFailure events emitted
  std::uint64_t successes = 0;                 // AuthSuccess events emitted
  std::uint64_t usernames = 0;                 // events that carried a username decoded from the client
  std::uint64_t duplicate_bytes = 0;           // retransmitted bytes skipped (dedupe by sequence number)
  std::uint64_t reordered = 0;                 // segments held until the hole before them filled
  std::uint64_t gaps = 0;                      // holes given up on: the stream resynchronised at a line end
  std::uint64_t starttls_sessions = 0;         // sessions that went encrypted after STARTTLS (not visible)
  std::uint64_t implicit_tls_connections = 0;  // connections to an implicit-TLS port (not visible)
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_closed = 0;  // RST or FIN from both sides
  std::uint64_t expired = 0;             // dropped after idle_timeout
  std::uint64_t evicted = 0;             // dropped at max_connections
  std::uint64_t active = 0;              // connections in the table now
};

enum class WireNoticeKind : std::uint8_t {
  ImplicitTls,  // a connection to an implicit-TLS port was seen: its replies are encrypted
  StartTls,     // a session went encrypted after STARTTLS
};

struct WireNotice {
  WireNoticeKind kind = WireNoticeKind::StartTls;
  std::string message;  // one line for the log and `status`, with the log source to use instead
};

class WireSink {
 public:
  virtual ~WireSink() = default;
  // An AuthFailure or AuthSuccess (reporter Wire). The views are valid during the call only.
  virtual void on_event(const core::Event& event) = 0;
  // Said once per kind for the tracker's life.
  virtual void on_notice(const WireNotice& notice) = 0;
};

// "smtp" (25 and other ports), "submission" (587), "smtps" (465): the names the log decoders use.
std::string_view service_for_port(std::uint16_t port);

class ConnectionTracker {
 public:
  static constexpr std::size_t kMaxHeldSegments = 4;              // out-of-order segments held per direction
  static constexpr std::size_t kMaxHeldBytes = 8192;              // ... and their bytes
  static constexpr std::uint32_t kMaxReorderDistance = 1U << 20;  // farther ahead: a hole, at once

  explicit ConnectionTracker(TrackerSettings settings);
  ~ConnectionTracker();
  ConnectionTracker(const ConnectionTracker&) = delete;
  ConnectionTracker& operator=(const ConnectionTracker&) = delete;

  // One segment at its capture time. Times should not go backwards; if they do, the newest time
  // seen is used for expiry.
  void on_segment(const TcpSegment& segment, core::Time time, WireSink& sink);
  // Drops connections idle for longer than idle_timeout at `now`.
  void expire(core::Time now);

  const WireStats& stats() const { return stats_; }
  const TrackerSettings& settings() const { return settings_; }

 private:
  struct Connection;
  struct Key {
    core::Address client;
    core::Address server;
    std::uint16_t client_port;
    std::uint16_t server_port;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::uint64_t seed;
    std::size_t operator()(const Key& k) const;
  };
  using List = std::list<Connection>;

  bool is_watched(std::uint16_t port) const;
  bool is_implicit_tls(std::uint16_t port) const;
  bool is_ours(const core::Address& a) const;
  Connection* find(const Key& key);
  Connection& create(const Key& key, bool at_line_start, core::Time time);
  void touch(Connection& c, core::Time time);
  void verify(Connection& c);
  void close(Connection& c);
  void notice_once(WireNoticeKind kind, std::string message, WireSink& sink);

  TrackerSettings settings_;
  WireStats stats_;
  List unverified_;  // least recently active at the back
  List verified_;
  std::unordered_map<Key, List::iterator, KeyHash> table_;
  core::Time newest_{};
  bool noticed_[2] = {false, false};
};

}  // namespace strikeout::wire
