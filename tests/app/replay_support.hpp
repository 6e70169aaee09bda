// Helpers for driving run_replay() in tests: capture its output and parse its JSON lines.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app/replay.hpp"
#include "config/loader.hpp"

namespace strikeout::app::testing {

struct Captured {
  int status = 0;
  std::string out;
  std::string err;
};

inline Captured capture_replay(const ReplayOptions& options) {
  Captured c;
  char* out_buf = nullptr;
  std::size_t out_len = 0;
  char* err_buf = nullptr;
  std::size_t err_len = 0;
  std::FILE* out = open_memstream(&out_buf, &out_len);
  std::FILE* err = open_memstream(&err_buf, &err_len);
  c.status = run_replay(options, out, err);
  std::fclose(out);
  std::fclose(err);
  c.out.assign(out_buf, out_len);
  c.err.assign(err_buf, err_len);
  std::free(out_buf);
  std::free(err_buf);
  return c;
}

inline std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline config::Config load_test_config(const std::string& text) {
  config::LoadResult r = config::load_config(text, "test.toml");
  if (auto* d = std::get_if<config::Diagnostics>(&r)) {
    for (const auto& diag : *d) ADD_FAILURE() << config::format_diagnostic(diag);
    return config::Config{};
  }
  return std::get<config::Config>(std::move(r));
}

inline ReplayOptions options_from(const config::Config& cfg) {
  ReplayOptions o;
  o.policy = cfg.policy;
  o.custom = cfg.matchers;
  o.zone = cfg.logs.timezone;
  return o;
}

}  // namespace strikeout::app::testing
