#include "report/html_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "report/text_escape.hpp"

namespace strikeout::report {

namespace {

// Usernames are attacker text: beyond this many distinct ones, failures are counted as "(others)".
constexpr std::size_t kMaxUsernames = 100'000;
constexpr std::size_t kMaxCampaigns = 10'000;
constexpr std::size_t kMaxCampaignTargets = 1'000;
constexpr std::size_t kRecentBans = 25;
// The timeline has at most this many bars per series: enough to see an attack's shape on a laptop
// screen, and the page stays a few hundred kilobytes whatever the input's length.
constexpr std::size_t kMaxBins = 300;
constexpr std::uint64_t kHashSeed = 0x5354524b5245504fULL;  // fixed: the same input gives the same page

constexpr double kWidth = 960;
constexpr double kLeft = 64;  // room for the y axis' labels
constexpr double kRight = 12;

std::string html(std::string_view text) {
  std::string out;
  append_html_escaped(out, text);
  return out;
}

// Attacker text as the rest of strikeout shows it: quoted, printable ASCII; then HTML-escaped.
std::string quoted_html(std::string_view text) {
  std::string q;
  append_quoted(q, text);
  return html(q);
}

std::string minute_text(std::int64_t minute) {
  // "2026-11-27T01:45:00Z" -> "2026-11-27 01:45"
  std::string t = core::format_rfc3339(core::from_seconds(minute * 60));
  t.resize(16);
  t[10] = ' ';
  return t;
}

std::string time_text(core::Time t) {
  return core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(t));
}

std::string count_text(std::uint64_t n) {  // 1234567 -> "1,234,567"
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

template <typename Key>
std::vector<std::pair<Key, std::uint64_t>> top_of(std::vector<std::pair<Key, std::uint64_t>> entries,
                                                  std::size_t n) {
  using Entry = std::pair<Key, std::uint64_t>;
  const std::size_t keep = std::min(n, entries.size());
  std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(keep), entries.end(),
                    [](const Entry& a, const Entry& b) {
                      return a.second != b.second ? a.second > b.second : a.first < b.first;
                    });
  entries.resize(keep);
  return entries;
}

template <typename Map>
auto top_entries(const Map& map, std::size_t n) {
  return top_of(std::vector<std::pair<typename Map::key_type, std::uint64_t>>(map.begin(), map.end()), n);
}

// A horizontal bar chart: one row per (label, value); labels are HTML already. `css` names the bar colour.
std::string render_bars(const std::vector<std::pair<std::string, std::uint64_t>>& rows,
                        std::string_view css) {
  if (rows.empty()) return "<p class=\"none\">none</p>\n";
  constexpr double kRow = 20;
  constexpr double kLabel = 300;
  constexpr double kBarMax = kWidth - kLabel - 110;
  std::uint64_t max = 1;
  for (const auto& row : rows) max = std::max(max, row.second);
  const double height = kRow * static_cast<double>(rows.size()) + 4;
  std::string out = fmt::format(
      "<svg class=\"plot bars\" role=\"img\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">\n", kWidth,
      height);
  double y = 2;
  for (const auto& [label, value] : rows) {
    const double w = std::max(1.0, kBarMax * static_cast<double>(value) / static_cast<double>(max));
    out += fmt::format(
        "<text x=\"{:.0f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>"
        "<rect class=\"{}\" x=\"{:.0f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.0f}\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        kLabel - 8, y + 14, label, css, kLabel, y + 2, w, kRow - 4, kLabel + w + 6, y + 14,
        count_text(value));
    y += kRow;
  }
  out += "</svg>\n";
  return out;
}

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#1d1d1f;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.meta{color:#555}.none{color:#777}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:6px 12px;min-width:110px}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;margin:6px 0}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}
td.n,th.n{text-align:right}code{font-size:13px}
svg.plot text{font:12px system-ui,sans-serif;fill:#333}
.axis{stroke:#999;stroke-width:1}.grid{stroke:#eee;stroke-width:1}
.failures{fill:#c0392b}.strikes{fill:#e67e22}.bans{fill:#2c3e50}.sensors{fill:#2980b9}.users{fill:#8e44ad}
.nets{fill:#16a085}
)";

}  // namespace

void append_html_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

std::size_t HtmlReport::PrefixHash::operator()(const core::Prefix& p) const {
  return static_cast<std::size_t>(core::hash_address(p.address(), kHashSeed) ^ p.length());
}

HtmlReport::HtmlReport(std::vector<std::string> campaign_rules, std::size_t top)
    : campaign_rules_(std::move(campaign_rules)), top_(top) {}

HtmlReport::Bucket& HtmlReport::bucket_at(core::Time t) {
  const std::int64_t minute = std::chrono::floor<std::chrono::minutes>(t).time_since_epoch().count();
  if (minute != last_minute_ || last_bucket_ == nullptr) {
    last_bucket_ = &minutes_[minute];  // std::map: the pointer stays valid as others are added
    last_minute_ = minute;
  }
  first_ = std::min(first_, t);
  last_ = std::max(last_, t);
  return *last_bucket_;
}

void HtmlReport::add_event(const core::Event& e) {
  const std::string_view kind = core::to_string(e.kind);
  const std::string_view sensor = e.sensor.empty() ? std::string_view("-") : e.sensor;
  // A handful of (sensor, kind) pairs exist; find() with a pair of strings would allocate per event.
  bool found = false;
  for (auto& [key, n] : by_sensor_) {
    if (key.first == sensor && key.second == kind) {
      n += e.count;
      found = true;
      break;
    }
  }
  if (!found) by_sensor_[{std::string(sensor), std::string(kind)}] += e.count;

  if (e.kind == core::EventKind::AuthSuccess) {
    successes_ += e.count;
    return;
  }
  if (e.kind != core::EventKind::AuthFailure) return;
  failures_ += e.count;
  bucket_at(e.time).failures += e.count;
  by_address_[core::Prefix::host(e.source)] += e.count;
  by_network_[core::Prefix(e.source, e.source.is_v4() ? 24U : 64U)] += e.count;
  if (e.user.empty()) return;
  std::string& user = user_buffer_;
  user.assign(e.user.substr(0, 256));
  for (char& ch : user) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  auto it = by_user_.find(user);
  if (it != by_user_.end()) {
    it->second += e.count;
  } else if (by_user_.size() < kMaxUsernames) {
    by_user_.emplace(user, e.count);
  } else {
    other_users_ += e.count;
  }
}

void HtmlReport::add_sensor_count(std::string_view sensor, std::string_view kind, std::uint64_t count) {
  by_sensor_[{std::string(sensor), std::string(kind)}] += count;
  if (kind == core::to_string(core::EventKind::AuthFailure)) failures_ += count;
  if (kind == core::to_string(core::EventKind::AuthSuccess)) successes_ += count;
}

void HtmlReport::add_decision(const core::Decision& d) {
  switch (d.kind) {
    case core::DecisionKind::Strike:
      ++strikes_;
      ++bucket_at(d.time).strikes;
      return;
    case core::DecisionKind::Unban:
      ++unbans_;
      return;
    case core::DecisionKind::Ban:
      break;
  }
  if (d.extended) {
    ++extensions_;
    return;
  }
  ++bans_;
  ++bucket_at(d.time).bans;
  ++bans_by_rule_[d.rule];
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(d.until - d.time).count();
  ++ban_lengths_[{d.rule, seconds}];
  ++bans_by_offence_[d.offence];
  if (recent_bans_.size() == kRecentBans) recent_bans_.erase(recent_bans_.begin());
  recent_bans_.push_back(d);

  const bool campaign =
      std::find(campaign_rules_.begin(), campaign_rules_.end(), d.rule) != campaign_rules_.end();
  if (!campaign) return;
  // From the daemon's list a ban carries its reason but not the username: the reason names it then.
  std::string user = (d.user.empty() ? d.reason : d.user).substr(0, 256);
  for (char& ch : user) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  auto it = campaigns_.find(user);
  if (it == campaigns_.end()) {
    if (campaigns_.size() >= kMaxCampaigns) return;
    it = campaigns_.emplace(user, Campaign{d.rule, 0, d.time, d.time, {}}).first;
  }
  Campaign& c = it->second;
  ++c.bans;
  c.first = std::min(c.first, d.time);
  c.last = std::max(c.last, d.time);
  if (c.targets.size() < kMaxCampaignTargets) c.targets.push_back(d.target);
}

// Failures, strikes and bans on one time axis: three panels, one above the other, sharing the x axis.
std::string HtmlReport::render_timeline() const {
  if (minutes_.empty()) return "<p class=\"none\">no failures, strikes or bans to plot</p>\n";
  const std::int64_t first = minutes_.begin()->first;
  const std::int64_t last = minutes_.rbegin()->first;
  static constexpr std::array<std::int64_t, 12> kBinMinutes{1,   5,   15,   30,    60,    180,
                                                            360, 720, 1440, 10080, 43200, 525600};
  std::int64_t bin = kBinMinutes.back();
  for (const std::int64_t b : kBinMinutes) {
    if ((last - first) / b + 1 <= static_cast<std::int64_t>(kMaxBins)) {
      bin = b;
      break;
    }
  }
  const std::int64_t start = first - (first % bin + bin) % bin;  // aligned on the bin (UTC)
  const auto nbins = static_cast<std::size_t>((last - start) / bin + 1);
  std::vector<Bucket> bins(nbins);
  for (const auto& [minute, b] : minutes_) {
    Bucket& to = bins[static_cast<std::size_t>((minute - start) / bin)];
    to.failures += b.failures;
    to.strikes += b.strikes;
    to.bans += b.bans;
  }

  constexpr double kPanel = 96;
  constexpr double kGap = 30;
  constexpr double kAxis = 34;
  const double plot_w = kWidth - kLeft - kRight;
  const double bar_w = plot_w / static_cast<double>(nbins);
  const double height = 3 * (kPanel + kGap) + kAxis;
  const std::string per = core::format_duration(std::chrono::minutes(bin));
  std::string out = fmt::format(
      "<svg class=\"plot timeline\" role=\"img\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">\n",
      kWidth, height);

  struct Series {
    const char* name;
    const char* css;
    std::uint64_t Bucket::*field;
  };
  const std::array<Series, 3> series{Series{"auth failures", "failures", &Bucket::failures},
                                     Series{"strikes", "strikes", &Bucket::strikes},
                                     Series{"bans", "bans", &Bucket::bans}};
  double top = kGap - 8;
  for (const Series& s : series) {
    std::uint64_t max = 0;
    std::uint64_t total = 0;
    for (const Bucket& b : bins) {
      max = std::max(max, b.*s.field);
      total += b.*s.field;
    }
    const double base = top + kPanel;
    out += fmt::format(
        "<text x=\"{:.0f}\" y=\"{:.0f}\" font-weight=\"bold\">{} per {} ({} in all)</text>\n"
        "<line class=\"grid\" x1=\"{:.0f}\" y1=\"{:.0f}\" x2=\"{:.0f}\" y2=\"{:.0f}\"/>"
        "<line class=\"axis\" x1=\"{:.0f}\" y1=\"{:.0f}\" x2=\"{:.0f}\" y2=\"{:.0f}\"/>"
        "<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"end\">{}</text>"
        "<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"end\">0</text>\n",
        kLeft, top - 6, s.name, per, count_text(total), kLeft, top, kWidth - kRight, top, kLeft, base,
        kWidth - kRight, base, kLeft - 6, top + 10, count_text(max), kLeft - 6, base);
    // One path per series: a bar per non-empty bin, so the page stays small for long inputs.
    std::string d;
    if (max > 0) {
      for (std::size_t i = 0; i < nbins; ++i) {
        const std::uint64_t v = bins[i].*s.field;
        if (v == 0) continue;
        const double h = std::max(1.0, kPanel * static_cast<double>(v) / static_cast<double>(max));
        const double x = kLeft + bar_w * static_cast<double>(i);
        d += fmt::format("M{:.1f} {:.1f}h{:.2f}v{:.1f}h{:.2f}z", x, base - h, std::max(bar_w - 0.3, 0.7), h,
                         -std::max(bar_w - 0.3, 0.7));
      }
    }
    out += fmt::format("<path class=\"{}\" d=\"{}\"/>\n", s.css, d);
    top += kPanel + kGap;
  }
  // The shared time axis: up to 7 labelled ticks on bin boundaries.
  const double axis_y = top - kGap + 6;
  const std::size_t step = std::max<std::size_t>(1, (nbins + 5) / 6);
  for (std::size_t i = 0; i <= nbins; i += step) {
    const double x = kLeft + bar_w * static_cast<double>(i);
    out += fmt::format(
        "<line class=\"axis\" x1=\"{0:.1f}\" y1=\"{1:.0f}\" x2=\"{0:.1f}\" y2=\"{2:.0f}\"/>"
        "<text x=\"{0:.1f}\" y=\"{3:.0f}\" text-anchor=\"{5}\">{4}</text>\n",
        x, axis_y - 6, axis_y, axis_y + 14, minute_text(start + static_cast<std::int64_t>(i) * bin),
        i + step > nbins && i > 0 ? "end" : "middle");  // the last label stays inside the picture
  }
  out += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"end\">UTC</text>\n", kWidth - kRight,
                     axis_y + 28);
  out += "</svg>\n";
  return out;
}

std::string HtmlReport::render(const ReportSource& source) const {
  std::string out;
  out.reserve(256 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  // The page may load nothing: no script, no image, no font, no connection of any kind.
  out +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "img-src data:\">\n<meta name=\"referrer\" content=\"no-referrer\">\n";
  out += fmt::format("<title>{}</title>\n<style>{}</style></head><body>\n", html(source.title), kStyle);
  out += fmt::format("<h1>{}</h1>\n<p class=\"meta\">{}", html(source.title), html(source.origin));
  if (!source.generated.empty()) out += fmt::format("; written {}", html(source.generated));
  if (first_ <= last_) out += fmt::format("; events from {} to {}", time_text(first_), time_text(last_));
  out += "</p>\n";
  for (const auto& note : source.notes) out += fmt::format("<p class=\"meta\">{}</p>\n", html(note));

  out += "<div class=\"cards\">\n";
  auto card = [&out](std::string_view name, std::uint64_t n) {
    out += fmt::format("<div class=\"card\"><b>{}</b>{}</div>\n", count_text(n), name);
  };
  if (source.lines_read > 0) {
    card("lines read", source.lines_read);
    card("lines with an event", source.lines_with_event);
  }
  card("auth failures", failures_);
  card("auth successes", successes_);
  card("addresses failing", by_address_.size());
  card("strikes", strikes_);
  card("bans", bans_);
  card("ban extensions", extensions_);
  card("unbans", unbans_);
  out += "</div>\n";

  out += "<h2 id=\"timeline\">Failures, strikes and bans over time</h2>\n";
  out += render_timeline();

  auto prefix_rows = [this](const auto& map) {
    std::vector<std::pair<std::string, std::uint64_t>> rows;
    for (const auto& [p, n] : top_entries(map, top_)) rows.emplace_back(html(p.to_string()), n);
    return rows;
  };
  out += fmt::format("<h2 id=\"addresses\">Top {} addresses (auth failures)</h2>\n", top_);
  out += render_bars(prefix_rows(by_address_), "failures");
  out += fmt::format("<h2 id=\"networks\">Top {} networks (/24, /64; auth failures)</h2>\n", top_);
  out += render_bars(prefix_rows(by_network_), "nets");
  out += fmt::format("<h2 id=\"usernames\">Top {} usernames tried (auth failures)</h2>\n", top_);
  {
    std::vector<std::pair<std::string, std::uint64_t>> rows;
    for (const auto& [user, n] : top_entries(by_user_, top_)) rows.emplace_back(quoted_html(user), n);
    out += render_bars(rows, "users");
    if (other_users_ > 0) {
      out += fmt::format(
          "<p class=\"meta\">{} more failures with usernames beyond the first {} distinct ones</p>\n",
          count_text(other_users_), count_text(kMaxUsernames));
    }
  }

  out += "<h2 id=\"campaigns\">Campaigns (one username from many sources)</h2>\n";
  if (campaigns_.empty()) {
    out += "<p class=\"none\">none</p>\n";
  } else {
    std::vector<std::pair<std::string, const Campaign*>> list;
    for (const auto& [user, c] : campaigns_) list.emplace_back(user, &c);
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
      return a.second->bans != b.second->bans ? a.second->bans > b.second->bans : a.first < b.first;
    });
    out +=
        "<table><tr><th>username</th><th>rule</th><th class=\"n\">bans</th><th>first</th><th>last</th>"
        "<th>sources banned (first 10)</th></tr>\n";
    for (std::size_t i = 0; i < list.size() && i < top_; ++i) {
      const Campaign& c = *list[i].second;
      std::string targets;
      for (std::size_t t = 0; t < c.targets.size() && t < 10; ++t) {
        if (t > 0) targets += ", ";
        targets += html(c.targets[t].to_string());
      }
      out += fmt::format(
          "<tr><td><code>{}</code></td><td>{}</td><td "
          "class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
          quoted_html(list[i].first), html(c.rule), count_text(c.bans), time_text(c.first), time_text(c.last),
          targets);
    }
    out += "</table>\n";
  }

  out += "<h2 id=\"sensors\">What each sensor saw</h2>\n";
  {
    std::map<std::string, std::uint64_t> totals;
    for (const auto& [key, n] : by_sensor_) totals[key.first] += n;
    std::vector<std::pair<std::string, std::uint64_t>> rows;
    for (const auto& [sensor, n] : totals) rows.emplace_back(html(sensor), n);
    out += render_bars(rows, "sensors");
    if (!by_sensor_.empty()) {
      out += "<table><tr><th>sensor</th><th>event</th><th class=\"n\">events</th></tr>\n";
      for (const auto& [key, n] : by_sensor_) {
        out += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>\n", html(key.first),
                           html(key.second), count_text(n));
      }
      out += "</table>\n";
    }
  }

