#include "wire/pcap_source.hpp"

#include <net/if.h>
#include <pcap/pcap.h>

#include <optional>

namespace strikeout::wire {

namespace {

std::optional<LinkType> link_from_dlt(int dlt) {
  switch (dlt) {
    case DLT_EN10MB:
      return LinkType::Ethernet;
    case DLT_LINUX_SLL:
      return LinkType::LinuxSll;
    case DLT_LINUX_SLL2:
      return LinkType::LinuxSll2;
    case DLT_RAW:
      return LinkType::RawIp;
#ifdef DLT_IPV4
    case DLT_IPV4:
      return LinkType::RawIpv4;
#endif
#ifdef DLT_IPV6
    case DLT_IPV6:
      return LinkType::RawIpv6;
#endif
    case DLT_NULL:
    case DLT_LOOP:
      return LinkType::Null;
    default:
      return std::nullopt;
  }
}

core::Time time_of(const struct pcap_pkthdr& h, bool nanoseconds) {
  const std::int64_t frac =
      nanoseconds ? static_cast<std::int64_t>(h.ts.tv_usec) / 1000 : static_cast<std::int64_t>(h.ts.tv_usec);
  return core::from_micros(static_cast<std::int64_t>(h.ts.tv_sec) * 1'000'000 + frac);
}

class PcapSource final : public PacketSource {
 public:
  PcapSource(std::string name, pcap_t* handle, LinkType link, bool live)
      : name_(std::move(name)), handle_(handle), link_(link), live_(live) {
    fd_ = live_ ? pcap_get_selectable_fd(handle_) : -1;
    nanoseconds_ = pcap_get_tstamp_precision(handle_) == PCAP_TSTAMP_PRECISION_NANO;
  }
  ~PcapSource() override { pcap_close(handle_); }
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  const std::string& name() const override { return name_; }
  int fd() const override { return fd_; }
  const CaptureStats& stats() const override { return stats_; }

  PacketReadResult read(PacketSink& sink, std::size_t max_packets) override {
    PacketReadResult result;
    if (finished_) {
      result.finished = true;
      return result;
    }
    while (result.delivered < max_packets) {
      struct pcap_pkthdr* header = nullptr;
      const std::uint8_t* data = nullptr;
      const int rc = pcap_next_ex(handle_, &header, &data);
      if (rc == 1) {
        CapturedPacket p;
        p.time = time_of(*header, nanoseconds_);
        p.link = link_;
        p.bytes = std::span<const std::uint8_t>(data, header->caplen);
        p.wire_length = header->len;
        ++stats_.packets;
        stats_.bytes += header->caplen;
        if (header->caplen < header->len) ++stats_.truncated;
        ++result.delivered;
        sink.on_packet(p);
        continue;
      }
      if (rc == 0) return result;    // live, non-blocking: nothing more now
      if (rc == PCAP_ERROR_BREAK) {  // end of file
        finished_ = true;
        result.finished = true;
        return result;
      }
      ++stats_.errors;
      result.error = name_ + ": " + pcap_geterr(handle_);
      if (!live_) {
        // A capture file cut short (a crashed tcpdump) ends here: what was read stands.
        finished_ = true;
        result.finished = true;
      }
      return result;
    }
    result.more = true;
    if (live_) {
      struct pcap_stat ps {};
      if (pcap_stats(handle_, &ps) == 0) stats_.dropped = ps.ps_drop;
    }
    return result;
  }

 private:
  std::string name_;
  pcap_t* handle_;
  LinkType link_;
  bool live_;
  int fd_ = -1;
  bool nanoseconds_ = false;
  bool finished_ = false;
  CaptureStats stats_;
};

}  // namespace

std::string capture_filter(const std::vector<std::uint16_t>& ports) {
  std::string either;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (i > 0) either += " or ";
    either += "port " + std::to_string(ports[i]);
  }
  if (either.empty()) either = "port 0";
  // Payload length: IPv4 total length minus both headers; IPv6 payload length minus the TCP header
  // (libpcap's ip6 tcp offsets assume no extension headers: such rare segments are left out).
  return "tcp and (" + either +
         ") and (tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0"
         " or (ip and ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2) != 0)"
         " or (ip6 and ip6[4:2] - ((tcp[12]&0xf0)>>2) != 0))";
}

