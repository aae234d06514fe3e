#pragma once
// The hash stage (docs/design.md section 2): judges observations of the file hashes it owns.
//
//   observation ─► hash record (partition p) ─┐
//               └► signer/issuer/company deltas ├─► detectors ─► suppression ─► alert
//                  (combined in memory)          │     ▲
//                                                └─────┘ prevalence: own hashes + global table
//
// In `countersign run` it consumes the observations topic, where each partition p holds
// the hashes that Kafka's partitioner puts there; in `countersign replay` the ingest
// pipeline calls it directly with the same partition. Facts are combined per key in
// memory and written by flush(): hash records into the store under their partition,
// signer/issuer/company deltas into the store's global table at once (so this instance
// sees its own facts without a round trip), and both to a `state_sink` that publishes
// them: hash snapshots to the changelog, deltas to the signer stage.
//
// The certificate join: where a schema reports a file's certificate in rows of its own
// (Defender DeviceFileCertificateInfo, keyed by SHA-1, like the execution rows of that
// schema: rules::file_key), the certificate row's facts are kept in the file's hash
// record (prevalence_value::certificate), so they survive restarts and move with the
// partition through the changelog. An execution row without signer facts takes them
// from there; when they are not there yet it waits in the same record
// (prevalence_value::pending, outcome::held: its message is done) and is judged when the
// certificate row comes, with that row's token, unless it waited longer than
// input.certificate_join.wait (event time). Released rows stay in the record under the
// certificate row's offset (prevalence_value::released) until that offset is committed,
// so a crash before their alerts were acknowledged does not lose them.
// Single-threaded.

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/pipeline_stats.hpp>
#include <countersign/processor/engine/stage_outputs.hpp>
#include <countersign/rules/cert_intel.hpp>
#include <countersign/rules/detectors.hpp>
#include <countersign/rules/observation.hpp>
#include <countersign/state/delta_combiner.hpp>
#include <countersign/state/prevalence_store.hpp>
#include <countersign/state/suppression_cache.hpp>

#include <chrono>
#include <cstdint>
#include <expected>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::processor {

// Where flushed state goes in the partitioned topology.
class state_sink {
 public:
  virtual ~state_sink() = default;
  // The full record of a hash after the flush (compacted changelog: latest wins).
  virtual void changelog(std::int32_t partition, std::string_view key, std::string_view record) = 0;
  // A combined delta for the signer stage, keyed by store kind + entity key.
  virtual void delta(state::store_kind kind, std::string_view key, std::string_view delta) = 0;
};

// The Kafka key of a signer delta or snapshot: one byte of store kind, then the key.
[[nodiscard]] std::string entity_topic_key(state::store_kind kind, std::string_view key);

// The abused-certificate lists (`intel_lists`) of a process, read once and shared by its
// processing threads: each hash stage takes a new list when the generation changes. The
// lists are immutable once built, so a stage judges with whole lists only.
class shared_intel_library {
 public:
  explicit shared_intel_library(std::vector<rules::intel_source> sources) : watcher_(std::move(sources)) {}

  struct update {
    std::uint64_t generation = 0;  // changes with every new list
    std::shared_ptr<const rules::cert_intel> intel;
    std::optional<rules::intel_watcher::reload_report> report;  // when this poll read the files
  };
  // Reads the files on the first poll, and again when `min_spacing_ms` (> 0) has passed
  // since the last read by any thread; returns the list in use.
  [[nodiscard]] update poll(std::int64_t min_spacing_ms);

 private:
  std::mutex mutex_;
  rules::intel_watcher watcher_;
  bool loaded_ = false;
  std::chrono::steady_clock::time_point next_read_{};
  std::uint64_t generation_ = 0;
};

class hash_stage {
 public:
  // `store` may be null (no state: detectors use their stateless conditions only).
  // `intel`: the process's shared lists (several processing threads); null with
  // `intel_lists` set: the stage reads them itself.
  hash_stage(const config& cfg, state::prevalence_store* store, std::shared_ptr<shared_intel_library> intel = nullptr);

  // Clears the alert outputs; call before each message.
  void begin() noexcept { alert_count_ = 0; }
  // Judges one observation whose file hash belongs to `partition`; `new_fact` false
  // skips the state update of a fact the caller knows was just merged.
  outcome judge(rules::observation& obs, std::int32_t partition, std::uint64_t token, bool deferred,
                std::optional<std::int64_t> now_ms, bool new_fact = true);
  // Decodes an observation and judges it; `rejected` when it does not decode. `position`
  // is where it sits in its partition (run: state::batch_position of the record's
  // offset and its index in a batch), which lets the rows a certificate row releases be
  // judged again if that row is delivered again.
  outcome process(std::string_view encoded, std::int32_t partition, std::uint64_t token,
                  std::optional<std::int64_t> now_ms, std::optional<std::int64_t> position = std::nullopt);
  // The observations partition's positions below `next` (state::batch_position of the
  // committed offset) are committed: their records will not be delivered again, so the
  // rows their certificate rows released can leave the hash records (with the next row
  // of the same file).
  void committed(std::int32_t partition, std::int64_t next);

