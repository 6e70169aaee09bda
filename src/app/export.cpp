#include "app/export.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/time.hpp"
#include "wire/smtp.hpp"

namespace strikeout::app {

namespace {

using core::Duration;

std::int64_t seconds_of(Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

std::string join_ports(const std::vector<std::uint16_t>& ports, const char* sep) {
  std::string s;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (i > 0) s += sep;
    s += std::to_string(ports[i]);
  }
  return s;
}

bool plain_word(const std::string& s) {
  if (s.empty() || s.size() > 24) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// The rules the kernel can do alone, and the others with the reason they are left out.
struct RuleChoice {
  std::vector<const core::Rule*> exported;
  std::vector<std::string> skipped;  // "name: why"
};

RuleChoice choose_rules(const config::Config& config) {
  RuleChoice c;
  for (const auto& r : config.policy.rules) {
    if (r.on != core::EventKind::AuthFailure) {
      c.skipped.push_back(r.name + ": counts " + std::string(core::to_string(r.on)) +
                          " events (the connection-rate limit below is the kernel's connect rule)");
    } else if (r.key != core::KeyKind::Address) {
      c.skipped.push_back(r.name + (r.key == core::KeyKind::Username
                                        ? ": a campaign rule (by username): the kernel cannot read usernames"
                                        : ": keyed by network: the export counts single addresses only"));
    } else if (r.action != core::RuleAction::Ban) {
      c.skipped.push_back(r.name + ": its action is not a ban");
    } else if (r.hits < 1) {
      c.skipped.push_back(r.name + ": no threshold");
    } else {
      c.exported.push_back(&r);
    }
  }
  return c;
}

// Ports whose replies can be read: implicit TLS (465) cannot.
std::vector<std::uint16_t> readable_ports(const std::vector<std::uint16_t>& ports) {
  std::vector<std::uint16_t> out;
  for (auto p : ports) {
    if (p != 465) out.push_back(p);
  }
  return out;
}

void header(std::string& o, const ExportOptions& opt, const RuleChoice& rules, const char* comment) {
  const bool nft = opt.format == ExportFormat::Nft;
  auto line = [&](const std::string& text) { o += fmt::format("{} {}\n", comment, text); };
  line(fmt::format("strikeout export {}: generated from {}", nft ? "nft" : "iptables", opt.config.origin));
  line("The kernel alone, in the recipe's manner: the server's outbound replies are matched against the");
  line("failure text, failures are counted per client address in kernel tables, and a client that reaches");
  line("a rule's threshold is rejected on the protected ports.");
  line("");
  line("LIMITS (what the strikeout daemon does and this ruleset cannot):");
  line(
      "- No TLS: replies on port 465 and after STARTTLS are encrypted; only plaintext sessions are counted.");
  line("- Only the start of a segment: a failure reply that is not the first reply in its TCP segment");
  line("  (pipelining) or that is split across segments is missed; one segment counts at most once.");
  if (nft) {
    line("- Windows are a chain of strikes, each within the window of the previous one (the daemon counts");
    line("  N within T exactly); bans do not escalate for repeat offenders and are not extended by retries.");
    line("- Open sessions are not ended: their packets are rejected, but the server keeps the socket until");
    line("  its own timeout (the daemon destroys it, as `ss -K` does). Sets hold at most the size given.");
  } else {
    line(
        "- The `recent` table holds 100 addresses by default (xt_recent ip_list_tot) and silently evicts "
        "the");
    line("  oldest, strikes and all; it remembers 20 packets per address (ip_pkt_list_tot), so no rule can");
    line("  count more than 20. Raise them with the module options ip_list_tot / ip_pkt_list_tot.");
    line("- IPv4 only (iptables-restore); write an ip6tables file for IPv6 by hand, or use the nft export.");
    line("- No established-session cut: only new connections are rejected (the recipe's shape), so a client");
    line("  that keeps one connection open keeps guessing on it. Bans do not escalate.");
    line("- The string match looks at the first 120 bytes of a packet (--to 120), headers included.");
  }
  line("- Only addresses: prefix and campaign (username) rules, and the decoy, need the daemon.");
  line("- The connection-rate limit is a token bucket per source, not an exact count within the period.");
  if (!rules.skipped.empty()) {
    line("");
    line("Rules of the configuration NOT exported:");
    for (const auto& s : rules.skipped) line("  " + s);
  }
  line("");
}

// "535 5.7.8 x" as nft raw payload matches on the inner header (the TCP payload): 16-byte pieces.
std::string nft_payload_match(const std::string& text) {
  std::string m;
  for (std::size_t at = 0; at < text.size(); at += 16) {
    const std::size_t n = std::min<std::size_t>(16, text.size() - at);
    std::string hex;
    for (std::size_t i = 0; i < n; ++i)
      hex += fmt::format("{:02x}", static_cast<unsigned char>(text[at + i]));
    m += fmt::format("@ih,{},{} 0x{} ", at * 8, n * 8, hex);
  }
  return m;
}

// The text matched for a failure reply: "535" alone becomes "535 " (a reply's last line).
std::string reply_text(const std::string& pattern) {
  return pattern.size() == 3 ? pattern + " " : pattern;
}

std::string render_nft(const ExportOptions& opt, const RuleChoice& rules) {
  const auto& cfg = opt.config;
  std::string o;
  header(o, opt, rules, "#");
  const std::string t = opt.table;
  const std::string all_ports = join_ports(cfg.ports, ", ");
  const std::string read_ports = join_ports(readable_ports(cfg.ports), ", ");
  const std::uint32_t size = std::min<std::uint32_t>(cfg.enforce.set_size, 1'048'576);
  o += fmt::format("table inet {}\ndelete table inet {}\n\ntable inet {} {{\n", t, t, t);
  std::vector<core::Prefix> allow4, allow6;
  for (const auto& p : cfg.policy.allowlist) (p.is_v4() ? allow4 : allow6).push_back(p);
  auto elements = [](const std::vector<core::Prefix>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i].to_string();
    return s;
  };
  o += "  # [allow] networks: never counted, never rejected\n";
  o += fmt::format("  set allow4 {{ type ipv4_addr; flags interval;{} }}\n",
                   allow4.empty() ? "" : " elements = { " + elements(allow4) + " };");
  o += fmt::format("  set allow6 {{ type ipv6_addr; flags interval;{} }}\n\n",
                   allow6.empty() ? "" : " elements = { " + elements(allow6) + " };");
  for (std::size_t r = 0; r < rules.exported.size(); ++r) {
    const core::Rule& rule = *rules.exported[r];
    const auto within = seconds_of(rule.within);
    o += fmt::format("  # rule \"{}\": {} auth failures within {} -> rejected for {}\n", rule.name, rule.hits,
                     core::format_duration(rule.within), core::format_duration(rule.ban));
    for (const char* fam : {"4", "6"}) {
      const char* type = fam[0] == '4' ? "ipv4_addr" : "ipv6_addr";
      for (std::uint32_t k = 1; k < rule.hits; ++k) {
        o += fmt::format(
            "  set r{}_strike{}_{} {{ type {}; flags dynamic, timeout; timeout {}s; size {}; }}\n", r, k, fam,
            type, within, size);
      }
      o += fmt::format("  set r{}_ban{} {{ type {}; flags dynamic, timeout; timeout {}s; size {}; }}\n", r,
                       fam, type, seconds_of(rule.ban), size);
    }
    o += '\n';
  }
  if (cfg.enforce.rate_limit) {
    o += fmt::format("  # the recipe's connection-rate limit: per source, a token bucket\n");
    o +=
        fmt::format("  set rate4 {{ type ipv4_addr; flags dynamic, timeout; timeout 1h; size {}; }}\n", size);
    o += fmt::format("  set rate6 {{ type ipv6_addr; flags dynamic, timeout; timeout 1h; size {}; }}\n\n",
                     size);
  }

  // Outbound replies: a failure reply leaving a protected port counts against its destination.
  o += "  chain replies {\n    type filter hook output priority filter; policy accept;\n";
  o += fmt::format("    tcp sport {{ {} }} jump failure_reply\n  }}\n\n",
                   read_ports.empty() ? "0" : read_ports);
  o += "  chain failure_reply {\n";
  for (const auto& p : opt.failure_replies) {
    o += fmt::format("    {}jump count_failure\n", nft_payload_match(reply_text(p)));
  }
  o += "  }\n\n  chain count_failure {\n";
  o += "    ip daddr @allow4 return\n    ip6 daddr @allow6 return\n";
  if (cfg.allow_host_addresses) o += "    fib daddr type local return  # the host's own addresses\n";
  for (std::size_t r = 0; r < rules.exported.size(); ++r) o += fmt::format("    jump rule{}\n", r);
  o += "  }\n\n";
  for (std::size_t r = 0; r < rules.exported.size(); ++r) {
    const core::Rule& rule = *rules.exported[r];
    const auto ban = seconds_of(rule.ban);
    o += fmt::format("  chain rule{} {{\n", r);
    for (const char* fam : {"4", "6"}) {
      const std::string addr = fam[0] == '4' ? "ip daddr" : "ip6 daddr";
      // Highest strike first, so one reply moves a client one step.
      const std::string last = rule.hits > 1
                                   ? fmt::format("{} @r{}_strike{}_{} ", addr, r, rule.hits - 1, fam)
                                   : fmt::format("meta nfproto ipv{} ", fam);
      o += fmt::format(
          "    {}update @r{}_ban{} {{ {} timeout {}s }} log prefix \"SMTP_AUTH_FAIL: Strike {}: ban rule={} "
          "\" return\n",
          last, r, fam, addr, ban, rule.hits, rule.name);
      for (std::uint32_t k = rule.hits - 1; k >= 1; --k) {
        const std::string cond = k > 1 ? fmt::format("{} @r{}_strike{}_{} ", addr, r, k - 1, fam) : "";
        o += fmt::format(
            "    meta nfproto ipv{} {}add @r{}_strike{}_{} {{ {} }} log prefix \"SMTP_AUTH_FAIL: Strike {}: "
            "rule={} \" return\n",
            fam, cond, r, k, fam, addr, k, rule.name);
      }
    }
    o += "  }\n\n";
  }

  // Inbound: every packet from a banned client to a protected port, whatever its state.
  const bool reset = cfg.enforce.reject == config::RejectWith::Reset;
  const std::string verdict = reset ? "reject with tcp reset" : "drop";
  o += "  chain protect {\n    type filter hook input priority filter - 10; policy accept;\n";
  o += fmt::format("    tcp dport != {{ {} }} return\n", all_ports);
  o += "    ip saddr @allow4 return\n    ip6 saddr @allow6 return\n";
  if (cfg.allow_host_addresses) o += "    fib saddr type local return\n";
  for (std::size_t r = 0; r < rules.exported.size(); ++r) {
    o += fmt::format("    ip saddr @r{}_ban4 counter {}\n    ip6 saddr @r{}_ban6 counter {}\n", r, verdict, r,
                     verdict);
  }
  if (cfg.enforce.rate_limit) {
    const auto& rl = *cfg.enforce.rate_limit;
    const auto per = seconds_of(rl.per);
    const char* unit = per >= 86400 ? "day" : per >= 3600 ? "hour" : per >= 60 ? "minute" : "second";
    const std::uint32_t allowed = rl.connections > 1 ? rl.connections - 1 : 1;
    o += fmt::format("    # the {}th new connection within a {} is refused (token bucket of {})\n",
                     rl.connections, unit, allowed);
    o += fmt::format(
        "    ct state new add @rate4 {{ ip saddr limit rate over {}/{} burst {} packets }} log prefix "
        "\"SMTP_CONN_RATE: \" counter {}\n",
        allowed, unit, allowed, verdict);
    o += fmt::format(
        "    ct state new add @rate6 {{ ip6 saddr limit rate over {}/{} burst {} packets }} log prefix "
        "\"SMTP_CONN_RATE: \" counter {}\n",
        allowed, unit, allowed, verdict);
  }
  o += "  }\n}\n";
  return o;
}

std::string iptables_string(const std::string& text) {
  // iptables-restore quoting: the text is a reply line (printable, checked), quotes escaped.
  std::string s = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') s += '\\';
    s += c;
  }
  return s + "\"";
}

std::string render_iptables(const ExportOptions& opt, const RuleChoice& rules) {
  const auto& cfg = opt.config;
  std::string o;
  header(o, opt, rules, "#");
  const std::string t = opt.table;
  const std::string in = t + "_in", out = t + "_out", fail = t + "_fail";
  const std::string reject =
      cfg.enforce.reject == config::RejectWith::Reset ? "REJECT --reject-with tcp-reset" : "DROP";
  o += "*filter\n";
  o += fmt::format(":{} - [0:0]\n:{} - [0:0]\n:{} - [0:0]\n", in, out, fail);
  for (std::size_t r = 0; r < rules.exported.size(); ++r) o += fmt::format(":{}_ban{} - [0:0]\n", t, r);
  o += fmt::format("-A INPUT -p tcp -m multiport --dports {} -j {}\n", join_ports(cfg.ports, ","), in);
  const auto read = readable_ports(cfg.ports);
  if (!read.empty())
    o += fmt::format("-A OUTPUT -p tcp -m multiport --sports {} -j {}\n", join_ports(read, ","), out);
  for (const auto& p : cfg.policy.allowlist) {
    if (!p.is_v4()) continue;
    o += fmt::format("-A {} -s {} -j RETURN\n-A {} -d {} -j RETURN\n", in, p.to_string(), out, p.to_string());
  }
  if (cfg.allow_host_addresses) {
    o += fmt::format("-A {} -m addrtype --src-type LOCAL -j RETURN\n", in);
    o += fmt::format("-A {} -m addrtype --dst-type LOCAL -j RETURN\n", out);
  }
  for (const auto& p : opt.failure_replies) {
    o += fmt::format("-A {} -m string --algo kmp --to 120 --string {} -j {}\n", out,
                     iptables_string(reply_text(p)), fail);
  }
  // Count: every failure reply sets the client's entry; strike notices and the threshold read it.
  o += fmt::format("-A {} -m recent --name {}_fail --rdest --set\n", fail, t);
  for (std::size_t r = 0; r < rules.exported.size(); ++r) {
    const core::Rule& rule = *rules.exported[r];
    o += fmt::format(
        "-A {} -m recent --name {}_fail --rdest --rcheck --seconds {} --hitcount {} -j {}_ban{}\n", fail, t,
        seconds_of(rule.within), rule.hits, t, r);
  }
  const std::uint32_t top = rules.exported.empty() ? 0 : rules.exported.front()->hits;
  for (std::uint32_t k = top > 0 ? top - 1 : 0; k >= 1; --k) {
    o += fmt::format(
        "-A {} -m recent --name {}_fail --rdest --rcheck --seconds {} --hitcount {} -j LOG --log-prefix "
        "\"SMTP_AUTH_FAIL: Strike {}: \"\n",
        fail, t, seconds_of(rules.exported.front()->within), k, k);
    o += fmt::format("-A {} -m recent --name {}_fail --rdest --rcheck --seconds {} --hitcount {} -j RETURN\n",
                     fail, t, seconds_of(rules.exported.front()->within), k);
  }
  for (std::size_t r = 0; r < rules.exported.size(); ++r) {
    const core::Rule& rule = *rules.exported[r];
    o += fmt::format("-A {}_ban{} -j LOG --log-prefix \"SMTP_AUTH_FAIL: Strike {}: ban rule={} \"\n", t, r,
                     rule.hits, rule.name);
    o += fmt::format("-A {}_ban{} -m recent --name {}_ban{} --rdest --set\n", t, r, t, r);
    // (-p tcp again: REJECT --reject-with tcp-reset insists on seeing it in the rule itself.)
    o += fmt::format("-A {} -p tcp -m recent --name {}_ban{} --rcheck --seconds {} -j {}\n", in, t, r,
                     seconds_of(rule.ban), reject);
  }
  if (cfg.enforce.rate_limit) {
    const auto& rl = *cfg.enforce.rate_limit;
    o += fmt::format("-A {} -m conntrack --ctstate NEW -m recent --name {}_conn --set\n", in, t);
    o += fmt::format(
        "-A {} -m conntrack --ctstate NEW -m recent --name {}_conn --rcheck --seconds {} --hitcount {} -j "
        "LOG --log-prefix \"SMTP_CONN_RATE: \"\n",
        in, t, seconds_of(rl.per), rl.connections);
    o += fmt::format(
        "-A {} -p tcp -m conntrack --ctstate NEW -m recent --name {}_conn --rcheck --seconds {} --hitcount "
        "{} -j {}\n",
        in, t, seconds_of(rl.per), rl.connections, reject);
  }
  o += "COMMIT\n";
  return o;
}

}  // namespace

