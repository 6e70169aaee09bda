// Writes a deterministic pcap of mixed SMTP traffic as a capture on a busy mail server's interface
// would hold it (Ethernet, classic pcap through libpcap's own writer), for the wire benchmark:
// successes with mail, failures (AUTH PLAIN / LOGIN, several per connection as hydra does), pipelined
// AUTH, replies split across segments, IPv4 and IPv6, STARTTLS sessions and port-465 sessions (their
// bytes random, as ciphertext is), pure ACKs, and hundreds of connections open at once.
//
//   bench_wire_gen_capture OUT.pcap [--packets N] [--seed S]
// Prints what it wrote (packets, sessions, visible failure replies) on standard output.
#include <pcap/pcap.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "frame_builder.hpp"

namespace {

using namespace strikeout;
using wire::testing::Conversation;
using wire::testing::Frame;
using wire::testing::Segment;

struct Session {
  std::vector<Frame> frames;
  std::size_t next = 0;
};

struct Totals {
  std::uint64_t sessions = 0;
  std::uint64_t failures = 0;  // failure replies in plaintext (what the sensor should report)
  std::uint64_t successes = 0;
  std::uint64_t tls_sessions = 0;
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  Session make(Totals& totals) {
    ++totals.sessions;
    Session s;
    const bool v6 = pick(100) < 30;
    const core::Address server =
        v6 ? *core::Address::parse("2001:db8::25") : *core::Address::parse("192.0.2.25");
    core::Address client;
    if (v6) {
      core::Address::Bytes b = core::Address::parse("2001:db8:bad::")->bytes();
      b[14] = static_cast<std::uint8_t>(pick(256));
      b[15] = static_cast<std::uint8_t>(pick(256));
      client = core::Address::from_bytes(b);
    } else {
      client =
          core::Address::from_v4(0xCB007100U + static_cast<std::uint32_t>(pick(4096)));  // 203.0.113.0/20-ish
    }
    const unsigned kind = pick(100);
    const std::uint16_t port = kind >= 95 ? 465 : (pick(2) == 0 ? 587 : 25);
    Conversation c(client, static_cast<std::uint16_t>(1024 + pick(60000)), server, port,
                   static_cast<std::uint32_t>(rng_()), static_cast<std::uint32_t>(rng_()));
    auto client_says = [&](std::string text) {
      push(s, c.client(std::move(text)));
      push(s, c.server({}));  // the server's pure ACK
    };
    auto server_says = [&](std::string text) {
      push(s, c.server(std::move(text)));
      push(s, c.client({}));
    };
    push(s, c.syn());
    push(s, c.syn_ack());
    push(s, c.ack());
    if (port == 465) {
      ++totals.tls_sessions;
      for (unsigned i = 0, n = 4 + pick(12); i < n; ++i) {
        if (i % 2) {
          client_says(noise(40 + pick(1400)));
        } else {
          server_says(noise(40 + pick(1400)));
        }
      }
    } else {
      server_says("220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n");
      client_says("EHLO client" + std::to_string(pick(1000)) + ".example\r\n");
      server_says(
          "250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
          "250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
      const std::string fail = "535 5.7.8 Error: authentication failed: authentication failure\r\n";
      const std::string user = "user" + std::to_string(pick(5000));
      if (kind < 40) {  // hydra-like: several PLAIN guesses on one connection
        for (unsigned i = 0, n = 1 + pick(5); i < n; ++i) {
          client_says("AUTH PLAIN " + wire::testing::plain_response(user, "guess" + std::to_string(i)) +
                      "\r\n");
          server_says(fail);
          ++totals.failures;
        }
      } else if (kind < 50) {  // AUTH LOGIN guesses
        for (unsigned i = 0, n = 1 + pick(3); i < n; ++i) {
          client_says("AUTH LOGIN\r\n");
          server_says("334 VXNlcm5hbWU6\r\n");
          client_says(wire::testing::base64(user) + "\r\n");
          server_says("334 UGFzc3dvcmQ6\r\n");
          client_says(wire::testing::base64("guess") + "\r\n");
          server_says(fail);
          ++totals.failures;
        }
      } else if (kind < 70) {  // a real user: success, then a message
        client_says("AUTH PLAIN " + wire::testing::plain_response(user, "right") + "\r\n");
        server_says("235 2.7.0 Authentication successful\r\n");
        ++totals.successes;
        client_says("MAIL FROM:<" + user + "@example.org>\r\nRCPT TO:<friend@example.net>\r\nDATA\r\n");
        server_says("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
        std::string body = "Subject: hello\r\n\r\n";
        for (unsigned i = 0, n = 10 + pick(60); i < n; ++i)
          body += "a line of the message, AUTH PLAIN is just text here\r\n";
        for (std::size_t at = 0; at < body.size(); at += 1400) client_says(body.substr(at, 1400));
        client_says(".\r\n");
        server_says("250 2.0.0 Ok: queued as 4ABCDEF\r\n");
      } else if (kind < 80) {  // pipelined: two guesses in one segment, both replies in one segment
        client_says("AUTH PLAIN " + wire::testing::plain_response(user, "a") + "\r\nAUTH PLAIN " +
                    wire::testing::plain_response(user, "b") + "\r\n");
        server_says(fail + fail);
        totals.failures += 2;
      } else if (kind < 85) {  // a reply split across two segments
        client_says("AUTH PLAIN " + wire::testing::plain_response(user, "x") + "\r\n");
        push(s, c.server(fail.substr(0, 7)));
        server_says(fail.substr(7));
        ++totals.failures;
      } else {  // STARTTLS, then ciphertext
        ++totals.tls_sessions;
        client_says("STARTTLS\r\n");
        server_says("220 2.0.0 Ready to start TLS\r\n");
        for (unsigned i = 0, n = 4 + pick(12); i < n; ++i) {
          if (i % 2) {
            client_says(noise(40 + pick(1400)));
          } else {
            server_says(noise(40 + pick(1400)));
          }
        }
      }
      if (port != 465 && kind < 85) {
        client_says("QUIT\r\n");
        server_says("221 2.0.0 Bye\r\n");
      }
    }
    push(s, c.client_fin());
    push(s, c.server_fin());
    push(s, c.client({}));
    return s;
  }

 private:
  unsigned pick(unsigned n) { return static_cast<unsigned>(rng_() % n); }
  std::string noise(unsigned n) {
    std::string s(n, '\0');
    for (auto& ch : s) ch = static_cast<char>(rng_() & 0xff);
    return s;
  }
  static void push(Session& s, const Segment& seg) {
    s.frames.push_back(wire::testing::ethernet(wire::testing::ip_packet(seg)));
  }

  std::mt19937_64 rng_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT.pcap [--packets N] [--seed S]\n", argv[0]);
    return 2;
  }
  std::uint64_t packets = 1'000'000;
  std::uint64_t seed = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--packets") == 0)
      packets = std::strtoull(argv[i + 1], nullptr, 10);
    else if (std::strcmp(argv[i], "--seed") == 0)
      seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
  pcap_dumper_t* out = pcap_dump_open(dead, argv[1]);
  if (out == nullptr) {
    std::fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(dead));
    return 1;
  }
  Generator gen(seed);
  std::mt19937_64 order(seed ^ 0x5eed);
  Totals totals;
  std::vector<Session> open(300);
  for (auto& s : open) s = gen.make(totals);
  std::int64_t t = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
  std::uint64_t written = 0;
  while (written < packets) {
    Session& s = open[order() % open.size()];
    const Frame& f = s.frames[s.next++];
    struct pcap_pkthdr h {};
    h.ts.tv_sec = static_cast<time_t>(t / 1'000'000);
    h.ts.tv_usec = static_cast<suseconds_t>(t % 1'000'000);
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(out), &h, f.data());
    ++written;
    t += 50;
    if (s.next == s.frames.size()) s = gen.make(totals);
  }
  pcap_dump_close(out);
  pcap_close(dead);
  std::printf(
      "packets %llu sessions_started %llu failure_replies_planned %llu successes_planned %llu tls_sessions "
      "%llu\n",
      static_cast<unsigned long long>(written), static_cast<unsigned long long>(totals.sessions),
      static_cast<unsigned long long>(totals.failures), static_cast<unsigned long long>(totals.successes),
      static_cast<unsigned long long>(totals.tls_sessions));
  return 0;
}
