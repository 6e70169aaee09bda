// The compact table under the windows: insert, find, erase with backward shift, growth and retain,
// checked against std::map over random operations (collisions included: a tiny table wraps).
#include "core/address_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace strikeout::core::detail {
namespace {

TEST(AddressTable, RandomOperationsMatchAMap) {
  AddressTable table(8, 7);
  std::map<Address, std::uint64_t> model;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200'000; ++i) {
    const Address a = Address::from_v4(static_cast<std::uint32_t>(rng() % 3000));
    const std::size_t slot = table.find(a);
    ASSERT_EQ(slot != AddressTable::npos, model.contains(a));
    const auto op = rng() % 10;
    if (op < 5) {
      if (slot == AddressTable::npos) {
        const std::size_t s = table.insert(a);
        const std::uint64_t v = rng();
        std::memcpy(table.payload(s), &v, 8);
        model[a] = v;
      } else {
        std::uint64_t v = 0;
        std::memcpy(&v, table.payload(slot), 8);
        ASSERT_EQ(v, model[a]);
      }
    } else if (op < 9) {
      if (slot != AddressTable::npos) {
        table.erase(slot);
        model.erase(a);
      }
    } else if (rng() % 100 == 0) {
      // Keep the even addresses only.
      table.retain([&](std::size_t s) { return table.key(s).v4() % 2 == 0; });
      std::erase_if(model, [](const auto& kv) { return kv.first.v4() % 2 != 0; });
    }
    ASSERT_EQ(table.size(), model.size());
  }
  for (const auto& [a, v] : model) {
    const std::size_t s = table.find(a);
    ASSERT_NE(s, AddressTable::npos);
    std::uint64_t got = 0;
    std::memcpy(&got, table.payload(s), 8);
    EXPECT_EQ(got, v);
  }
}

TEST(AddressTable, LoadStaysBetweenBounds) {
  AddressTable table(28, 3);
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    table.insert(Address::from_v4(i));
    const double load = static_cast<double>(table.size()) / static_cast<double>(table.capacity());
    ASSERT_LE(load, 0.8);
    if (table.size() > 64) {
      ASSERT_GE(load, 0.5);
    }
  }
}

}  // namespace
}  // namespace strikeout::core::detail
