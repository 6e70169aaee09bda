#include "config/loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <utility>

#include "config/reader.hpp"

namespace strikeout::config {

namespace {

using namespace std::chrono_literals;
using detail::closest;
using detail::describe_type;
using detail::quote;
using detail::read_duration;
using detail::read_integer;
using detail::read_text;
using detail::Report;
using detail::Section;

constexpr std::size_t kMaxConfigBytes = 4U << 20U;  // a configuration is a few KiB
constexpr std::size_t kMaxZoneBytes = 1U << 20U;    // TZif files are a few KiB
constexpr std::int64_t kMaxHits = 1000;             // the engine stores up to `hits` times per key
constexpr std::size_t kMaxPatterns = 32;            // per [[matcher]]
constexpr std::size_t kMaxSocketPath = 107;         // sun_path is 108 bytes with its NUL
constexpr core::Duration kMaxWithin = 7 * 24h;
constexpr core::Duration kMaxBan = 52 * 7 * 24h;  // 52w
constexpr core::Duration kDefaultBanMax = 7 * 24h;

// Rule, matcher and source names: they appear in log lines, metrics labels and the store, so keep
// them to a safe alphabet.
bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) return false;
  }
  return true;
}

constexpr std::string_view kNameRule =
    "1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit";

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

// Reads a regular file of at most `limit` bytes into `out`. Returns nullopt, or why it could not
// (`err` gets errno when the failure came from the system, else 0). Opens non-blocking so a FIFO
// named by mistake cannot hang the loader.
std::optional<std::string> read_small_file(const std::filesystem::path& path, std::size_t limit,
                                           std::string& out, int& err) {
  err = 0;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    err = errno;
    return std::string(std::strerror(err));
  }
  std::optional<std::string> failure;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    err = errno;
    failure = std::strerror(err);
  } else if (!S_ISREG(st.st_mode)) {
    failure = "not a regular file";
  } else if (static_cast<std::uint64_t>(st.st_size) > limit) {
    failure = "larger than " + std::to_string(limit) + " bytes";
  } else {
    out.clear();
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        err = errno;
        failure = std::strerror(err);
        break;
      }
      if (n == 0) break;  // shrank while we read: take what is there
      done += static_cast<std::size_t>(n);
    }
    out.resize(done);
  }
  ::close(fd);
  return failure;
}

// An IANA zone name as found under /usr/share/zoneinfo ("Europe/Berlin", "Etc/GMT+5"): components of
// letters, digits, '_', '+' and '-'. Refusing '.' keeps a name from leaving the zoneinfo directory.
bool valid_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '/' || name.back() == '/') return false;
  char previous = '/';
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '+' || c == '-' || c == '/';
    if (!ok || (c == '/' && previous == '/')) return false;
    previous = c;
  }
  return true;
}

// "127.0.0.1:9753" or "[::1]:9753".
std::optional<Endpoint> parse_endpoint(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  const std::optional<core::Address> address = core::Address::parse(host);
  if (!address || bracketed == address->is_v4()) return std::nullopt;  // IPv6 needs its brackets
  if (port_text.empty() || port_text.size() > 5 || port_text.front() == '0') return std::nullopt;
  unsigned port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port == 0 || port > 65535) return std::nullopt;
  return Endpoint{*address, static_cast<std::uint16_t>(port)};
}

// logs::validate_custom_matcher() promises not to throw; should it break that promise on some
// pattern, the configuration must still not crash on the operator's file: the pattern is refused.
std::optional<std::string> validate_pattern(const logs::CustomMatcherSpec& spec) {
  try {
    return logs::validate_custom_matcher(spec);
  } catch (const std::exception& e) {
    return std::string("the pattern could not be compiled (") + e.what() +
           "); this is a bug in strikeout, please report it with the pattern";
  }
}

class Loader {
 public:
  Loader(Report& report, const LoadOptions& options, std::string origin)
      : report_(report), options_(options) {
    config_.origin = std::move(origin);
  }

  void load(const toml::table& root_table) {
    Section root(report_, root_table, "", "the top level");
    protect(root);
    allow(root);
    engine(root);
    logs(root);
    matchers(root);  // before sources: a source's format may name a matcher
    sources(root);
    rules(root);
    enforce(root);
    state(root);
    control(root);
    metrics(root);
    wire(root);
    decoy(root);
    webhooks(root);
    root.finish();
  }

  Config take() { return std::move(config_); }

 private:
  // The table under `key`, or nullopt when it is absent or (reported) not a table.
  std::optional<Section> subsection(Section& parent, std::string_view key, const std::string& title) {
    const toml::node* n = parent.find(key);
    if (n == nullptr) return std::nullopt;
    const toml::table* t = n->as_table();
    if (t == nullptr) {
      report_.at(n->source(), parent.path_of(key),
                 parent.path_of(key) + " must be a table (" + title + "), not " + describe_type(*n));
      return std::nullopt;
    }
    return Section(report_, *t, parent.path_of(key), title);
  }

  // Calls fn(section) for each table of the array of tables [[key]]. Returns the array, or nullptr
  // when `key` is absent or (reported) not an array of tables.
  template <typename Fn>
  const toml::array* each_table(Section& root, std::string_view key, Fn&& fn) {
    const toml::node* n = root.find(key);
    if (n == nullptr) return nullptr;
    const std::string header = "[[" + std::string(key) + "]]";
    const toml::array* array = n->as_array();
    if (array == nullptr) {
      report_.at(n->source(), std::string(key),
                 std::string(key) + " must be written as " + header + " sections (an array of tables), not " +
                     describe_type(*n));
      return nullptr;
    }
    std::size_t index = 0;
    for (const toml::node& element : *array) {
      ++index;
      const std::string path = std::string(key) + "[" + std::to_string(index) + "]";
      const toml::table* table = element.as_table();
      if (table == nullptr) {
        report_.at(element.source(), path,
                   path + " must be a table (" + header + "), not " + describe_type(element));
        continue;
      }
      std::string title = header + " #" + std::to_string(index);
      if (const auto* name = table->get_as<std::string>("name")) title += " " + quote(name->get());
      Section section(report_, *table, path, title);
      fn(section);
      section.finish();
    }
    return array;
  }

  // An absolute path without control characters, of at most `max_length` bytes.
  std::optional<std::filesystem::path> absolute_path(Section& s, std::string_view key, bool required,
                                                     std::size_t max_length = 4095) {
    const std::optional<std::string> text = s.text(key, required);
    if (!text) return std::nullopt;
    const toml::node& node = *s.table().get(key);
    const std::string path = s.path_of(key);
    if (text->empty() || text->front() != '/') {
      report_.at(node.source(), path,
                 path + " must be an absolute path (starting with '/'), not " + quote(*text));
    } else if (has_control_character(*text)) {
      report_.at(node.source(), path, path + " must not contain control characters: " + quote(*text));
    } else if (text->size() > max_length) {
      report_.at(node.source(), path,
                 path + " is longer than " + std::to_string(max_length) + " bytes: " + quote(*text));
    } else {
      return std::filesystem::path(*text);
    }
    return std::nullopt;
  }

  // Reports `key` of `s` when present, as having no effect in this section (`why`). A setting that
  // does nothing is most likely a mistake about what the section does.
  void no_effect(Section& s, std::string_view key, const std::string& why) {
    if (const toml::node* n = s.table().get(key)) {
      report_.at(n->source(), s.path_of(key), s.path_of(key) + " has no effect: " + why);
    }
  }

