// `replay --pcap`: capture files (pcap through libpcap's writer, pcapng by hand) through the wire
// sensor into events in the packets' own time, in a deterministic order; and the engine counting a
// failure seen both on the wire and in Postfix's log once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "app/pcap_replay.hpp"
#include "app/replay.hpp"
#include "core/engine.hpp"
#include "frame_builder.hpp"
#include "pcap_writer.hpp"

namespace strikeout::app {
namespace {

using wire::testing::Conversation;
using wire::testing::Segment;
using wire::testing::TimedFrame;

const core::Address kServer = *core::Address::parse("192.0.2.25");
const core::Address kClient = *core::Address::parse("203.0.113.7");
constexpr std::int64_t kStart = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/strikeout_pcap_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// One failed and one successful AUTH on a connection, as Ethernet frames 1 s apart from `start`.
std::vector<TimedFrame> session(core::Address client, std::uint16_t port, std::int64_t start,
                                const std::string& user, bool sll = false) {
  Conversation c(client, port, kServer, 587);
  std::vector<TimedFrame> frames;
  std::int64_t t = start;
  auto add = [&](const Segment& s, bool from_server) {
    const auto ip = wire::testing::ip_packet(s);
    frames.push_back({t, sll ? wire::testing::sll(ip, from_server ? 4 : 0) : wire::testing::ethernet(ip)});
    t += 1'000'000;
  };
  add(c.syn(), false);
  add(c.syn_ack(), true);
  add(c.ack(), false);
  add(c.server("220 mail.example.org ESMTP Postfix\r\n"), true);
  add(c.client("EHLO x\r\n"), false);
  add(c.server("250-mail\r\n250 AUTH PLAIN LOGIN\r\n"), true);
  add(c.client("AUTH PLAIN " + wire::testing::plain_response(user, "guess") + "\r\n"), false);
  add(c.server("535 5.7.8 Error: authentication failed: authentication failure\r\n"), true);
  add(c.client("AUTH LOGIN " + wire::testing::base64(user) + "\r\n"), false);
  add(c.server("334 UGFzc3dvcmQ6\r\n"), true);
  add(c.client(wire::testing::base64("right") + "\r\n"), false);
  add(c.server("235 2.7.0 Authentication successful\r\n"), true);
  add(c.client_fin(), false);
  add(c.server_fin(), true);
  return frames;
}

struct Collected {
  std::string time;
  std::string kind;
  std::string source;
  std::string user;
  std::string sensor;
};

std::vector<Collected> drain(PcapEventStream& stream) {
  std::vector<Collected> out;
  core::Event e;
  while (stream.next(e)) {
    out.push_back({core::format_rfc3339(e.time), std::string(core::to_string(e.kind)), e.source.to_string(),
                   std::string(e.user), std::string(e.sensor)});
    EXPECT_EQ(e.reporter, core::Reporter::Wire);
    EXPECT_EQ(e.service, "submission");
  }
  return out;
}

TEST(PcapReplay, EventsInThePacketsOwnTime) {
  TempDir dir;
  wire::testing::write_pcap(dir.file("a.pcap"), DLT_EN10MB, session(kClient, 40000, kStart, "alice"));
  PcapReplayOptions options;
  options.files = {dir.file("a.pcap")};
  std::string error;
  auto stream = PcapEventStream::open(options, error);
  ASSERT_TRUE(stream) << error;
  const auto events = drain(*stream);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].time, "2026-01-01T00:00:07Z");
  EXPECT_EQ(events[0].kind, "auth-failure");
  EXPECT_EQ(events[0].source, "203.0.113.7");
  EXPECT_EQ(events[0].user, "alice");
  EXPECT_EQ(events[0].sensor, "pcap:a.pcap");
  EXPECT_EQ(events[1].kind, "auth-success");
  EXPECT_TRUE(stream->errors().empty());
  EXPECT_EQ(stream->summary_line(), "events from pcap: 1 file, 14 packets, 1 auth-failure, 1 auth-success");
}

