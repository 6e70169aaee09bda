#include "enforce/ruleset.hpp"

#include <algorithm>
#include <charconv>
#include <string>

namespace strikeout::enforce {
namespace {

// The network mask of `length` bits in the family's text form: "255.255.255.0", "ffff:ffff::".
std::string mask_text(bool v4, unsigned length) {
  if (v4) {
    const std::uint32_t mask = length == 0 ? 0U : ~std::uint32_t{0} << (32U - length);
    return core::Address::from_v4(mask).to_string();
  }
  core::Address::Bytes b{};
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bits = length > i * 8 ? std::min(8U, length - i * 8) : 0U;
    b[i] = static_cast<std::uint8_t>(bits == 0 ? 0U : (0xffU << (8U - bits)) & 0xffU);
  }
  return core::Address::from_bytes(b).to_string();
}

// "ip saddr & 255.255.255.0" / "ip6 saddr": the expression a set of this family and length looks up.
std::string source_expression(const BanSet& s) {
  std::string e = s.v4 ? "ip saddr" : "ip6 saddr";
  if (!s.is_host()) e += " & " + mask_text(s.v4, s.length);
  return e;
}

std::string verdict_text(const NftOptions& o) {
  return o.verdict == BanVerdict::Reject ? "reject with tcp reset" : "drop";
}

std::string ports_text(const NftOptions& o) {
  std::string s = "{ ";
  for (std::size_t i = 0; i < o.ports.size(); ++i) {
    if (i != 0) s += ", ";
    s += std::to_string(o.ports[i]);
  }
  return s + " }";
}

std::string table_ref(const NftOptions& o) {
  return "inet " + o.table;
}

void add_set(std::string& out, const NftOptions& o, const BanSet& s) {
  out += "add set " + table_ref(o) + " " + s.name() + " { type " + (s.v4 ? "ipv4_addr" : "ipv6_addr") +
         "; flags timeout; size " + std::to_string(o.set_size) + "; }\n";
}

// The rules that look a set up: a ban or tarpit stops every packet to the protected ports (the
// chain `banned` is only reached for those); a tarpit set also redirects new connections to the decoy.
void add_set_rules(std::string& out, const NftOptions& o, const BanSet& s) {
  out += "add rule " + table_ref(o) + " banned " + source_expression(s) + " @" + s.name() + " " +
         verdict_text(o) + "\n";
  if (s.tarpit)
    out += "add rule " + table_ref(o) + " prerouting meta l4proto tcp " + source_expression(s) + " @" +
           s.name() + " redirect to :" + std::to_string(o.decoy_port) + "\n";
}

std::string rate_unit(std::chrono::seconds per) {
  switch (per.count()) {
    case 1:
      return "second";
    case 60:
      return "minute";
    case 3600:
      return "hour";
    default:
      return "day";
  }
}

void add_allow_elements(std::string& out, const NftOptions& o, std::span<const core::Prefix> allow) {
  std::string v4, v6;
  for (const auto& p : disjoint({allow.begin(), allow.end()})) {
    std::string& list = p.is_v4() ? v4 : v6;
    if (!list.empty()) list += ", ";
    list += p.to_string();
  }
  out += "flush set " + table_ref(o) + " allow4\n";
  out += "flush set " + table_ref(o) + " allow6\n";
  if (!v4.empty()) out += "add element " + table_ref(o) + " allow4 { " + v4 + " }\n";
  if (!v6.empty()) out += "add element " + table_ref(o) + " allow6 { " + v6 + " }\n";
}

}  // namespace

BanSet BanSet::for_prefix(const core::Prefix& p, bool tarpit) {
  return BanSet{tarpit, p.is_v4(), p.length()};
}

std::string BanSet::name() const {
  std::string n = tarpit ? "tarpit" : "ban";
  n += v4 ? "4" : "6";
  if (!is_host()) {
    n += '_';
    n += std::to_string(length);
  }
  return n;
}

std::optional<BanSet> BanSet::parse(std::string_view name) {
  BanSet s;
  if (name.starts_with("tarpit")) {
    s.tarpit = true;
    name.remove_prefix(6);
  } else if (name.starts_with("ban")) {
    name.remove_prefix(3);
  } else {
    return std::nullopt;
  }
  if (name.starts_with("4"))
    s.v4 = true;
  else if (name.starts_with("6"))
    s.v4 = false;
  else
    return std::nullopt;
  name.remove_prefix(1);
  const unsigned full = s.v4 ? 32U : 128U;
  s.length = full;
  if (name.empty()) return s;
  if (name.front() != '_' || name.size() < 2 || name.size() > 4) return std::nullopt;
  name.remove_prefix(1);
  if (name.front() == '0') return std::nullopt;
  unsigned len = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), len);
  if (ec != std::errc{} || end != name.data() + name.size() || len == 0 || len >= full) return std::nullopt;
  s.length = len;
  return s;
}

std::set<BanSet> initial_sets(const NftOptions& options) {
  std::set<BanSet> sets;
  for (bool tarpit : {false, true}) {
    sets.insert(BanSet{tarpit, true, 32});
    sets.insert(BanSet{tarpit, false, 128});
  }
  for (unsigned l : options.prefix_lengths4)
    if (l > 0 && l < 32) sets.insert(BanSet{false, true, l});
  for (unsigned l : options.prefix_lengths6)
    if (l > 0 && l < 128) sets.insert(BanSet{false, false, l});
  return sets;
}

