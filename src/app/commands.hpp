// The CLI's commands as functions: parsed options in, output to the given streams, exit code out.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace strikeout::app {

inline constexpr const char* kDefaultConfigPath = "/etc/strikeout/strikeout.toml";

struct ReplayCommand {
  std::string config_path;  // empty: the built-in default configuration
  bool json = false;
  std::optional<int> year;
  std::string format = "auto";
  std::size_t top = 10;
  std::vector<std::string> files;
  std::vector<std::string> pcap_files;  // --pcap: packet captures read by the wire sensor
  bool progress = false;
  unsigned jobs = 0;  // 0: one per core
};

// Loads the configuration (errors are printed, exit 1), then replays. See replay.hpp.
int run_replay_command(const ReplayCommand& command, std::FILE* out, std::FILE* err);

// Prints every diagnostic of the file and returns 1 if there is any, 0 if the file is valid.
int run_check_config(const std::string& path, bool json, std::FILE* out, std::FILE* err);

int print_default_config(std::FILE* out);

}  // namespace strikeout::app
