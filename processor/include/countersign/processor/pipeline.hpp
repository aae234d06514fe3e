#pragma once
// The stage code shared by `countersign run` (Kafka) and `countersign replay` (files):
//
//   parse (profile detection) ─► observations ─┬─► scope filter ─► detectors ─► suppression ─► alert
//                                              ├─► CI verdict ──► ci_joiner (held) ──────────────┘
//                                              └─► CI 3089 ─────► ci_joiner (fills held verdicts)
//
// One `pipeline` per processing thread; it reuses its parser, batch, hit vector and
// output buffers. Every outcome is counted in a plain `pipeline_stats` that the caller
// publishes to metrics.
//
// Deferred outputs: a Code Integrity verdict may wait for its 3089 signature events.
// Each message is processed with a caller-chosen token; a held verdict is reported in
// `process_result::deferred`, and when it is released (by a later message, `expire` or
// `flush`) its token appears in `releases()`, with its alert, if any, in `alerts()`.

#include <countersign/processor/ci_join.hpp>
#include <countersign/processor/config.hpp>
#include <countersign/processor/input_parser.hpp>
#include <countersign/processor/observation_batch.hpp>
#include <countersign/processor/reject_reason.hpp>
#include <countersign/rules/detectors.hpp>
#include <countersign/state/delta_combiner.hpp>
#include <countersign/state/prevalence_store.hpp>
#include <countersign/state/recent_keys.hpp>
#include <countersign/state/suppression_cache.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::processor {

struct pipeline_stats {
  std::uint64_t events = 0;
  std::uint64_t observations = 0;        // in scope: judged by the detectors
  std::uint64_t out_of_scope = 0;        // parsed, nothing to judge (unsigned, policy events, ...)
  std::uint64_t alerts = 0;              // alerts emitted
  std::uint64_t suppressed = 0;          // alerts withheld as repeats within the window
  std::array<std::uint64_t, k_reject_reason_count> rejected{};
  std::array<std::uint64_t, 5> events_by_schema{};  // indexed by rules::schema_profile
  std::vector<std::pair<std::string_view, std::uint64_t>> hits_by_detector;  // static ids
  ci_join_stats ci_join;
  std::uint64_t state_updates = 0;       // new facts merged into the prevalence store
  std::uint64_t state_errors = 0;        // failed state writes (the event is still judged)
  bool learning = true;                  // prevalence conditions not yet in use
  std::int64_t max_event_time_ms = 0;    // newest event time processed (0: none yet)
};

enum class outcome : std::uint8_t { alert, no_alert, out_of_scope, suppressed, rejected };

struct process_result {
  outcome kind = outcome::no_alert;      // the strongest outcome of the message's observations
  reject_reason reason = reject_reason::empty;  // when rejected
  std::string_view detail;               // when rejected; valid until the next call
  std::uint32_t alerts = 0;              // alerts of this message in alerts() (not deferred ones)
  std::uint32_t deferred = 0;            // verdicts of this message handed to the join: each
                                         // shows up once in releases(), in this call or a later one
};

struct source_position {
  std::string_view topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

struct emitted_alert {
  std::uint64_t token = 0;  // of the message the alert came from
  bool deferred = false;    // from a verdict released after its message was processed
  std::string key;          // Kafka key: host id
  std::string json;
};

class pipeline {
 public:
  // `store` (may be null: no state) is updated with every new (host, file, signature)
  // fact and read by the detectors once learning is complete; it outlives the pipeline.
  explicit pipeline(const config& cfg, state::prevalence_store* store = nullptr);
  pipeline(const pipeline&) = delete;  // the join callback is bound to this object
  pipeline& operator=(const pipeline&) = delete;

  // Processes one message. `now_ms` is the detection time written into alerts and the
  // join clock; replay passes nullopt to use event time, which keeps its output
  // deterministic. `forced` pins the input profile (per-topic config).
  [[nodiscard]] process_result process(std::string_view payload, const source_position& where,
                                       std::optional<std::int64_t> now_ms, std::uint64_t token = 0,
                                       rules::schema_profile forced = rules::schema_profile::unknown);
  // Releases verdicts held longer than the join window.
  void expire(std::int64_t now_ms);
  // Releases every held verdict (end of input, shutdown); `now_ms` as in process().
  void flush(std::optional<std::int64_t> now_ms);
  // Writes combined prevalence deltas to the store. The runner calls it before storing
  // input offsets, so committed input never has state that exists only in memory.
  void flush_state();

  // Outputs of the last process/expire/flush call.
  [[nodiscard]] std::span<const emitted_alert> alerts() const noexcept { return {alerts_.data(), alert_count_}; }
  [[nodiscard]] std::span<const std::uint64_t> releases() const noexcept { return releases_; }

  [[nodiscard]] const pipeline_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t held() const noexcept { return joiner_.pending(); }

 private:
  void begin_call();
  // Detectors, suppression and rendering of one observation; returns its outcome.
  outcome judge(rules::observation& obs, std::uint64_t token, bool deferred, std::optional<std::int64_t> now_ms);
  void count_hit(std::string_view id);
  // Merges the observation's facts into the prevalence store (new facts only).
  void update_state(const rules::observation& obs);
  // A verdict leaving the join: judged, its token reported in releases().
  void on_release(rules::observation& verdict, std::uint64_t token);

  input_parser parser_;
  rules::detector_set detectors_;
  state::suppression_cache suppression_;
  ci_joiner joiner_;
  std::int64_t suppression_window_ms_;
  std::int64_t max_event_time_ms_ = 0;
  state::prevalence_store* store_;
  state::recent_keys recent_;
  std::size_t combine_max_keys_;
  state::delta_combiner combiner_;
  std::optional<state::combined_view> view_;  // store + pending deltas, when there is a store
  std::int64_t min_history_ms_;
  std::int64_t history_first_ms_ = std::numeric_limits<std::int64_t>::max();
  std::int64_t history_last_ms_ = std::numeric_limits<std::int64_t>::min();
  std::optional<std::int64_t> release_now_;  // detection time for verdicts released by this call
  ci_joiner::release_fn release_;            // bound once: no allocation per message
  observation_batch batch_;
  std::vector<rules::hit> hits_;
  std::vector<emitted_alert> alerts_;  // slots reused; alert_count_ are live
  std::size_t alert_count_ = 0;
  std::vector<std::uint64_t> releases_;
  std::string error_detail_;
  pipeline_stats stats_;
};

}  // namespace countersign::processor
