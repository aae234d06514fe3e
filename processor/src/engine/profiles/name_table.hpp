#pragma once
// A fixed set of key names and what each means to a walker, looked up once per key of a
// record: open addressing with linear probing in a power-of-two array at most half full,
// built at compile time (no guard to check, nothing to construct at start-up). Most keys
// of a record are names the walker does not read, and a miss usually ends at the first
// empty slot. `Hash` maps a name to 64 bits whose top bits pick the slot.
// windows.cpp (the flat walker's names) and defender.cpp (its columns) use it.
// Internal to the processor module.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace countersign::processor::detail {

template <class Value, std::size_t Slots, class Hash>
class name_table {
  static_assert(std::has_single_bit(Slots) && Slots >= 2);

 public:
  constexpr name_table(std::initializer_list<std::pair<std::string_view, Value>> names) {
    // A table more than half full is a compile error where it is built (constexpr).
    if (names.size() * 2 > Slots) throw "name_table: more names than half the slots";
    for (const auto& [name, value] : names) {
      std::size_t i = slot_of(name);
      while (!slots_[i].name.empty()) i = (i + 1) & (Slots - 1);
      slots_[i] = {name, value};
    }
  }

  // The value of `key`, or null (an empty key is never in the table).
  [[nodiscard]] constexpr const Value* find(std::string_view key) const {
    if (key.empty()) return nullptr;
    for (std::size_t i = slot_of(key);; i = (i + 1) & (Slots - 1)) {
      const slot& s = slots_[i];
      if (s.name.empty()) return nullptr;
      if (s.name == key) return &s.value;
    }
  }

 private:
  struct slot {
    std::string_view name;
    Value value{};
  };
  static constexpr std::size_t slot_of(std::string_view key) {
    return static_cast<std::size_t>(Hash{}(key) >> (64 - std::countr_zero(Slots)));
  }
  std::array<slot, Slots> slots_{};
};

}  // namespace countersign::processor::detail
