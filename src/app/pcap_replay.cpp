#include "app/pcap_replay.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "wire/pcap_source.hpp"
#include "wire/sensor.hpp"

namespace strikeout::app {

// An event with its own copies of the text its views point to.
struct PcapEventStream::Owned {
  core::Event event;
  std::string user;
  std::string sensor;
  std::uint64_t order = 0;  // packet order within the file
};

struct PcapEventStream::Input final : wire::WireSink {
  std::string path;
  std::unique_ptr<wire::PacketSource> source;
  std::unique_ptr<wire::WireSensor> sensor;
  std::deque<Owned> queue;
  std::vector<std::string>* notices = nullptr;
  std::string sensor_name;
  std::uint64_t order = 0;
  bool finished = false;

  void on_event(const core::Event& e) override {
    Owned o;
    o.event = e;
    o.user.assign(e.user);
    o.sensor = sensor_name;
    o.order = order++;
    queue.push_back(std::move(o));
  }
  void on_notice(const wire::WireNotice& n) override {
    if (std::find(notices->begin(), notices->end(), n.message) == notices->end())
      notices->push_back(n.message);
  }
};

PcapEventStream::~PcapEventStream() = default;

std::unique_ptr<PcapEventStream> PcapEventStream::open(const PcapReplayOptions& options, std::string& error) {
  auto patterns = wire::ReplyPatterns::create(options.failure_replies, error);
  if (!patterns) return nullptr;
  std::unique_ptr<PcapEventStream> stream(new PcapEventStream());
  for (const auto& path : options.files) {
    auto in = std::make_unique<Input>();
    in->path = path;
    in->source = wire::open_capture_file(path, error);
    if (!in->source) return nullptr;
    const auto slash = path.rfind('/');
    in->sensor_name = "pcap:" + (slash == std::string::npos ? path : path.substr(slash + 1));
    wire::TrackerSettings settings;
    settings.ports = options.ports;
    settings.implicit_tls_ports = options.implicit_tls_ports;
    settings.failure_replies = *patterns;
    settings.server_addresses = options.server_addresses;
    settings.require_outgoing = false;  // see the header: a capture file is trusted for direction
    settings.hash_seed = 0x77697265;    // fixed: the same file gives the same output
    settings.sensor = in->sensor_name;
    in->notices = &stream->notices_;
    in->sensor = std::make_unique<wire::WireSensor>(std::move(settings), *in);
    stream->inputs_.push_back(std::move(in));
  }
  return stream;
}

// Reads packets of `in` until it has an event queued or its file ends.
bool PcapEventStream::fill(Input& in) {
  while (in.queue.empty() && !in.finished) {
    const auto r = in.source->read(*in.sensor, 64);
    if (!r.error.empty()) errors_.push_back(r.error);
    if (r.finished || (!r.error.empty() && !r.more)) in.finished = true;
  }
  return !in.queue.empty();
}

bool PcapEventStream::next(core::Event& event) {
  Input* best = nullptr;
  for (auto& in : inputs_) {
    if (!fill(*in)) continue;
    if (best == nullptr || in->queue.front().event.time < best->queue.front().event.time) best = in.get();
  }
  if (best == nullptr) return false;
  current_ = std::make_unique<Owned>(std::move(best->queue.front()));
  best->queue.pop_front();
  event = current_->event;
  event.user = current_->user;
  event.sensor = current_->sensor;
  // event.service points to static text (wire::service_for_port).
  return true;
}

PcapReplayStats PcapEventStream::stats() const {
  PcapReplayStats s;
  s.files = inputs_.size();
  for (const auto& in : inputs_) {
    const auto& d = in->sensor->decode_stats();
    const auto& w = in->sensor->stats();
    s.packets += d.frames;
    s.tcp_segments += d.tcp;
    s.undecodable += d.truncated + d.malformed;
    s.failures += w.failures;
    s.successes += w.successes;
    s.unverified_replies += w.unverified_replies;
    s.starttls_sessions += w.starttls_sessions;
    s.implicit_tls_connections += w.implicit_tls_connections;
  }
  return s;
}

std::string PcapEventStream::summary_line() const {
  const auto s = stats();
  std::string line = fmt::format("events from pcap: {} file{}, {} packets, {} auth-failure, {} auth-success",
                                 s.files, s.files == 1 ? "" : "s", s.packets, s.failures, s.successes);
  if (s.unverified_replies > 0) {
    line += fmt::format("; {} replies on unverified connections not counted", s.unverified_replies);
  }
  if (s.starttls_sessions + s.implicit_tls_connections > 0) {
    line += fmt::format("; not visible: {} STARTTLS sessions, {} implicit-TLS connections",
                        s.starttls_sessions, s.implicit_tls_connections);
  }
  return line;
}

std::string PcapEventStream::summary_json() const {
  const auto s = stats();
  return fmt::format(
      "{{\"files\":{},\"packets\":{},\"tcp_segments\":{},\"undecodable\":{},\"auth_failures\":{},"
      "\"auth_successes\":{},\"unverified_replies\":{},\"starttls_sessions\":{},\"implicit_tls_connections\":"
      "{}}}",
      s.files, s.packets, s.tcp_segments, s.undecodable, s.failures, s.successes, s.unverified_replies,
      s.starttls_sessions, s.implicit_tls_connections);
}

}  // namespace strikeout::app
