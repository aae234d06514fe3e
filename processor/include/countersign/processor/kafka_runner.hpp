#pragma once
// `countersign run`: the pipeline on a Kafka consumer group.
//
//   input topics ──poll──► pipeline ──alert──────► alerts topic (key = host id)
//        ▲                    └──────reject──────► dead-letter topic (payload unchanged + headers)
//        │                                                │ delivery reports
//        └──── offsets stored once every output of ◄──────┘ (offset_tracker)
//              a message is acknowledged; committed by auto-commit and at shutdown
//
// Invariants: an input offset is committed only after all messages it caused are
// acknowledged (at-least-once end to end); a failed delivery is produced again, never
// dropped, unless the error is permanent (then it is counted and logged); a bad input
// never blocks its partition. A Code Integrity verdict held for its 3089 join keeps its
// offset uncommitted until it is released (joined, timed out, or flushed at shutdown).
// One thread runs everything: consumer poll, pipeline,
// producer poll and delivery reports. SIGTERM (via `stop`) stops fetching, waits for
// outstanding acknowledgements up to processing.drain_timeout, commits, closes.

#include <countersign/metrics/health.hpp>
#include <countersign/processor/config.hpp>
#include <countersign/processor/metrics_bridge.hpp>
#include <countersign/processor/pipeline.hpp>

#include <atomic>
#include <expected>
#include <memory>
#include <string>

namespace countersign::processor {

class kafka_runner {
 public:
  kafka_runner(const config& cfg, std::shared_ptr<metrics::health_state> health,
               metrics_bridge* metrics, state::prevalence_store* store = nullptr);
  ~kafka_runner();
  kafka_runner(const kafka_runner&) = delete;
  kafka_runner& operator=(const kafka_runner&) = delete;

  // Runs until `stop` becomes true or a fatal Kafka error occurs. Returns an error
  // message for start-up failures and fatal errors.
  [[nodiscard]] std::expected<void, std::string> run(const std::atomic<bool>& stop);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace countersign::processor
