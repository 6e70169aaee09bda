#include "enforce/nft_firewall.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>

#include "enforce/element_batch.hpp"
#include "enforce/host_addresses.hpp"
#include "enforce/nflog.hpp"
#include "enforce/sessions.hpp"

namespace strikeout::enforce {
namespace {

constexpr std::size_t kRequestBuffer = 8192;  // one query message

std::string errno_text(int err) {
  std::string s = std::strerror(err);
  switch (err) {
    case ENOENT:
      s += " (the table or a set is missing: flushed by another tool?)";
      break;
    case ENFILE:
      s += " (a set is full: raise set_size)";
      break;
    case EPERM:
      s += " (needs CAP_NET_ADMIN)";
      break;
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
      s += " (the kernel has no nf_tables support)";
      break;
    default:
      break;
  }
  return s;
}

struct MnlSocket {
  mnl_socket* sock = nullptr;
  ~MnlSocket() {
    if (sock != nullptr) mnl_socket_close(sock);
  }
  int fd() const { return sock == nullptr ? -1 : mnl_socket_get_fd(sock); }
  std::uint32_t portid() const { return mnl_socket_get_portid(sock); }
  bool open(int bus, int flags, std::string& error, const char* what) {
    sock = mnl_socket_open2(bus, flags | SOCK_CLOEXEC);
    if (sock == nullptr || mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
      error = std::string("opening the ") + what + " netlink socket: " + errno_text(errno);
      return false;
    }
    return true;
  }
};

SetElement element_of(const core::Prefix& p, std::uint64_t timeout_ms) {
  SetElement e;
  e.timeout_ms = timeout_ms;
  if (p.is_v4()) {
    const std::uint32_t be = htonl(p.address().v4());
    std::memcpy(e.key.data(), &be, 4);
    e.key_length = 4;
  } else {
    e.key = p.address().bytes();
    e.key_length = 16;
  }
  return e;
}

// Kernel timeouts are milliseconds; a ban never ends earlier than asked.
std::uint64_t timeout_ms(core::Time until, core::Time now) {
  const auto us = (until - now).count();
  return static_cast<std::uint64_t>((us + 999) / 1000);
}

}  // namespace

struct NftFirewall::Impl {
  NftOptions options;
  std::vector<core::Prefix> operator_allowlist;
  std::vector<core::Prefix> allowlist;  // effective: operator's + host's
  std::vector<core::FirewallBan> adopted;
  // True while the table's ban sets are known to hold nothing: open() found no ban in them and no
  // change has added one since. restore() then takes the fast path of plain adds (the start after a
  // reboot) instead of the add/delete/add that refreshing existing elements needs on kernel 6.1.
  bool sets_empty = false;
  std::set<BanSet> sets;
  nft_ctx* nft = nullptr;
  MnlSocket batch;    // element batches and queries
  MnlSocket monitor;  // nf_tables notifications
  MnlSocket nflog;    // rate-limit hits
  bool monitor_joined = false;
  int epfd = -1;
  std::uint32_t seq = 1;
  std::vector<char> rx = std::vector<char>(1 << 20);

  ~Impl() {
    if (nft != nullptr) nft_ctx_free(nft);
    if (epfd >= 0) ::close(epfd);
  }

  // Runs an nft script as one transaction. Returns an empty string or what nft said.
  std::string run_nft(const std::string& script) {
    if (nft_run_cmd_from_buffer(nft, script.c_str()) == 0) {
      (void)nft_ctx_get_error_buffer(nft);  // clear
      return {};
    }
    std::string err = nft_ctx_get_error_buffer(nft);
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return err.empty() ? "nftables refused the change" : err;
  }

  void refresh_allowlist() {
    allowlist = operator_allowlist;
    if (options.allow_host_addresses) {
      std::string ignored;  // the loopback prefixes are there even when getifaddrs fails
      auto own = host_addresses(ignored);
      allowlist.insert(allowlist.end(), own.begin(), own.end());
    }
    allowlist = disjoint(std::move(allowlist));
  }

