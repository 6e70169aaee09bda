#include "wire/tracker.hpp"

#include <algorithm>
#include <string.h>  // explicit_bzero

namespace strikeout::wire {

namespace {

std::int32_t seq_diff(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b);
}

// Bytes of one direction held because a hole comes before them.
struct Held {
  std::uint32_t seq = 0;
  std::vector<std::uint8_t> bytes;
};

void wipe(std::vector<std::uint8_t>& v) {
  if (!v.empty()) explicit_bzero(v.data(), v.size());
  v.clear();
}

}  // namespace

// One direction of a connection: where the next byte in sequence order is, and what came early.
struct Stream {
  bool known = false;
  std::uint32_t base = 0;  // first sequence number seen (the SYN's when we saw it)
  std::uint32_t next = 0;  // the next byte to hand to the session
  std::vector<Held> held;
  std::size_t held_bytes = 0;

  ~Stream() { drop_held(); }
  void drop_held() {
    for (auto& h : held) wipe(h.bytes);
    held.clear();
    held_bytes = 0;
  }
};

struct ConnectionTracker::Connection {
  Connection(const Key& k, bool at_line_start) : key(k), session(at_line_start) {}
  Key key;
  List::iterator self{};
  core::Time last{};
  Stream server;
  Stream client;
  bool verified = false;
  bool server_fin = false;
  bool client_fin = false;
  SmtpSession session;
};

std::string_view service_for_port(std::uint16_t port) {
  switch (port) {
    case 587:
      return "submission";
    case 465:
      return "smtps";
    default:
      return "smtp";
  }
}