TEST(PcapReplay, PcapngAndCookedCapturesToo) {
  TempDir dir;
  wire::testing::write_pcapng(dir.file("b.pcapng"), 113 /* LINKTYPE_LINUX_SLL */,
                              session(kClient, 40001, kStart, "bob", true));
  PcapReplayOptions options;
  options.files = {dir.file("b.pcapng")};
  options.server_addresses = {kServer};
  std::string error;
  auto stream = PcapEventStream::open(options, error);
  ASSERT_TRUE(stream) << error;
  const auto events = drain(*stream);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].user, "bob");
}

// Two files whose events interleave in time, and two events at the same instant: the order is by
// time, then by file order on the command line, whatever order the files were read in.
TEST(PcapReplay, MergeOrderIsDeterministic) {
  TempDir dir;
  const core::Address other = *core::Address::parse("198.51.100.4");
  wire::testing::write_pcap(dir.file("1.pcap"), DLT_EN10MB, session(kClient, 40002, kStart, "one"));
  wire::testing::write_pcap(dir.file("2.pcap"), DLT_EN10MB, session(other, 40003, kStart + 500'000, "two"));
  wire::testing::write_pcap(dir.file("3.pcap"), DLT_EN10MB, session(other, 40004, kStart, "three"));
  PcapReplayOptions options;
  options.files = {dir.file("1.pcap"), dir.file("2.pcap"), dir.file("3.pcap")};
  std::string error;
  auto stream = PcapEventStream::open(options, error);
  ASSERT_TRUE(stream) << error;
  std::vector<std::string> order;
  for (const auto& e : drain(*stream)) order.push_back(e.user + ":" + e.kind);
  EXPECT_EQ(order, (std::vector<std::string>{"one:auth-failure", "three:auth-failure", "two:auth-failure",
                                             "one:auth-success", "three:auth-success", "two:auth-success"}));
}

// A spoofed capture: replies to an address that never completed a handshake (raw packets with a
// forged source, as an attacker on the outside would send them) give no event, so no strike.
TEST(PcapReplay, SpoofedRepliesGiveNoStrike) {
  TempDir dir;
  Conversation forged(*core::Address::parse("198.51.100.66"), 40005, kServer, 25);
  std::vector<TimedFrame> frames;
  for (int i = 0; i < 5; ++i) {
    frames.push_back({kStart + i, wire::testing::ethernet(wire::testing::ip_packet(
                                      forged.server("535 5.7.8 Error: authentication failed\r\n")))});
  }
  wire::testing::write_pcap(dir.file("spoof.pcap"), DLT_EN10MB, frames);
  PcapReplayOptions options;
  options.files = {dir.file("spoof.pcap")};
  std::string error;
  auto stream = PcapEventStream::open(options, error);
  ASSERT_TRUE(stream) << error;
  EXPECT_TRUE(drain(*stream).empty());
  // The first forged segment starts a connection seen mid-stream, read from its first line end; the
  // other four are replies on a connection nobody verified.
  EXPECT_EQ(stream->stats().unverified_replies, 4U);
  EXPECT_NE(stream->summary_line().find("4 replies on unverified connections not counted"),
            std::string::npos);
}

TEST(PcapReplay, ClearErrors) {
  TempDir dir;
  PcapReplayOptions options;
  std::string error;
  options.files = {dir.file("missing.pcap")};
  EXPECT_FALSE(PcapEventStream::open(options, error));
  EXPECT_NE(error.find("missing.pcap"), std::string::npos);
  { std::ofstream(dir.file("text.pcap")) << "Nov 27 01:49:52 mx postfix/smtpd[1]: not a capture\n"; }
  options.files = {dir.file("text.pcap")};
  EXPECT_FALSE(PcapEventStream::open(options, error));
  EXPECT_NE(error.find("text.pcap: not a readable pcap or pcapng capture"), std::string::npos) << error;
  wire::testing::write_pcap(dir.file("usb.pcap"), 189 /* DLT_USB_LINUX */, {});
  options.files = {dir.file("usb.pcap")};
  EXPECT_FALSE(PcapEventStream::open(options, error));
  EXPECT_NE(error.find("is not one the wire sensor decodes"), std::string::npos) << error;
  options.files = {};
  options.failure_replies = {"5x5"};
  EXPECT_FALSE(PcapEventStream::open(options, error));
  EXPECT_NE(error.find("three-digit"), std::string::npos) << error;
}

TEST(PcapReplay, FileCutShortKeepsWhatWasRead) {
  TempDir dir;
  wire::testing::write_pcap(dir.file("cut.pcap"), DLT_EN10MB, session(kClient, 40006, kStart, "carol"));
  std::filesystem::resize_file(dir.file("cut.pcap"), std::filesystem::file_size(dir.file("cut.pcap")) - 30);
  PcapReplayOptions options;
  options.files = {dir.file("cut.pcap")};
  std::string error;
  auto stream = PcapEventStream::open(options, error);
  ASSERT_TRUE(stream) << error;
  EXPECT_EQ(drain(*stream).size(), 2U);  // the cut was in the FIN segments
  ASSERT_EQ(stream->errors().size(), 1U);
  EXPECT_NE(stream->errors()[0].find("cut.pcap"), std::string::npos);
}

struct CountingSink final : core::DecisionSink {
  int strikes = 0;
  int bans = 0;
  void on_decision(const core::Decision& d) override {
    if (d.kind == core::DecisionKind::Strike) ++strikes;
    if (d.kind == core::DecisionKind::Ban) ++bans;
  }
};

// One failure reported by the wire (the 535 leaving the server) and by Postfix's log line a moment
// later counts once: the engine pairs reports of different reporters within its duplicate window.
TEST(PcapReplay, WireAndLogReportsOfOneFailureCountOnce) {
  TempDir dir;
  wire::testing::write_pcap(dir.file("a.pcap"), DLT_EN10MB, session(kClient, 40007, kStart, "dave"));
  PcapReplayOptions options;
  options.files = {dir.file("a.pcap")};
  std::string error;
  auto stream = PcapEventStream::open(options, error);
  ASSERT_TRUE(stream) << error;

  core::Policy policy;
  policy.rules.push_back(core::Rule{});  // auth-failures: 3 within 20m
  policy.rules.back().name = "auth-failures";
  core::Engine engine(policy);
  CountingSink sink;
  core::Event wire_event;
  ASSERT_TRUE(stream->next(wire_event));
  ASSERT_EQ(wire_event.kind, core::EventKind::AuthFailure);
  engine.on_event(wire_event, sink);
  core::Event log_event;
  log_event.time = wire_event.time + std::chrono::milliseconds(300);
  log_event.kind = core::EventKind::AuthFailure;
  log_event.source = kClient;
  log_event.service = "submission";
  log_event.user = "dave";
  log_event.reporter = core::Reporter::Postfix;
  log_event.sensor = "mail.log";
  engine.on_event(log_event, sink);
  EXPECT_EQ(engine.stats().duplicates, 1U);
  EXPECT_EQ(sink.strikes, 1);
}

}  // namespace
}  // namespace strikeout::app

