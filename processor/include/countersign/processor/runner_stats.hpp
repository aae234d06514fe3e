#pragma once
// Counts kept by the Kafka runner, published to Prometheus by `metrics_bridge`.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace countersign::processor {

struct runner_stats {
  std::vector<std::pair<std::string, std::uint64_t>> consumed_by_topic;
  std::vector<std::pair<std::string, std::uint64_t>> produced_by_topic;  // acknowledged
  std::uint64_t produce_retries = 0;   // outputs produced again after a failed delivery
  std::uint64_t produce_failures = 0;  // outputs dropped on a permanent error (logged)
  std::uint64_t consume_errors = 0;
  std::uint64_t rebalances = 0;
  std::int64_t assigned_partitions = 0;

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

}  // namespace countersign::processor
