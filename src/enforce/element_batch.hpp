// Set elements (the bans themselves) go into the kernel as nfnetlink batches built here directly,
// not through libnftables: nft(8) spends about half of a 1 M element load parsing and evaluating its
// own text. One batch is one kernel transaction: every message in it lands, or none does.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace strikeout::enforce {

struct SetElement {
  std::array<std::uint8_t, 16> key{};  // network order; the first key_length bytes are used
  std::uint8_t key_length = 4;         // 4 (ipv4_addr) or 16 (ipv6_addr)
  std::uint64_t timeout_ms = 0;        // kernel timeout; 0: none (used by deletions)
};

// Builds one nfnetlink batch (BEGIN, element messages, END) for the nf_tables subsystem. Elements of
// one call are split over as many messages as needed (an attribute nest holds at most 64 KiB).
// Every element message asks for an acknowledgement, so a refusal names the message it refused.
class ElementBatch {
 public:
  ElementBatch(std::string table, std::uint32_t first_sequence);

  void add(const std::string& set, std::span<const SetElement> elements);
  void remove(const std::string& set, std::span<const SetElement> elements);

  // The finished batch (BEGIN ... END); the builder may not be used afterwards.
  const std::vector<std::uint8_t>& finish();

  std::uint32_t first_sequence() const { return first_seq_; }
  std::uint32_t messages() const { return static_cast<std::uint32_t>(what_.size()); }  // acked ones
  std::size_t elements() const { return elements_; }
  // "adding 2000 elements to set ban4" for the message with this sequence number, for errors.
  std::string describe(std::uint32_t sequence) const;

 private:
  void put(std::uint16_t type, const std::string& set, std::span<const SetElement> elements);
  std::size_t begin_message(std::uint16_t type, std::uint16_t flags, std::uint16_t res_id);
  void end_message(std::size_t start);
  std::size_t begin_nest(std::uint16_t type);
  void end_nest(std::size_t start);
  void put_attr(std::uint16_t type, const void* data, std::size_t len);

  std::string table_;
  std::uint32_t first_seq_;
  std::uint32_t seq_;
  std::vector<std::uint8_t> buf_;
  std::vector<std::string> what_;  // by sequence - first_seq - 1
  std::size_t elements_ = 0;
  bool finished_ = false;
};

}  // namespace strikeout::enforce