  bool is_allowlisted(const core::Prefix& p) const {
    return std::any_of(allowlist.begin(), allowlist.end(),
                       [&](const core::Prefix& a) { return a.contains(p) || p.contains(a); });
  }

  // Sends one batch and reads every acknowledgement. Returns "" or the first refusal, named.
  std::string send_batch(ElementBatch& b) {
    const auto& bytes = b.finish();
    const int fd = batch.fd();
    // The whole batch goes in one sendmsg (one transaction): the send buffer must hold it.
    const int want = static_cast<int>(std::min<std::size_t>(bytes.size() + 65536, 1U << 30));
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want) < 0)
      (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
    ssize_t sent;
    do sent = ::send(fd, bytes.data(), bytes.size(), 0);
    while (sent < 0 && errno == EINTR);
    if (sent < 0)
      return "sending the batch (" + std::to_string(bytes.size()) + " bytes): " + errno_text(errno);
    // nf_tables processes the batch inside send(): every acknowledgement is queued by now.
    std::uint32_t acked = 0;
    std::string first_error;
    while (acked < b.messages()) {
      ssize_t n;
      do n = ::recv(fd, rx.data(), rx.size(), MSG_DONTWAIT);
      while (n < 0 && errno == EINTR);
      if (n < 0) {
        if (errno == EAGAIN && !first_error.empty()) break;  // an aborted batch may ack fewer
        if (errno == EAGAIN)
          return "nftables acknowledged " + std::to_string(acked) + " of " + std::to_string(b.messages()) +
                 " messages of the batch";
        return "reading the batch's acknowledgements: " + errno_text(errno);
      }
      auto len = static_cast<int>(n);
      for (auto* h = static_cast<const nlmsghdr*>(static_cast<const void*>(rx.data())); mnl_nlmsg_ok(h, len);
           h = mnl_nlmsg_next(h, &len)) {
        if (h->nlmsg_type != NLMSG_ERROR) continue;
        ++acked;
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(h));
        if (e->error != 0 && first_error.empty()) {
          first_error = "nftables refused " + b.describe(h->nlmsg_seq) + ": " + errno_text(-e->error);
        }
      }
    }
    return first_error;
  }

  std::uint32_t next_seq(std::uint32_t n = 1) {
    const auto s = seq;
    seq += n;
    return s;
  }

  // Sends one request and hands every reply message to `on_msg` until the kernel says it is done.
  // Returns 0 or the errno the kernel (or the socket) reported.
  int query(nlmsghdr* nlh, const std::function<int(const nlmsghdr*)>& on_msg) {
    const std::uint32_t s = nlh->nlmsg_seq;
    if (mnl_socket_sendto(batch.sock, nlh, nlh->nlmsg_len) < 0) return errno;
    struct Ctx {
      const std::function<int(const nlmsghdr*)>* f;
    } ctx{&on_msg};
    for (;;) {
      const ssize_t n = mnl_socket_recvfrom(batch.sock, rx.data(), rx.size());
      if (n < 0) return errno;
      const int r = mnl_cb_run(
          rx.data(), static_cast<std::size_t>(n), s, batch.portid(),
          [](const nlmsghdr* h, void* data) { return (*static_cast<Ctx*>(data)->f)(h); }, &ctx);
      if (r < 0) return errno;
      // Dumps end with NLMSG_DONE, requests with their acknowledgement: both stop here.
      if (r == MNL_CB_STOP) return 0;
    }
  }

  // Names of the sets in our table; `exists` false when the table is not there.
  int kernel_sets(std::vector<std::string>& names, bool& exists) {
    exists = true;
    char buf[kRequestBuffer];
    nftnl_set* filter = nftnl_set_alloc();
    nftnl_set_set_str(filter, NFTNL_SET_TABLE, options.table.c_str());
    nlmsghdr* nlh =
        nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, next_seq());
    nftnl_set_nlmsg_build_payload(nlh, filter);
    nftnl_set_free(filter);
    const int err = query(nlh, [&](const nlmsghdr* h) {
      nftnl_set* s = nftnl_set_alloc();
      if (nftnl_set_nlmsg_parse(h, s) == 0 && nftnl_set_is_set(s, NFTNL_SET_NAME))
        names.emplace_back(nftnl_set_get_str(s, NFTNL_SET_NAME));
      nftnl_set_free(s);
      return MNL_CB_OK;
    });
    if (err == ENOENT) {
      exists = false;
      return 0;
    }
    return err;
  }

  int table_exists(bool& exists) {
    char buf[kRequestBuffer];
    nftnl_table* t = nftnl_table_alloc();
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, options.table.c_str());
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, next_seq());
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
    const int err = query(nlh, [](const nlmsghdr*) { return MNL_CB_OK; });
    exists = err == 0;
    return err == ENOENT ? 0 : err;
  }

  int chain_exists(const char* name, bool& exists) {
    char buf[kRequestBuffer];
    nftnl_chain* c = nftnl_chain_alloc();
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, options.table.c_str());
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_ACK, next_seq());
    nftnl_chain_nlmsg_build_payload(nlh, c);
    nftnl_chain_free(c);
    const int err = query(nlh, [](const nlmsghdr*) { return MNL_CB_OK; });
    exists = err == 0;
    return err == ENOENT ? 0 : err;
  }

  // Reads one set's elements into `out`. The kernel reports each element's time left when it writes
  // the message holding it, and a dump of a large set takes seconds: each message's elements are
  // dated `now` plus the time since `started` (when the listing began), not `now` alone. Dating them
  // all at `now` made every ban read more than a second into the dump look a second or more shorter
  // in the kernel than in the store, and a restart "put back" 30,433 of 325,913 bans for nothing.
  int read_set(const BanSet& set, core::Time now, std::chrono::steady_clock::time_point started,
               std::vector<core::FirewallBan>& out) {
    char buf[kRequestBuffer];
    nftnl_set* s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, options.table.c_str());
    nftnl_set_set_str(s, NFTNL_SET_NAME, set.name().c_str());
    nlmsghdr* nlh =
        nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, next_seq());
    nftnl_set_elems_nlmsg_build_payload(nlh, s);
    nftnl_set_free(s);
    return query(nlh, [&](const nlmsghdr* h) {
      const core::Time at =
          now + std::chrono::duration_cast<core::Duration>(std::chrono::steady_clock::now() - started);
      nftnl_set* got = nftnl_set_alloc();
      if (nftnl_set_elems_nlmsg_parse(h, got) == 0) {
        nftnl_set_elems_iter* it = nftnl_set_elems_iter_create(got);
        for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it); e != nullptr;
             e = nftnl_set_elems_iter_next(it)) {
          std::uint32_t len = 0;
          const auto* key = static_cast<const std::uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len));
          if (key == nullptr || len != (set.v4 ? 4U : 16U)) continue;
          core::Address addr;
          if (set.v4) {
            std::uint32_t be;
            std::memcpy(&be, key, 4);
            addr = core::Address::from_v4(ntohl(be));
          } else {
            core::Address::Bytes b{};
            std::memcpy(b.data(), key, 16);
            addr = core::Address::from_bytes(b);
          }
          std::uint64_t left_ms = 0;
          if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
            left_ms = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
          out.push_back(core::FirewallBan{core::Prefix{addr, set.length},
                                          at + std::chrono::milliseconds(left_ms), set.tarpit});
        }
        nftnl_set_elems_iter_destroy(it);
      }
      nftnl_set_free(got);
      return MNL_CB_OK;
    });
  }

  // Creates the table or takes it over; learns the prefix sets a previous run created.
  std::string setup() {
    std::vector<std::string> names;
    bool exists = false;
    if (int err = kernel_sets(names, exists); err != 0)
      return "reading table inet " + options.table + ": " + errno_text(err);
    const auto wanted = initial_sets(options);
    sets.insert(wanted.begin(), wanted.end());
    for (const auto& n : names)
      if (auto s = BanSet::parse(n)) sets.insert(*s);
    if (auto err = run_nft(setup_script(options, sets, allowlist)); !err.empty())
      return "setting up table inet " + options.table + ": " + err;
    return {};
  }

  void join_monitor(bool join) {
    if (join == monitor_joined) return;
    const int group = NFNLGRP_NFTABLES;
    (void)::setsockopt(monitor.fd(), SOL_NETLINK, join ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP,
                       &group, sizeof group);
    monitor_joined = join;
  }

  std::string bind_nflog(std::uint16_t group) {
    char buf[kRequestBuffer];
    const auto config = [&](const std::function<void(nlmsghdr*)>& add_attrs) -> int {
      nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
      nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
      nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
      nlh->nlmsg_seq = next_seq();
      auto* g = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
      g->nfgen_family = AF_UNSPEC;
      g->version = NFNETLINK_V0;
      g->res_id = htons(group);
      add_attrs(nlh);
      if (mnl_socket_sendto(nflog.sock, nlh, nlh->nlmsg_len) < 0) return errno;
      const ssize_t n = mnl_socket_recvfrom(nflog.sock, rx.data(), rx.size());
      if (n < 0) return errno;
      if (mnl_cb_run(rx.data(), static_cast<std::size_t>(n), nlh->nlmsg_seq, nflog.portid(), nullptr,
                     nullptr) < 0)
        return errno;
      return 0;
    };
    int err = config([](nlmsghdr* nlh) {
      nfulnl_msg_config_cmd cmd{NFULNL_CFG_CMD_BIND};
      mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof cmd, &cmd);
    });
    if (err == 0)
      err = config([](nlmsghdr* nlh) {
        // Enough of the packet for the IP and TCP headers' addresses and ports.
        nfulnl_msg_config_mode mode{};
        mode.copy_range = htonl(80);
        mode.copy_mode = NFULNL_COPY_PACKET;
        mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof mode, &mode);
        // Deliver each hit at once instead of batching up to 100 of them for up to a second.
        mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
      });
    if (err != 0)
      return "binding NFLOG group " + std::to_string(group) + " (rate-limit hits): " + errno_text(err) +
             (err == EBUSY ? " (another program, e.g. ulogd, holds this group: choose another nflog_group)"
                           : "");
    return {};
  }

  std::vector<SetElement> elements(const std::vector<core::Prefix>& ps, std::uint64_t ms) {
    std::vector<SetElement> out;
    out.reserve(ps.size());
    for (const auto& p : ps) out.push_back(element_of(p, ms));
    return out;
  }
};

