// Writes capture files for the wire tests: classic pcap through libpcap's own pcap_dump (so the
// files are exactly what tcpdump writes), and pcapng by hand (libpcap cannot write it).
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace strikeout::wire::testing {

struct TimedFrame {
  std::int64_t micros = 0;  // since the epoch
  std::vector<std::uint8_t> bytes;
};

inline void write_pcap(const std::string& path, int dlt, const std::vector<TimedFrame>& frames) {
  pcap_t* dead = pcap_open_dead(dlt, 262144);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  for (const auto& f : frames) {
    struct pcap_pkthdr h {};
    h.ts.tv_sec = static_cast<time_t>(f.micros / 1'000'000);
    h.ts.tv_usec = static_cast<suseconds_t>(f.micros % 1'000'000);
    h.caplen = h.len = static_cast<bpf_u_int32>(f.bytes.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.bytes.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

inline void write_pcapng(const std::string& path, std::uint16_t linktype,
                         const std::vector<TimedFrame>& frames) {
  std::vector<std::uint8_t> out;
  auto u32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  auto u16 = [&](std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
  };
  // Section header block.
  u32(0x0A0D0D0A);
  u32(28);
  u32(0x1A2B3C4D);
  u16(1);
  u16(0);
  u32(0xffffffff);
  u32(0xffffffff);
  u32(28);
  // Interface description block.
  u32(1);
  u32(20);
  u16(linktype);
  u16(0);
  u32(262144);
  u32(20);
  for (const auto& f : frames) {
    const auto padded = static_cast<std::uint32_t>((f.bytes.size() + 3) & ~std::size_t{3});
    const std::uint32_t len = 32 + padded;
    const auto ts = static_cast<std::uint64_t>(f.micros);
    u32(6);
    u32(len);
    u32(0);
    u32(static_cast<std::uint32_t>(ts >> 32));
    u32(static_cast<std::uint32_t>(ts));
    u32(static_cast<std::uint32_t>(f.bytes.size()));
    u32(static_cast<std::uint32_t>(f.bytes.size()));
    out.insert(out.end(), f.bytes.begin(), f.bytes.end());
    out.resize(out.size() + (padded - f.bytes.size()), 0);
    u32(len);
  }
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

}  // namespace strikeout::wire::testing