  out += "<h2 id=\"bans\">Bans by rule and length</h2>\n";
  {
    std::vector<std::pair<std::string, std::uint64_t>> rows;
    for (const auto& [rule, n] : bans_by_rule_) rows.emplace_back(html(rule), n);
    out += render_bars(rows, "bans");
    rows.clear();
    for (const auto& [key, n] : ban_lengths_) {
      rows.emplace_back(
          html(key.first) + " &#183; " + html(core::format_duration(std::chrono::seconds(key.second))), n);
    }
    out +=
        "<p class=\"meta\">Ban lengths (escalated bans are longer: each further offence multiplies the "
        "rule's ban):</p>\n";
    out += render_bars(rows, "bans");
    if (!bans_by_offence_.empty()) {
      out += "<table><tr><th>offence</th><th class=\"n\">bans</th></tr>\n";
      for (const auto& [offence, n] : bans_by_offence_) {
        out += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td></tr>\n", offence, count_text(n));
      }
      out += "</table>\n";
    }
  }

  out += fmt::format("<h2 id=\"recent\">The last {} bans</h2>\n", kRecentBans);
  if (recent_bans_.empty()) {
    out += "<p class=\"none\">none</p>\n";
  } else {
    out +=
        "<table><tr><th>since</th><th>target</th><th>rule</th><th>length</th><th class=\"n\">offence</th>"
        "<th>reason</th></tr>\n";
    for (auto it = recent_bans_.rbegin(); it != recent_bans_.rend(); ++it) {
      const core::Decision& d = *it;
      out += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>", time_text(d.time),
          html(d.target.to_string()), html(d.rule),
          html(core::format_duration(std::chrono::duration_cast<std::chrono::seconds>(d.until - d.time))),
          d.offence);
      // The reason may quote a username: printable ASCII as every log line writes it, then escaped.
      std::string reason;
      for (const char c : d.reason) reason += (c >= 0x20 && c < 0x7f) ? c : '?';
      out += html(reason);
      out += "</td></tr>\n";
    }
    out += "</table>\n";
  }
  out += "<p class=\"meta\">Written by strikeout report; this page loads nothing from anywhere.</p>\n";
  out += "</body></html>\n";
  return out;
}

}  // namespace strikeout::report
