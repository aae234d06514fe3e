#pragma once
// The ingest stage, shared by `countersign run` (Kafka) and `countersign replay` (files):
//
//   parse (profile detection) ─► observations ─┬─► scope, repeat filter ─► hash stage (local)
//                                              │                        └► forwards() (observations topic)
//                                              ├─► CI verdict ──► ci_joiner (held) ──┘
//                                              └─► CI 3089 ─────► ci_joiner (fills held verdicts)
//
// The repeat filter drops an observation whose (host, file, signer, status, suppression
// window) fact was just routed: its state merge would be idempotent and its alert would
// carry the same id, so nothing is lost. A Code Integrity verdict's fact includes its
// class and policy, which its alert id aggregates on.
//
// One `pipeline` per processing thread; it reuses its parser, batch and output buffers.
// Every outcome is counted in a plain `pipeline_stats` that the caller publishes.
//
// Deferred outputs: a Code Integrity verdict may wait for its 3089 signature events.
// Each message is processed with a caller-chosen token; a held verdict is reported in
// `process_result::deferred`, and when it is released (by a later message, `expire` or
// `flush`) its token appears in `releases()`, with its alert, if any, in `alerts()`.

#include <countersign/processor/engine/ci_join.hpp>
#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/correlation_stage.hpp>
#include <countersign/processor/engine/hash_stage.hpp>
#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/observation_batch.hpp>
#include <countersign/processor/engine/pipeline_stats.hpp>
#include <countersign/processor/engine/reject_reason.hpp>
#include <countersign/processor/engine/sigma_stage.hpp>
#include <countersign/processor/engine/stage_outputs.hpp>
#include <countersign/state/prevalence_store.hpp>
#include <countersign/state/recent_keys.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <map>
#include <vector>

namespace countersign::processor {

struct process_result {
  outcome kind = outcome::no_alert;      // the strongest outcome of the message's observations
  reject_reason reason = reject_reason::empty;  // when rejected
  std::string_view detail;               // when rejected; valid until the next call
  std::uint32_t alerts = 0;              // alerts of this message in alerts() (not deferred ones)
                                         // and sigma_alerts()
  std::uint32_t forwarded = 0;           // observations of this message in forwards() (not deferred)
  std::uint32_t deferred = 0;            // verdicts of this message handed to the join: each
                                         // shows up once in releases(), in this call or a later one
};

// What the per-message phase of process() (parse, normalize, Sigma rules) makes of one
// message. Nothing in it depends on an earlier message, so `replay --threads` prepares
// messages on worker threads and commits them in input order (pipeline::commit), which
// gives the output one thread gives. Slots are reused across messages.
struct prepared_message {
  bool rejected = false;
  reject_reason reason = reject_reason::empty;  // when rejected
  std::string detail;                           // when rejected
  rules::schema_profile schema = rules::schema_profile::unknown;  // the profile that read it
  bool unknown_shape = false;         // a JSON object no profile reads (counted out of scope)
  std::uint32_t fields_truncated = 0;
  observation_batch batch;
  std::vector<emitted_alert> sigma_alerts;  // slots reused; sigma_count are live
  std::size_t sigma_count = 0;
  bool sigma_admitted = true;  // false: alert suppression is still to be applied (commit)
  std::vector<rules::sigma::routed_match> routed;  // matches for the correlation stage
};

// The per-message phase: the input parser and the Sigma rules. The pipeline has one;
// pipeline::make_preparer() makes more for other threads, sharing the rule set and the
// user profiles (nothing large is copied). One thread at a time per preparer.
class message_preparer {
 public:
  message_preparer(const config& cfg, std::unique_ptr<sigma_stage> sigma);
  message_preparer(const message_preparer&) = delete;
  message_preparer& operator=(const message_preparer&) = delete;