std::vector<core::Prefix> disjoint(std::vector<core::Prefix> prefixes) {
  // Sorted by address then length, a containing prefix comes before what it contains.
  std::sort(prefixes.begin(), prefixes.end());
  std::vector<core::Prefix> out;
  for (const auto& p : prefixes)
    if (out.empty() || !out.back().contains(p)) out.push_back(p);
  return out;
}

std::string setup_script(const NftOptions& o, const std::set<BanSet>& sets,
                         std::span<const core::Prefix> allowlist) {
  const std::string t = table_ref(o);
  std::string s;
  s += "add table " + t + "\n";
  s += "add set " + t + " allow4 { type ipv4_addr; flags interval; }\n";
  s += "add set " + t + " allow6 { type ipv6_addr; flags interval; }\n";
  for (const auto& set : sets) add_set(s, o, set);
  const auto& rl = o.rate_limit;
  if (rl.enabled) {
    const auto keep = std::to_string(2 * rl.per.count()) + "s";
    for (const char* fam : {"4", "6"})
      s += "add set " + t + " rate" + fam + " { type " + (fam[0] == '4' ? "ipv4_addr" : "ipv6_addr") +
           "; flags dynamic,timeout; size " + std::to_string(rl.set_size) + "; timeout " + keep + "; }\n";
    s += "add counter " + t + " rate_limited\n";
  }
  s += "add chain " + t + " input { type filter hook input priority filter - 10; policy accept; }\n";
  s += "add chain " + t + " prerouting { type nat hook prerouting priority dstnat - 10; policy accept; }\n";
  s += "add chain " + t + " banned\n";
  for (const char* c : {"input", "prerouting", "banned"}) s += "flush chain " + t + " " + c + "\n";

  // Only packets to the protected ports concern us; the allowlist only prevents *our* verdicts
  // (`return`, never `accept`), so it can never override a drop in the operator's own chains.
  for (const char* c : {"input", "prerouting"}) {
    s += "add rule " + t + " " + c + " tcp dport != " + ports_text(o) + " return\n";
    s += "add rule " + t + " " + c + " ip saddr @allow4 return\n";
    s += "add rule " + t + " " + c + " ip6 saddr @allow6 return\n";
  }
  s += "add rule " + t + " input jump banned\n";
  if (rl.enabled) {
    const std::string limit = "limit rate over " + std::to_string(rl.connections) + "/" + rate_unit(rl.per) +
                              " burst " + std::to_string(rl.burst) + " packets";
    std::string tail = " counter name rate_limited";
    if (o.nflog_group)
      tail += " log prefix \"strikeout rate-limit \" group " + std::to_string(*o.nflog_group);
    tail += ' ';
    tail += verdict_text(o);
    tail += '\n';
    s += "add rule " + t + " input ct state new update @rate4 { ip saddr " + limit + " }" + tail;
    // IPv6 sources are limited per /64: one host usually holds a whole /64.
    s += "add rule " + t + " input ct state new update @rate6 { ip6 saddr & ffff:ffff:ffff:ffff:: " + limit +
         " }" + tail;
  }
  for (const auto& set : sets) add_set_rules(s, o, set);
  add_allow_elements(s, o, allowlist);
  return s;
}

std::string add_sets_script(const NftOptions& o, std::span<const BanSet> sets) {
  std::string s;
  for (const auto& set : sets) {
    add_set(s, o, set);
    add_set_rules(s, o, set);
  }
  return s;
}

std::string allowlist_script(const NftOptions& o, std::span<const core::Prefix> allowlist) {
  std::string s;
  add_allow_elements(s, o, allowlist);
  return s;
}

std::vector<std::string> validate(const NftOptions& o) {
  std::vector<std::string> errors;
  const auto bad = [&](std::string msg) { errors.push_back("enforce: " + std::move(msg)); };
  if (o.table.empty() || o.table.size() > 64 || !std::all_of(o.table.begin(), o.table.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      }))
    bad("table \"" + o.table + "\" must be 1-64 characters of a-z, 0-9 and _");
  if (o.ports.empty()) bad("ports: at least one protected port is needed");
  for (auto p : o.ports)
    if (p == 0) bad("ports: 0 is not a port");
  if (o.set_size == 0) bad("set_size must be at least 1");
  for (auto l : o.prefix_lengths4)
    if (l < o.min_prefix4 || l >= 32)
      bad("prefix_lengths4: /" + std::to_string(l) + " is outside /" + std::to_string(o.min_prefix4) +
          "../31");
  for (auto l : o.prefix_lengths6)
    if (l < o.min_prefix6 || l >= 128)
      bad("prefix_lengths6: /" + std::to_string(l) + " is outside /" + std::to_string(o.min_prefix6) +
          "../127");
  if (o.min_prefix4 > 32) bad("min_prefix4 must be 0..32");
  if (o.min_prefix6 > 128) bad("min_prefix6 must be 0..128");
  const auto& rl = o.rate_limit;
  if (rl.enabled) {
    if (rl.connections == 0) bad("rate_limit.connections must be at least 1");
    const auto per = rl.per.count();
    if (per != 1 && per != 60 && per != 3600 && per != 86400)
      bad("rate_limit.per must be 1s, 1m, 1h or 1d (nftables' rate units)");
    if (rl.set_size == 0) bad("rate_limit.set_size must be at least 1");
  }
  if (o.decoy_port == 0) bad("decoy_port: 0 is not a port");
  return errors;
}

}  // namespace strikeout::enforce
