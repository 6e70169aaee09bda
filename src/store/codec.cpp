#include "store/codec.hpp"

#include <algorithm>
#include <cstring>

namespace strikeout::store {

namespace {

void put64(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t get64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint32_t get32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
core::Time get_time(const std::uint8_t* p) {
  return core::from_micros(static_cast<std::int64_t>(get64(p)));
}

constexpr std::uint8_t kLastReporter = static_cast<std::uint8_t>(core::kReporters.size() - 1);
constexpr std::uint8_t kKnownFlags = 0x0f;

}  // namespace

std::optional<core::Prefix> decode_prefix(std::string_view text, std::string& error) {
  auto p = core::Prefix::parse(text, true);
  if (!p) {
    std::string shown;
    for (char c : text.substr(0, 64)) shown.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    error = "\"" + shown + "\" is not an address or network";
    return std::nullopt;
  }
  return p;
}

Bytes encode_times(std::span<const core::Time> times) {
  Bytes out;
  out.reserve(times.size() * 8);
  for (const core::Time t : times) put64(out, static_cast<std::uint64_t>(core::to_micros(t)));
  return out;
}

std::optional<std::vector<core::Time>> decode_times(std::span<const std::uint8_t> blob, std::string& error) {
  if (blob.empty() || blob.size() % 8 != 0) {
    error = "window timestamps: " + std::to_string(blob.size()) + " bytes is not a positive multiple of 8";
    return std::nullopt;
  }
  const std::size_t n = blob.size() / 8;
  if (n > kMaxWindowTimes) {
    error =
        "window timestamps: " + std::to_string(n) + " of them, more than " + std::to_string(kMaxWindowTimes);
    return std::nullopt;
  }
  std::vector<core::Time> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const core::Time t = get_time(blob.data() + 8 * i);
    if (!out.empty() && t < out.back()) {
      error = "window timestamps: number " + std::to_string(i + 1) + " is before the one ahead of it";
      return std::nullopt;
    }
    out.push_back(t);
  }
  return out;
}

Bytes encode_campaign_sources(std::span<const core::SavedCampaignSource> sources) {
  Bytes out;
  out.reserve(sources.size() * kCampaignSourceBytes);
  for (const auto& s : sources) {
    const auto& b = s.source.address().bytes();
    out.insert(out.end(), b.begin(), b.end());
    out.push_back(static_cast<std::uint8_t>(s.source.length()));
    put64(out, static_cast<std::uint64_t>(core::to_micros(s.last)));
  }
  return out;
}

std::optional<std::vector<core::SavedCampaignSource>> decode_campaign_sources(
    std::span<const std::uint8_t> blob, std::string& error) {
  if (blob.size() % kCampaignSourceBytes != 0) {
    error = "campaign sources: " + std::to_string(blob.size()) + " bytes is not a multiple of 25";
    return std::nullopt;
  }
  const std::size_t n = blob.size() / kCampaignSourceBytes;
  if (n > kMaxCampaignSources) {
    error = "campaign sources: " + std::to_string(n) + " of them, more than " +
            std::to_string(kMaxCampaignSources);
    return std::nullopt;
  }
  std::vector<core::SavedCampaignSource> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = blob.data() + i * kCampaignSourceBytes;
    core::Address::Bytes bytes;
    std::memcpy(bytes.data(), p, 16);
    const core::Address a = core::Address::from_bytes(bytes);
    const unsigned len = p[16];
    const std::string where = "campaign source " + std::to_string(i + 1) + ": ";
    if (len > (a.is_v4() ? 32U : 128U)) {
      error = where + "prefix length " + std::to_string(len) + " is too long for " + a.to_string();
      return std::nullopt;
    }
    const core::Prefix prefix{a, len};
    if (prefix.address() != a) {
      error = where + a.to_string() + " has host bits set after /" + std::to_string(len);
      return std::nullopt;
    }
    if (std::any_of(out.begin(), out.end(),
                    [&](const core::SavedCampaignSource& s) { return s.source == prefix; })) {
      error = where + prefix.to_string() + " is listed twice";
      return std::nullopt;
    }
    out.push_back(core::SavedCampaignSource{prefix, get_time(p + 17)});
  }
  return out;
}

Bytes encode_reports(std::span<const core::SavedReport> reports) {
  Bytes out;
  out.reserve(reports.size() * kReportBytes);
  for (const auto& r : reports) {
    put64(out, static_cast<std::uint64_t>(core::to_micros(r.time)));
    put32(out, r.user_hash);
    out.push_back(r.reporter);
    out.push_back(r.flags);
    out.push_back(0);
    out.push_back(0);
  }
  return out;
}

std::optional<std::vector<core::SavedReport>> decode_reports(std::span<const std::uint8_t> blob,
                                                             std::string& error) {
  if (blob.empty() || blob.size() % kReportBytes != 0 || blob.size() / kReportBytes > kMaxReports) {
    error = "pairing reports: " + std::to_string(blob.size()) + " bytes is not 1 to 4 records of 16 bytes";
    return std::nullopt;
  }
  std::vector<core::SavedReport> out;
  for (std::size_t i = 0; i < blob.size() / kReportBytes; ++i) {
    const std::uint8_t* p = blob.data() + i * kReportBytes;
    const std::string where = "pairing report " + std::to_string(i + 1) + ": ";
    if (p[12] > kLastReporter) {
      error = where + "reporter " + std::to_string(p[12]) + " is not known";
      return std::nullopt;
    }
    if ((p[13] & ~kKnownFlags) != 0 || p[14] != 0 || p[15] != 0) {
      error = where + "unknown flag or padding bits";
      return std::nullopt;
    }
    out.push_back(core::SavedReport{get_time(p), get32(p + 8), p[12], p[13]});
  }
  return out;
}

}  // namespace strikeout::store