  // [protect] ports = [25, 465, 587]
  void protect(Section& root) {
    std::optional<Section> s = subsection(root, "protect", "[protect]");
    if (!s) return;
    if (const toml::node* n = s->find("ports")) {
      const toml::array* array = n->as_array();
      if (array == nullptr) {
        report_.at(n->source(), "protect.ports",
                   "protect.ports must be an array of port numbers such as [25, 465, 587], not " +
                       describe_type(*n));
      } else if (array->empty()) {
        report_.at(n->source(), "protect.ports",
                   "protect.ports is empty: list the ports to protect, e.g. [25, 465, 587]");
      } else {
        std::vector<std::uint16_t> ports;
        std::size_t index = 0;
        for (const toml::node& element : *array) {
          const std::string path = "protect.ports[" + std::to_string(++index) + "]";
          const std::optional<std::int64_t> port = read_integer(report_, element, path, 1, 65535);
          if (!port) continue;
          const auto value = static_cast<std::uint16_t>(*port);
          if (std::find(ports.begin(), ports.end(), value) != ports.end()) {
            report_.at(element.source(), path,
                       "port " + std::to_string(value) + " is listed twice in protect.ports");
            continue;
          }
          ports.push_back(value);
        }
        config_.ports = std::move(ports);
      }
    }
    s->finish();
  }

  // [allow] networks = [...], host_addresses = true
  void allow(Section& root) {
    std::optional<Section> s = subsection(root, "allow", "[allow]");
    if (!s) return;
    if (const std::optional<bool> host = s->boolean("host_addresses")) config_.allow_host_addresses = *host;
    if (const toml::node* n = s->find("networks")) {
      const toml::array* array = n->as_array();
      if (array == nullptr) {
        report_.at(
            n->source(), "allow.networks",
            "allow.networks must be an array of networks such as [\"127.0.0.0/8\", \"::1/128\"], not " +
                describe_type(*n));
      } else {
        std::size_t index = 0;
        for (const toml::node& element : *array) {
          const std::string path = "allow.networks[" + std::to_string(++index) + "]";
          if (std::optional<core::Prefix> network = allowed_network(element, path)) {
            auto& list = config_.policy.allowlist;
            if (std::find(list.begin(), list.end(), *network) != list.end()) {
              report_.at(element.source(), path, network->to_string() + " is listed twice in allow.networks");
            } else {
              list.push_back(*network);
            }
          }
        }
      }
    }
    s->finish();
  }

  // One allowlist entry: "ADDRESS" or "ADDRESS/LENGTH" with no host bits set, and never everything.
  std::optional<core::Prefix> allowed_network(const toml::node& node, const std::string& path) {
    const std::optional<std::string> text = read_text(report_, node, path);
    if (!text) return std::nullopt;
    const std::optional<core::Prefix> network = core::Prefix::parse(*text, /*strict=*/true);
    if (!network) {
      if (const std::optional<core::Prefix> loose = core::Prefix::parse(*text, false)) {
        report_.at(node.source(), path,
                   path + ": " + quote(*text) +
                       " has host bits set after the prefix length; did you mean \"" +
                       loose->address().to_string() + "/" + std::to_string(loose->length()) + "\"?");
      } else {
        report_.at(node.source(), path,
                   path + ": " + quote(*text) +
                       " is not a network; write ADDRESS or ADDRESS/LENGTH, e.g. \"192.0.2.0/24\" or "
                       "\"2001:db8::/32\"");
      }
      return std::nullopt;
    }
    if (network->length() == 0) {
      report_.at(node.source(), path,
                 path + ": " + quote(*text) + " would allowlist every " +
                     (network->is_v4() ? "IPv4" : "IPv6") +
                     " address, so strikeout would never ban anyone; list your own networks instead");
      return std::nullopt;
    }
    return network;
  }

  // [engine] max_tracked, reorder_tolerance, duplicate_window
  void engine(Section& root) {
    std::optional<Section> s = subsection(root, "engine", "[engine]");
    if (!s) return;
    core::EngineLimits& limits = config_.policy.limits;
    if (auto v = s->integer("max_tracked", 1000, 100'000'000))
      limits.max_tracked_keys = static_cast<std::uint64_t>(*v);
    if (auto v = s->duration("reorder_tolerance", 0s, 1h)) limits.reorder_tolerance = *v;
    if (auto v = s->duration("duplicate_window", 0s, 10min)) limits.duplicate_window = *v;
    s->finish();
  }

  // [logs] timezone
  void logs(Section& root) {
    std::optional<Section> s = subsection(root, "logs", "[logs]");
    std::string name = "local";
    const toml::node* node = nullptr;
    if (s) {
      if (std::optional<std::string> v = s->text("timezone")) {
        name = *v;
        node = s->table().get("timezone");
      } else if (s->table().contains("timezone")) {
        s->finish();
        return;  // wrong type, reported
      }
      s->finish();
    }
    config_.logs.timezone_name = name;
    if (std::optional<logs::TimeZone> zone = resolve_zone(name, node))
      config_.logs.timezone = std::move(*zone);
  }

  // "local" (the host's /etc/localtime; UTC where there is none, as the C library does), a fixed
  // offset ("UTC", "+02:00"), or an IANA name read from the zoneinfo directory.
  std::optional<logs::TimeZone> resolve_zone(const std::string& name, const toml::node* node) {
    const std::string path = "logs.timezone";
    auto fail = [&](const std::string& message) {
      if (node != nullptr) {
        report_.at(node->source(), path, message);
      } else {
        report_.whole_file(path, message);
      }
      return std::nullopt;
    };
    std::string bytes;
    int err = 0;
    if (name == "local") {
      if (auto failure = read_small_file(options_.localtime, kMaxZoneBytes, bytes, err)) {
        if (err == ENOENT) return logs::TimeZone::utc();
        return fail("logs.timezone = \"local\": cannot read " + options_.localtime.string() + ": " +
                    *failure + "; name the zone instead, e.g. timezone = \"Europe/Berlin\"");
      }
      if (auto zone = logs::TimeZone::from_tzif(bytes, "local")) return zone;
      return fail("logs.timezone = \"local\": " + options_.localtime.string() +
                  " is not a time zone file; name the zone instead, e.g. timezone = \"Europe/Berlin\"");
    }
    if (auto zone = logs::TimeZone::parse_fixed(name)) return zone;
    if (!valid_zone_name(name)) {
      return fail(
          "logs.timezone: " + quote(name) +
          " is not a time zone; write \"local\", \"UTC\", an offset such as \"+02:00\", or a zone name "
          "such as \"Europe/Berlin\"");
    }
    const std::filesystem::path file = options_.zoneinfo_dir / name;
    if (auto failure = read_small_file(file, kMaxZoneBytes, bytes, err)) {
      if (err == ENOENT || err == ENOTDIR || err == EISDIR || *failure == "not a regular file") {
        return fail("logs.timezone: unknown time zone " + quote(name) + " (no zone file " + file.string() +
                    ")");
      }
      return fail("logs.timezone: cannot read " + file.string() + ": " + *failure);
    }
    if (auto zone = logs::TimeZone::from_tzif(bytes, name)) return zone;
    return fail("logs.timezone: " + file.string() + " is not a time zone file");
  }

