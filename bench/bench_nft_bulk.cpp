// Bulk load of bans into the kernel: strikeout's enforcer against `nft -f`, same elements, same run.
//
//   bench_nft_bulk [BANS] [IPV6_PERCENT]      (default 1000000 bans, 10 % IPv6; needs root)
//
// Each side gets a fresh network namespace with an empty ruleset. strikeout's figure is a whole
// NftFirewall::restore() into an empty table (table, sets, chains and rules, then every ban with its
// timeout, in one netlink batch); nft's is `nft -f` of a file holding the same table skeleton and the
// same elements with the same timeouts (file writing not timed). Then both tables are read back and
// counted, so a fast but incomplete load cannot win.
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "enforce/nft_firewall.hpp"

using namespace strikeout;
using Clock = std::chrono::steady_clock;

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

bool fresh_namespace() {
  if (::unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "bench_nft_bulk: unshare(CLONE_NEWNET): %s (run as root)\n", std::strerror(errno));
    return false;
  }
  return std::system("ip link set lo up") == 0;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const std::size_t v6_percent = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10;
  const std::size_t v6 = count * v6_percent / 100;
  const core::Time now = core::from_seconds(1'800'000'000);

  // The bans: IPv4 addresses from 10.0.0.0 up, IPv6 from 2001:db8:: up; timeouts spread over 1..24 h.
  std::vector<core::FirewallBan> bans;
  bans.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto until = now + std::chrono::seconds(3600 + static_cast<long>(i % 82800));
    if (i < count - v6) {
      bans.push_back({core::Prefix::host(core::Address::from_v4(0x0a000000U + static_cast<std::uint32_t>(i))),
                      until, false});
    } else {
      core::Address::Bytes b{0x20, 0x01, 0x0d, 0xb8};
      for (int k = 0; k < 8; ++k)
        b[15 - static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(i >> (8 * k));
      bans.push_back({core::Prefix::host(core::Address::from_bytes(b)), until, false});
    }
  }

  // strikeout.
  if (!fresh_namespace()) return 1;
  enforce::NftOptions options;
  options.allow_host_addresses = false;
  std::string error;
  auto fw = enforce::NftFirewall::open(options, now, error);
  if (!fw) {
    std::fprintf(stderr, "bench_nft_bulk: %s\n", error.c_str());
    return 1;
  }
  run("nft flush ruleset");  // restore() into an empty table: it re-creates the table itself
  auto t0 = Clock::now();
  const auto result = fw->restore(bans, now);
  const double ours = seconds_since(t0);
  if (!result.ok) {
    std::fprintf(stderr, "bench_nft_bulk: restore failed: %s\n", result.error.c_str());
    return 1;
  }
  std::vector<core::FirewallBan> back;
  if (!fw->list(now, back, error)) {
    std::fprintf(stderr, "bench_nft_bulk: list: %s\n", error.c_str());
    return 1;
  }
  fw.reset();

  // nft -f, same skeleton and elements.
  if (!fresh_namespace()) return 1;
  const std::string path = "/tmp/bench_nft_bulk." + std::to_string(::getpid()) + ".nft";
  {
    std::ofstream f(path);
    f << "add table inet strikeout\n"
         "add set inet strikeout ban4 { type ipv4_addr; flags timeout; size 1048576; }\n"
         "add set inet strikeout ban6 { type ipv6_addr; flags timeout; size 1048576; }\n"
         "add chain inet strikeout input { type filter hook input priority filter - 10; policy accept; }\n"
         "add rule inet strikeout input ip saddr @ban4 reject with tcp reset\n"
         "add rule inet strikeout input ip6 saddr @ban6 reject with tcp reset\n";
    for (const char* set : {"ban4", "ban6"}) {
      const bool want_v4 = set[3] == '4';
      f << "add element inet strikeout " << set << " {";
      bool first = true;
      for (const auto& b : bans) {
        if (b.target.is_v4() != want_v4) continue;
        f << (first ? " " : ", ") << b.target.to_string() << " timeout "
          << std::chrono::duration_cast<std::chrono::seconds>(b.until - now).count() << "s";
        first = false;
      }
      f << " }\n";
    }
  }
  t0 = Clock::now();
  const int rc = std::system(("nft -f " + path).c_str());
  const double nft = seconds_since(t0);
  std::remove(path.c_str());
  if (rc != 0) {
    std::fprintf(stderr, "bench_nft_bulk: nft -f failed (%d)\n", rc);
    return 1;
  }
  const auto count_of = [](const std::string& set) {
    return std::strtoull(run("nft -j list set inet strikeout " + set +
                             " | python3 -c 'import json,sys; d=json.load(sys.stdin)[\"nftables\"];"
                             " print(sum(len(x[\"set\"].get(\"elem\", [])) for x in d if \"set\" in x))'")
                             .c_str(),
                         nullptr, 10);
  };
  const auto nft_loaded = count_of("ban4") + count_of("ban6");

  std::printf("bans into the kernel in one go: %zu (%zu IPv4, %zu IPv6), timeouts 1..24 h\n", count,
              count - v6, v6);
  std::printf("  strikeout NftFirewall::restore   %7.3f s   (%zu read back)\n", ours, back.size());
  std::printf("  nft -f (nftables %s)     %7.3f s   (%llu read back)\n",
              run("nft --version | awk '{print $2}' | tr -d '\\n'").c_str(), nft,
              static_cast<unsigned long long>(nft_loaded));
  std::printf("  ratio nft / strikeout            %7.2f x   (target: strikeout <= 3 s)\n", nft / ours);
  return back.size() == count && nft_loaded == count ? 0 : 2;
}
