// prevalence merge operator: decode every value, union, encode once.

#include <countersign/state/merge_operator.hpp>
#include <countersign/state/prevalence_value.hpp>

#include <rocksdb/env.h>
#include <rocksdb/slice.h>

#include <deque>
#include <string>
#include <vector>

namespace countersign::state {
namespace {

prevalence_merge_stats g_stats;

// Folds one encoded value into `acc`; an undecodable one is counted, logged to the
// RocksDB LOG (rare, so not a hot-path cost) and left out.
void absorb(prevalence_value& acc, bool& have, const rocksdb::Slice& encoded, rocksdb::Logger* logger) {
  auto decoded = prevalence_value::decode(std::string_view(encoded.data(), encoded.size()));
  if (!decoded) {
    g_stats.undecodable_values.fetch_add(1, std::memory_order_relaxed);
    if (logger != nullptr) {
      const auto reason = to_string(decoded.error());
      rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, logger,
                   "countersign.prevalence: skipped an undecodable value of %zu bytes (%.*s)", encoded.size(),
                   static_cast<int>(reason.size()), reason.data());
    }
    return;
  }
  if (have) {
    acc.merge(*decoded);
  } else {
    acc = std::move(*decoded);  // the first value needs no merge, and no copy
    have = true;
  }
}

class prevalence_merge_operator final : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& merge_in, MergeOperationOutput* merge_out) const override {
    // Nothing in here throws except std::bad_alloc; letting it cross into RocksDB would
    // be worse than the Corruption status that `false` produces.
    try {
      prevalence_value acc;
      bool have = false;
      if (merge_in.existing_value != nullptr) absorb(acc, have, *merge_in.existing_value, merge_in.logger);
      for (const auto& operand : merge_in.operand_list) absorb(acc, have, operand, merge_in.logger);
      // Even if everything was undecodable the key gets a valid (empty) value: failing
      // here would make the key unreadable and stop compaction.
      merge_out->new_value.clear();
      acc.encode(merge_out->new_value);
      return true;
    } catch (...) {
      return false;
    }
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operand_list,
                         std::string* new_value, rocksdb::Logger* logger) const override {
    try {
      prevalence_value acc;
      bool have = false;
      for (const auto& operand : operand_list) absorb(acc, have, operand, logger);
      new_value->clear();
      acc.encode(*new_value);
      return true;
    } catch (...) {
      return false;  // RocksDB then keeps the operands as they are
    }
  }

  const char* Name() const override { return "countersign.prevalence.v1"; }
};

}  // namespace

const prevalence_merge_stats& merge_operator_stats() noexcept { return g_stats; }

std::shared_ptr<rocksdb::MergeOperator> make_prevalence_merge_operator() {
  return std::make_shared<prevalence_merge_operator>();
}

}  // namespace countersign::state