  // Re-reads the abused-certificate lists that changed (the first call loads them all;
  // the constructor makes it), unless another thread sharing them read them less than
  // half an `intel_reload_interval` ago, and takes a new list read by any thread. A list
  // that fails keeps its previous records. The report is empty when this call read no
  // file.
  rules::intel_watcher::reload_report reload_intel();
  [[nodiscard]] const rules::intel_watcher::reload_report& initial_intel_report() const noexcept { return initial_intel_; }

  // Merges a whole hash record (a replayed state directory being published) into the
  // combined state of `partition`; false when it does not decode.
  [[nodiscard]] bool merge_record(std::int32_t partition, std::string_view key, std::string_view encoded);

  // Writes the combined state to the store and hands it to `sink` (may be null).
  // Returns the number of records given to the sink.
  [[nodiscard]] std::expected<std::size_t, std::string> flush(state_sink* sink);
  // True when enough deltas are pending that the caller should flush now.
  [[nodiscard]] bool should_flush() const noexcept { return combiner_.size() >= combine_max_keys_; }
  [[nodiscard]] std::size_t pending() const noexcept { return combiner_.size(); }
  // True with a store (hash records, and so certificates, are kept).
  [[nodiscard]] bool keeps_state() const noexcept { return store_ != nullptr; }

  [[nodiscard]] std::span<const emitted_alert> alerts() const noexcept { return {alerts_.data(), alert_count_}; }
  [[nodiscard]] stage_outputs outputs() const noexcept { return {.alerts = alerts()}; }
  [[nodiscard]] const pipeline_stats& stats() const noexcept { return stats_; }

 private:
  void count_hit(std::string_view id);
  void update_state(const rules::observation& obs, std::int32_t partition);
  // The hash record of `obs`'s file in `partition`: the store plus pending deltas.
  std::optional<state::prevalence_value> hash_record(const rules::observation& obs, std::int32_t partition);
  // Decodes the record's certificate into certificate_; false when it holds none.
  bool load_certificate(const std::optional<state::prevalence_value>& record);
  // Keeps an execution row in its file's hash record until a certificate row comes.
  void wait_for_certificate(const rules::observation& obs, std::int32_t partition,
                            const std::optional<state::prevalence_value>& record);
  // Clears `record`'s released rows when their certificate row's offset is committed.
  void settle_released(const state::prevalence_value& record, const rules::observation& obs, std::int32_t partition);
  // Judges the rows a certificate row released (waiting_), with its token.
  void judge_waiting(const rules::observation& certificate_row, std::int32_t partition, std::uint64_t token,
                     bool deferred, std::optional<std::int64_t> now_ms);
  // Whether prevalence is withheld from an event at `event_time_ms`: the state holds
  // less than `learning.min_history` of event time up to that event (nullopt: the
  // instance-wide span decides). By event time, not by the newest event seen, so an
  // event of a lagging partition is judged as replay would judge it.
  [[nodiscard]] bool learning_at(std::optional<std::int64_t> event_time_ms) const noexcept;
  outcome judge_now(rules::observation& obs, std::int32_t partition, std::uint64_t token, bool deferred,
                    std::optional<std::int64_t> now_ms, bool new_fact);

  rules::detector_set detectors_;
  std::shared_ptr<shared_intel_library> intel_;  // null without lists
  std::int64_t intel_interval_ms_;
  std::uint64_t intel_generation_ = 0;  // of the list the detectors use
  rules::intel_watcher::reload_report initial_intel_;
  state::suppression_cache suppression_;
  std::int64_t suppression_window_ms_;
  alert_format_set formats_;  // rendered besides countersign.alert/v1
  state::prevalence_store* store_;
  std::size_t combine_max_keys_;
  state::delta_combiner combiner_;
  std::optional<state::combined_view> view_;  // store + pending deltas, when there is a store
  std::int64_t min_history_ms_;
  std::int64_t history_first_ms_ = std::numeric_limits<std::int64_t>::max();
  std::int64_t history_last_ms_ = std::numeric_limits<std::int64_t>::min();
  rules::observation decoded_;
  std::vector<rules::hit> hits_;
  std::vector<emitted_alert> alerts_;  // slots reused; alert_count_ are live
  std::size_t alert_count_ = 0;
  // Hash records written by the last flush, for the changelog once committed; slots
  // (and their buffers) reused, the first `records` of a flush are live.
  struct flushed_record {
    std::int32_t partition = 0;
    std::string key;
    std::string record;
  };
  std::vector<flushed_record> flushed_;
  std::string scratch_;
  certificate_join_config join_;
  std::vector<std::string> waiting_;  // encoded rows a certificate row releases
  std::optional<std::int64_t> message_offset_;  // of the record process() is judging
  std::vector<std::int64_t> committed_;         // per observations partition: next committed offset, -1 unknown
  rules::observation waiting_row_;
  rules::observation certificate_;    // a certificate row's facts: encoded, or decoded from a record
  pipeline_stats stats_;
};

}  // namespace countersign::processor