std::optional<std::string> render_export(const ExportOptions& opt, std::string& error) {
  if (!plain_word(opt.table)) {
    error = "table name \"" + opt.table + "\" must be 1 to 24 letters, digits or underscores";
    return std::nullopt;
  }
  if (!wire::ReplyPatterns::create(opt.failure_replies, error)) return std::nullopt;
  for (const auto& p : opt.failure_replies) {
    for (char c : p) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
        error = "failure reply \"" + p + "\": only printable ASCII can be matched by the kernel rules";
        return std::nullopt;
      }
    }
  }
  const RuleChoice rules = choose_rules(opt.config);
  if (rules.exported.empty()) {
    error = opt.config.origin +
            ": no rule the kernel can do alone (an auth-failure rule keyed by address "
            "with action ban); nothing to export";
    return std::nullopt;
  }
  if (opt.config.ports.empty()) {
    error = opt.config.origin + ": [protect] ports is empty";
    return std::nullopt;
  }
  if (opt.format == ExportFormat::Iptables) {
    for (const auto* r : rules.exported) {
      if (r->hits > 20) {
        error = "rule \"" + r->name + "\": " + std::to_string(r->hits) +
                " hits: the recent module remembers 20 packets per address; use the nft export";
        return std::nullopt;
      }
    }
    if (opt.config.enforce.rate_limit && opt.config.enforce.rate_limit->connections > 20) {
      error = "[enforce] rate_limit: more than 20 connections cannot be counted by the recent module";
      return std::nullopt;
    }
    return render_iptables(opt, rules);
  }
  return render_nft(opt, rules);
}

int run_export(const ExportOptions& options, std::FILE* out, std::FILE* err) {
  std::string error;
  const auto text = render_export(options, error);
  if (!text) {
    fmt::print(err, "strikeout export: {}\n", error);
    return 1;
  }
  std::fwrite(text->data(), 1, text->size(), out);
  std::fflush(out);
  return 0;
}

}  // namespace strikeout::app