NftFirewall::NftFirewall(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NftFirewall::~NftFirewall() = default;

const std::vector<core::FirewallBan>& NftFirewall::adopted() const {
  return impl_->adopted;
}
const std::vector<core::Prefix>& NftFirewall::allowlist() const {
  return impl_->allowlist;
}
const NftOptions& NftFirewall::options() const {
  return impl_->options;
}
int NftFirewall::event_fd() const {
  return impl_->epfd;
}

std::unique_ptr<NftFirewall> NftFirewall::open(NftOptions options, core::Time now, std::string& error) {
  if (auto problems = validate(options); !problems.empty()) {
    error.clear();
    for (const auto& p : problems) error += (error.empty() ? "" : "; ") + p;
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->operator_allowlist = impl->options.allowlist;
  impl->refresh_allowlist();
  impl->nft = nft_ctx_new(NFT_CTX_DEFAULT);
  if (impl->nft == nullptr) {
    error = "libnftables: cannot create a context";
    return nullptr;
  }
  nft_ctx_buffer_output(impl->nft);
  nft_ctx_buffer_error(impl->nft);
  if (!impl->batch.open(NETLINK_NETFILTER, 0, error, "nftables")) return nullptr;
  {
    // Acknowledgements carry only the header of the refused message, and an explanation if any.
    const int one = 1;
    (void)::setsockopt(impl->batch.fd(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    (void)::setsockopt(impl->batch.fd(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    const int rcv = 8 << 20;
    if (::setsockopt(impl->batch.fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
      (void)::setsockopt(impl->batch.fd(), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  }
  // Subscribe before setting up, so a flush right after set-up is not missed.
  if (!impl->monitor.open(NETLINK_NETFILTER, SOCK_NONBLOCK, error, "nftables monitor")) return nullptr;
  {
    const int rcv = 4 << 20;
    if (::setsockopt(impl->monitor.fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
      (void)::setsockopt(impl->monitor.fd(), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  }
  impl->join_monitor(true);
  if (auto err = impl->setup(); !err.empty()) {
    error = err;
    return nullptr;
  }
  impl->epfd = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = impl->monitor.fd();
  if (impl->epfd < 0 || ::epoll_ctl(impl->epfd, EPOLL_CTL_ADD, impl->monitor.fd(), &ev) < 0) {
    error = std::string("epoll: ") + std::strerror(errno);
    return nullptr;
  }
  if (impl->options.rate_limit.enabled && impl->options.nflog_group) {
    if (!impl->nflog.open(NETLINK_NETFILTER, 0, error, "NFLOG")) return nullptr;
    if (auto err = impl->bind_nflog(*impl->options.nflog_group); !err.empty()) {
      error = err;
      return nullptr;
    }
    // Nonblocking from here on: handle_events drains it.
    const int fl = ::fcntl(impl->nflog.fd(), F_GETFL);
    (void)::fcntl(impl->nflog.fd(), F_SETFL, fl | O_NONBLOCK);
    ev.data.fd = impl->nflog.fd();
    if (::epoll_ctl(impl->epfd, EPOLL_CTL_ADD, impl->nflog.fd(), &ev) < 0) {
      error = std::string("epoll: ") + std::strerror(errno);
      return nullptr;
    }
  }
  auto fw = std::unique_ptr<NftFirewall>(new NftFirewall(std::move(impl)));
  std::string list_error;
  if (!fw->list(now, fw->impl_->adopted, list_error)) {
    error = "reading the bans already in table inet " + fw->impl_->options.table + ": " + list_error;
    return nullptr;
  }
  fw->impl_->sets_empty = fw->impl_->adopted.empty();
  return fw;
}

core::FirewallResult NftFirewall::apply(std::span<const core::FirewallBan> add_or_extend,
                                        std::span<const core::Prefix> remove, core::Time now) {
  Impl& m = *impl_;
  if (!add_or_extend.empty()) m.sets_empty = false;
  core::FirewallResult result;
  // Per set: elements whose timeout is (re)set, and elements to take out.
  std::map<BanSet, std::vector<core::Prefix>> put, take;
  std::map<BanSet, std::vector<std::uint64_t>> put_ms;
  std::vector<BanSet> new_sets;
  std::vector<core::Prefix> newly_banned;
  const auto need = [&](const BanSet& s) {
    if (!m.sets.contains(s) && std::find(new_sets.begin(), new_sets.end(), s) == new_sets.end())
      new_sets.push_back(s);
  };
  // One operation per element and batch: the same element twice would be deleted twice (ENOENT,
  // the whole batch refused). The last word on a target counts; lifting it beats banning it.
  std::set<core::Prefix> lifted(remove.begin(), remove.end());
  std::map<core::Prefix, core::FirewallBan> latest;
  for (const auto& b : add_or_extend)
    if (!lifted.contains(b.target)) latest[b.target] = b;
  for (const auto& [target, b] : latest) {
    if (b.until <= now) continue;
    const unsigned min_len = b.target.is_v4() ? m.options.min_prefix4 : m.options.min_prefix6;
    if (b.target.length() < min_len) {
      result.error += (result.error.empty() ? "" : "; ") + std::string("refused ban of ") +
                      b.target.to_string() + ": broader than /" + std::to_string(min_len);
      continue;
    }
    if (m.is_allowlisted(b.target)) {
      result.allowlisted.push_back(b.target);
      continue;
    }
    const BanSet set = BanSet::for_prefix(b.target, b.tarpit);
    const BanSet other = BanSet::for_prefix(b.target, !b.tarpit);
    need(set);
    put[set].push_back(b.target);
    put_ms[set].push_back(timeout_ms(b.until, now));
    if (m.sets.contains(other)) take[other].push_back(b.target);  // a ban turned tarpit, or back
    newly_banned.push_back(b.target);
  }
  for (const auto& p : lifted)
    for (bool tarpit : {false, true})
      if (const BanSet s = BanSet::for_prefix(p, tarpit); m.sets.contains(s)) take[s].push_back(p);

  if (!new_sets.empty()) {
    if (auto err = m.run_nft(add_sets_script(m.options, new_sets)); !err.empty())
      return core::FirewallResult::failure("adding ban sets to table inet " + m.options.table + ": " + err);
    m.sets.insert(new_sets.begin(), new_sets.end());
  }
  if (put.empty() && take.empty()) return result;

  // Kernel 6.1 does not refresh the timeout of an element that is added again, and refuses (ENOENT,
  // aborting the whole batch) to delete an element it does not hold, expired ones included. So every
  // element is first added (a no-op if present), then deleted (always present now), then added with
  // its new timeout: three steps in one transaction, correct whatever the kernel held.
  constexpr std::uint64_t kTransient = 1000;  // ms; never outlives the transaction
  ElementBatch batch(m.options.table, m.next_seq());
  std::size_t total = 0;
  for (auto& [set, ps] : take) {
    batch.add(set.name(), m.elements(ps, kTransient));
    total += ps.size();
  }
  for (auto& [set, ps] : put) batch.add(set.name(), m.elements(ps, kTransient));
  for (auto& [set, ps] : take) batch.remove(set.name(), m.elements(ps, 0));
  for (auto& [set, ps] : put) batch.remove(set.name(), m.elements(ps, 0));
  for (auto& [set, ps] : put) {
    std::vector<SetElement> es;
    es.reserve(ps.size());
    const auto& ms = put_ms[set];
    for (std::size_t i = 0; i < ps.size(); ++i) es.push_back(element_of(ps[i], ms[i]));
    batch.add(set.name(), es);
    total += ps.size();
  }
  m.seq += batch.messages() + 2;
  const bool quiet = total > m.options.quiet_batch_threshold;
  if (quiet) m.join_monitor(false);
  const std::string err = m.send_batch(batch);
  if (quiet) m.join_monitor(true);
  if (!err.empty()) return core::FirewallResult::failure(err);
  if (quiet) {
    // Notifications were paused: make sure nobody removed the table meanwhile.
    if (auto intact = table_intact(); !intact)
      return core::FirewallResult::failure("table damaged during a change: " + intact.error());
  }
  if (m.options.end_sessions && !newly_banned.empty()) {
    const auto ended = end_sessions(newly_banned, m.options.ports);
    result.sessions_ended = ended.ended;
    if (!ended.error.empty())
      result.error +=
          (result.error.empty() ? "" : "; ") + std::string("ending open sessions: ") + ended.error;
  }
  return result;
}

core::FirewallResult NftFirewall::restore(std::span<const core::FirewallBan> all, core::Time now) {
  Impl& m = *impl_;
  bool existed = false;
  if (int e = m.table_exists(existed); e != 0)
    return core::FirewallResult::failure("reading table inet " + m.options.table + ": " + errno_text(e));
  m.refresh_allowlist();
  // Re-creates whatever is missing (table, sets, chains, rules) and keeps the elements that are there.
  if (auto err = m.setup(); !err.empty()) return core::FirewallResult::failure(err);
  if (existed && !m.sets_empty) {
    // The table held bans: make their timeouts the caller's, the same way apply() does.
    // These bans are not new: their sessions were ended when they were made.
    const bool end = m.options.end_sessions;
    m.options.end_sessions = false;
    auto r = apply(all, {}, now);
    m.options.end_sessions = end;
    return r;
  }
  // A fresh table: plain adds, the fast path of a start after a reboot or a flush.
  core::FirewallResult result;
  std::map<BanSet, std::vector<SetElement>> put;
  std::vector<BanSet> new_sets;
  std::size_t total = 0;
  for (const auto& b : all) {
    if (b.until <= now) continue;
    const unsigned min_len = b.target.is_v4() ? m.options.min_prefix4 : m.options.min_prefix6;
    if (b.target.length() < min_len) continue;
    if (m.is_allowlisted(b.target)) {
      result.allowlisted.push_back(b.target);
      continue;
    }
    const BanSet set = BanSet::for_prefix(b.target, b.tarpit);
    if (!m.sets.contains(set) && std::find(new_sets.begin(), new_sets.end(), set) == new_sets.end())
      new_sets.push_back(set);
    put[set].push_back(element_of(b.target, timeout_ms(b.until, now)));
    ++total;
  }
  if (!new_sets.empty()) {
    if (auto err = m.run_nft(add_sets_script(m.options, new_sets)); !err.empty())
      return core::FirewallResult::failure("adding ban sets to table inet " + m.options.table + ": " + err);
    m.sets.insert(new_sets.begin(), new_sets.end());
  }
  if (put.empty()) return result;
  m.sets_empty = false;
  ElementBatch batch(m.options.table, m.next_seq());
  for (auto& [set, es] : put) batch.add(set.name(), es);
  m.seq += batch.messages() + 2;
  const bool quiet = total > m.options.quiet_batch_threshold;
  if (quiet) m.join_monitor(false);
  const std::string err = m.send_batch(batch);
  if (quiet) m.join_monitor(true);
  if (!err.empty()) return core::FirewallResult::failure(err);
  if (quiet) {
    if (auto intact = table_intact(); !intact)
      return core::FirewallResult::failure("table damaged during restore: " + intact.error());
  }
  return result;
}

core::FirewallResult NftFirewall::set_allowlist(std::span<const core::Prefix> allowlist) {
  Impl& m = *impl_;
  m.operator_allowlist.assign(allowlist.begin(), allowlist.end());
  m.refresh_allowlist();
  if (auto err = m.run_nft(allowlist_script(m.options, m.allowlist)); !err.empty())
    return core::FirewallResult::failure("replacing the allowlist in table inet " + m.options.table + ": " +
                                         err);
  return {};
}

bool NftFirewall::list(core::Time now, std::vector<core::FirewallBan>& out, std::string& error) {
  Impl& m = *impl_;
  const auto started = std::chrono::steady_clock::now();
  out.clear();
  std::vector<std::string> names;
  bool exists = false;
  if (int e = m.kernel_sets(names, exists); e != 0) {
    error = "listing the sets of table inet " + m.options.table + ": " + errno_text(e);
    return false;
  }
  for (const auto& n : names) {
    const auto set = BanSet::parse(n);
    if (!set) continue;
    if (int e = m.read_set(*set, now, started, out); e != 0) {
      error = "reading set " + n + ": " + errno_text(e);
      return false;
    }
  }
  return true;
}

core::Status NftFirewall::remove_table() {
  Impl& m = *impl_;
  std::vector<std::string> names;
  bool exists = false;
  if (int e = m.kernel_sets(names, exists); e == 0 && !exists) return {};
  if (auto err = m.run_nft("delete table inet " + m.options.table + "\n"); !err.empty())
    return core::Failure{"deleting table inet " + m.options.table + ": " + err};
  return {};
}

core::Status NftFirewall::table_intact() {
  Impl& m = *impl_;
  std::vector<std::string> names;
  bool exists = false;
  if (int e = m.kernel_sets(names, exists); e != 0)
    return core::Failure{"reading table inet " + m.options.table + ": " + errno_text(e)};
  if (!exists) return core::Failure{"table inet " + m.options.table + " is gone"};
  for (const auto& s : m.sets)
    if (std::find(names.begin(), names.end(), s.name()) == names.end())
      return core::Failure{"set " + s.name() + " is gone"};
  for (const char* c : {"input", "prerouting", "banned"}) {
    bool ok = false;
    if (int e = m.chain_exists(c, ok); e != 0 || !ok)
      return core::Failure{std::string("chain ") + c +
                           (e != 0 ? ": " + errno_text(e) : std::string(" is gone"))};
  }
  return {};
}

bool NftFirewall::rate_limited_total(std::uint64_t& packets, std::string& error) {
  Impl& m = *impl_;
  char buf[kRequestBuffer];
  nftnl_obj* o = nftnl_obj_alloc();
  nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, m.options.table.c_str());
  nftnl_obj_set_str(o, NFTNL_OBJ_NAME, "rate_limited");
  nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFPROTO_INET, NLM_F_ACK, m.next_seq());
  nftnl_obj_nlmsg_build_payload(nlh, o);
  nftnl_obj_free(o);
  bool found = false;
  const int err = m.query(nlh, [&](const nlmsghdr* h) {
    nftnl_obj* got = nftnl_obj_alloc();
    if (nftnl_obj_nlmsg_parse(h, got) == 0 && nftnl_obj_is_set(got, NFTNL_OBJ_CTR_PKTS)) {
      packets = nftnl_obj_get_u64(got, NFTNL_OBJ_CTR_PKTS);
      found = true;
    }
    nftnl_obj_free(got);
    return MNL_CB_OK;
  });
  if (err != 0 || !found) {
    error =
        "reading counter rate_limited: " + (err != 0 ? errno_text(err) : std::string("no counter in reply"));
    return false;
  }
  return true;
}

core::FirewallEvents NftFirewall::handle_events(core::Time now) {
  Impl& m = *impl_;
  core::FirewallEvents ev;
  bool check = false;
  // 1. nf_tables notifications: anything removing our table, a chain or a set of it.
  for (;;) {
    const ssize_t n = ::recv(m.monitor.fd(), m.rx.data(), m.rx.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // notifications were lost: look at the table itself
        check = true;
        continue;
      }
      break;  // EAGAIN: drained
    }
    auto len = static_cast<int>(n);
    for (auto* h = static_cast<const nlmsghdr*>(static_cast<const void*>(m.rx.data())); mnl_nlmsg_ok(h, len);
         h = mnl_nlmsg_next(h, &len)) {
      if ((h->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES) continue;
      const auto type = h->nlmsg_type & 0xffU;
      if (type != NFT_MSG_DELTABLE && type != NFT_MSG_DELCHAIN && type != NFT_MSG_DELSET) continue;
      if (h->nlmsg_len < mnl_nlmsg_size(sizeof(nfgenmsg))) continue;
      const auto* g = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(h));
      if (g->nfgen_family != NFPROTO_INET) continue;
      // NFTA_TABLE_NAME, NFTA_CHAIN_TABLE and NFTA_SET_TABLE are all attribute 1: the table's name.
      const auto* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(h));
      for (auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(h, sizeof(nfgenmsg)));
           mnl_attr_ok(a, static_cast<int>(end - static_cast<const char*>(static_cast<const void*>(a))));
           a = mnl_attr_next(a)) {
        if (mnl_attr_get_type(a) == 1 && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 &&
            m.options.table == mnl_attr_get_str(a))
          check = true;
      }
    }
  }
  if (check) {
    if (!table_intact()) ev.table_gone = true;
  }
  // 2. NFLOG: the rate limit's hits.
  if (m.nflog.sock != nullptr) {
    bool any = false;
    for (;;) {
      const ssize_t n = ::recv(m.nflog.fd(), m.rx.data(), m.rx.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {
          ev.error = "NFLOG: rate-limit hits were lost (receive buffer full)";
          continue;
        }
        break;
      }
      auto len = static_cast<int>(n);
      for (auto* h = static_cast<const nlmsghdr*>(static_cast<const void*>(m.rx.data()));
           mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
        const auto pkt = parse_nflog_packet(
            std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(h), h->nlmsg_len));
        if (!pkt) continue;
        ev.rate_limited.push_back(core::RateLimitHit{pkt->source, pkt->destination_port, now});
        any = true;
      }
    }
    if (any) {
      std::string err;
      if (!rate_limited_total(ev.rate_limited_total, err)) ev.error = err;
    }
  }
  return ev;
}

}  // namespace strikeout::enforce
