#pragma once
// Sigma correlation rules on the stream (docs/sigma.md "Correlation rules", docs/topology.md
// "Correlations").
//
//   ingest (any instance)                              observations partition owner
//   sigma_stage: a match of a rule a correlation  ──►  correlation_stage::process
//   refers to ─► route_match (group values read)       │ the partition's evaluator
//   key = (correlation, group), murmur2 partition      │   (rules::sigma::correlation_evaluator)
//   run: <p>.observations, header                      ├─► correlation alerts (alert outputs)
//        countersign.record=correlation                └─► window records changed since the last flush
//   replay: handed over in-process                           │ flush()
//                                                            ├─► RocksDB, windows column family
//                                                            └─► <p>.hash-state-changelog (same
//                                                                partition, key prefix, tombstones)
//
// Matches of one group always reach the same observations partition, so the windows do
// not depend on how many instances share the work; a moved partition's records are
// restored from the changelog with its hash records (state/changelog.hpp).
//
// One evaluator per observations partition, built on the partition's first routed match
// from what the store holds for it (after its restore), dropped when the partition is
// revoked or the correlation rules change (its successor reads the records again:
// unchanged correlations carry over). Records changed since the last flush live in an
// overlay in memory, bounded by what one flush interval changes; without a store (replay,
// `state.dir` unset) the overlay is the store. Owned by the processing thread.

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/pipeline_stats.hpp>
#include <countersign/rules/sigma/correlation.hpp>
#include <countersign/state/prevalence_store.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::processor {

// The header value that marks a routed correlation match on the observations topic
// (header countersign.record, which also marks replayed hash records as "hash").
inline constexpr std::string_view k_correlation_record_kind = "correlation";

class correlation_stage {
 public:
  // `store` may be null (records in memory); it outlives the stage.
  correlation_stage(const config& cfg, state::prevalence_store* store);
  ~correlation_stage();
  correlation_stage(const correlation_stage&) = delete;
  correlation_stage& operator=(const correlation_stage&) = delete;

  // The correlations in use (sigma_library::correlations()); a different set rebuilds
  // every evaluator on its next use.
  void set_rules(std::shared_ptr<const rules::sigma::correlation_set> set);
  [[nodiscard]] const std::shared_ptr<const rules::sigma::correlation_set>& rules() const noexcept { return set_; }

  // One routed match of observations partition `partition` (the record key and value of
  // the observations topic). Appends its alerts to `out` (slots reused from `count`).
  // False when the record does not decode (counted in bad_records; nothing changes).
  [[nodiscard]] bool process(std::int32_t partition, std::string_view key, std::string_view value,
                             std::optional<std::int64_t> now_ms, std::vector<emitted_alert>& out, std::size_t& count);
  void process(std::int32_t partition, const rules::sigma::routed_match& m, std::optional<std::int64_t> now_ms,
               std::vector<emitted_alert>& out, std::size_t& count);
  // End of a finite input (replay): judges every open window of every partition.
  void finish(std::optional<std::int64_t> now_ms, std::vector<emitted_alert>& out, std::size_t& count);

  // Writes the records changed since the last flush into the store's batch (committed by
  // the caller with the rest of the state) and hands each to `changelog` (`stored` null:
  // deleted). No-op without a store.
  using changelog_fn = std::function<void(std::int32_t partition, std::string_view key, const std::string* stored)>;
  void flush(const changelog_fn& changelog);
  // Records changed since the last flush (the overlay's size; the runner flushes at
  // state.combine_max_keys, as for hash records).
  [[nodiscard]] std::size_t pending() const noexcept;
  // The partition moved away: its evaluator and unflushed records are dropped (flush first).
  void release(std::int32_t partition);

  [[nodiscard]] const correlation_stage_stats& stats();

 private:
  class partition_windows;
  struct partition_state;
  partition_state& partition(std::int32_t p);
  void render(std::int32_t partition, const rules::sigma::correlation_alert& a, std::optional<std::int64_t> now_ms,
              std::vector<emitted_alert>& out, std::size_t& count);

  state::prevalence_store* store_;
  rules::sigma::correlation_config limits_;
  alert_format_set formats_;
  std::string source_topic_;
  std::shared_ptr<const rules::sigma::correlation_set> set_;
  std::map<std::int32_t, std::unique_ptr<partition_state>> partitions_;
  rules::sigma::correlation_stats retired_;  // of evaluators dropped
  std::uint64_t retired_flushed_ = 0;
  std::vector<rules::sigma::correlation_alert> fired_;
  rules::sigma::routed_match scratch_;
  correlation_stage_stats stats_;
};

}  // namespace countersign::processor
