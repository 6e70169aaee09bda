#include "decoy/report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/time.hpp"
#include "decoy/records.hpp"

namespace strikeout::decoy {
namespace {

std::vector<std::pair<std::string, std::uint64_t>> top_of(
    const std::unordered_map<std::string, std::uint64_t>& counts, std::size_t top) {
  std::vector<std::pair<std::string, std::uint64_t>> v(counts.begin(), counts.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (v.size() > top) v.resize(top);
  return v;
}

std::uint64_t get_u64(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

}  // namespace

DecoyReport read_report(const DecoyOptions& options, std::size_t top, std::string& error) {
  DecoyReport r;
  error.clear();
  if (std::ifstream stats(options.stats); stats) {
    std::stringstream text;
    text << stats.rdbuf();
    const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
    if (j.is_object()) {
      r.have_stats = true;
      if (auto it = j.find("time"); it != j.end() && it->is_string()) r.stats_time = it->get<std::string>();
      r.connections_open = get_u64(j, "connections_open");
      r.connections_peak = get_u64(j, "connections_peak");
      r.connections_total = get_u64(j, "connections_total");
      r.time_wasted_us = get_u64(j, "time_wasted_us");
      r.bytes_sent = get_u64(j, "bytes_out");
      r.bytes_received = get_u64(j, "bytes_in");
      r.refused_not_redirected = get_u64(j, "refused_not_redirected");
    } else {
      error = options.stats.string() + ": not the decoy's stats (JSON object expected)";
    }
  }
  std::unordered_map<std::string, std::uint64_t> users, passwords;
  std::unordered_set<std::string> sources;
  std::filesystem::path rotated = options.record;
  rotated += ".1";
  for (const auto& path : {rotated, options.record}) {
    std::ifstream in(path);
    if (!in) {
      if (errno != ENOENT && std::filesystem::exists(path) && error.empty())
        error = path.string() + ": " + std::strerror(errno);
      continue;
    }
    std::string line;
    while (std::getline(in, line)) {
      const auto rec = parse_record_line(line);
      if (!rec) {
        ++r.unreadable_lines;
        continue;
      }
      ++r.attempts;
      sources.insert(rec->source);
      if (rec->outcome == "fake-success") ++r.fake_successes;
      if (rec->outcome == "no-password") ++r.without_password;
      if (!rec->user.empty()) ++users[rec->user];
      if (!rec->password_hash.empty()) ++passwords[rec->password_hash];
    }
  }
  r.sources = sources.size();
  r.top_users = top_of(users, top);
  r.top_passwords = top_of(passwords, top);
  return r;
}

void print_report_text(const DecoyReport& r, std::FILE* out) {
  if (r.have_stats) {
    std::fprintf(out, "decoy counters as of %s\n", r.stats_time.c_str());
    std::fprintf(out, "  connections held now   %llu (peak %llu, %llu since start)\n",
                 static_cast<unsigned long long>(r.connections_open),
                 static_cast<unsigned long long>(r.connections_peak),
                 static_cast<unsigned long long>(r.connections_total));
    std::fprintf(out, "  attackers' time wasted %s\n",
                 core::format_duration(std::chrono::duration_cast<std::chrono::seconds>(
                                           core::Duration(static_cast<std::int64_t>(r.time_wasted_us))))
                     .c_str());
    std::fprintf(out, "  bytes sent             %llu (received %llu)\n",
                 static_cast<unsigned long long>(r.bytes_sent),
                 static_cast<unsigned long long>(r.bytes_received));
    if (r.refused_not_redirected != 0)
      std::fprintf(out, "  refused (not redirected) %llu\n",
                   static_cast<unsigned long long>(r.refused_not_redirected));
  } else {
    std::fprintf(out,
                 "decoy counters: none yet (the decoy has not run, or [decoy] stats names another file)\n");
  }
  std::fprintf(
      out,
      "AUTH attempts recorded   %llu from %llu sources; fake successes given %llu; without a password %llu\n",
      static_cast<unsigned long long>(r.attempts), static_cast<unsigned long long>(r.sources),
      static_cast<unsigned long long>(r.fake_successes), static_cast<unsigned long long>(r.without_password));
  std::fprintf(out, "top usernames:\n");
  for (const auto& [user, n] : r.top_users)
    std::fprintf(out, "  %8llu  %s\n", static_cast<unsigned long long>(n), user.c_str());
  std::fprintf(out, "top passwords (salted hash):\n");
  for (const auto& [hash, n] : r.top_passwords)
    std::fprintf(out, "  %8llu  %s\n", static_cast<unsigned long long>(n), hash.c_str());
  if (r.unreadable_lines != 0)
    std::fprintf(out, "(%llu unreadable lines in the record files were skipped)\n",
                 static_cast<unsigned long long>(r.unreadable_lines));
}

void print_report_json(const DecoyReport& r, std::FILE* out) {
  nlohmann::json j;
  j["stats_time"] = r.have_stats ? nlohmann::json(r.stats_time) : nlohmann::json(nullptr);
  j["connections_open"] = r.connections_open;
  j["connections_peak"] = r.connections_peak;
  j["connections_total"] = r.connections_total;
  j["time_wasted_seconds"] = static_cast<double>(r.time_wasted_us) / 1e6;
  j["bytes_sent"] = r.bytes_sent;
  j["bytes_received"] = r.bytes_received;
  j["refused_not_redirected"] = r.refused_not_redirected;
  j["auth_attempts"] = r.attempts;
  j["sources"] = r.sources;
  j["fake_successes"] = r.fake_successes;
  j["without_password"] = r.without_password;
  j["top_usernames"] = nlohmann::json::array();
  for (const auto& [user, n] : r.top_users) j["top_usernames"].push_back({{"username", user}, {"count", n}});
  j["top_passwords"] = nlohmann::json::array();
  for (const auto& [hash, n] : r.top_passwords) j["top_passwords"].push_back({{"hash", hash}, {"count", n}});
  j["unreadable_lines"] = r.unreadable_lines;
  std::fprintf(out, "%s\n", j.dump().c_str());
}

}  // namespace strikeout::decoy
