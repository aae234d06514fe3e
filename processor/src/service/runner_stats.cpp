#include <countersign/processor/service/runner_stats.hpp>

namespace countersign::processor {

void parse_consumer_lag(std::string_view stats_json, simdjson::dom::parser& parser,
                        std::vector<runner_stats::partition_lag>& out) {
  simdjson::dom::element doc;
  if (parser.parse(stats_json.data(), stats_json.size()).get(doc) != simdjson::SUCCESS) return;
  simdjson::dom::object topics;
  if (doc["topics"].get_object().get(topics) != simdjson::SUCCESS) return;
  std::vector<runner_stats::partition_lag> lags;
  for (auto [topic, t] : topics) {
    simdjson::dom::object partitions;
    if (t["partitions"].get_object().get(partitions) != simdjson::SUCCESS) continue;
    for (auto [id, p] : partitions) {
      std::int64_t partition = -1, lag = -1;
      if (p["partition"].get_int64().get(partition) != simdjson::SUCCESS || partition < 0) continue;
      if (p["consumer_lag"].get_int64().get(lag) != simdjson::SUCCESS || lag < 0) continue;  // -1: not assigned
      lags.push_back({std::string(topic), static_cast<std::int32_t>(partition), lag});
    }
  }
  out = std::move(lags);
}

}  // namespace countersign::processor