std::size_t ConnectionTracker::KeyHash::operator()(const Key& k) const {
  std::uint64_t h = core::hash_address(k.client, seed);
  h ^= core::hash_address(k.server, seed ^ 0x9e3779b97f4a7c15ULL) * 31;
  h ^= (std::uint64_t{k.client_port} << 16 | k.server_port) * 0xbf58476d1ce4e5b9ULL;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

ConnectionTracker::ConnectionTracker(TrackerSettings settings)
    : settings_(std::move(settings)), table_(16, KeyHash{settings_.hash_seed}) {
  if (settings_.max_connections == 0) settings_.max_connections = 1;
}

ConnectionTracker::~ConnectionTracker() = default;

bool ConnectionTracker::is_watched(std::uint16_t port) const {
  return std::find(settings_.ports.begin(), settings_.ports.end(), port) != settings_.ports.end();
}
bool ConnectionTracker::is_implicit_tls(std::uint16_t port) const {
  return std::find(settings_.implicit_tls_ports.begin(), settings_.implicit_tls_ports.end(), port) !=
         settings_.implicit_tls_ports.end();
}
bool ConnectionTracker::is_ours(const core::Address& a) const {
  if (settings_.server_addresses.empty()) return true;
  return std::find(settings_.server_addresses.begin(), settings_.server_addresses.end(), a) !=
         settings_.server_addresses.end();
}

ConnectionTracker::Connection* ConnectionTracker::find(const Key& key) {
  auto it = table_.find(key);
  return it == table_.end() ? nullptr : &*it->second;
}

ConnectionTracker::Connection& ConnectionTracker::create(const Key& key, bool at_line_start,
                                                         core::Time time) {
  if (table_.size() >= settings_.max_connections) {
    List& victims = unverified_.empty() ? verified_ : unverified_;
    table_.erase(victims.back().key);
    victims.pop_back();
    ++stats_.evicted;
  }
  unverified_.emplace_front(key, at_line_start);
  Connection& c = unverified_.front();
  c.self = unverified_.begin();
  c.last = time;
  table_.emplace(key, c.self);
  ++stats_.connections_opened;
  stats_.active = table_.size();
  return c;
}

void ConnectionTracker::touch(Connection& c, core::Time time) {
  if (time > c.last) c.last = time;
  List& list = c.verified ? verified_ : unverified_;
  list.splice(list.begin(), list, c.self);
}

void ConnectionTracker::verify(Connection& c) {
  c.verified = true;
  verified_.splice(verified_.begin(), unverified_, c.self);
}

void ConnectionTracker::close(Connection& c) {
  List& list = c.verified ? verified_ : unverified_;
  const auto self = c.self;
  table_.erase(c.key);
  list.erase(self);
  stats_.active = table_.size();
}

void ConnectionTracker::expire(core::Time now) {
  if (now > newest_) newest_ = now;
  for (List* list : {&unverified_, &verified_}) {
    while (!list->empty() && list->back().last + settings_.idle_timeout < newest_) {
      table_.erase(list->back().key);
      list->pop_back();
      ++stats_.expired;
    }
  }
  stats_.active = table_.size();
}

void ConnectionTracker::notice_once(WireNoticeKind kind, std::string message, WireSink& sink) {
  bool& said = noticed_[static_cast<std::size_t>(kind)];
  if (said) return;
  said = true;
  sink.on_notice(WireNotice{kind, std::move(message)});
}

namespace {

// Hands `payload` (starting at sequence number `seq`) to `feed` in sequence order: bytes already
// handed over (retransmissions, overlaps) are skipped, bytes after a hole are held (bounded) until
// the hole fills, and a hole that does not fill in time is given up on with `gap` (the session then
// resynchronises at the next line end). Returns nothing: the stats say what happened.
template <typename Feed, typename Gap>
void deliver(Stream& st, std::uint32_t seq, std::span<const std::uint8_t> payload, WireStats& stats,
             Feed feed, Gap gap) {
  if (!st.known) {
    st.known = true;
    st.base = seq;
    st.next = seq;
  }
  auto take = [&](std::uint32_t s, std::span<const std::uint8_t> p) {
    const std::int32_t d = seq_diff(s, st.next);  // <= 0 here
    const std::size_t skip = static_cast<std::size_t>(-static_cast<std::int64_t>(d));
    if (skip >= p.size()) {
      stats.duplicate_bytes += p.size();
      return;
    }
    stats.duplicate_bytes += skip;
    feed(p.subspan(skip));
    st.next += static_cast<std::uint32_t>(p.size() - skip);
  };
  auto drain = [&] {
    for (bool progress = true; progress && !st.held.empty();) {
      progress = false;
      for (std::size_t i = 0; i < st.held.size(); ++i) {
        if (seq_diff(st.held[i].seq, st.next) > 0) continue;
        Held h = std::move(st.held[i]);
        st.held.erase(st.held.begin() + static_cast<std::ptrdiff_t>(i));
        st.held_bytes -= h.bytes.size();
        take(h.seq, h.bytes);
        wipe(h.bytes);
        progress = true;
        break;
      }
    }
  };

  const std::int32_t d = seq_diff(seq, st.next);
  if (d <= 0) {
    take(seq, payload);
    drain();
    return;
  }
  if (static_cast<std::uint32_t>(d) <= ConnectionTracker::kMaxReorderDistance &&
      st.held.size() < ConnectionTracker::kMaxHeldSegments &&
      st.held_bytes + payload.size() <= ConnectionTracker::kMaxHeldBytes) {
    st.held.push_back(Held{seq, std::vector<std::uint8_t>(payload.begin(), payload.end())});
    st.held_bytes += payload.size();
    ++stats.reordered;
    return;
  }
  // Give up on the hole: hand over what is held, in order, jumping each remaining hole.
  st.held.push_back(Held{seq, std::vector<std::uint8_t>(payload.begin(), payload.end())});
  std::sort(st.held.begin(), st.held.end(), [&](const Held& a, const Held& b) {
    return seq_diff(a.seq, st.next) < seq_diff(b.seq, st.next);
  });
  std::vector<Held> held = std::move(st.held);
  st.held.clear();
  st.held_bytes = 0;
  for (auto& h : held) {
    if (seq_diff(h.seq, st.next) > 0) {
      ++stats.gaps;
      gap();
      st.next = h.seq;
    }
    take(h.seq, h.bytes);
    wipe(h.bytes);
  }
}

}  // namespace

void ConnectionTracker::on_segment(const TcpSegment& s, core::Time time, WireSink& sink) {
  ++stats_.segments;
  if (time > newest_) newest_ = time;
  const bool from_server = is_watched(s.source_port);
  const bool to_server = is_watched(s.destination_port);
  if (from_server == to_server) {
    ++stats_.not_smtp;
    return;
  }
  const bool syn = (s.flags & kTcpSyn) != 0;
  const bool ack = (s.flags & kTcpAck) != 0;
  const bool rst = (s.flags & kTcpRst) != 0;
  const bool fin = (s.flags & kTcpFin) != 0;
  // A SYN takes one sequence number: data it carries (TCP Fast Open) starts after it.
  const std::uint32_t data_seq = syn ? s.seq + 1 : s.seq;

  if (from_server) {
    // 1. Direction, 2. our own address: see the header.
    if (s.direction == Direction::Inbound ||
        (s.direction == Direction::Unknown && settings_.require_outgoing)) {
      ++stats_.received_replies;
      return;
    }
    if (!is_ours(s.source)) {
      ++stats_.foreign_replies;
      return;
    }
    const Key key{s.destination, s.source, s.destination_port, s.source_port};
    if (is_implicit_tls(s.source_port)) {
      if (syn && ack) {
        ++stats_.implicit_tls_connections;
        notice_once(WireNoticeKind::ImplicitTls,
                    "wire: port " + std::to_string(s.source_port) +
                        " uses implicit TLS: its replies are encrypted and cannot be seen on the wire; "
                        "count its failures from the mail server's log (a journald or file source)",
                    sink);
      }
      return;
    }
    Connection* c = find(key);
    if (rst) {
      if (c != nullptr) {
        close(*c);
        ++stats_.connections_closed;
      }
      return;
    }
    if (syn) {
      if (c == nullptr) c = &create(key, true, time);
      if (!c->server.known) {
        c->server.known = true;
        c->server.base = s.seq;
        c->server.next = s.seq + 1;
      }
      if (ack && !c->client.known) {
        c->client.known = true;
        c->client.base = s.ack - 1;
        c->client.next = s.ack;
      }
    }
    if (!s.payload.empty()) {
      if (c == nullptr) c = &create(key, false, time);
      struct Bridge final : SessionListener {
        ConnectionTracker& t;
        Connection& conn;
        core::Time when;
        WireSink& out;
        Bridge(ConnectionTracker& tr, Connection& cn, core::Time w, WireSink& o)
            : t(tr), conn(cn), when(w), out(o) {}
        void on_auth_result(bool failure, std::string_view user) override {
          // 3. Connection state: see the header.
          if (!conn.verified) {
            ++t.stats_.unverified_replies;
            return;
          }
          core::Event e;
          e.time = when;
          e.kind = failure ? core::EventKind::AuthFailure : core::EventKind::AuthSuccess;
          e.source = conn.key.client;
          e.port = conn.key.client_port;
          e.service = service_for_port(conn.key.server_port);
          e.user = user;
          e.reporter = core::Reporter::Wire;
          e.sensor = t.settings_.sensor;
          e.from_established = true;
          ++(failure ? t.stats_.failures : t.stats_.successes);
          if (!user.empty()) ++t.stats_.usernames;
          out.on_event(e);
        }
        void on_encrypted() override {
          ++t.stats_.starttls_sessions;
          conn.server.drop_held();
          conn.client.drop_held();
          t.notice_once(WireNoticeKind::StartTls,
                        "wire: a session on port " + std::to_string(conn.key.server_port) +
                            " switched to TLS with STARTTLS: replies after that are encrypted and cannot "
                            "be seen on the wire; count them from the mail server's log (a journald or "
                            "file source)",
                        out);
        }
      } bridge(*this, *c, time, sink);
      if (!c->session.encrypted()) {
        Connection& conn = *c;
        deliver(
            conn.server, data_seq, s.payload, stats_,
            [&](std::span<const std::uint8_t> p) {
              conn.session.server_bytes(p, settings_.failure_replies, bridge);
            },
            [&] { conn.session.server_gap(); });
      }
    }
    if (c == nullptr) return;
    if (fin) c->server_fin = true;
    if (c->server_fin && c->client_fin) {
      close(*c);
      ++stats_.connections_closed;
      return;
    }
    touch(*c, time);
    return;
  }

  // The client's side.
  if (!is_ours(s.destination)) {
    ++stats_.foreign_clients;
    return;
  }
  if (is_implicit_tls(s.destination_port)) return;  // counted once, on our SYN-ACK
  const Key key{s.source, s.destination, s.source_port, s.destination_port};
  Connection* c = find(key);
  if (rst) {
    if (c != nullptr) {
      close(*c);
      ++stats_.connections_closed;
    }
    return;
  }
  if (syn && !ack) {
    // A SYN is forgeable and proves nothing; it only tells where the client's bytes start. A SYN for
    // a connection we already track (a retransmission, or a forgery) changes nothing.
    if (c == nullptr) {
      c = &create(key, true, time);
      c->client.known = true;
      c->client.base = s.seq;
      c->client.next = s.seq + 1;
    }
  }
  if (c == nullptr && s.payload.empty()) return;
  if (c == nullptr) c = &create(key, false, time);
  if (ack && !c->verified && c->server.known) {
    // The client acknowledges sequence space the server really sent: it received our packets, so
    // it is the address it claims to be.
    const std::uint32_t acked = s.ack - c->server.base;
    const std::uint32_t sent = c->server.next - c->server.base;
    if (acked >= 1 && acked <= sent) verify(*c);
  }
  if (!s.payload.empty() && !c->session.encrypted()) {
    struct Quiet final : SessionListener {
      void on_auth_result(bool, std::string_view) override {}
      void on_encrypted() override {}
    } quiet;
    Connection& conn = *c;
    deliver(
        conn.client, data_seq, s.payload, stats_,
        [&](std::span<const std::uint8_t> p) { conn.session.client_bytes(p, quiet); },
        [&] { conn.session.client_gap(); });
  }
  if (fin) c->client_fin = true;
  if (c->server_fin && c->client_fin) {
    close(*c);
    ++stats_.connections_closed;
    return;
  }
  touch(*c, time);
}

}  // namespace strikeout::wire
