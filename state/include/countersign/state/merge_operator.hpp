#pragma once
// The RocksDB merge operator of every prevalence store: operands and base values are
// encoded prevalence_values; a merge decodes them, unions them (prevalence_value::merge)
// and encodes the result. Because that union is associative, commutative and
// idempotent, RocksDB may combine operands in any grouping (flush, compaction, reads),
// and replayed or duplicated writes leave the stored bytes unchanged.
//
// A value that fails to decode (disk corruption, a foreign writer) does not poison its
// key: it is skipped and counted, and the key keeps the union of everything else. The
// count is seen again each time RocksDB re-merges the same undecodable value (a read of
// an uncompacted key), so it measures occurrences, not distinct bad values.
//
// The operator is stateless apart from the process-wide counter and safe to call from
// RocksDB's read and compaction threads concurrently. This is the only public header of
// the module that includes RocksDB.

#include <rocksdb/merge_operator.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace countersign::state {

struct prevalence_merge_stats {
  // Base values or operands skipped because they did not decode.
  std::atomic<std::uint64_t> undecodable_values{0};
};

// Process-wide: every operator instance (one per column family) counts here.
[[nodiscard]] const prevalence_merge_stats& merge_operator_stats() noexcept;

// Name() is "countersign.prevalence.v1".
[[nodiscard]] std::shared_ptr<rocksdb::MergeOperator> make_prevalence_merge_operator();

}  // namespace countersign::state