  // Parses `payload` and evaluates the Sigma rules on it; the result goes to `out`.
  void prepare(std::string_view payload, const source_position& where, std::optional<std::int64_t> now_ms,
               std::uint64_t token, rules::schema_profile forced, prepared_message& out);
  [[nodiscard]] input_parser& parser() noexcept { return parser_; }
  // Null when sigma.enabled is false.
  [[nodiscard]] sigma_stage* sigma() const noexcept { return sigma_.get(); }

 private:
  // Whether an unknown shape on `topic` is rejected (input.unknown_shapes) rather than
  // counted out of scope; the last topic's answer is cached.
  bool strict(std::string_view topic);

  input_parser parser_;
  std::unique_ptr<sigma_stage> sigma_;
  bool strict_all_;
  std::map<std::string, unknown_shape_policy> strict_by_topic_;
  std::map<std::string, std::string, std::less<>> user_profile_pins_;  // topic -> user profile name
  std::string strict_last_topic_;
  bool strict_last_ = false;
};

struct forward_mode_t {};
inline constexpr forward_mode_t forward_mode{};

class pipeline {
 public:
  // Judges in-process with a hash stage of its own (replay, tests): `store` (may be
  // null: no state) is updated with every new (host, file, signature) fact and read by
  // the detectors once learning is complete; it outlives the pipeline.
  explicit pipeline(const config& cfg, state::prevalence_store* store = nullptr);
  // Ingest only: in-scope observations are encoded into forwards() for the
  // observations topic, whose partition count is set with set_partitions().
  // `sigma_rules`: the process's shared Sigma library (several processing threads), else
  // the pipeline's Sigma stage loads its own.
  pipeline(const config& cfg, forward_mode_t, std::shared_ptr<shared_sigma_library> sigma_rules = nullptr);
  void set_partitions(std::int32_t partitions) noexcept { partitions_ = partitions; }
  [[nodiscard]] std::int32_t partitions() const noexcept { return partitions_; }
  pipeline(const pipeline&) = delete;  // the join callback is bound to this object
  pipeline& operator=(const pipeline&) = delete;

  // Processes one message. `now_ms` is the detection time written into alerts and the
  // join clock; replay passes nullopt to use event time, which keeps its output
  // deterministic. `forced` pins the input profile (per-topic config).
  [[nodiscard]] process_result process(std::string_view payload, const source_position& where,
                                       std::optional<std::int64_t> now_ms, std::uint64_t token = 0,
                                       rules::schema_profile forced = rules::schema_profile::unknown);
  // process() in its two phases, for callers that run the first on other threads:
  // prepare() with a preparer of make_preparer(), then commit() each prepared message in
  // input order, on the pipeline's thread, with the arguments process() would get. The
  // outputs are those of process(); `m` is left with reused slots.
  [[nodiscard]] std::unique_ptr<message_preparer> make_preparer() const;
  [[nodiscard]] process_result commit(prepared_message& m, std::optional<std::int64_t> now_ms, std::uint64_t token = 0);
  // Adds the Sigma evaluation counters of a preparer of make_preparer() to stats().
  void add_preparer_stats(const message_preparer& p);

  // Releases verdicts held longer than the join window.
  void expire(std::int64_t now_ms);
  // Releases every held verdict (end of input, shutdown); `now_ms` as in process().
  void flush(std::optional<std::int64_t> now_ms);
  // Drops the held verdicts whose token `revoked` is true for, unreleased (their input
  // partition was revoked: ci_joiner::forget); no output. Returns how many.
  std::size_t forget_held(const std::function<bool(std::uint64_t token)>& revoked) { return joiner_.forget(revoked); }
  // End of a finite input (replay): the local correlation stage judges every open
  // window; the alerts are in sigma_alerts() (no-op when forwarding).
  void finish_correlations(std::optional<std::int64_t> now_ms);
  // Writes the local hash stage's combined deltas to the store (no-op when forwarding).
  void flush_state();
  // Re-reads input.profiles_file when its reload interval has passed (steady clock) and
  // it changed; the runner calls it from its loop. Replay reads it once.
  void maybe_reload_profiles();

