#include "core/dedup.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <vector>

#include "core/username.hpp"

namespace strikeout::core::detail {

namespace {
constexpr std::uint8_t kUsed = 1;
constexpr std::uint8_t kUserKnown = 2;
constexpr std::uint8_t kPaired = 4;  // already matched with a partner from another reporter
constexpr std::uint8_t kSummed = 8;  // already subtracted from a summary
}  // namespace

DuplicateFilter::DuplicateFilter(Duration window, std::uint64_t seed, std::uint64_t max_addresses)
    : window_(window < Duration::zero() ? Duration::zero() : window),
      retention_(window_ + kSummaryLookback),
      seed_(seed),
      max_addresses_(max_addresses),
      table_(kRecords * sizeof(Record), seed) {}

std::uint32_t DuplicateFilter::admit(const Event& e) {
  const std::uint32_t attempts = e.count == 0 ? 1 : e.count;
  const std::int64_t t = to_micros(e.time);
  const std::int64_t w = window_.count();
  char folded_buf[kMaxUsernameBytes];
  const bool user_known = !e.user.empty();
  const auto user_hash =
      user_known ? static_cast<std::uint32_t>(hash_folded(fold_username(e.user, folded_buf), seed_)) : 0U;
  auto users_match = [&](const Record& r) {
    return !user_known || (r.flags & kUserKnown) == 0 || r.user_hash == user_hash;
  };

  std::size_t slot = table_.find(e.source);
  if (slot == AddressTable::npos) {
    if (attempts > 1) return attempts;  // nothing seen from there: the summary counts whole
    if (table_.size() >= max_addresses_) {
      ++unremembered_;
      return 1;
    }
    slot = table_.insert(e.source);
  }
  std::array<Record, kRecords> recs;
  std::memcpy(recs.data(), table_.payload(slot), sizeof recs);
  // Forget what is past the retention relative to this report.
  for (auto& r : recs) {
    if ((r.flags & kUsed) != 0 && r.time_us < t - retention_.count()) r.flags = 0;
  }

  std::uint32_t result = 0;
  if (attempts > 1) {
    // A summary: subtract the singles already counted during the session it covers.
    const std::int64_t from = t - e.summary_span.count() - w;
    std::uint32_t already = 0;
    for (auto& r : recs) {
      if ((r.flags & kUsed) == 0 || (r.flags & kSummed) != 0) continue;
      if (r.time_us < from || r.time_us > t + w || !users_match(r)) continue;
      r.flags = static_cast<std::uint8_t>(r.flags | kSummed);
      ++already;
    }
    result = already >= attempts ? 0 : attempts - already;
  } else {
    // A single report: it joins the oldest counted failure that no report from its reporter has
    // joined yet (and that its reporter did not count itself).
    const std::uint64_t bit = std::uint64_t{1} << static_cast<unsigned>(e.reporter);
    Record* partner = nullptr;
    for (auto& r : recs) {
      if ((r.flags & kUsed) == 0 || (r.joined & bit) != 0) continue;
      if (r.reporter == static_cast<std::uint8_t>(e.reporter)) continue;
      const std::int64_t gap = r.time_us > t ? r.time_us - t : t - r.time_us;
      if (gap > w || !users_match(r)) continue;
      if (partner == nullptr || r.time_us < partner->time_us) partner = &r;
    }
    if (partner != nullptr) {
      partner->flags = static_cast<std::uint8_t>(partner->flags | kPaired);
      partner->joined |= bit;
    } else {
      // Counted: remember it in a free record, or in place of the oldest.
      Record* place = &recs[0];
      for (auto& r : recs) {
        if ((r.flags & kUsed) == 0) {
          place = &r;
          break;
        }
        if (r.time_us < place->time_us) place = &r;
      }
      *place = Record{t, user_hash, static_cast<std::uint8_t>(e.reporter),
                      static_cast<std::uint8_t>(kUsed | (user_known ? kUserKnown : 0)), 0};
      result = 1;
    }
  }
  std::memcpy(table_.payload(slot), recs.data(), sizeof recs);
  return result;
}

void DuplicateFilter::sweep(Time now) {
  const std::int64_t horizon = to_micros(now) - retention_.count();
  table_.retain([&](std::size_t slot) {
    std::array<Record, kRecords> recs;
    std::memcpy(recs.data(), table_.payload(slot), sizeof recs);
    for (const auto& r : recs) {
      if ((r.flags & kUsed) != 0 && r.time_us >= horizon) return true;
    }
    return false;
  });
}

// ---- state snapshot (issue 4) ----------------------------------------------------------------

bool DuplicateFilter::save(const Address& source, SavedPairing& out) const {
  const std::size_t slot = table_.find(source);
  if (slot == AddressTable::npos) return false;
  std::array<Record, kRecords> recs;
  std::memcpy(recs.data(), table_.payload(slot), sizeof recs);
  out.source = source;
  out.reports.clear();
  std::int64_t newest = std::numeric_limits<std::int64_t>::min();
  for (const auto& r : recs) {
    if ((r.flags & kUsed) == 0) continue;
    out.reports.push_back(SavedReport{from_micros(r.time_us), r.user_hash, r.reporter, r.flags});
    newest = std::max(newest, r.time_us);
  }
  if (out.reports.empty()) return false;
  out.expires = from_micros(newest) + retention_;
  return true;
}

void DuplicateFilter::save_all(std::vector<SavedPairing>& out) const {
  for (std::size_t slot = 0; slot < table_.capacity(); ++slot) {
    if (!table_.occupied(slot)) continue;
    SavedPairing p;
    if (save(table_.key(slot), p)) out.push_back(std::move(p));
  }
}

void DuplicateFilter::restore(const SavedPairing& saved) {
  if (saved.reports.empty()) return;
  std::size_t slot = table_.find(saved.source);
  if (slot == AddressTable::npos) {
    if (table_.size() >= max_addresses_) return;
    slot = table_.insert(saved.source);
  }
  // The newest kRecords reports, with only the flag bits this filter knows.
  std::vector<SavedReport> reports = saved.reports;
  std::sort(reports.begin(), reports.end(),
            [](const SavedReport& a, const SavedReport& b) { return a.time > b.time; });
  std::array<Record, kRecords> recs{};
  for (std::size_t i = 0; i < kRecords && i < reports.size(); ++i) {
    const auto& r = reports[i];
    recs[i] = Record{to_micros(r.time), r.user_hash, r.reporter,
                     static_cast<std::uint8_t>((r.flags & (kUsed | kUserKnown | kPaired | kSummed)) | kUsed),
                     // Which reporters joined is not saved: a failure saved as paired takes no more.
                     static_cast<std::uint16_t>((r.flags & kPaired) != 0 ? 0xffffU : 0U)};
  }
  std::memcpy(table_.payload(slot), recs.data(), sizeof recs);
}

}  // namespace strikeout::core::detail