  // [[matcher]] name, regex, kind, service, program
  void matchers(Section& root) {
    std::map<std::string, toml::source_position> seen;
    each_table(root, "matcher", [&](Section& s) {
      const std::size_t errors_before = report_.count();
      logs::CustomMatcherSpec spec;
      if (std::optional<std::string> name = s.text("name", true)) {
        const toml::node& node = *s.table().get("name");
        const auto& builtin = logs::builtin_format_names();
        if (!valid_name(*name)) {
          report_.at(node.source(), s.path_of("name"),
                     s.path_of("name") + ": " + quote(*name) + " is not a valid name (" +
                         std::string(kNameRule) + ")");
        } else if (*name == "auto" || std::find(builtin.begin(), builtin.end(), *name) != builtin.end()) {
          report_.at(
              node.source(), s.path_of("name"),
              s.path_of("name") + ": " + quote(*name) + " is the name of a built-in format; choose another");
        } else if (auto [it, fresh] = seen.emplace(*name, node.source().begin); !fresh) {
          report_.at(node.source(), s.path_of("name"),
                     "duplicate matcher name " + quote(*name) + " (first at line " +
                         std::to_string(it->second.line) + ")");
        }
        spec.name = *name;
      }
      std::vector<const toml::node*> pattern_nodes;
      bool single_pattern = false;  // regex = "..." rather than regex = ["...", ...]
      if (const toml::node* n = s.find("regex")) {
        const std::string path = s.path_of("regex");
        if (n->is_string()) {
          single_pattern = true;
          pattern_nodes.push_back(n);
        } else if (const toml::array* array = n->as_array()) {
          if (array->empty()) report_.at(n->source(), path, path + " is empty: give at least one pattern");
          if (array->size() > kMaxPatterns) {
            report_.at(n->source(), path,
                       path + " has " + std::to_string(array->size()) + " patterns; at most " +
                           std::to_string(kMaxPatterns) + " are allowed");
          }
          for (const toml::node& element : *array) pattern_nodes.push_back(&element);
        } else {
          report_.at(n->source(), path,
                     path + " must be a pattern string or an array of them, not " + describe_type(*n));
        }
      } else {
        s.missing("regex", "regex = 'authentication failed for .* from <HOST>'");
      }
      if (auto kind = s.choice("kind", {"auth-failure", "auth-success", "connect", "protocol-abuse"})) {
        static constexpr core::EventKind kKinds[] = {core::EventKind::AuthFailure,
                                                     core::EventKind::AuthSuccess, core::EventKind::Connect,
                                                     core::EventKind::ProtocolAbuse};
        spec.kind = kKinds[*kind];
      }
      if (auto service = s.text("service")) spec.service = *service;
      if (auto program = s.text("program")) spec.program = *program;

      // Each pattern is checked on its own, so a mistake is reported at the pattern that has it.
      for (std::size_t i = 0; i < pattern_nodes.size(); ++i) {
        const toml::node& node = *pattern_nodes[i];
        const std::string path =
            s.path_of("regex") + (single_pattern ? "" : "[" + std::to_string(i + 1) + "]");
        const std::optional<std::string> pattern = read_text(report_, node, path);
        if (!pattern) continue;
        logs::CustomMatcherSpec one = spec;
        one.patterns = {*pattern};
        if (std::optional<std::string> problem = validate_pattern(one)) {
          // The logs layer names the matcher and the pattern (as "pattern 0", since it saw only this
          // one); the diagnostic's path and position say both already, so keep only the reason.
          const std::string preamble = "matcher '" + one.name + "', pattern 0 (\"" + *pattern + "\"): ";
          if (problem->rfind(preamble, 0) == 0) problem->erase(0, preamble.size());
          report_.at(node.source(), path, path + " is not usable: " + *problem);
        }
        spec.patterns.push_back(*pattern);
      }
      matcher_names_.push_back(spec.name);
      if (report_.count() == errors_before) config_.matchers.push_back(std::move(spec));
    });
  }