  // Outputs of the last process/expire/flush call.
  [[nodiscard]] std::span<const emitted_alert> alerts() const noexcept {
    return local_ ? local_->alerts() : std::span<const emitted_alert>{};
  }
  // Sigma rule matches of the last process() call (evaluated at ingest, in both modes).
  [[nodiscard]] std::span<const emitted_alert> sigma_alerts() const noexcept { return {sigma_alerts_.data(), sigma_count_}; }
  [[nodiscard]] std::span<const forwarded_observation> forwards() const noexcept { return {forwards_.data(), forward_count_}; }
  // Forwarding mode: the matches of the last process() call that correlations need, for
  // the observations topic (key: the correlation's group; record: rules::sigma::encode_routed).
  // In-process they go to the local correlation stage instead, whose alerts join sigma_alerts().
  [[nodiscard]] std::span<const forwarded_observation> correlation_forwards() const noexcept {
    return {correlation_forwards_.data(), correlation_forward_count_};
  }
  [[nodiscard]] std::span<const std::uint64_t> releases() const noexcept { return releases_; }
  // All of the above, as every stage reports them.
  [[nodiscard]] stage_outputs outputs() const noexcept {
    return {alerts(), sigma_alerts(), forwards(), correlation_forwards(), releases()};
  }

  // Ingest counters, plus the local hash stage's when there is one.
  [[nodiscard]] pipeline_stats stats() const;
  [[nodiscard]] std::size_t held() const noexcept { return joiner_.pending(); }
  // The Sigma stage (null when sigma.enabled is false).
  [[nodiscard]] sigma_stage* sigma() noexcept { return preparer_.sigma(); }
  // The in-process hash stage (null when forwarding).
  [[nodiscard]] hash_stage* local() noexcept { return local_.get(); }

 private:
  pipeline(const config& cfg, std::unique_ptr<hash_stage> local, std::shared_ptr<shared_sigma_library> sigma_rules);
  void begin_call();
  // Scope, repeat filter, then judged locally or forwarded; returns its outcome.
  outcome route(rules::observation& obs, std::uint64_t token, bool deferred, std::optional<std::int64_t> now_ms);
  // A verdict leaving the join: routed, its token reported in releases().
  void on_release(rules::observation& verdict, std::uint64_t token);
  void count_out_of_scope(scope_reason r);

  config cfg_;  // for make_preparer()
  message_preparer preparer_;
  prepared_message prepared_;  // process()'s
  sigma_stats preparer_stats_;  // of other threads' preparers (add_preparer_stats)
  user_profile_library profiles_;
  std::int64_t profiles_reload_interval_ms_;
  std::chrono::steady_clock::time_point next_profiles_reload_;
  void note(const user_profile_library::reload_report& report);
  ci_joiner joiner_;
  std::int64_t suppression_window_ms_;
  bool suppression_enabled_;  // alerts.suppression_cache_entries > 0
  std::int64_t max_event_time_ms_ = 0;
  std::unique_ptr<hash_stage> local_;  // null: forwarding
  std::unique_ptr<correlation_stage> correlations_;  // in-process only (with local_ and sigma_)
  std::vector<forwarded_observation> correlation_forwards_;  // slots reused
  std::size_t correlation_forward_count_ = 0;
  void hand_over_correlated(const std::vector<rules::sigma::routed_match>& routed, std::uint64_t token,
                            std::optional<std::int64_t> now_ms);
  std::vector<emitted_alert> sigma_alerts_;  // slots reused; sigma_count_ are live
  std::size_t sigma_count_ = 0;
  std::int32_t partitions_;
  state::recent_keys recent_;
  bool certificate_join_;  // input.certificate_join.enabled: route rows the hash stage joins
  std::optional<std::int64_t> release_now_;  // detection time for verdicts released by this call
  ci_joiner::release_fn release_;            // bound once: no allocation per message
  std::vector<forwarded_observation> forwards_;  // slots reused; forward_count_ are live
  std::size_t forward_count_ = 0;
  std::vector<std::uint64_t> releases_;
  pipeline_stats stats_;
};

}  // namespace countersign::processor
