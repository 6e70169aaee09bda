// The control socket's protocol: JSON lines, versioned (docs/cli.md, "The protocol").
//
// A client sends one request per line:
//   {"v":1,"id":7,"command":"ban","target":"203.0.113.7","for":"1h","reason":"seen in the web log"}
// and the daemon answers each with one line, in order:
//   {"v":1,"id":7,"ok":true,"result":{...}}
//   {"v":1,"id":7,"ok":false,"code":"allowlisted","error":"203.0.113.7 is on the allowlist (...)"}
// After a successful "watch" the daemon sends one line per attempt, strike, ban and unban:
//   {"v":1,"watch":{"type":"ban","time":"...","text":"SMTP_AUTH_REJECTED: Go AWAY: ...", ...}}
// until the client goes away, or {"v":1,"watch_end":"why"} when the daemon drops it.
//
// Parsing is strict: an unknown command or field, a wrong type, a malformed address or duration, a
// line longer than kMaxLine, a version other than kVersion are refused with a message naming it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "core/address.hpp"
#include "core/time.hpp"

namespace strikeout::control {

inline constexpr int kVersion = 1;
// Longest request or response line either side accepts (bytes, newline excluded). Responses that
// list a million bans are longer: the client's limit for responses is kMaxResponseLine.
inline constexpr std::size_t kMaxLine = 64 * 1024;
inline constexpr std::size_t kMaxResponseLine = std::size_t{1} << 30;

enum class Command : std::uint8_t {
  Status,       // read-only
  List,         // read-only; optional rule
  Explain,      // read-only; target = an address
  Watch,        // read-only
  AllowList,    // read-only
  Ban,          // target, optional duration and reason
  Unban,        // target
  AllowAdd,     // target
  AllowRemove,  // target
  Reload,
};

std::string_view to_string(Command c);  // "status", "allow-add", ...
std::optional<Command> command_from_string(std::string_view name);
// Read-only commands are the ones a member of [control] group may use.
bool is_read_only(Command c);

struct Request {
  std::uint64_t id = 0;
  Command command = Command::Status;
  std::optional<core::Prefix> target;      // ban, unban, allow-add, allow-remove, explain (a host prefix)
  std::optional<core::Duration> duration;  // ban: "for"; absent: the daemon's default
  std::string reason;                      // ban: shown in list and explain
  std::string rule;                        // list: only bans of this rule; empty: all
};

struct ProtocolError {
  std::uint64_t id = 0;  // the request's id when it could be read, else 0
  std::string message;   // names the field and what was wrong with it
};

// Parses one request line (without its newline). Refuses everything the header comment lists.
// Never throws.
std::variant<Request, ProtocolError> parse_request(std::string_view line);

// The line a client sends for `request` (without the newline).
std::string format_request(const Request& request);

// Error codes of a refused request (the "code" field), stable for scripts.
namespace code {
inline constexpr std::string_view kBadRequest = "bad-request";     // malformed request
inline constexpr std::string_view kForbidden = "forbidden";        // not allowed to this peer
inline constexpr std::string_view kAllowlisted = "allowlisted";    // ban of an allowlisted target
inline constexpr std::string_view kNotFound = "not-found";         // unban/remove of what is not there
inline constexpr std::string_view kInConfig = "in-configuration";  // allow remove of a configured entry
inline constexpr std::string_view kFailed = "failed";              // the daemon could not do it
inline constexpr std::string_view kBusy = "busy";                  // too many clients
}  // namespace code

// Response lines (without the newline). Text that may hold bytes that are not UTF-8 (usernames an
// attacker chose) is written with U+FFFD in their place, never an exception.
std::string format_ok(std::uint64_t id, const nlohmann::json& result);
std::string format_error(std::uint64_t id, std::string_view code, std::string_view message);
std::string format_watch(const nlohmann::json& event);
std::string format_watch_end(std::string_view why);
std::string dump(const nlohmann::json& j);  // one line, invalid UTF-8 replaced

// A response line as the client reads it.
struct Response {
  enum class Kind : std::uint8_t { Reply, Watch, WatchEnd } kind = Kind::Reply;
  std::uint64_t id = 0;
  bool ok = false;
  std::string code;       // when !ok
  std::string error;      // when !ok; for WatchEnd: why the stream ended
  nlohmann::json result;  // Reply when ok; Watch: the event
};

// Parses one line from the daemon; an error message when it is not a version-1 response.
std::variant<Response, std::string> parse_response(std::string_view line);

}  // namespace strikeout::control
