#pragma once
// Publishes the plain stats structs of the pipeline and the runner to a prometheus-cpp
// registry. Called from the processing thread about once a second (and at exit), so the
// hot path only bumps integers; label lookups happen here, once per new label value.
//
// Several processing threads: each publishes through a bridge of its own on the same
// registry and `metrics_threads`. Counters and histograms add each thread's increments;
// gauges of a thread's share (assigned and restoring partitions, open correlation windows)
// add its contribution; flags (global table caught up, group member) are 1 when they hold
// for every thread; the event-time lag is that of the newest event of any thread; the
// per-partition consumer lag carries a `thread` label. Gauges of shared things (state
// store, rule counts) are the same from every thread.

#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/processor/service/runner_stats.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace countersign::processor {

// What the bridges of one process's processing threads share.
struct metrics_threads {
  explicit metrics_threads(std::size_t threads = 1) : count(threads == 0 ? 1 : threads) {}
  const std::size_t count;
  std::atomic<std::size_t> table_caught_up{0};  // threads whose flag is set
  std::atomic<std::size_t> group_member{0};
  std::atomic<std::int64_t> max_event_time_ms{0};
};

class metrics_bridge {
 public:
  // One processing thread (`thread` of `threads->count`; null: a single thread).
  explicit metrics_bridge(std::shared_ptr<prometheus::Registry> registry, std::size_t thread = 0,
                          std::shared_ptr<metrics_threads> threads = nullptr);

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
  // A gauge fed with this thread's share of a sum over threads.
  struct summed {
    prometheus::Gauge* gauge = nullptr;
    double published = 0;
    void set(double value) {
      gauge->Increment(value - published);
      published = value;
    }
  };
  // A gauge that is 1 when a flag holds for every thread.
  struct all_threads {
    prometheus::Gauge* gauge = nullptr;
    bool published = false;
    void set(bool value, std::atomic<std::size_t>& holding, std::size_t threads) {
      if (value != published) {
        if (value) holding.fetch_add(1, std::memory_order_relaxed);
        else holding.fetch_sub(1, std::memory_order_relaxed);
        published = value;
      }
      gauge->Set(holding.load(std::memory_order_relaxed) == threads ? 1 : 0);
    }
  };
  mirrored& labelled(prometheus::Family<prometheus::Counter>& family, std::map<std::string, mirrored>& cache,
                     const std::string& label, const std::string& value);

  std::shared_ptr<prometheus::Registry> registry_;
  std::string thread_;  // label value
  std::shared_ptr<metrics_threads> threads_;
  prometheus::Family<prometheus::Counter>& consumed_;
  prometheus::Family<prometheus::Counter>& produced_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& detections_;
  std::map<std::string, mirrored> consumed_by_topic_, produced_by_topic_, detections_by_id_;
  std::array<mirrored, k_reject_reason_count> rejected_by_reason_;
  mirrored events_, observations_, alerts_, suppressed_;
  std::array<mirrored, k_scope_reason_count> out_of_scope_by_reason_;
  std::array<mirrored, rules::k_schema_profile_count> events_by_schema_;  // index: rules::schema_profile (0 unused)
  mirrored ci_joined_, ci_unjoined_, ci_orphans_, ci_evicted_, ci_forgotten_;
  mirrored cert_joined_, cert_held_, cert_joined_late_, cert_unmatched_, cert_evicted_;
  mirrored state_updates_, state_errors_;
  prometheus::Gauge* learning_ = nullptr;
  prometheus::Family<prometheus::Gauge>& consumer_lag_;
  std::map<std::string, prometheus::Gauge*> consumer_lag_by_partition_;
  prometheus::Gauge* event_time_lag_ = nullptr;
  mirrored produce_retries_, produce_failures_, consume_errors_, rebalances_, internal_batches_;
  summed assigned_;
  mirrored repeats_, fields_truncated_, forwarded_, restored_, table_records_, intel_errors_;
  prometheus::Gauge* intel_records_ = nullptr;
  summed restoring_;
  prometheus::Gauge* restore_seconds_ = nullptr;
  all_threads table_caught_up_;
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
  all_threads group_member_;
  mirrored state_write_errors_;
  mirrored state_reads_, state_read_misses_, state_dropped_;
  mirrored sigma_events_, sigma_evaluated_, sigma_matches_, sigma_alerts_, sigma_truncated_, sigma_reload_errors_;
  prometheus::Gauge* sigma_rules_ = nullptr;
  prometheus::Gauge* sigma_correlations_ = nullptr;
  summed correlation_windows_;
  mirrored sigma_withheld_, correlation_matches_, correlation_alerts_, correlation_late_, correlation_duplicates_,
      correlation_evicted_, correlation_unrouted_;
};

}  // namespace countersign::processor
