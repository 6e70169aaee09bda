// `strikeout export nft|iptables [--config FILE]`: for hosts that cannot run the daemon, a ruleset
// that does what the configuration says with the kernel alone, in the recipe's manner: it watches
// the server's outbound replies for the failure text, counts failures per client in kernel tables,
// and rejects a client that reached a rule's threshold. Its limits, compared with the daemon, are
// written at the top of the output.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace strikeout::app {

enum class ExportFormat { Nft, Iptables };

struct ExportOptions {
  ExportFormat format = ExportFormat::Nft;          // `export nft` or `export iptables`
  config::Config config;                            // loaded by the caller (--config, else the default)
  std::vector<std::string> failure_replies{"535"};  // the wire's failure replies (default: every 535)
  std::string table = "strikeout_export";           // nft table (family inet) / iptables chain prefix
};

// Writes the ruleset. Which rules can be exported: auth-failure rules keyed by address with action
// ban (the others are listed in the header as not exported, with why). Refuses (nullopt, `error`
// says what and where) a configuration with no exportable rule, a failure reply the kernel cannot
// match (longer than 64 bytes, not a reply line), an iptables rule of more than 20 hits (the `recent`
// module remembers 20 packets per address by default), and a table name that is not a plain word.
std::optional<std::string> render_export(const ExportOptions& options, std::string& error);

// render_export() to `out`; errors to `err` as "strikeout export: ...". Exit code 0 or 1.
int run_export(const ExportOptions& options, std::FILE* out, std::FILE* err);

}  // namespace strikeout::app
