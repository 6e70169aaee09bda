// `strikeout decoy report`: what the decoy has held and learnt, from its stats file (counters, rewritten
// every 5 s by the running decoy) and its record file (one line per AUTH attempt, and its rotated .1).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "decoy/options.hpp"

namespace strikeout::decoy {

struct DecoyReport {
  bool have_stats = false;             // the stats file was there
  std::string stats_time;              // when the decoy last wrote it
  std::uint64_t connections_open = 0;  // held at that time
  std::uint64_t connections_peak = 0;
  std::uint64_t connections_total = 0;
  std::uint64_t time_wasted_us = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t refused_not_redirected = 0;
  std::uint64_t attempts = 0;  // lines of the record files
  std::uint64_t fake_successes = 0;
  std::uint64_t without_password = 0;
  std::uint64_t sources = 0;  // distinct source addresses in the records
  std::uint64_t unreadable_lines = 0;
  std::vector<std::pair<std::string, std::uint64_t>> top_users;      // escaped text, count
  std::vector<std::pair<std::string, std::uint64_t>> top_passwords;  // salted hash, count
};

// Reads the files the options name. Missing files give an empty report; `error` is set only when a file
// exists but cannot be read.
DecoyReport read_report(const DecoyOptions& options, std::size_t top, std::string& error);

void print_report_text(const DecoyReport& r, std::FILE* out);
void print_report_json(const DecoyReport& r, std::FILE* out);

}  // namespace strikeout::decoy
