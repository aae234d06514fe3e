#pragma once
// Map-side combining of prevalence deltas before they reach RocksDB (docs/design.md
// section 2: signer deltas are combined per flush). Most executions are
// signed by a handful of vendors and run a handful of popular files, so writing every
// fact straight through makes a few keys take a merge per event; combining turns those
// into one merge per key per flush. Reads go through `combined_view`, which adds the
// pending deltas to what is on disk, so nothing written is invisible to the detectors.
// Single-threaded: owned by the pipeline that adds and flushes.

#include <countersign/state/prevalence_store.hpp>
#include <countersign/state/prevalence_value.hpp>
#include <countersign/state/prevalence_view.hpp>

#include <array>
#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace countersign::state {

class delta_combiner {
 public:
  // Merges `delta` into the pending delta of (kind, partition, key).
  void add(store_kind kind, std::int32_t partition, std::string_view key, const prevalence_value& delta);
  // The pending delta of (kind, partition, key), if any.
  [[nodiscard]] const prevalence_value* pending(store_kind kind, std::int32_t partition, std::string_view key) const;
  // Distinct keys pending over all stores.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  // Calls fn(kind, partition, key, delta) for every pending delta, in no particular order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (std::size_t k = 0; k < maps_.size(); ++k) {
      for (const auto& [full_key, delta] : maps_[k]) {
        fn(static_cast<store_kind>(k), store_key_partition(full_key), std::string_view(full_key).substr(4), delta);
      }
    }
  }
  // Queues every pending delta into `store`'s batch and commits it; clears on success.
  [[nodiscard]] std::expected<void, std::string> flush(prevalence_store& store);
  void clear();

 private:
  // Not noexcept, on purpose: libstdc++ keeps each node's hash code only for a hasher
  // that may throw (or std::hash<std::string>). Without the stored code, every step along
  // a bucket hashed the next node's whole key again to see where the bucket ends, and
  // the lookups of the combiner were 6% of replay's CPU.
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using map = std::unordered_map<std::string, prevalence_value, string_hash, std::equal_to<>>;
  // Keys are store_key(partition, key); `scratch_` builds lookup keys without allocating.
  std::array<map, k_store_count> maps_;
  std::size_t size_ = 0;
  mutable std::string scratch_;
};

// Prevalence as the detectors should see it: the store plus the combiner's pending
// deltas; hashes in `hash_partition`, signers and issuers in the global table.
class combined_view final : public prevalence_view {
 public:
  combined_view(const prevalence_store& store, const delta_combiner& pending, std::int32_t hash_partition)
      : store_(store), pending_(pending), partition_(hash_partition) {}
  void set_hash_partition(std::int32_t p) noexcept { partition_ = p; }
  [[nodiscard]] std::optional<prevalence_value> value(store_kind kind, std::string_view key) const;
  [[nodiscard]] std::optional<prevalence_record> hash(std::string_view sha256) const override;
  [[nodiscard]] std::optional<prevalence_record> signer(std::string_view signer_key) const override;
  [[nodiscard]] std::optional<prevalence_record> issuer(std::string_view issuer) const override;
  [[nodiscard]] std::optional<prevalence_record> company_signer(std::string_view key) const override;
  [[nodiscard]] std::optional<std::int64_t> watching_since() const override { return watching_since_; }
  void set_watching_since(std::optional<std::int64_t> t) noexcept { watching_since_ = t; }

 private:
  const prevalence_store& store_;
  const delta_combiner& pending_;
  std::int32_t partition_;
  std::optional<std::int64_t> watching_since_;
};

}  // namespace countersign::state
