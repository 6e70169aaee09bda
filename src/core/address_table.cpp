#include "core/address_table.hpp"

namespace strikeout::core::detail {

namespace {
constexpr std::size_t kMinCapacity = 16;
// Load bounds: grow past 4/5 full, by half, so a table is never less than 8/15 (0.53) full after
// growing: with 45-byte slots (6-hit rule) that is at most 85 bytes per entry.
constexpr std::size_t kLoadNum = 4;
constexpr std::size_t kLoadDen = 5;
}  // namespace

AddressTable::AddressTable(std::size_t payload_size, std::uint64_t seed)
    : stride_(kKeyBytes + payload_size), seed_(seed) {
  rehash(kMinCapacity, nullptr);
}

std::size_t AddressTable::capacity_for(std::size_t entries) {
  // Smallest capacity that holds `entries` at a load of about 2/3, leaving room to grow.
  std::size_t cap = entries + entries / 2 + 1;
  return cap < kMinCapacity ? kMinCapacity : cap;
}

std::size_t AddressTable::home(std::uint64_t h) const {
  // Multiply-shift range reduction: works for any capacity, not only powers of two, which is what
  // lets the table grow by half instead of doubling.
  __extension__ using u128 = unsigned __int128;
  return static_cast<std::size_t>((static_cast<u128>(h) * capacity_) >> 64);
}

std::size_t AddressTable::find(const Address& key) const {
  const std::uint64_t h = hash(key);
  const std::uint8_t t = tag(h);
  for (std::size_t i = home(h);; i = next(i)) {
    const std::uint8_t c = ctrl_[i];
    if (c == 0) return npos;
    if (c == t && std::memcmp(entry(i), key.bytes().data(), kKeyBytes) == 0) return i;
  }
}

std::size_t AddressTable::insert(const Address& key) {
  if ((size_ + 1) * kLoadDen > capacity_ * kLoadNum) rehash(capacity_ + capacity_ / 2, nullptr);
  const std::uint64_t h = hash(key);
  std::size_t i = home(h);
  while (ctrl_[i] != 0) i = next(i);
  ctrl_[i] = tag(h);
  std::byte* e = entry(i);
  std::memcpy(e, key.bytes().data(), kKeyBytes);
  std::memset(e + kKeyBytes, 0, stride_ - kKeyBytes);
  ++size_;
  return i;
}

void AddressTable::erase(std::size_t slot) {
  // Backward-shift deletion: walk the cluster after the hole and move back every entry whose home
  // is not between the hole and its own position, so every remaining entry stays reachable from
  // its home without tombstones.
  std::size_t hole = slot;
  ctrl_[hole] = 0;
  --size_;
  for (std::size_t i = next(hole); ctrl_[i] != 0; i = next(i)) {
    const std::size_t h = home(hash(key(i)));
    // Is `h` cyclically in (hole, i]? Then the entry must stay.
    const bool stays = hole < i ? (h > hole && h <= i) : (h > hole || h <= i);
    if (stays) continue;
    ctrl_[hole] = ctrl_[i];
    std::memcpy(entry(hole), entry(i), stride_);
    ctrl_[i] = 0;
    hole = i;
  }
}

void AddressTable::rehash(std::size_t new_capacity, const std::uint8_t* keep_mask) {
  if (new_capacity < kMinCapacity) new_capacity = kMinCapacity;
  std::unique_ptr<std::uint8_t[]> old_ctrl = std::move(ctrl_);
  std::unique_ptr<std::byte[]> old_entries = std::move(entries_);
  const std::size_t old_capacity = capacity_;
  capacity_ = new_capacity;
  ctrl_.reset(new std::uint8_t[capacity_]());
  entries_.reset(new std::byte[capacity_ * stride_]);
  size_ = 0;
  for (std::size_t i = 0; i < old_capacity; ++i) {
    if (old_ctrl[i] == 0 || (keep_mask != nullptr && keep_mask[i] == 0)) continue;
    const std::byte* e = old_entries.get() + i * stride_;
    Address::Bytes b;
    std::memcpy(b.data(), e, kKeyBytes);
    const std::uint64_t h = hash(Address::from_bytes(b));
    std::size_t j = home(h);
    while (ctrl_[j] != 0) j = next(j);
    ctrl_[j] = tag(h);
    std::memcpy(entry(j), e, stride_);
    ++size_;
  }
}

}  // namespace strikeout::core::detail
