// Pairing of one failure's several reports (Postfix and its Dovecot SASL backend both log it; later
// the wire sensor sees the 535 too), so it counts once.
//
// The rule, as documented in docs/engine.md ("Duplicates"):
//   - only auth-failure events take part;
//   - a report pairs with an earlier, still unpaired report of the same source address from a
//     DIFFERENT reporter, whose time is within `window` of its own, and whose username matches
//     (ASCII case-insensitively; an unknown username on either side matches any);
//   - pairing is one-to-one and first-come: the oldest eligible report is taken; the later report
//     is the duplicate and is not counted;
//   - two reports from the same reporter never pair: they are two attempts;
//   - a summary (Event::count = N > 1, Dovecot's "auth failed, N attempts in S secs") counts N minus
//     the single attempts from that address already counted in [t - S - window, t + window], each
//     single subtracted by at most one summary.
// Per address the filter keeps the last kRecords reports for `window` plus kSummaryLookback, in a
// compact table that holds at most `max_addresses` addresses; when it is full a new address's report
// is counted but not remembered (it can then not be paired), and that is counted in unremembered().
#pragma once

#include <cstdint>

#include "core/address_table.hpp"
#include "core/engine_state.hpp"
#include "core/event.hpp"
#include "core/time.hpp"

namespace strikeout::core::detail {

class DuplicateFilter {
 public:
  static constexpr std::size_t kRecords = 4;
  // How far back a summary can subtract single attempts: Dovecot writes the summary when the
  // session ends, and a session of failed logins is seconds to a minute long.
  static constexpr Duration kSummaryLookback = std::chrono::minutes(2);

  DuplicateFilter(Duration window, std::uint64_t seed, std::uint64_t max_addresses);

  // How many of the attempts `e` (an auth-failure) reports are new: 0 when it is the second report
  // of a failure already counted; for a summary, N minus the singles already counted.
  std::uint32_t admit(const Event& e);
  // Forgets reports older than the retention at `now`.
  void sweep(Time now);

  std::size_t addresses() const { return table_.size(); }
  Duration retention() const { return retention_; }
  std::size_t memory_bytes() const { return table_.memory_bytes(); }
  std::uint64_t unremembered() const { return unremembered_; }

  // State snapshot for the store (issue 4). save(): the reports remembered for `source` (false when
  // none). save_all(): every address's. restore(): puts saved reports back (replacing any for that
  // address; more than kRecords are cut to the newest; refused when the table is full).
  bool save(const Address& source, SavedPairing& out) const;
  void save_all(std::vector<SavedPairing>& out) const;
  void restore(const SavedPairing& saved);

 private:
  struct Record {
    std::int64_t time_us;
    std::uint32_t user_hash;
    std::uint8_t reporter;
    std::uint8_t flags;  // kUsed | kUserKnown | kPaired | kSummed
    // The other reporters whose report of this failure already joined it (bit = Reporter value):
    // one failure may be reported by several programs (the wire, Postfix, its Dovecot backend and
    // Dovecot's policy reports), each joining at most once, so a second report from the same program
    // is a second attempt. 64 bits: a bit for every reporter up to kReporterLimit (once 16, which the
    // 13th reporter nearly filled; the padding made the wider mask cost 8 bytes a record).
    std::uint64_t joined;
  };
  static_assert(sizeof(Record) == 24);
  static_assert(kReporterLimit <= 64, "a bit of Record::joined for every reporter");

  Duration window_;
  Duration retention_;
  std::uint64_t seed_;
  std::uint64_t max_addresses_;
  std::uint64_t unremembered_ = 0;
  AddressTable table_;
};

}  // namespace strikeout::core::detail
