#pragma once
// Publishes the plain stats structs of the pipeline and the runner to a prometheus-cpp
// registry. Called from the processing thread about once a second (and at exit), so the
// hot path only bumps integers; label lookups happen here, once per new label value.

#include <countersign/processor/pipeline.hpp>
#include <countersign/processor/runner_stats.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <string>

namespace countersign::processor {

class metrics_bridge {
 public:
  explicit metrics_bridge(std::shared_ptr<prometheus::Registry> registry);

  void publish(const pipeline_stats& p, const runner_stats* r);

  [[nodiscard]] const std::shared_ptr<prometheus::Registry>& registry() const noexcept { return registry_; }

 private:
  // A counter fed from a monotonically growing total.
  struct mirrored {
    prometheus::Counter* counter = nullptr;
    std::uint64_t published = 0;
    void sync(std::uint64_t total) {
      if (total > published) counter->Increment(static_cast<double>(total - published));
      published = total;
    }
  };
  mirrored& labelled(prometheus::Family<prometheus::Counter>& family, std::map<std::string, mirrored>& cache,
                     const std::string& label, const std::string& value);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& consumed_;
  prometheus::Family<prometheus::Counter>& produced_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& detections_;
  std::map<std::string, mirrored> consumed_by_topic_, produced_by_topic_, detections_by_id_;
  std::array<mirrored, k_reject_reason_count> rejected_by_reason_;
  mirrored events_, observations_, alerts_, suppressed_;
  std::array<mirrored, k_scope_reason_count> out_of_scope_by_reason_;
  std::array<mirrored, rules::k_schema_profile_count> events_by_schema_;  // index: rules::schema_profile (0 unused)
  mirrored ci_joined_, ci_unjoined_, ci_orphans_, ci_evicted_;
  mirrored cert_joined_, cert_held_, cert_joined_late_, cert_unmatched_, cert_evicted_;
  mirrored state_updates_, state_errors_;
  prometheus::Gauge* learning_ = nullptr;
  prometheus::Family<prometheus::Gauge>& consumer_lag_;
  std::map<std::string, prometheus::Gauge*> consumer_lag_by_partition_;
  prometheus::Gauge* event_time_lag_ = nullptr;
  mirrored produce_retries_, produce_failures_, consume_errors_, rebalances_;
  prometheus::Gauge* assigned_ = nullptr;
  mirrored repeats_, fields_truncated_, forwarded_, restored_, table_records_, intel_errors_;
  prometheus::Gauge* intel_records_ = nullptr;
  prometheus::Gauge* restoring_ = nullptr;
  prometheus::Gauge* restore_seconds_ = nullptr;
  prometheus::Gauge* table_caught_up_ = nullptr;
  // Stage latency: the histogram and what of the runner's counts it already holds.
  struct mirrored_histogram {
    prometheus::Histogram* histogram = nullptr;
    latency_histogram published;
    void sync(const latency_histogram& total);
  };
  std::array<mirrored_histogram, 3> stage_latency_;  // ingest, hash, signer
  prometheus::Gauge* state_sst_bytes_ = nullptr;
  std::array<prometheus::Gauge*, 3> state_memory_{};  // memtables, block_cache, table_readers
  prometheus::Gauge* state_write_stalled_ = nullptr;
  prometheus::Gauge* state_writable_ = nullptr;
  prometheus::Gauge* group_member_ = nullptr;
  mirrored state_write_errors_;
  mirrored state_reads_, state_read_misses_, state_dropped_;
  mirrored sigma_events_, sigma_evaluated_, sigma_matches_, sigma_alerts_, sigma_truncated_, sigma_reload_errors_;
  prometheus::Gauge* sigma_rules_ = nullptr;
  prometheus::Gauge* sigma_correlations_ = nullptr;
  prometheus::Gauge* correlation_windows_ = nullptr;
  mirrored sigma_withheld_, correlation_matches_, correlation_alerts_, correlation_late_, correlation_duplicates_,
      correlation_evicted_, correlation_unrouted_;
};

}  // namespace countersign::processor
