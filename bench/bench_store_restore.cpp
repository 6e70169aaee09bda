// Bans restored at start: 1 M bans read from the state database (SQLite, WAL) and put into an empty
// kernel table in one batch, as `strikeout daemon` does after a reboot: open the store (quick_check
// of the whole file), read every row, hand the state to the engine, list its bans, open the nftables
// table and restore them. Runs in a network namespace of its own (root); the host's firewall is never
// touched. See docs/benchmarks.md, "Restoring bans at start".
//
//   bench_store_restore [BANS=1000000] [IPV6_PERCENT=10]
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/engine.hpp"
#include "core/engine_state.hpp"
#include "enforce/nft_firewall.hpp"
#include "store/sqlite_store.hpp"

using namespace strikeout;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const std::size_t v6_percent = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10;
  const std::size_t v6 = count * v6_percent / 100;
  const auto wall = std::chrono::time_point_cast<core::Duration>(std::chrono::system_clock::now());

  core::Rule rule;
  rule.name = "auth-failures";
  core::Policy policy;
  policy.rules.push_back(rule);
  policy.limits.hash_seed = 1;

  // The state a busy server would leave: 1 M bans of the address rule, ends spread over 1..24 h.
  core::EngineState state;
  state.started = true;
  state.now = wall;
  state.bans.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    core::SavedBan b;
    if (i < count - v6) {
      b.info.target = core::Prefix::host(core::Address::from_v4(0x0a000000U + static_cast<std::uint32_t>(i)));
    } else {
      core::Address::Bytes bytes{0x20, 0x01, 0x0d, 0xb8};
      for (int k = 0; k < 8; ++k)
        bytes[15 - static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(i >> (8 * k));
      b.info.target = core::Prefix::host(core::Address::from_bytes(bytes));
    }
    b.info.rule = rule.name;
    b.info.since = wall - std::chrono::minutes(5);
    b.info.until = wall + std::chrono::seconds(3600 + static_cast<long>(i % 82800));
    b.info.count = 3;
    b.info.offence = 1;
    b.info.reason = "3 auth-failure within 20m";
    b.by_rule = true;
    b.length = std::chrono::minutes(20);
    b.max_until = wall + std::chrono::hours(24 * 7);
    state.bans.push_back(std::move(b));
  }
  char tmpl[] = "/tmp/bench_store_restore-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 1;
  const std::string path = std::string(tmpl) + "/state.db";
  double write_s = 0;
  {
    auto opened = store::SqliteStore::open({path});
    if (auto* e = std::get_if<store::StoreError>(&opened)) {
      std::fprintf(stderr, "bench_store_restore: %s\n", e->message.c_str());
      return 1;
    }
    auto& st = *std::get<0>(opened);
    core::StateUpdate u;
    u.engine.present = std::move(state);
    u.replace_all = true;
    const auto t0 = Clock::now();
    if (auto error = st.commit_now(std::move(u))) {
      std::fprintf(stderr, "bench_store_restore: %s\n", error->c_str());
      return 1;
    }
    write_s = since(t0);
  }
  const auto db_bytes = std::filesystem::file_size(path);

  if (::unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "bench_store_restore: unshare(CLONE_NEWNET): %s (run as root)\n",
                 std::strerror(errno));
    return 1;
  }

  // What the daemon does at start, timed step by step.
  const auto t0 = Clock::now();
  auto opened = store::SqliteStore::open({path});
  if (auto* e = std::get_if<store::StoreError>(&opened)) {
    std::fprintf(stderr, "bench_store_restore: %s\n", e->message.c_str());
    return 1;
  }
  auto store = std::move(std::get<0>(opened));
  const double open_s = since(t0);
  auto t1 = Clock::now();
  core::LoadedState loaded;
  if (auto error = store->load_state(wall, loaded)) {
    std::fprintf(stderr, "bench_store_restore: %s\n", error->c_str());
    return 1;
  }
  const double read_s = since(t1);
  t1 = Clock::now();
  core::Engine engine(policy);
  engine.import_state(loaded.engine, wall);
  std::vector<core::FirewallBan> bans;
  for (const auto& b : engine.active_bans()) bans.push_back(core::FirewallBan{b.target, b.until, false});
  const double engine_s = since(t1);
  t1 = Clock::now();
  enforce::NftOptions options;
  options.table = "strikeout_bench";
  options.allow_host_addresses = false;
  std::string error;
  auto fw = enforce::NftFirewall::open(options, wall, error);
  if (!fw) {
    std::fprintf(stderr, "bench_store_restore: %s\n", error.c_str());
    return 1;
  }
  const auto result = fw->restore(bans, wall);
  const double kernel_s = since(t1);
  const double total = since(t0);
  if (!result.ok) {
    std::fprintf(stderr, "bench_store_restore: restore failed: %s\n", result.error.c_str());
    return 1;
  }
  std::vector<core::FirewallBan> back;
  if (!fw->list(wall, back, error) || back.size() != count) {
    std::fprintf(stderr, "bench_store_restore: the kernel holds %zu bans, not %zu (%s)\n", back.size(), count,
                 error.c_str());
    return 1;
  }
  std::filesystem::remove_all(tmpl);

  std::printf(
      "| bans | database | open + quick_check | read rows | engine import | kernel table + restore | "
      "total | target |\n|---|---|---|---|---|---|---|---|\n");
  std::printf("| %zu (%zu IPv6) | %.0f MB | %.3f s | %.3f s | %.3f s | %.3f s | **%.3f s** | 3 s |\n", count,
              v6, static_cast<double>(db_bytes) / 1e6, open_s, read_s, engine_s, kernel_s, total);
  std::printf(
      "\nPeers (documented; `nft -f` of the same 1 M elements is measured by bench_nft_bulk on this "
      "machine):\n");
  std::printf(
      "  fail2ban: 20,000 bans in 30-40 min at start -> %.0f bans/s; strikeout: %.0f bans/s (%.0fx)\n",
      20000.0 / (35 * 60), static_cast<double>(count) / total,
      (static_cast<double>(count) / total) / (20000.0 / (35 * 60)));
  std::printf("  nft -f of 1 M elements: about 5.4-6 s (kernel only, no database read)\n");
  std::printf("(writing the database once, not part of a start: %.3f s)\n", write_s);
  return 0;
}