namespace strikeout::app {
namespace {

// `strikeout replay --pcap`: the captures go through the same engine and output as logs; three
// failures on the wire ban the client, and the summary says what the wire sensor read.
TEST(PcapReplay, ReplayBansFromCapturesAlone) {
  TempDir dir;
  std::vector<TimedFrame> frames;
  for (int i = 0; i < 3; ++i) {
    auto s = session(kClient, static_cast<std::uint16_t>(40001 + i), kStart + i * 60'000'000LL, "erin");
    frames.insert(frames.end(), s.begin(), s.end());
  }
  wire::testing::write_pcap(dir.file("three.pcap"), DLT_EN10MB, frames);
  ReplayOptions options;
  options.policy.rules.push_back(core::Rule{});
  options.policy.rules.back().name = "auth-failures";
  options.pcap_files = {dir.file("three.pcap")};
  options.json = true;
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  std::FILE* err = std::tmpfile();
  const int status = run_replay(options, out, err);
  std::fclose(out);
  std::fclose(err);
  const std::string text(buf, len);
  std::free(buf);
  EXPECT_EQ(status, 0);
  EXPECT_NE(text.find("\"action\":\"ban\",\"address\":\"203.0.113.7\",\"rule\":\"auth-failures\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"pcap\":{"), std::string::npos) << text;
}

}  // namespace
}  // namespace strikeout::app