  // [[source]] type = "file" | "journald", and their settings.
  void sources(Section& root) {
    struct Placed {
      Source source;
      toml::source_position name_at;         // where the name was given, or the table
      toml::source_position path_at;         // file sources: where the path was given
      const toml::node* fallback = nullptr;  // the fallback_for value
      std::string path;                      // key path of the table, "source[2]"
    };
    std::vector<Placed> placed;
    const std::vector<std::string>& builtin = logs::builtin_format_names();

    each_table(root, "source", [&](Section& s) {
      const std::size_t errors_before = report_.count();
      Placed p;
      p.path = s.path();
      p.name_at = s.table().source().begin;
      const std::optional<std::size_t> type = s.choice("type", {"file", "journald"}, true);
      const std::optional<std::string> name = s.text("name");
      const std::optional<std::string> format = s.text("format");
      const std::optional<std::string> fallback = s.text("fallback_for");
      const std::optional<std::filesystem::path> path = absolute_path(s, "path", type && *type == 0);
      const std::optional<bool> optional = s.boolean("optional");
      const toml::node* matches = s.find("matches");
      const std::optional<std::filesystem::path> directory = absolute_path(s, "directory", false);

      if (name) {
        p.name_at = s.table().get("name")->source().begin;
        if (!valid_name(*name)) {
          report_.at(p.name_at, s.path_of("name"),
                     s.path_of("name") + ": " + quote(*name) + " is not a valid name (" +
                         std::string(kNameRule) + ")");
        }
        p.source.name = *name;
      }
      if (format) {
        const bool known =
            *format == "auto" || std::find(builtin.begin(), builtin.end(), *format) != builtin.end() ||
            std::find(matcher_names_.begin(), matcher_names_.end(), *format) != matcher_names_.end();
        if (!known) {
          std::vector<std::string> candidates = builtin;
          candidates.insert(candidates.end(), matcher_names_.begin(), matcher_names_.end());
          candidates.emplace_back("auto");
          std::string message = s.path_of("format") + ": unknown format " + quote(*format) +
                                "; use \"auto\", a built-in format (";
          for (std::size_t i = 0; i < builtin.size(); ++i) message += (i ? ", " : "") + builtin[i];
          message += ") or the name of a [[matcher]]";
          if (auto near = closest(*format, candidates)) message += "; did you mean " + quote(*near) + "?";
          report_.at(s.table().get("format")->source(), s.path_of("format"), std::move(message));
        }
        p.source.format = *format;
      }
      if (fallback) p.fallback = s.table().get("fallback_for");

      if (type && *type == 0) {  // file
        FileSource file;
        if (path) {
          file.path = *path;
          p.path_at = s.table().get("path")->source().begin;
          if (!name) p.source.name = file.path.filename().string();
        }
        file.optional = optional.value_or(false);
        no_effect(s, "matches", "it is a setting of journald sources, and this one has type = \"file\"");
        no_effect(s, "directory", "it is a setting of journald sources, and this one has type = \"file\"");
        p.source.settings = std::move(file);
      } else if (type && *type == 1) {  // journald
        JournaldSource journal;
        if (matches != nullptr) journal.matches = journal_matches(*matches, s.path_of("matches"));
        if (directory) journal.directory = *directory;
        if (!name) p.source.name = "journal";
        no_effect(s, "path", "it is a setting of file sources, and this one has type = \"journald\"");
        no_effect(s, "optional", "it is a setting of file sources, and this one has type = \"journald\"");
        p.source.settings = std::move(journal);
      }
      if (report_.count() == errors_before) placed.push_back(std::move(p));
    });

    // Across sources: names identify saved positions and must be unique; a file is read once; a
    // fallback names another source that is not itself a fallback.
    for (std::size_t i = 0; i < placed.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (placed[j].source.name == placed[i].source.name) {
          report_.at(placed[i].name_at, placed[i].path + ".name",
                     "two sources are named " + quote(placed[i].source.name) + " (" + placed[j].path +
                         " and " + placed[i].path + "); give each a distinct name");
          break;
        }
        const auto* a = std::get_if<FileSource>(&placed[i].source.settings);
        const auto* b = std::get_if<FileSource>(&placed[j].source.settings);
        if (a != nullptr && b != nullptr && a->path == b->path) {
          report_.at(placed[i].path_at, placed[i].path + ".path",
                     placed[i].path + " reads " + a->path.string() + ", as " + placed[j].path +
                         " does already; each line would count twice");
          break;
        }
      }
    }
    for (const Placed& p : placed) {
      if (p.fallback == nullptr) continue;
      const std::string& target = p.fallback->as_string()->get();
      const std::string path = p.path + ".fallback_for";
      const auto other = std::find_if(placed.begin(), placed.end(),
                                      [&](const Placed& q) { return q.source.name == target; });
      if (target == p.source.name) {
        report_.at(p.fallback->source(), path, path + ": a source cannot be its own fallback");
      } else if (other == placed.end()) {
        report_.at(p.fallback->source(), path, path + ": no source is named " + quote(target));
      } else if (other->fallback != nullptr) {
        report_.at(p.fallback->source(), path,
                   path + ": " + quote(target) + " is itself a fallback; name the source it stands in for");
      }
    }
    for (Placed& p : placed) {
      if (p.fallback != nullptr) p.source.fallback_for = p.fallback->as_string()->get();
      config_.sources.push_back(std::move(p.source));
    }
  }

  // journald matches: "FIELD=value", FIELD in journald's alphabet (upper-case letters, digits and
  // '_', not starting with a digit, at most 64 bytes).
  std::vector<std::string> journal_matches(const toml::node& node, const std::string& path) {
    std::vector<std::string> out;
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      report_.at(
          node.source(), path,
          path +
              " must be an array of \"FIELD=value\" strings such as [\"SYSLOG_IDENTIFIER=postfix/smtpd\"], "
              "not " +
              describe_type(node));
      return out;
    }
    std::size_t index = 0;
    for (const toml::node& element : *array) {
      const std::string element_path = path + "[" + std::to_string(++index) + "]";
      const std::optional<std::string> match = read_text(report_, element, element_path);
      if (!match) continue;
      const std::size_t eq = match->find('=');
      const std::string_view field = std::string_view(*match).substr(0, eq);
      const bool field_ok = eq != std::string::npos && !field.empty() && field.size() <= 64 &&
                            !(field.front() >= '0' && field.front() <= '9') &&
                            std::all_of(field.begin(), field.end(), [](char c) {
                              return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
                            });
      if (!field_ok) {
        report_.at(element.source(), element_path,
                   element_path + ": " + quote(*match) +
                       " is not a journal match; write FIELD=value with an upper-case field name, e.g. "
                       "\"SYSLOG_IDENTIFIER=postfix/smtpd\"");
        continue;
      }
      out.push_back(*match);
    }
    return out;
  }

  // [[rule]]: at least one.
  void rules(Section& root) {
    std::map<std::string, toml::source_position> names;
    std::size_t tables = 0;
    const toml::array* array = each_table(root, "rule", [&](Section& s) {
      ++tables;
      if (std::optional<core::Rule> r = rule(s)) {
        const toml::node& node = *s.table().get("name");
        if (auto [it, fresh] = names.emplace(r->name, node.source().begin); !fresh) {
          report_.at(node.source(), s.path_of("name"),
                     "duplicate rule name " + quote(r->name) + " (first at line " +
                         std::to_string(it->second.line) + "); each rule needs its own name");
        } else {
          config_.policy.rules.push_back(std::move(*r));
        }
      }
    });
    if (tables != 0) return;
    const std::string message =
        "no [[rule]]: without a rule strikeout never bans anyone; start from the default configuration "
        "(strikeout.toml) or see docs/config.md";
    if (array != nullptr) {
      report_.at(array->source(), "rule", message);
    } else if (!root.table().contains("rule")) {
      report_.whole_file("rule", message);
    }
  }

  // One [[rule]]. Reads every key first (so each is type-checked and known), then checks how they
  // fit together. Returns nullopt when anything in it was reported.
  std::optional<core::Rule> rule(Section& s) {
    static constexpr core::EventKind kKinds[] = {core::EventKind::AuthFailure, core::EventKind::AuthSuccess,
                                                 core::EventKind::Connect, core::EventKind::ProtocolAbuse};
    static constexpr core::KeyKind kKeys[] = {core::KeyKind::Address, core::KeyKind::Prefix,
                                              core::KeyKind::Username};
    const std::size_t errors_before = report_.count();
    core::Rule rule;

    const std::optional<std::string> name = s.text("name", true);
    const auto on = s.choice("on", {"auth-failure", "auth-success", "connect", "protocol-abuse"}, true);
    const auto key = s.choice("key", {"address", "prefix", "username"});
    const auto hits = s.integer("hits", 1, kMaxHits, true);
    const auto within = s.duration("within", 1s, kMaxWithin, true);
    const auto action = s.choice("action", {"ban", "notice", "tarpit"});
    const auto ban = s.duration("ban", 1s, kMaxBan);
    const auto ban_factor = s.number("ban_factor", 1.0, 100.0);
    const auto ban_max = s.duration("ban_max", 1s, kMaxBan);
    const auto forget_after = s.duration("forget_after", 0s, kMaxBan);
    const auto extend = s.boolean("extend_on_retry");
    const auto prefix4 = s.integer("prefix4", 8, 32);
    const auto prefix6 = s.integer("prefix6", 16, 128);
    const auto distinct = s.choice("distinct", {"address", "prefix"});
    const auto decoy_mode = s.choice("decoy_mode", {"insult", "stutter", "decoy", "endless"});
    const auto tarpit_from = s.integer("tarpit_from_offence", 1, 1000);

    if (name) {
      if (!valid_name(*name)) {
        report_.at(s.table().get("name")->source(), s.path_of("name"),
                   s.path_of("name") + ": " + quote(*name) + " is not a valid name (" +
                       std::string(kNameRule) + ")");
      }
      rule.name = *name;
    }
    if (on) rule.on = kKinds[*on];
    if (key) rule.key = kKeys[*key];
    if (hits) rule.hits = static_cast<std::uint32_t>(*hits);
    if (within) rule.within = *within;
    static constexpr core::RuleAction kActions[] = {core::RuleAction::Ban, core::RuleAction::Notice,
                                                    core::RuleAction::Tarpit};
    if (action) rule.action = kActions[*action];
    if (ban) rule.ban = *ban;
    if (ban_factor) rule.ban_factor = *ban_factor;
    rule.ban_max = ban_max.value_or(std::max(kDefaultBanMax, rule.ban));
    if (forget_after) rule.forget_after = *forget_after;
    if (extend) rule.extend_on_retry = *extend;
    if (prefix4) rule.prefix4 = static_cast<std::uint8_t>(*prefix4);
    if (prefix6) rule.prefix6 = static_cast<std::uint8_t>(*prefix6);
    if (distinct) rule.distinct = *distinct == 0 ? core::KeyKind::Address : core::KeyKind::Prefix;

    // Where the decoy comes in: every ban of a "tarpit" rule, or a "ban" rule's repeat offenders from
    // their tarpit_from_offence-th ban on. Whether [decoy] is enabled is checked once it is read.
    if (rule.action == core::RuleAction::Tarpit) {
      no_effect(s, "tarpit_from_offence",
                "this rule's action is \"tarpit\": every one of its bans goes to the decoy");
      tarpit_rules_.emplace_back(name.value_or(""), s.table().get("action")->source());
    } else if (rule.action == core::RuleAction::Ban && tarpit_from) {
      tarpit_rules_.emplace_back(name.value_or(""), s.table().get("tarpit_from_offence")->source());
    } else if (rule.action == core::RuleAction::Ban) {
      no_effect(s, "decoy_mode",
                "this rule sends nobody to the decoy; add tarpit_from_offence, or use action = \"tarpit\"");
    }
    if (decoy_mode) rule.tarpit_mode = static_cast<core::TarpitMode>(*decoy_mode);
    if (tarpit_from && rule.action == core::RuleAction::Ban)
      rule.tarpit_from_offence = static_cast<std::uint32_t>(*tarpit_from);
    if (rule.action == core::RuleAction::Notice) {
      const std::string why = "this rule's action is \"notice\", so it never bans";
      for (std::string_view k : {"ban", "ban_factor", "ban_max", "forget_after", "extend_on_retry",
                                 "decoy_mode", "tarpit_from_offence"})
        no_effect(s, k, why);
    }
    if (ban && ban_max && *ban_max < *ban) {
      report_.at(s.table().get("ban_max")->source(), s.path_of("ban_max"),
                 s.path_of("ban_max") + " (" + core::format_duration(*ban_max) + ") is shorter than ban (" +
                     core::format_duration(*ban) + "); the first ban cannot be longer than the longest");
    }
    const bool username = rule.key == core::KeyKind::Username;
    if (!username) {
      no_effect(s, "distinct", "only key = \"username\" rules count distinct sources");
    }
    if (rule.key != core::KeyKind::Prefix && !(username && rule.distinct == core::KeyKind::Prefix)) {
      const std::string why =
          "prefix lengths apply only with key = \"prefix\", or distinct = \"prefix\" in a "
          "username rule";
      no_effect(s, "prefix4", why);
      no_effect(s, "prefix6", why);
    }
    if (username && on && rule.on == core::EventKind::Connect) {
      report_.at(
          s.table().get("key")->source(), s.path_of("key"),
          s.path_of("key") +
              ": a connect event carries no username; key = \"username\" needs on = \"auth-failure\" or "
              "\"auth-success\"");
    }
    if (username && hits && *hits < 2) {
      report_.at(s.table().get("hits")->source(), s.path_of("hits"),
                 s.path_of("hits") +
                     " must be at least 2 in a username rule: it counts the distinct sources of a campaign");
    }
    if (report_.count() != errors_before) return std::nullopt;
    return rule;
  }

  // [enforce] backend, table, reject, flush_on_exit, set_size, rate_limit
  void enforce(Section& root) {
    std::optional<Section> s = subsection(root, "enforce", "[enforce]");
    if (!s) return;
    EnforceSettings& e = config_.enforce;
    if (s->choice("backend", {"nftables"})) e.backend = "nftables";
    if (std::optional<std::string> table = s->text("table")) {
      // nftables identifiers: a letter, then letters, digits, '_' and '-' (kept short for messages).
      const bool ok = !table->empty() && table->size() <= 64 &&
                      std::isalpha(static_cast<unsigned char>(table->front())) != 0 &&
                      std::all_of(table->begin(), table->end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
                      });
      if (ok) {
        e.table = *table;
      } else {
        report_.at(
            s->table().get("table")->source(), "enforce.table",
            "enforce.table: " + quote(*table) +
                " is not an nftables table name (a letter, then up to 63 letters, digits, '_' or '-')");
      }
    }
    if (auto reject = s->choice("reject", {"reset", "drop"}))
      e.reject = *reject == 0 ? RejectWith::Reset : RejectWith::Drop;
    if (auto flush = s->boolean("flush_on_exit")) e.flush_on_exit = *flush;
    if (auto size = s->integer("set_size", 1024, 67'108'864)) e.set_size = static_cast<std::uint32_t>(*size);
    if (const toml::node* n = s->find("rate_limit")) e.rate_limit = rate_limit(*n);
    s->finish();
  }

  // rate_limit = { connections = 6, per = "60s" } or false.
  std::optional<ConnectionRateLimit> rate_limit(const toml::node& node) {
    const std::string path = "enforce.rate_limit";
    if (const auto* flag = node.as_boolean()) {
      if (!flag->get()) return std::nullopt;
      report_.at(
          node.source(), path,
          path + " = true says too little; write rate_limit = { connections = 6, per = \"60s\" }, or false");
      return ConnectionRateLimit{};
    }
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      report_.at(node.source(), path,
                 path + " must be a table such as { connections = 6, per = \"60s\" }, or false, not " +
                     describe_type(node));
      return ConnectionRateLimit{};
    }
    Section s(report_, *table, path, path);
    ConnectionRateLimit limit;
    if (auto n = s.integer("connections", 1, 1'000'000, true))
      limit.connections = static_cast<std::uint32_t>(*n);
    if (auto per = s.duration("per", 1s, 24h, true)) {
      if (*per == 1s || *per == 1min || *per == 1h || *per == 24h) {
        limit.per = *per;
      } else {
        report_.at(
            table->get("per")->source(), path + ".per",
            path +
                ".per must be \"1s\", \"1m\" (or \"60s\"), \"1h\" or \"1d\": nftables counts connections "
                "per second, minute, hour or day; not " +
                core::format_duration(*per));
      }
    }
    s.finish();
    return limit;
  }

  // [state] path
  void state(Section& root) {
    std::optional<Section> s = subsection(root, "state", "[state]");
    if (!s) return;
    if (auto path = absolute_path(*s, "path", false)) config_.state.path = *path;
    s->finish();
  }

  // [control] socket, group
  void control(Section& root) {
    std::optional<Section> s = subsection(root, "control", "[control]");
    if (!s) return;
    if (auto socket = absolute_path(*s, "socket", false, kMaxSocketPath)) config_.control.socket = *socket;
    if (std::optional<std::string> group = s->text("group")) {
      // POSIX-portable group names (as useradd accepts them).
      const bool ok =
          !group->empty() && group->size() <= 32 &&
          (std::islower(static_cast<unsigned char>(group->front())) != 0 || group->front() == '_') &&
          std::all_of(group->begin(), group->end(), [](char c) {
            return std::islower(static_cast<unsigned char>(c)) != 0 ||
                   std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
          });
      if (ok) {
        config_.control.group = *group;
      } else {
        report_.at(s->table().get("group")->source(), "control.group",
                   "control.group: " + quote(*group) +
                       " is not a group name (lower-case letters, digits, '_', '-')");
      }
    }
    s->finish();
  }

  // [metrics] listen = "127.0.0.1:9753" | "[::1]:9753" | "off"
  void metrics(Section& root) {
    std::optional<Section> s = subsection(root, "metrics", "[metrics]");
    if (!s) return;
    if (std::optional<std::string> listen = s->text("listen")) {
      if (*listen == "off") {
        config_.metrics.listen.reset();
      } else if (std::optional<Endpoint> endpoint = parse_endpoint(*listen)) {
        config_.metrics.listen = *endpoint;
      } else {
        report_.at(s->table().get("listen")->source(), "metrics.listen",
                   "metrics.listen: " + quote(*listen) +
                       " is not ADDRESS:PORT; write e.g. \"127.0.0.1:9753\", \"[::1]:9753\", or \"off\"");
      }
    }
    s->finish();
  }

  // [wire] enabled, interfaces, failure_replies, implicit_tls_ports, max_connections, idle_timeout
  // (docs/wire.md). Read after [protect]: an implicit-TLS port must be one of the protected ports.
  void wire(Section& root) {
    std::optional<Section> s = subsection(root, "wire", "[wire]");
    if (!s) return;
    WireSettings& w = config_.wire;
    if (auto enabled = s->boolean("enabled")) w.enabled = *enabled;
    if (const toml::node* n = s->find("interfaces")) wire_interfaces(*n, w);
    if (const toml::node* n = s->find("failure_replies")) failure_replies(*n, w);
    if (const toml::node* n = s->find("implicit_tls_ports")) implicit_tls_ports(*n, w);
    if (auto n = s->integer("max_connections", 64, 16'777'216))
      w.max_connections = static_cast<std::uint32_t>(*n);
    if (auto t = s->duration("idle_timeout", 10s, 24h)) w.idle_timeout = *t;
    s->finish();
  }

  // interfaces = ["any"] or names: 1 to 16 entries, none twice, and "any" alone (it already holds
  // every interface, so beside another name each packet would be seen twice). A name is what Linux
  // accepts: 1 to 15 bytes, no '/', ':' or white space, not "." or "..". Whether it exists is only
  // known when the capture opens (an interface may be created after the file is checked).
  void wire_interfaces(const toml::node& node, WireSettings& w) {
    const std::string path = "wire.interfaces";
    const toml::array* array = node.as_array();
    if (array == nullptr || array->empty() || array->size() > 16) {
      report_.at(
          node.source(), path,
          path + " must be a list of 1 to 16 interface names, such as [\"any\"] or [\"eth0\", \"eth1\"]");
      return;
    }
    std::vector<std::string> names;
    std::size_t index = 0;
    for (const toml::node& element : *array) {
      const std::string element_path = path + "[" + std::to_string(++index) + "]";
      std::optional<std::string> name = read_text(report_, element, element_path);
      if (!name) continue;
      const bool ok = !name->empty() && name->size() <= 15 && *name != "." && *name != ".." &&
                      std::none_of(name->begin(), name->end(), [](char c) {
                        const auto u = static_cast<unsigned char>(c);
                        return c == '/' || c == ':' || u <= 0x20 || u == 0x7F;
                      });
      if (!ok) {
        report_.at(element.source(), element_path,
                   element_path + ": " + quote(*name) +
                       " is not an interface name (1 to 15 characters, no '/', ':' or spaces), nor \"any\"");
        continue;
      }
      if (std::find(names.begin(), names.end(), *name) != names.end()) {
        report_.at(element.source(), element_path,
                   "interface " + quote(*name) + " is listed twice in " + path);
        continue;
      }
      names.push_back(*name);
    }
    if (names.size() > 1 && std::find(names.begin(), names.end(), "any") != names.end()) {
      report_.at(node.source(), path,
                 path + ": \"any\" captures every interface already; list it alone, or name the interfaces");
      return;
    }
    if (!names.empty()) w.interfaces = std::move(names);
  }

  // failure_replies = ["535"] or exact last-line prefixes such as "535 5.7.8 Error: authentication
  // failed": 1 to 16 entries, none twice, each a three-digit code, then (optionally) a space and more
  // text, at most 64 bytes of printable ASCII (wire/smtp.hpp ReplyPatterns takes the same).
  void failure_replies(const toml::node& node, WireSettings& w) {
    const std::string path = "wire.failure_replies";
    const toml::array* array = node.as_array();
    if (array == nullptr || array->empty() || array->size() > 16) {
      report_.at(node.source(), path,
                 path +
                     " must be a list of 1 to 16 replies, such as [\"535\"] or [\"535 5.7.0 authentication "
                     "failed\"]");
      return;
    }
    std::vector<std::string> replies;
    std::size_t index = 0;
    for (const toml::node& element : *array) {
      const std::string element_path = path + "[" + std::to_string(++index) + "]";
      std::optional<std::string> text = read_text(report_, element, element_path);
      if (!text) continue;
      const auto digit = [&](std::size_t i) {
        return i < text->size() && (*text)[i] >= '0' && (*text)[i] <= '9';
      };
      std::string problem;
      if (!digit(0) || !digit(1) || !digit(2)) {
        problem = "must begin with a three-digit reply code, such as 535";
      } else if (text->size() > 64) {
        problem = "is longer than 64 bytes; the start of the reply is enough to tell it apart";
      } else if (!std::all_of(text->begin(), text->end(), [](char c) { return c >= 0x20 && c < 0x7F; })) {
        problem = "must be one line of printable ASCII (SMTP replies are ASCII; no CR or LF)";
      } else if (text->size() > 3 && (*text)[3] != ' ') {
        problem = "the code must be followed by a space (a reply's last line), as in \"535 5.7.8 ...\"";
      }
      if (!problem.empty()) {
        report_.at(element.source(), element_path, element_path + ": " + quote(*text) + " " + problem);
        continue;
      }
      if (std::find(replies.begin(), replies.end(), *text) != replies.end()) {
        report_.at(element.source(), element_path, quote(*text) + " is listed twice in " + path);
        continue;
      }
      replies.push_back(*text);
    }
    if (!replies.empty()) w.failure_replies = std::move(replies);
  }

  // implicit_tls_ports = [465]: protected ports whose sessions are TLS from the first byte (none is
  // fine: []). A port that is not a [protect] port is never captured, so listing it does nothing.
  void implicit_tls_ports(const toml::node& node, WireSettings& w) {
    const std::string path = "wire.implicit_tls_ports";
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      report_.at(node.source(), path,
                 path + " must be an array of port numbers such as [465], not " + describe_type(node));
      return;
    }
    std::vector<std::uint16_t> ports;
    std::size_t index = 0;
    for (const toml::node& element : *array) {
      const std::string element_path = path + "[" + std::to_string(++index) + "]";
      const std::optional<std::int64_t> port = read_integer(report_, element, element_path, 1, 65535);
      if (!port) continue;
      const auto value = static_cast<std::uint16_t>(*port);
      if (std::find(ports.begin(), ports.end(), value) != ports.end()) {
        report_.at(element.source(), element_path,
                   "port " + std::to_string(value) + " is listed twice in " + path);
        continue;
      }
      if (std::find(config_.ports.begin(), config_.ports.end(), value) == config_.ports.end()) {
        report_.at(element.source(), element_path,
                   element_path + " has no effect: port " + std::to_string(value) +
                       " is not a protected port ([protect] ports), so the wire sensor never sees it");
        continue;
      }
      ports.push_back(value);
    }
    w.implicit_tls_ports = std::move(ports);
  }

  // [decoy]: the decoy SMTP server tarpitted sources are redirected to (docs/decoy.md).
  void decoy(Section& root) {
    core::DecoySettings& d = config_.decoy;
    d.redirected_from = config_.ports;
    std::optional<Section> s = subsection(root, "decoy", "[decoy]");
    if (s) {
      if (auto enabled = s->boolean("enabled")) d.enabled = *enabled;
      if (auto port = s->integer("port", 1, 65535)) {
        d.port = static_cast<std::uint16_t>(*port);
        if (std::find(config_.ports.begin(), config_.ports.end(), d.port) != config_.ports.end()) {
          report_.at(s->table().get("port")->source(), "decoy.port",
                     "decoy.port " + std::to_string(*port) +
                         " is a protected port ([protect] ports); the decoy needs a port of its own");
        }
      }
      if (auto mode = s->choice("mode", {"insult", "stutter", "decoy", "endless"}))
        d.mode = static_cast<core::TarpitMode>(*mode);
      if (std::optional<std::string> host = s->text("hostname")) {
        const bool ok =
            !host->empty() && host->size() <= 253 && std::all_of(host->begin(), host->end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-';
            });
        if (ok) {
          d.hostname = *host;
        } else {
          report_.at(
              s->table().get("hostname")->source(), "decoy.hostname",
              "decoy.hostname: " + quote(*host) + " is not a host name (letters, digits, '.' and '-')");
        }
      }
      if (const toml::node* n = s->find("insults")) insults(*n, d);
      if (auto p = s->number("success_probability", 0.0, 1.0)) d.success_probability = *p;
      if (auto n = s->integer("max_connections", 1, 10'000'000))
        d.max_connections = static_cast<std::uint32_t>(*n);
      if (auto n = s->integer("per_source", 1, 10'000'000)) d.per_source = static_cast<std::uint32_t>(*n);
      if (auto full = s->choice("when_full", {"close-oldest", "refuse"}))
        d.when_full = *full == 0 ? core::DecoyWhenFull::CloseOldest : core::DecoyWhenFull::Refuse;
      if (auto t = s->duration("idle_timeout", 1s, 24h)) d.idle_timeout = *t;
      if (auto t = s->duration("max_duration", 1s, 7 * 24h)) d.max_duration = *t;
      if (auto t = s->duration("reply_delay", 0s, 60s)) d.reply_delay = *t;
      if (auto t = s->duration("stutter_interval", 10ms, 60s)) d.stutter_interval = *t;
      if (auto t = s->duration("endless_interval", 1s, 5min)) d.endless_interval = *t;
      if (auto n = s->integer("output_allowance", 256, 1 << 20))
        d.output_allowance = static_cast<std::uint32_t>(*n);
      if (auto n = s->integer("output_per_input", 0, 16)) d.output_per_input = static_cast<std::uint32_t>(*n);
      if (auto n = s->integer("workers", 0, 256)) d.workers = static_cast<std::uint32_t>(*n);
      if (auto only = s->boolean("only_redirected")) d.only_redirected = *only;
      if (auto path = absolute_path(*s, "record", false)) d.record = *path;
      if (auto path = absolute_path(*s, "stats", false)) d.stats = *path;
      if (auto path = absolute_path(*s, "secret", false)) d.secret = *path;
      if (auto store = s->boolean("store_passwords")) d.store_passwords = *store;
      if (auto path = absolute_path(*s, "passwords", false)) d.passwords = *path;
      if (!d.store_passwords)
        no_effect(*s, "passwords", "store_passwords is false, so passwords are only kept hashed");
      if (d.max_duration < d.idle_timeout) {
        if (const toml::node* n = s->table().get("max_duration")) {
          report_.at(n->source(), "decoy.max_duration",
                     "decoy.max_duration (" + core::format_duration(d.max_duration) +
                         ") is shorter than idle_timeout (" + core::format_duration(d.idle_timeout) + ")");
        }
      }
      s->finish();
    }
    if (!d.enabled) {
      for (const auto& [rule, where] : tarpit_rules_) {
        report_.at(where, "rule",
                   "rule " + quote(rule) + " sends sources to the decoy, but [decoy] enabled = false");
      }
    }
    // The policy's tarpit choice (core::tarpit_choice) falls back on [decoy] mode; none when it is off.
    config_.policy.decoy_mode = d.enabled ? std::optional(d.mode) : std::nullopt;
  }

  // insults = ["...", ...]: 1 to 64 lines of printable ASCII, each at most 200 characters.
  void insults(const toml::node& node, core::DecoySettings& d) {
    const std::string path = "decoy.insults";
    const toml::array* array = node.as_array();
    if (array == nullptr || array->empty() || array->size() > 64) {
      report_.at(node.source(), path, path + " must be a list of 1 to 64 lines, such as [\"Go away\"]");
      return;
    }
    std::vector<std::string> lines;
    std::size_t index = 0;
    for (const toml::node& element : *array) {
      const std::string element_path = path + "[" + std::to_string(++index) + "]";
      std::optional<std::string> text = read_text(report_, element, element_path);
      if (!text) continue;
      const bool ok = !text->empty() && text->size() <= 200 &&
                      std::all_of(text->begin(), text->end(), [](char c) { return c >= 0x20 && c < 0x7f; });
      if (!ok) {
        report_.at(element.source(), element_path,
                   element_path + ": " + quote(*text) +
                       " must be 1 to 200 characters of printable ASCII (SMTP replies are ASCII)");
        continue;
      }
      lines.push_back(*text);
    }
    d.insults = std::move(lines);
  }

  // [[webhook]]: where decisions are POSTed (docs/webhooks.md). Any number, each checked alone.
  void webhooks(Section& root) {
    std::map<std::string, toml::source_position> names;
    each_table(root, "webhook", [&](Section& s) {
      const std::size_t errors_before = report_.count();
      WebhookSettings w;
      w.name = "webhook" + std::to_string(config_.webhooks.size() + 1);
      const std::optional<std::string> name = s.text("name");
      const std::optional<std::string> url = s.text("url", true);
      const toml::node* events = s.find("events");
      const auto format = s.choice("format", {"json", "slack"});
      const std::optional<std::filesystem::path> secret = absolute_path(s, "secret_file", false);
      const auto queue = s.integer("queue", 1, 1'000'000);
      const auto attempts = s.integer("attempts", 1, 20);
      const auto timeout = s.duration("timeout", 100ms, std::chrono::minutes(5));
      const auto backoff = s.duration("backoff", 10ms, std::chrono::minutes(10));
      if (name) {
        const toml::node& node = *s.table().get("name");
        if (!valid_name(*name)) {
          report_.at(node.source(), s.path_of("name"),
                     s.path_of("name") + ": " + quote(*name) + " is not a valid name (" +
                         std::string(kNameRule) + ")");
        } else if (auto [it, fresh] = names.emplace(*name, node.source().begin); !fresh) {
          report_.at(node.source(), s.path_of("name"),
                     "duplicate webhook name " + quote(*name) + " (first at line " +
                         std::to_string(it->second.line) + "); each webhook needs its own name");
        }
        w.name = *name;
      }
      if (url) {
        if (std::optional<std::string> problem = url_problem(*url)) {
          report_.at(s.table().get("url")->source(), s.path_of("url"), s.path_of("url") + ": " + *problem);
        }
        w.url = *url;
      }
      if (events != nullptr) w.events = webhook_events(*events, s.path_of("events"));
      if (format) w.slack = *format == 1;
      if (secret) w.secret_file = *secret;
      if (queue) w.queue = static_cast<std::size_t>(*queue);
      if (attempts) w.attempts = static_cast<int>(*attempts);
      if (timeout) w.timeout = *timeout;
      if (backoff) w.backoff = *backoff;
      if (report_.count() == errors_before) config_.webhooks.push_back(std::move(w));
    });
  }

  // What is wrong with a webhook URL, or nullopt. Accepts http:// and https:// URLs with a host, in
  // printable ASCII without spaces (libcurl takes them as they are); refuses everything else, so a
  // typo shows at load and not as a silent stream of failed POSTs.
  static std::optional<std::string> url_problem(const std::string& url) {
    const auto lower = [](std::string_view text) {
      std::string out(text);
      for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return out;
    };
    std::string_view rest;
    if (lower(std::string_view(url).substr(0, 7)) == "http://") {
      rest = std::string_view(url).substr(7);
    } else if (lower(std::string_view(url).substr(0, 8)) == "https://") {
      rest = std::string_view(url).substr(8);
    } else {
      return "must start with http:// or https://, not " + quote(url);
    }
    if (url.size() > 2048) return "is longer than 2048 bytes";
    if (!std::all_of(url.begin(), url.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
      return "must be printable ASCII without spaces (percent-encode the rest): " + quote(url);
    }
    const std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
    if (host.empty() || host.front() == ':' || host.find('@') != std::string_view::npos) {
      return "needs a host after the scheme (and no user:password@; use secret_file for a signature): " +
             quote(url);
    }
    return std::nullopt;
  }

  unsigned webhook_events(const toml::node& node, const std::string& path) {
    static constexpr std::pair<std::string_view, unsigned> kEvents[] = {{"ban", kWebhookBan},
                                                                        {"unban", kWebhookUnban},
                                                                        {"alert", kWebhookAlert},
                                                                        {"campaign", kWebhookCampaign}};
    const toml::array* array = node.as_array();
    if (array == nullptr || array->empty()) {
      report_.at(node.source(), path,
                 path +
                     " must be a non-empty list of events among \"ban\", \"unban\", \"alert\", "
                     "\"campaign\", not " +
                     describe_type(node));
      return 0;
    }
    unsigned out = 0;
    std::size_t index = 0;
    for (const toml::node& element : *array) {
      const std::string element_path = path + "[" + std::to_string(++index) + "]";
      const std::optional<std::string> text = read_text(report_, element, element_path);
      if (!text) continue;
      const auto* found = std::find_if(std::begin(kEvents), std::end(kEvents),
                                       [&](const auto& e) { return e.first == *text; });
      if (found == std::end(kEvents)) {
        std::string message = element_path + ": unknown event " + quote(*text) +
                              "; the events are \"ban\", \"unban\", \"alert\" and \"campaign\"";
        if (auto near = closest(*text, {"ban", "unban", "alert", "campaign"})) {
          message += "; did you mean " + quote(*near) + "?";
        }
        report_.at(element.source(), element_path, std::move(message));
        continue;
      }
      out |= found->second;
    }
    return out;
  }

  Report& report_;
  const LoadOptions& options_;
  Config config_;
  std::vector<std::pair<std::string, toml::source_region>> tarpit_rules_;  // rules that use the decoy
  std::vector<std::string> matcher_names_;  // every [[matcher]] name given, valid or not
};

}  // namespace