std::unique_ptr<PacketSource> open_live_capture(const LiveCaptureOptions& options, std::string& error) {
  const std::string& ifname = options.interface;
  // Direction is only in Linux cooked headers, and libpcap offers cooked mode (SLL2, with the
  // interface index) on the `any` device only: a named interface is captured on `any` with an
  // `ifindex` filter, resolved now (an interface re-created later gets a new index: restart).
  std::string filter = capture_filter(options.ports);
  if (ifname != "any") {
    const unsigned index = if_nametoindex(ifname.c_str());
    if (index == 0) {
      error = "wire: cannot capture on interface \"" + ifname + "\": no such interface";
      return nullptr;
    }
    filter = "ifindex " + std::to_string(index) + " and " + filter;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* h = pcap_create("any", errbuf);
  if (h == nullptr) {
    error = "wire: cannot capture on interface \"" + ifname + "\": " + errbuf;
    return nullptr;
  }
  auto fail = [&](const std::string& what) -> std::unique_ptr<PacketSource> {
    error = "wire: cannot capture on interface \"" + ifname + "\": " + what;
    pcap_close(h);
    return nullptr;
  };
  pcap_set_snaplen(h, options.snap_length);
  pcap_set_promisc(h, 0);
  pcap_set_immediate_mode(h, 1);
  pcap_set_buffer_size(h, options.buffer_bytes);
  const int rc = pcap_activate(h);
  if (rc < 0) {
    const std::string reason =
        rc == PCAP_ERROR_PERM_DENIED ? "permission denied (needs CAP_NET_RAW)" : std::string(pcap_geterr(h));
    return fail(reason);
  }
  // Cooked mode v2 carries the packet's direction (sent by this host or received) and the interface
  // in every frame: the tracker's first test against forged replies.
  if (pcap_datalink(h) != DLT_LINUX_SLL2 && pcap_set_datalink(h, DLT_LINUX_SLL2) != 0) {
    return fail(
        "libpcap offers no Linux cooked capture v2 on `any` (libpcap >= 1.10 is needed), so "
        "sent and received packets cannot be told apart");
  }
  struct bpf_program program {};
  if (pcap_compile(h, &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    return fail("cannot compile the capture filter: " + std::string(pcap_geterr(h)));
  }
  const int set = pcap_setfilter(h, &program);
  pcap_freecode(&program);
  if (set != 0) return fail("cannot install the capture filter: " + std::string(pcap_geterr(h)));
  if (pcap_setnonblock(h, 1, errbuf) != 0) return fail(std::string("cannot make it non-blocking: ") + errbuf);
  return std::make_unique<PcapSource>(ifname, h, LinkType::LinuxSll2, true);
}

std::unique_ptr<PacketSource> open_capture_file(const std::string& path, std::string& error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* h = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  if (h == nullptr) {
    error = path + ": not a readable pcap or pcapng capture: " + errbuf;
    return nullptr;
  }
  const int dlt = pcap_datalink(h);
  const auto link = link_from_dlt(dlt);
  if (!link) {
    error = path + ": link type " + std::to_string(dlt) + " (" +
            (pcap_datalink_val_to_name(dlt) != nullptr ? pcap_datalink_val_to_name(dlt) : "unknown") +
            ") is not one the wire sensor decodes (Ethernet, Linux cooked, raw IP, BSD loopback)";
    pcap_close(h);
    return nullptr;
  }
  return std::make_unique<PcapSource>(path, h, *link, false);
}

}  // namespace strikeout::wire
