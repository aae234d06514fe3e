#pragma once
// Distinct count of 64-bit item hashes (hosts of a hash, files of a signer, ...).
//
// Small sets, the common case in a fleet, stay exact: a sorted vector of at most
// k_exact_cap hashes. The item that would exceed the cap turns the set into a
// HyperLogLog sketch of 2^k_precision one-byte registers, and it stays a sketch.
//
// Union is the only update and it is associative, commutative and idempotent on the
// representation itself, not just on the estimate: the representation depends only on
// the set of items inserted overall (exact iff that set has at most k_exact_cap items,
// else the registers of all of them, which are the max of the parts). RocksDB merges and
// replays after a crash or a rebalance can therefore apply updates in any grouping and
// any number of times and still store identical bytes.
//
// A value type without internal synchronisation: one thread at a time, like a string.

#include <countersign/state/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::state {

class distinct_set {
 public:
  static constexpr std::size_t k_exact_cap = 64;
  static constexpr int k_precision = 12;  // 4096 registers, standard error ~1.6%
  static constexpr std::size_t k_registers = std::size_t{1} << k_precision;
  static constexpr std::uint8_t k_max_register = 64 - k_precision + 1;

  // Callers pass well-mixed 64-bit hashes (XXH3): the sketch takes its register index
  // from the top bits and its rank from the rest, and the exact set keeps them as given.
  void insert(std::uint64_t item_hash);
  // Set union.
  void merge(const distinct_set& other);

  // Exact while exact(); else Ertl's improved HyperLogLog estimate (one formula for all
  // cardinalities, no switch to linear counting), never below k_exact_cap + 1 (a sketch
  // only exists above the cap).
  [[nodiscard]] std::uint64_t estimate() const;
  [[nodiscard]] bool exact() const noexcept { return registers_.empty(); }
  [[nodiscard]] bool empty() const noexcept { return registers_.empty() && items_.empty(); }

  // Appends a compact binary form: a version/kind byte, then for an exact set a varint
  // count and the sorted hashes as varint deltas; for a sketch either sparse (varint
  // index deltas and values of the non-zero registers) or dense (one byte per register),
  // whichever is smaller.
  void encode(std::string& out) const;
  // Consumes one encoded set from the front of `in`; leaves `in` untouched on error.
  [[nodiscard]] static std::expected<distinct_set, decode_error> decode(std::string_view& in);

  // Same representation and content: the exact items, or the registers.
  friend bool operator==(const distinct_set&, const distinct_set&) = default;

 private:
  void promote();  // exact -> sketch, carrying the exact items into the registers
  void add_to_registers(std::uint64_t item_hash) noexcept;

  std::vector<std::uint64_t> items_;     // sorted, unique; empty once a sketch
  std::vector<std::uint8_t> registers_;  // k_registers long in a sketch, else empty
};

}  // namespace countersign::state
