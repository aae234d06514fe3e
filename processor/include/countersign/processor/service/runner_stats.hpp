#pragma once
// Counts kept by the Kafka runner, published to Prometheus by `metrics_bridge`.
#include <simdjson.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

namespace countersign::processor {

// Processing time of one message by a stage, in fixed buckets (published as a
// Prometheus histogram). Plain counters: one thread observes, the publisher reads.
struct latency_histogram {
  static constexpr std::array<double, 10> k_bounds_seconds = {0.000005, 0.00001, 0.000025, 0.00005, 0.0001,
                                                              0.00025, 0.0005, 0.001, 0.005, 0.025};
  std::array<std::uint64_t, k_bounds_seconds.size() + 1> counts{};  // last: above every bound
  double sum_seconds = 0;
  void observe(double seconds) noexcept {
    std::size_t i = 0;
    while (i < k_bounds_seconds.size() && seconds > k_bounds_seconds[i]) ++i;
    ++counts[i];
    sum_seconds += seconds;
  }
};

struct runner_stats {
  std::vector<std::pair<std::string, std::uint64_t>> consumed_by_topic;
  std::vector<std::pair<std::string, std::uint64_t>> produced_by_topic;  // acknowledged
  std::uint64_t produce_retries = 0;   // outputs produced again after a failed delivery
  std::uint64_t produce_failures = 0;  // outputs dropped on a permanent error (logged)
  std::uint64_t internal_batches = 0;  // batch records produced (observations, deltas)
  std::uint64_t consume_errors = 0;
  std::uint64_t rebalances = 0;
  std::int64_t assigned_partitions = 0;
  // Moving state (docs/design.md section 4).
  std::uint64_t restored_records = 0;      // changelog records applied while restoring partitions
  std::int64_t restoring_partitions = 0;   // observations partitions not yet restored
  double last_restore_seconds = 0;         // duration of the latest partition restore
  std::uint64_t table_records = 0;         // signers-topic snapshots applied to the global table
  // Internal records that did not decode, besides observations (counted by the hash
  // stage): broken batches, hash records, deltas, changelog records (dead-lettered or
  // skipped), and the global table's snapshots (skipped; counted by one thread).
  std::uint64_t bad_internal_records = 0;
  bool table_caught_up = false;
  std::uint64_t intel_records = 0;         // abused-certificate list entries in use
  std::uint64_t intel_errors = 0;          // list files (or rows) that failed to load
  latency_histogram ingest_latency, hash_latency, signer_latency;  // per consumed message
  // The RocksDB store, sampled when metrics are published.
  std::uint64_t state_sst_bytes = 0;
  std::uint64_t state_memtable_bytes = 0;
  std::uint64_t state_block_cache_bytes = 0;
  std::uint64_t state_table_reader_bytes = 0;
  std::uint64_t state_reads = 0;
  std::uint64_t state_read_misses = 0;
  std::uint64_t state_dropped_by_retention = 0;
  bool state_write_stalled = false;            // RocksDB is delaying or stopping writes (compaction behind)
  std::uint64_t state_write_errors = 0;        // store writes that failed or were refused (low space)
  bool state_writable = true;                  // false while a failed state write stalls the instance
  bool group_member = false;                   // the group gave this consumer an assignment (maybe empty)
  // Consumer lag per assigned partition, from librdkafka's statistics (every 5 s).
  struct partition_lag {
    std::string topic;
    std::int32_t partition;
    std::int64_t lag;
  };
  std::vector<partition_lag> consumer_lag;

  static void add(std::vector<std::pair<std::string, std::uint64_t>>& counts, std::string_view key,
                  std::uint64_t n = 1) {
    for (auto& [k, v] : counts) {
      if (k == key) {
        v += n;
        return;
      }
    }
    counts.emplace_back(std::string(key), n);
  }
};

// Reads the consumer lag of every assigned partition from a librdkafka statistics
// document (topics.<t>.partitions.<p>.consumer_lag; -1 and the internal partition -1
// are skipped) into `out` (replaced). A malformed document leaves `out` unchanged.
void parse_consumer_lag(std::string_view stats_json, simdjson::dom::parser& parser,
                        std::vector<runner_stats::partition_lag>& out);

}  // namespace countersign::processor
