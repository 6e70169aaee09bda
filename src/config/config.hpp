// strikeout's whole configuration as one immutable value, built by the loader (loader.hpp) from
// strikeout.toml. Nothing here is read again after loading: a reload builds a new Config and swaps it in
// whole, so a running daemon never sees half of an old file and half of a new one.
//
// Every setting is documented, with its default and range, in docs/config.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/address.hpp"
#include "core/policy.hpp"
#include "core/time.hpp"
#include "core/decoy_settings.hpp"
#include "logs/decoder.hpp"
#include "logs/timezone.hpp"

namespace strikeout::config {

// [[source]] type = "file": a log file followed line by line.
struct FileSource {
  std::filesystem::path path;  // absolute
  bool optional = false;       // true: a missing file is normal (used only where it exists)
};

// [[source]] type = "journald": the systemd journal.
struct JournaldSource {
  // "FIELD=value" matches as sd_journal_add_match() takes them: entries matching any value of one
  // field, and all of the fields named. Empty: every entry.
  std::vector<std::string> matches;
  std::filesystem::path directory;  // empty: the system journal; else a journal directory to open
};

enum class SourceType : std::uint8_t { File, Journald };  // the index of Source::settings

struct Source {
  std::string name;             // unique; names the source in reports and keys its saved position
  std::string format = "auto";  // "auto", a built-in format, or a [[matcher]]'s name
  // When not empty: the name of another source; this one is read only while that one cannot be
  // opened (a mail.log that only duplicates the journal where both exist).
  std::string fallback_for;
  std::variant<FileSource, JournaldSource> settings;

  SourceType type() const { return static_cast<SourceType>(settings.index()); }
};

// [logs]
struct LogSettings {
  // As written: "local", "UTC", "+02:00", "Europe/Berlin".
  std::string timezone_name = "local";
  // The zone for timestamps without an offset (RFC 3164 syslog lines). A default-constructed
  // TimeZone is UTC; the loader always sets it.
  logs::TimeZone timezone{};
};

// [enforce] rate_limit: the recipe's connection-rate limit, done in the kernel.
struct ConnectionRateLimit {
  std::uint32_t connections = 6;                  // the N-th new connection within `per` is refused
  core::Duration per = std::chrono::seconds(60);  // one second, minute, hour or day (nftables' units)
};

enum class RejectWith : std::uint8_t {
  Reset,  // answer a banned source's packets with a TCP reset (it learns at once it is shut out)
  Drop,   // drop them silently (it waits for its timeouts)
};

// [enforce]
struct EnforceSettings {
  std::string backend = "nftables";  // the only one there is
  std::string table = "strikeout";   // the nftables table (family inet) strikeout owns alone
  RejectWith reject = RejectWith::Reset;
  bool flush_on_exit = false;          // false: bans stay in the kernel until their timeouts
  std::uint32_t set_size = 1'048'576;  // explicit size of each kernel set (elements)
  std::optional<ConnectionRateLimit> rate_limit = ConnectionRateLimit{};  // nullopt: off
};

// [state]
struct StateSettings {
  std::filesystem::path path = "/var/lib/strikeout/state.db";
};

// [control]
struct ControlSettings {
  std::filesystem::path socket = "/run/strikeout/control.sock";
  std::string group;  // empty: root only (0600); else this group may use the read-only commands
};

// An address and port to listen on.
struct Endpoint {
  core::Address address{};
  std::uint16_t port = 0;
  std::string to_string() const;  // "127.0.0.1:9753", "[::1]:9753"
};

// [metrics]
struct MetricsSettings {
  std::optional<Endpoint> listen = Endpoint{core::Address::from_v4(0x7F000001U), 9753};  // nullopt: off
};

// [wire]: the packet sensor (docs/wire.md): the server's own replies captured on the protected ports.
struct WireSettings {
  bool enabled = false;                                    // false: no capture (it needs CAP_NET_RAW)
  std::vector<std::string> interfaces{"any"};              // "any", or interface names (one capture each)
  std::vector<std::string> failure_replies{"535"};         // reply codes or exact last-line prefixes
  std::vector<std::uint16_t> implicit_tls_ports{465};      // protected ports encrypted from the first byte
  std::uint32_t max_connections = 65'536;                  // connections followed at once, per interface
  core::Duration idle_timeout = std::chrono::minutes(10);  // a connection silent this long is forgotten

  friend bool operator==(const WireSettings&, const WireSettings&) = default;
};

// Which decisions a [[webhook]] is sent (bits of WebhookSettings::events).
enum WebhookEvent : unsigned {
  kWebhookBan = 1U << 0,       // a ban begins (or its end moves later)
  kWebhookUnban = 1U << 1,     // a ban ends
  kWebhookAlert = 1U << 2,     // a rule whose action blocks nothing (notice) reached its threshold
  kWebhookCampaign = 1U << 3,  // a username rule (a campaign) started banning for a username
};

// [[webhook]]: decisions POSTed to an HTTP endpoint (docs/webhooks.md).
struct WebhookSettings {
  std::string name;  // in log lines and metrics; default "webhook1", "webhook2", ... by position
  std::string url;   // http:// or https://; never logged (chat tools put their secret in it)
  unsigned events = kWebhookBan | kWebhookUnban | kWebhookAlert | kWebhookCampaign;
  bool slack = false;                 // format = "slack": {"text": "..."} for chat tools
  std::filesystem::path secret_file;  // empty: no signature header
  std::size_t queue = 1000;           // messages waiting; beyond it new ones are dropped and counted
  int attempts = 4;                   // tries per message, the first included
  core::Duration timeout = std::chrono::seconds(5);         // per try, connection included
  core::Duration backoff = std::chrono::milliseconds(500);  // before the 2nd try; doubled after each
  friend bool operator==(const WebhookSettings&, const WebhookSettings&) = default;
};

struct Config {
  std::string origin;                              // the file it was loaded from, or "<built-in>"
  core::Policy policy;                             // [[rule]], [allow] networks, [engine]
  std::vector<std::uint16_t> ports{25, 465, 587};  // [protect] ports, in the order written
  bool allow_host_addresses = true;  // [allow] host_addresses: the host's own addresses are never banned
  std::vector<Source> sources;       // [[source]], in the order written
  std::vector<logs::CustomMatcherSpec> matchers;  // [[matcher]], in the order written
  LogSettings logs;
  EnforceSettings enforce;
  StateSettings state;
  ControlSettings control;
  MetricsSettings metrics;
  WireSettings wire;
  // [decoy], plus each [[rule]]'s decoy_mode and tarpit_from_offence (rule_modes, tarpit_from).
  // decoy.redirected_from is [protect] ports.
  core::DecoySettings decoy;
  std::vector<WebhookSettings> webhooks;  // [[webhook]], in the order written

  // The source named `name`, or nullptr.
  const Source* find_source(std::string_view name) const;
};

}  // namespace strikeout::config
