// Loading strikeout.toml: TOML (toml++) in, a validated Config or every mistake at once out.
//
// The loader checks the whole file before refusing it: every unknown key (a typo must never switch
// protection off silently), every value of the wrong type or out of range, every rule that could not
// work. A TOML syntax error stops the parse, so it is reported alone, at its position.
#pragma once

#include <filesystem>
#include <string_view>
#include <variant>

#include "config/config.hpp"
#include "config/diagnostic.hpp"

namespace strikeout::config {

// Where the loader reads time zones. Tests point these at their own files.
struct LoadOptions {
  std::filesystem::path zoneinfo_dir = "/usr/share/zoneinfo";  // IANA names resolve under here
  std::filesystem::path localtime = "/etc/localtime";          // timezone = "local"
};

// Either the configuration, or at least one Diagnostic (sorted by position; whole-file ones last).
using LoadResult = std::variant<Config, Diagnostics>;

// Where the daemon and check-config look without a FILE argument.
inline constexpr std::string_view default_config_path = "/etc/strikeout/strikeout.toml";

// Parses and validates `text`; `origin` names it in diagnostics and Config::origin. Reads only the
// time zone file that [logs] timezone names. Never throws on any input (bytes that are not UTF-8,
// TOML nested too deeply, numbers out of range: each is a Diagnostic).
LoadResult load_config(std::string_view text, std::string_view origin, const LoadOptions& options = {});

// Reads `path` (at most 4 MiB) and loads it. An unreadable file is one Diagnostic naming it and why.
LoadResult load_config_file(const std::filesystem::path& path, const LoadOptions& options = {});

// `strikeout check-config [FILE]`: every mistake in the file; empty when the daemon would accept it.
Diagnostics check_config(const std::filesystem::path& path, const LoadOptions& options = {});

// The default configuration, byte for byte the etc/strikeout.toml the program was built from.
std::string_view default_config_text();

// The default configuration, loaded (origin "<built-in>"). Fails only if the host's local time zone
// file is unreadable.
LoadResult load_default_config(const LoadOptions& options = {});

}  // namespace strikeout::config
