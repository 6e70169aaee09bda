// A compact open-addressing hash table keyed by Address, with a fixed-size payload per entry whose
// size is chosen at run time (a window of hits-1 timestamps needs more bytes for a 6-hit rule than
// for a 3-hit one). The engine keeps one per counting rule, and one for duplicate pairing.
//
// Why not std::unordered_map<Address, std::vector<...>>: a node, a bucket pointer and a vector
// header cost more than the whole entry here. The memory figure the engine promises (<= 100 bytes
// per tracked address for rules of up to 6 hits) is a property of this layout:
//   - entries are `stride` bytes: 16 bytes of key, then the payload, stored back to back;
//   - a separate control array holds one byte per slot: 0 = empty, else 0x80 | 7 bits of the hash,
//     so a probe reads the control bytes and touches an entry only when its tag matches;
//   - linear probing with backward-shift deletion (no tombstones), load kept between 0.53 and 0.8
//     (the table grows by half when it passes 0.8 and shrinks in retain()).
// Slot numbers are valid until the next insert, erase or retain().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "core/address.hpp"

namespace strikeout::core::detail {

class AddressTable {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  static constexpr std::size_t kKeyBytes = 16;
  static constexpr std::size_t kShrinkFloor = 64;

  // `payload_size` bytes follow each key; `seed` keys the hash (attackers choose the addresses).
  AddressTable(std::size_t payload_size, std::uint64_t seed);

  // The slot holding `key`, or npos.
  std::size_t find(const Address& key) const;
  // Inserts `key` (which must not be present) with a zeroed payload and returns its slot.
  std::size_t insert(const Address& key);
  // Removes the entry in `slot`; later slots of its cluster move back.
  void erase(std::size_t slot);
  // Keeps only the entries for which keep(slot) is true, and shrinks the table to fit them.
  template <typename Keep>
  void retain(Keep keep);

  bool occupied(std::size_t slot) const { return ctrl_[slot] != 0; }
  Address key(std::size_t slot) const {
    Address::Bytes b;
    std::memcpy(b.data(), entry(slot), kKeyBytes);
    return Address::from_bytes(b);
  }
  std::byte* payload(std::size_t slot) { return entry(slot) + kKeyBytes; }
  const std::byte* payload(std::size_t slot) const { return entry(slot) + kKeyBytes; }

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t stride() const { return stride_; }
  // Bytes held by the table: entries and control bytes.
  std::size_t memory_bytes() const { return capacity_ * (stride_ + 1); }

 private:
  std::byte* entry(std::size_t slot) { return entries_.get() + slot * stride_; }
  const std::byte* entry(std::size_t slot) const { return entries_.get() + slot * stride_; }
  std::uint64_t hash(const Address& key) const { return hash_address(key, seed_); }
  std::size_t home(std::uint64_t h) const;
  static std::uint8_t tag(std::uint64_t h) { return static_cast<std::uint8_t>(0x80U | (h & 0x7fU)); }
  std::size_t next(std::size_t slot) const { return slot + 1 == capacity_ ? 0 : slot + 1; }
  void rehash(std::size_t new_capacity, const std::uint8_t* keep_mask);
  static std::size_t capacity_for(std::size_t entries);

  std::size_t stride_;
  std::uint64_t seed_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
  std::unique_ptr<std::uint8_t[]> ctrl_;
  std::unique_ptr<std::byte[]> entries_;
};

template <typename Keep>
void AddressTable::retain(Keep keep) {
  // Erase in place (no allocation): a backward shift only moves entries into the hole, at or after
  // the slot being looked at, so re-examining that slot after an erase visits every entry at least
  // once (an entry wrapped from the front may be asked twice: `keep` must be a pure predicate).
  for (std::size_t i = 0; i < capacity_;) {
    if (ctrl_[i] != 0 && !keep(i)) {
      erase(i);
    } else {
      ++i;
    }
  }
  // Give memory back once the table is less than an eighth full (not sooner: a table swept to a
  // third of its size usually refills, and shrinking then growing again costs allocations).
  if (capacity_ > kShrinkFloor && size_ * 8 < capacity_) rehash(capacity_for(size_), nullptr);
}

}  // namespace strikeout::core::detail