LoadResult load_config(std::string_view text, std::string_view origin, const LoadOptions& options) {
  Report report{std::string(origin)};
  report.set_homes({
      {"ports", "[protect]"},
      {"networks", "[allow]"},
      {"host_addresses", "[allow]"},
      {"on", "[[rule]]"},
      {"hits", "[[rule]]"},
      {"within", "[[rule]]"},
      {"action", "[[rule]]"},
      {"ban", "[[rule]]"},
      {"ban_factor", "[[rule]]"},
      {"ban_max", "[[rule]]"},
      {"forget_after", "[[rule]]"},
      {"extend_on_retry", "[[rule]]"},
      {"prefix4", "[[rule]]"},
      {"prefix6", "[[rule]]"},
      {"distinct", "[[rule]]"},
      {"type", "[[source]]"},
      {"format", "[[source]]"},
      {"optional", "[[source]]"},
      {"matches", "[[source]]"},
      {"directory", "[[source]]"},
      {"fallback_for", "[[source]]"},
      {"path", "[[source]] or [state]"},
      {"regex", "[[matcher]]"},
      {"kind", "[[matcher]]"},
      {"service", "[[matcher]]"},
      {"program", "[[matcher]]"},
      {"timezone", "[logs]"},
      {"max_tracked", "[engine]"},
      {"reorder_tolerance", "[engine]"},
      {"duplicate_window", "[engine]"},
      {"backend", "[enforce]"},
      {"table", "[enforce]"},
      {"reject", "[enforce]"},
      {"flush_on_exit", "[enforce]"},
      {"set_size", "[enforce]"},
      {"rate_limit", "[enforce]"},
      {"socket", "[control]"},
      {"group", "[control]"},
      {"listen", "[metrics]"},
      {"url", "[[webhook]]"},
      {"events", "[[webhook]]"},
      {"secret_file", "[[webhook]]"},
      {"attempts", "[[webhook]]"},
      {"backoff", "[[webhook]]"},
      {"decoy_mode", "[[rule]]"},
      {"tarpit_from_offence", "[[rule]]"},
      {"insults", "[decoy]"},
      {"success_probability", "[decoy]"},
      {"max_connections", "[decoy] or [wire]"},
      {"per_source", "[decoy]"},
      {"when_full", "[decoy]"},
      {"idle_timeout", "[decoy] or [wire]"},
      {"max_duration", "[decoy]"},
      {"reply_delay", "[decoy]"},
      {"stutter_interval", "[decoy]"},
      {"endless_interval", "[decoy]"},
      {"output_allowance", "[decoy]"},
      {"output_per_input", "[decoy]"},
      {"workers", "[decoy]"},
      {"only_redirected", "[decoy]"},
      {"store_passwords", "[decoy]"},
      {"passwords", "[decoy]"},
      {"hostname", "[decoy]"},
      {"port", "[decoy]"},
      {"mode", "[decoy]"},
      {"enabled", "[decoy] or [wire]"},
      {"interfaces", "[wire]"},
      {"failure_replies", "[wire]"},
      {"implicit_tls_ports", "[wire]"},
      {"record", "[decoy]"},
      {"stats", "[decoy]"},
      {"secret", "[decoy]"},
  });
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(origin));
  } catch (const toml::parse_error& error) {
    std::string message(error.description());
    report.at(error.source(), "", "TOML syntax: " + message);
    return report.take();
  }
  Loader loader(report, options, std::string(origin));
  loader.load(root);
  if (report.count() != 0) return report.take();
  return loader.take();
}

LoadResult load_config_file(const std::filesystem::path& path, const LoadOptions& options) {
  std::string text;
  int err = 0;
  if (std::optional<std::string> failure = read_small_file(path, kMaxConfigBytes, text, err)) {
    return Diagnostics{Diagnostic{path.string(), 0, 0, "", "cannot read the configuration: " + *failure}};
  }
  return load_config(text, path.string(), options);
}

Diagnostics check_config(const std::filesystem::path& path, const LoadOptions& options) {
  LoadResult result = load_config_file(path, options);
  if (auto* diagnostics = std::get_if<Diagnostics>(&result)) return std::move(*diagnostics);
  return {};
}

LoadResult load_default_config(const LoadOptions& options) {
  return load_config(default_config_text(), "<built-in>", options);
}

}  // namespace strikeout::config
