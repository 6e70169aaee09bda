#include "daemon/start_up.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/capability.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace strikeout::daemon {

std::uint64_t random_seed() {
  std::uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
    seed = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) ^
           static_cast<std::uint64_t>(getpid());
  }
  return seed;
}

void setup_logging() {
  auto logger = spdlog::stderr_logger_st("strikeout");
  // Under systemd the journal stamps each line itself; in a terminal we add the time.
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    logger->set_pattern("<%l> %v");
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  }
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

enforce::NftOptions firewall_options(const config::Config& cfg) {
  enforce::NftOptions o;
  o.table = cfg.enforce.table;
  o.ports = cfg.ports;
  o.verdict = cfg.enforce.reject == config::RejectWith::Drop ? enforce::BanVerdict::Drop
                                                             : enforce::BanVerdict::Reject;
  o.set_size = cfg.enforce.set_size;
  o.decoy_port = cfg.decoy.port;
  o.allowlist = cfg.policy.allowlist;
  o.allow_host_addresses = cfg.allow_host_addresses;
  // A set per prefix length the rules can ban, so prefix bans are hash lookups (docs/enforcement.md).
  o.prefix_lengths4.clear();
  o.prefix_lengths6.clear();
  for (const auto& rule : cfg.policy.rules) {
    const bool by_prefix = rule.key == core::KeyKind::Prefix ||
                           (rule.key == core::KeyKind::Username && rule.distinct == core::KeyKind::Prefix);
    if (!by_prefix) continue;
    if (std::find(o.prefix_lengths4.begin(), o.prefix_lengths4.end(), rule.prefix4) ==
        o.prefix_lengths4.end()) {
      o.prefix_lengths4.push_back(rule.prefix4);
    }
    if (std::find(o.prefix_lengths6.begin(), o.prefix_lengths6.end(), rule.prefix6) ==
        o.prefix_lengths6.end()) {
      o.prefix_lengths6.push_back(rule.prefix6);
    }
  }
  if (cfg.enforce.rate_limit) {
    o.rate_limit.enabled = true;
    o.rate_limit.connections = cfg.enforce.rate_limit->connections;
    o.rate_limit.per = std::chrono::duration_cast<std::chrono::seconds>(cfg.enforce.rate_limit->per);
  } else {
    o.rate_limit.enabled = false;
  }
  return o;
}

// Open files the daemon wants: every log source, the control and metrics clients, the kernel sockets
// and the store, with room to spare. Raised before the capabilities are dropped (raising the hard
// limit needs CAP_SYS_RESOURCE); the unit's LimitNOFILE sets it for systemd.
constexpr rlim_t kWantedOpenFiles = 65536;

// Raises RLIMIT_NOFILE, then keeps only CAP_NET_ADMIN (nftables, ending sessions), CAP_DAC_READ_SEARCH
// (log files are reopened after every rotation, and /var/log/mail.log is syslog:adm 0640: root without
// it could not read the new file), and CAP_NET_RAW when a packet sensor needs it, in the permitted, effective
// and bounding sets. Everything the daemon opens with other privileges (the control socket, the state
// directory, the log files) is open by now. Returns what could not be done; the daemon goes on (a non-root
// test run has nothing to drop).
std::vector<std::string> drop_privileges(bool keep_net_raw) {
  std::vector<std::string> problems;
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    rlimit wanted = nofile;
    if (wanted.rlim_max != RLIM_INFINITY && wanted.rlim_max < kWantedOpenFiles)
      wanted.rlim_max = kWantedOpenFiles;
    wanted.rlim_cur = wanted.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
      wanted.rlim_max = nofile.rlim_max;  // without CAP_SYS_RESOURCE: the soft limit up to the hard one
      wanted.rlim_cur = nofile.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &wanted) != 0) problems.push_back("cannot raise the open files limit");
    }
  }
  if (!CAP_IS_SUPPORTED(CAP_NET_ADMIN)) return problems;
  std::vector<cap_value_t> keep{CAP_NET_ADMIN, CAP_DAC_READ_SEARCH};
  if (keep_net_raw) keep.push_back(CAP_NET_RAW);
  cap_t current = cap_get_proc();
  cap_flag_value_t can_setpcap = CAP_CLEAR;
  if (current != nullptr) cap_get_flag(current, CAP_SETPCAP, CAP_EFFECTIVE, &can_setpcap);
  if (current != nullptr) cap_free(current);
  if (can_setpcap == CAP_SET) {
    for (cap_value_t c = 0; c <= CAP_LAST_CAP; ++c) {
      if (std::find(keep.begin(), keep.end(), c) != keep.end() || !CAP_IS_SUPPORTED(c)) continue;
      if (cap_drop_bound(c) != 0) {
        problems.push_back(fmt::format("cannot drop capability {} from the bounding set", c));
        break;
      }
    }
  }
  cap_t caps = cap_init();
  if (caps == nullptr) {
    problems.push_back("cannot allocate a capability set");
    return problems;
  }
  cap_set_flag(caps, CAP_PERMITTED, static_cast<int>(keep.size()), keep.data(), CAP_SET);
  cap_set_flag(caps, CAP_EFFECTIVE, static_cast<int>(keep.size()), keep.data(), CAP_SET);
  if (cap_set_proc(caps) != 0) {
    // Not root and without those capabilities (a test run): there is nothing to give up.
    problems.push_back(
        fmt::format("cannot reduce the capabilities to CAP_NET_ADMIN: {}", std::strerror(errno)));
  }
  cap_free(caps);
  return problems;
}

}  // namespace strikeout::daemon
