// The connection tracker: which replies count (direction, our address, a verified client), in
// sequence order with retransmissions and reordering, and the table's bounds.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frame_builder.hpp"
#include "wire/tracker.hpp"

namespace strikeout::wire {
namespace {

using testing::Conversation;
using testing::Segment;

const core::Address kServer = *core::Address::parse("192.0.2.25");
const core::Address kClient = *core::Address::parse("203.0.113.7");
const core::Address kVictim = *core::Address::parse("198.51.100.9");

struct Seen {
  core::EventKind kind;
  std::string source;
  std::uint16_t port;
  std::string service;
  std::string user;
  core::Reporter reporter;
  bool established;
};

struct Sink final : WireSink {
  std::vector<Seen> events;
  std::vector<WireNotice> notices;
  void on_event(const core::Event& e) override {
    events.push_back({e.kind, e.source.to_string(), e.port, std::string(e.service), std::string(e.user),
                      e.reporter, e.from_established});
  }
  void on_notice(const WireNotice& n) override { notices.push_back(n); }
};

TrackerSettings live_settings() {
  TrackerSettings s;
  s.server_addresses = {kServer};
  s.require_outgoing = true;
  return s;
}

// Feeds a segment as the capture on the server sees it: sent by the server (outgoing) or received.
struct Harness {
  ConnectionTracker tracker;
  Sink sink;
  core::Time now = core::from_seconds(1'700'000'000);
  explicit Harness(TrackerSettings s = live_settings()) : tracker(std::move(s)) {}

  void feed(const Segment& seg, Direction dir) {
    TcpSegment t;
    t.source = seg.source;
    t.destination = seg.destination;
    t.source_port = seg.source_port;
    t.destination_port = seg.destination_port;
    t.seq = seg.seq;
    t.ack = seg.ack;
    t.flags = seg.flags;
    t.direction = dir;
    t.payload = {reinterpret_cast<const std::uint8_t*>(seg.payload.data()), seg.payload.size()};
    now += std::chrono::milliseconds(10);
    tracker.on_segment(t, now, sink);
  }
  void sent(const Segment& s) { feed(s, Direction::Outgoing); }
  void received(const Segment& s) { feed(s, Direction::Inbound); }

  // Handshake, banner, EHLO: a verified connection ready for AUTH.
  void open(Conversation& c) {
    received(c.syn());
    sent(c.syn_ack());
    received(c.ack());
    sent(c.server("220 mail.example.org ESMTP\r\n"));
    received(c.client("EHLO attacker\r\n"));
    sent(c.server("250-mail.example.org\r\n250 AUTH PLAIN LOGIN\r\n"));
  }
};

TEST(ConnectionTracker, FailureOnAnEstablishedConnectionIsAnEvent) {
  Harness h;
  Conversation c(kClient, 40001, kServer, 587);
  h.open(c);
  h.received(c.client("AUTH PLAIN " + testing::plain_response("alice", "pw") + "\r\n"));
  h.sent(c.server("535 5.7.8 Error: authentication failed\r\n"));
  ASSERT_EQ(h.sink.events.size(), 1U);
  const Seen& e = h.sink.events[0];
  EXPECT_EQ(e.kind, core::EventKind::AuthFailure);
  EXPECT_EQ(e.source, "203.0.113.7");  // the client: the reply's destination
  EXPECT_EQ(e.port, 40001);
  EXPECT_EQ(e.service, "submission");
  EXPECT_EQ(e.user, "alice");
  EXPECT_EQ(e.reporter, core::Reporter::Wire);
  EXPECT_TRUE(e.established);
  h.received(c.client("AUTH PLAIN " + testing::plain_response("alice", "right") + "\r\n"));
  h.sent(c.server("235 2.7.0 Authentication successful\r\n"));
  ASSERT_EQ(h.sink.events.size(), 2U);
  EXPECT_EQ(h.sink.events[1].kind, core::EventKind::AuthSuccess);
  EXPECT_EQ(h.tracker.stats().usernames, 2U);
}

// A reply arriving from outside with our address forged as its source, addressed to a victim who
// never connected: the capture says it was received, so it is not our reply.
TEST(ConnectionTracker, ForgedInboundReplyNeverCounts) {
  Harness h;
  Conversation forged(kVictim, 40002, kServer, 25);
  for (int i = 0; i < 5; ++i) h.received(forged.server("535 5.7.8 Error: authentication failed\r\n"));
  EXPECT_TRUE(h.sink.events.empty());
  EXPECT_EQ(h.tracker.stats().received_replies, 5U);
  EXPECT_EQ(h.tracker.stats().active, 0U);  // and it left no state behind
}

// The same forgery in a capture file that carries no direction (Ethernet): the "reply" is on a
// connection whose client never acknowledged anything the server sent, so it does not count.
TEST(ConnectionTracker, ForgedReplyWithoutDirectionNeedsAVerifiedClient) {
  TrackerSettings s = live_settings();
  s.require_outgoing = false;
  Harness h(s);
  Conversation forged(kVictim, 40003, kServer, 25);
  // The forger even sends a SYN and a "client" packet with a guessed acknowledgement number.
  h.feed(forged.syn(), Direction::Unknown);
  Segment guess = forged.client("AUTH PLAIN " + testing::plain_response("x", "y") + "\r\n");
  guess.ack = 12345;
  h.feed(guess, Direction::Unknown);
  h.feed(forged.server("535 5.7.8 Error: authentication failed\r\n"), Direction::Unknown);
  EXPECT_TRUE(h.sink.events.empty());
  EXPECT_EQ(h.tracker.stats().unverified_replies, 1U);
}

TEST(ConnectionTracker, RepliesFromAnotherAddressDoNotCount) {
  Harness h;
  const core::Address other = *core::Address::parse("192.0.2.99");
  Conversation c(kClient, 40004, other, 25);
  h.sent(c.server("535 5.7.8 failed\r\n"));
  EXPECT_TRUE(h.sink.events.empty());
  EXPECT_EQ(h.tracker.stats().foreign_replies, 1U);
}

TEST(ConnectionTracker, ClientAcknowledgingUnsentBytesIsNotVerified) {
  Harness h;
  Conversation c(kClient, 40005, kServer, 25);
  h.received(c.syn());
  h.sent(c.syn_ack());
  Segment early = c.client("EHLO x\r\n");
  early.ack += 5000;  // acknowledges bytes the server never sent
  h.received(early);
  h.sent(c.server("535 5.7.8 failed\r\n"));
  EXPECT_TRUE(h.sink.events.empty());
}

TEST(ConnectionTracker, RetransmittedReplyCountsOnce) {
  Harness h;
  Conversation c(kClient, 40006, kServer, 587);
  h.open(c);
  const Segment reply = c.server("535 5.7.8 failed\r\n");
  h.sent(reply);
  h.sent(reply);  // retransmission: same sequence number
  EXPECT_EQ(h.sink.events.size(), 1U);
  EXPECT_EQ(h.tracker.stats().duplicate_bytes, reply.payload.size());
}

TEST(ConnectionTracker, ReplySplitAcrossTwoSegments) {
  Harness h;
  Conversation c(kClient, 40007, kServer, 587);
  h.open(c);
  h.received(c.client("AUTH PLAIN " + testing::plain_response("bob", "pw") + "\r\n"));
  h.sent(c.server("53"));
  h.sent(c.server("5 5.7.8 Error: authentication failed\r\n"));
  ASSERT_EQ(h.sink.events.size(), 1U);
  EXPECT_EQ(h.sink.events[0].user, "bob");
}

TEST(ConnectionTracker, TwoRepliesInOneSegment) {
  Harness h;
  Conversation c(kClient, 40008, kServer, 587);
  h.open(c);
  h.sent(c.server("535 5.7.8 failed\r\n535 5.7.8 failed\r\n"));
  EXPECT_EQ(h.sink.events.size(), 2U);
}

TEST(ConnectionTracker, OutOfOrderSegmentsAreReadInSequenceOrder) {
  Harness h;
  Conversation c(kClient, 40009, kServer, 587);
  h.open(c);
  const Segment first = c.server("535 5.7.8 fa");
  const Segment second = c.server("iled\r\n535 5.7.8 failed\r\n");
  h.sent(second);  // early: held
  EXPECT_TRUE(h.sink.events.empty());
  h.sent(first);  // fills the hole: both read, in order
  EXPECT_EQ(h.sink.events.size(), 2U);
  h.sent(second);  // and a late retransmission of the early one changes nothing
  EXPECT_EQ(h.sink.events.size(), 2U);
  EXPECT_EQ(h.tracker.stats().reordered, 1U);
}

TEST(ConnectionTracker, AHoleThatNeverFillsResynchronisesAtALineEnd) {
  Harness h;
  Conversation c(kClient, 40010, kServer, 587);
  h.open(c);
  c.server("535 5.7.8 lost in the capture\r\n");  // never seen
  // Enough later segments to exceed the held-segment bound.
  for (std::size_t i = 0; i <= ConnectionTracker::kMaxHeldSegments; ++i)
    h.sent(c.server("535 5.7.8 failed\r\n"));
  EXPECT_EQ(h.tracker.stats().gaps, 1U);
  // The segment after the hole begins a line, but after a hole we cannot know that: it is skipped.
  EXPECT_EQ(h.sink.events.size(), ConnectionTracker::kMaxHeldSegments);
}

TEST(ConnectionTracker, ImplicitTlsIsCountedAndSaidOnce) {
  Harness h;
  for (std::uint16_t port = 41000; port < 41003; ++port) {
    Conversation c(kClient, port, kServer, 465);
    h.received(c.syn());
    h.sent(c.syn_ack());
    h.sent(c.server("\x16\x03\x01 535 5.7.8 ciphertext\r\n"));
  }
  EXPECT_TRUE(h.sink.events.empty());
  EXPECT_EQ(h.tracker.stats().implicit_tls_connections, 3U);
  ASSERT_EQ(h.sink.notices.size(), 1U);
  EXPECT_EQ(h.sink.notices[0].kind, WireNoticeKind::ImplicitTls);
  EXPECT_NE(h.sink.notices[0].message.find("log"), std::string::npos);
}

TEST(ConnectionTracker, StartTlsSessionGoesDark) {
  Harness h;
  Conversation c(kClient, 40011, kServer, 587);
  h.open(c);
  h.received(c.client("STARTTLS\r\n"));
  h.sent(c.server("220 2.0.0 Ready to start TLS\r\n"));
  h.sent(c.server("535 5.7.8 this would be ciphertext\r\n"));
  EXPECT_TRUE(h.sink.events.empty());
  EXPECT_EQ(h.tracker.stats().starttls_sessions, 1U);
  ASSERT_EQ(h.sink.notices.size(), 1U);
  EXPECT_EQ(h.sink.notices[0].kind, WireNoticeKind::StartTls);
}

TEST(ConnectionTracker, LoopbackCopiesCountOnce) {
  // On `lo`, a capture on `any` sees each segment twice: as sent and as received.
  TrackerSettings s = live_settings();
  s.server_addresses = {kServer, kClient};
  Harness h(s);
  Conversation c(kClient, 40012, kServer, 25);
  auto both = [&](const Segment& seg) {
    h.sent(seg);
    h.received(seg);
  };
  both(c.syn());
  both(c.syn_ack());
  both(c.server("220 hi\r\n"));
  both(c.client("AUTH PLAIN " + testing::plain_response("lo", "pw") + "\r\n"));
  both(c.server("535 5.7.8 failed\r\n"));
  ASSERT_EQ(h.sink.events.size(), 1U);
  EXPECT_EQ(h.sink.events[0].user, "lo");
}

TEST(ConnectionTracker, ConnectionsEndWithFinRstOrIdleTime) {
  Harness h;
  Conversation a(kClient, 40013, kServer, 25);
  h.open(a);
  h.received(a.client_fin());
  EXPECT_EQ(h.tracker.stats().active, 1U);  // the server may still answer
  h.sent(a.server_fin());
  EXPECT_EQ(h.tracker.stats().active, 0U);

  Conversation b(kClient, 40014, kServer, 25);
  h.open(b);
  Segment rst = b.client({}, kTcpRst);
  h.received(rst);
  EXPECT_EQ(h.tracker.stats().active, 0U);

  Conversation c(kClient, 40015, kServer, 25);
  h.open(c);
  h.tracker.expire(h.now + std::chrono::minutes(9));
  EXPECT_EQ(h.tracker.stats().active, 1U);
  h.tracker.expire(h.now + std::chrono::minutes(11));
  EXPECT_EQ(h.tracker.stats().active, 0U);
  EXPECT_EQ(h.tracker.stats().expired, 1U);
  EXPECT_EQ(h.tracker.stats().connections_closed, 2U);
}

// At the bound, unverified connections (a SYN flood with forged sources) are evicted before a
// verified one, so a flood cannot push out the attacker we are watching.
TEST(ConnectionTracker, AtTheBoundUnverifiedConnectionsGoFirst) {
  TrackerSettings s = live_settings();
  s.max_connections = 3;
  Harness h(s);
  Conversation real(kClient, 40016, kServer, 587);
  h.open(real);
  for (std::uint16_t p = 1; p <= 10; ++p) {
    Conversation flood(kVictim, p, kServer, 587);
    h.received(flood.syn());
  }
  EXPECT_EQ(h.tracker.stats().active, 3U);
  EXPECT_EQ(h.tracker.stats().evicted, 8U);
  h.sent(real.server("535 5.7.8 failed\r\n"));
  EXPECT_EQ(h.sink.events.size(), 1U);
}

TEST(ConnectionTracker, Ipv6Connection) {
  TrackerSettings s = live_settings();
  const core::Address server6 = *core::Address::parse("2001:db8::25");
  s.server_addresses = {server6};
  Harness h(s);
  Conversation c(*core::Address::parse("2001:db8:bad::1"), 40017, server6, 25);
  h.open(c);
  h.sent(c.server("535 5.7.8 failed\r\n"));
  ASSERT_EQ(h.sink.events.size(), 1U);
  EXPECT_EQ(h.sink.events[0].source, "2001:db8:bad::1");
  EXPECT_EQ(h.sink.events[0].service, "smtp");
}

}  // namespace
}  // namespace strikeout::wire
