#pragma once
// The stage code shared by `countersign run` (Kafka) and `countersign replay` (files):
// parse -> normalize -> scope filter -> detect -> suppress -> render alert.
//
// One `pipeline` per processing thread; it reuses its parser, observation, hit vector
// and output buffer, so the steady state allocates only for alert text. It counts every
// outcome in a plain `pipeline_stats` that the caller publishes to metrics.

#include <countersign/processor/config.hpp>
#include <countersign/processor/ecs_parser.hpp>
#include <countersign/processor/reject_reason.hpp>
#include <countersign/rules/detectors.hpp>
#include <countersign/state/suppression_cache.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::processor {

struct pipeline_stats {
  std::uint64_t events = 0;
  std::uint64_t observations = 0;        // parsed and in scope
  std::uint64_t out_of_scope = 0;        // parsed, no signature to judge
  std::uint64_t alerts = 0;              // alerts emitted
  std::uint64_t suppressed = 0;          // alerts withheld as repeats within the window
  std::array<std::uint64_t, k_reject_reason_count> rejected{};
  std::vector<std::pair<std::string_view, std::uint64_t>> hits_by_detector;  // static ids
};

enum class outcome : std::uint8_t { alert, no_alert, out_of_scope, suppressed, rejected };

struct process_result {
  outcome kind = outcome::no_alert;
  reject_reason reason = reject_reason::empty;  // when rejected
  std::string_view detail;                      // when rejected; valid until the next call
};

struct source_position {
  std::string_view topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

class pipeline {
 public:
  explicit pipeline(const config& cfg);

  // Processes one message. `now_ms` is the detection time written into alerts; replay
  // passes nullopt to use event time, which keeps its output deterministic.
  [[nodiscard]] process_result process(std::string_view payload, const source_position& where,
                                       std::optional<std::int64_t> now_ms);

  // The alert of the last `outcome::alert`, and its Kafka key (host id).
  [[nodiscard]] const std::string& alert_json() const noexcept { return alert_; }
  [[nodiscard]] std::string_view alert_key() const noexcept { return obs_.host_key(); }
  [[nodiscard]] const rules::observation& last_observation() const noexcept { return obs_; }

  [[nodiscard]] const pipeline_stats& stats() const noexcept { return stats_; }

 private:
  void count_hit(std::string_view id);

  ecs_parser parser_;
  rules::detector_set detectors_;
  state::suppression_cache suppression_;
  std::int64_t suppression_window_ms_;
  rules::observation obs_;
  std::vector<rules::hit> hits_;
  std::string alert_;
  std::string error_detail_;
  pipeline_stats stats_;
};

}  // namespace countersign::processor
