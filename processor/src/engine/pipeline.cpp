#include <countersign/processor/engine/partitioner.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/rules/keys.hpp>
#include <countersign/rules/observation_codec.hpp>

#include <spdlog/spdlog.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace countersign::processor {
namespace {

// Which outcome of a message's observations is reported for the message.
int rank(outcome o) {
  switch (o) {
    case outcome::alert: return 4;
    case outcome::suppressed: return 3;
    case outcome::no_alert:
    case outcome::held: return 2;
    case outcome::out_of_scope: return 1;
    case outcome::rejected: return 0;
  }
  return 0;
}

// The counters of `from` added to `to` (not the gauges: rules, correlations, reloads).
void add_counters(sigma_stats& to, const sigma_stats& from) {
  to.events += from.events;
  to.considered += from.considered;
  to.evaluated += from.evaluated;
  to.matches += from.matches;
  to.alerts += from.alerts;
  to.suppressed += from.suppressed;
  to.truncated += from.truncated;
  to.withheld += from.withheld;
  to.correlation_routed += from.correlation_routed;
  to.correlation_missing_field += from.correlation_missing_field;
  to.correlation_no_time += from.correlation_no_time;
}

}  // namespace

pipeline::pipeline(const config& cfg, state::prevalence_store* store)
    : pipeline(cfg, std::make_unique<hash_stage>(cfg, store), nullptr) {}

pipeline::pipeline(const config& cfg, forward_mode_t, std::shared_ptr<shared_sigma_library> sigma_rules)
    : pipeline(cfg, std::unique_ptr<hash_stage>(), std::move(sigma_rules)) {}

namespace {

std::unique_ptr<sigma_stage> make_sigma_stage(const config& cfg, std::shared_ptr<shared_sigma_library> shared) {
  if (!cfg.sigma.enabled) return nullptr;
  if (shared) return std::make_unique<sigma_stage>(cfg, std::move(shared));
  return std::make_unique<sigma_stage>(cfg);
}

}  // namespace

message_preparer::message_preparer(const config& cfg, std::unique_ptr<sigma_stage> sigma)
    : parser_(parser_limits{cfg.input.max_message_bytes, cfg.input.max_field_bytes}),
      sigma_(std::move(sigma)),
      strict_all_(cfg.input.unknown_shapes == unknown_shape_policy::reject),
      strict_by_topic_(cfg.input.unknown_shapes_by_topic) {
  user_profile_pins_.insert(cfg.input.user_profile_pins.begin(), cfg.input.user_profile_pins.end());
}

pipeline::pipeline(const config& cfg, std::unique_ptr<hash_stage> local, std::shared_ptr<shared_sigma_library> sigma_rules)
    : cfg_(cfg),
      preparer_(cfg, make_sigma_stage(cfg, std::move(sigma_rules))),
      profiles_(cfg.input.profiles_file),
      profiles_reload_interval_ms_(cfg.input.profiles_reload_interval_ms),
      joiner_(cfg.input.codeintegrity_join),
      suppression_window_ms_(cfg.alerts.suppression_window_ms),
      suppression_enabled_(cfg.alerts.suppression_cache_entries > 0),
      local_(std::move(local)),
      partitions_(cfg.topology.partitions),
      recent_(cfg.state.recent_pairs),
      certificate_join_(cfg.input.certificate_join.enabled),
      release_([this](rules::observation& verdict, std::uint64_t token) { on_release(verdict, token); }) {
  // Correlation windows in memory: replay judges a finite input, and run keeps its
  // windows in the runner's stage, on the partitions it owns.
  if (local_ && sigma()) correlations_ = std::make_unique<correlation_stage>(cfg, nullptr);
  note(profiles_.reload());
  next_profiles_reload_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(profiles_reload_interval_ms_);
}

void pipeline::note(const user_profile_library::reload_report& report) {
  for (const auto& d : report.diagnostics) {
    if (d.error) spdlog::error("input profiles: {}", d.text());
    else spdlog::warn("input profiles: {}", d.text());
  }
  if (report.changed) {
    preparer_.parser().set_user_profiles(profiles_.current());
    spdlog::info("input profiles: {} in use", profiles_.current()->size());
  }
}

void pipeline::maybe_reload_profiles() {
  if (profiles_reload_interval_ms_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_profiles_reload_) return;
  next_profiles_reload_ = now + std::chrono::milliseconds(profiles_reload_interval_ms_);
  note(profiles_.reload());
}

bool message_preparer::strict(std::string_view topic) {
  if (strict_by_topic_.empty()) return strict_all_;
  if (topic != strict_last_topic_) {
    strict_last_topic_.assign(topic);
    const auto it = strict_by_topic_.find(strict_last_topic_);
    strict_last_ = it == strict_by_topic_.end() ? strict_all_ : it->second == unknown_shape_policy::reject;
  }
  return strict_last_;
}

void pipeline::count_out_of_scope(scope_reason r) {
  ++stats_.out_of_scope;
  ++stats_.out_of_scope_by_reason[static_cast<std::size_t>(r)];
}

pipeline_stats pipeline::stats() const {
  pipeline_stats s = local_ ? combined(stats_, local_->stats()) : stats_;
  if (const auto* sg = preparer_.sigma()) {
    s.sigma = sg->stats();
    add_counters(s.sigma, preparer_stats_);
  }
  if (correlations_) s.correlation = correlations_->stats();
  return s;
}

void pipeline::begin_call() {
  if (local_) local_->begin();
  forward_count_ = 0;
  correlation_forward_count_ = 0;
  sigma_count_ = 0;
  releases_.clear();
}

void pipeline::on_release(rules::observation& verdict, std::uint64_t token) {
  (void)route(verdict, token, true, release_now_);
  releases_.push_back(token);
}

void pipeline::flush_state() {
  if (!local_) return;
  (void)local_->flush(nullptr);  // failures are counted in the stage's state_errors
}

outcome pipeline::route(rules::observation& obs, std::uint64_t token, bool deferred,
                        std::optional<std::int64_t> now_ms) {
  const bool is_verdict = obs.kind == rules::event_kind::code_integrity;
  // Certificate rows and execution rows that wait for one meet in the hash stage, even
  // when unsigned: the certificate row is what says so.
  // (A local hash stage without a store has nowhere to keep certificates.)
  const bool joined = certificate_join_ && (!local_ || local_->keeps_state()) &&
                      ((rules::is_certificate_row(obs) && obs.sha1.has_value()) || rules::awaits_certificate(obs));
  if (!obs.signature.is_present() && !is_verdict && !joined) {
    const bool judged_kind = obs.kind != rules::event_kind::unknown && obs.kind != rules::event_kind::policy;
    count_out_of_scope(judged_kind ? scope_reason::no_signature : scope_reason::other_event);
    return outcome::out_of_scope;
  }
  std::string key = rules::file_key(obs);
  // A repeat of a fact routed within the same suppression window: its state merge is
  // idempotent and its alert would carry the same id, so it is neither judged nor sent
  // (counted in `repeats`, reported as suppressed). With suppression off, every event
  // may alert, so none is a repeat. A Code Integrity verdict's fact also has its class
  // and policy (its alert id aggregates per policy): the same block logged twice (two
  // shapes of one record, a shipper's redelivery) is caught here, on its input
  // partition's thread, and not only by the suppression of whichever thread owns its
  // observations partition at the time (with several threads, a rebalance between the
  // two copies made that a second alert).
  bool fresh = true;
  if (suppression_window_ms_ > 0 && suppression_enabled_) {
    const std::string signer = rules::signer_key(obs.signature);
    const std::int64_t window = obs.event_time_ms ? *obs.event_time_ms / suppression_window_ms_ : 0;
    XXH3_state_t h;
    XXH3_64bits_reset(&h);
    XXH3_64bits_update(&h, &obs.host_hash, sizeof obs.host_hash);
    XXH3_64bits_update(&h, &window, sizeof window);
    for (const std::string_view part : {std::string_view(key), std::string_view(signer), rules::to_string(obs.signature.status)}) {
      XXH3_64bits_update(&h, part.data(), part.size());
      XXH3_64bits_update(&h, "\0", 1);
    }
    if (is_verdict) {
      const auto klass = static_cast<std::uint8_t>(obs.ci.klass);
      XXH3_64bits_update(&h, &klass, sizeof klass);
      for (const std::string_view part : {obs.ci.policy_id.view(), obs.ci.policy_name.view()}) {
        XXH3_64bits_update(&h, part.data(), part.size());
        XXH3_64bits_update(&h, "\0", 1);
      }
    }
    fresh = recent_.insert(XXH3_64bits_digest(&h));
  }
  if (key.empty()) key.assign(obs.host_key());  // nothing to count; any stable partition will do
  const std::int32_t partition = kafka_partition(key, partitions_);
  // A repeat goes no further, judged locally or not: replay and run raise the same alerts.
  if (!fresh) {
    ++stats_.repeats;
    return outcome::suppressed;
  }
  if (local_) {
    const outcome o = local_->judge(obs, partition, token, deferred, now_ms);
    // Reads include pending deltas; memory does not grow past combine_max_keys.
    if (local_->should_flush()) (void)local_->flush(nullptr);
    return o;
  }
  if (forward_count_ == forwards_.size()) forwards_.emplace_back();
  forwarded_observation& f = forwards_[forward_count_++];
  f.token = token;
  f.deferred = deferred;
  f.partition = partition;
  f.key = std::move(key);
  f.record.clear();
  rules::encode_observation(obs, f.record);
  ++stats_.forwarded;
  return outcome::no_alert;
}

std::unique_ptr<message_preparer> pipeline::make_preparer() const {
  const sigma_stage* sg = preparer_.sigma();
  auto p = std::make_unique<message_preparer>(cfg_, sg ? std::make_unique<sigma_stage>(cfg_, *sg) : nullptr);
  p->parser().set_user_profiles(profiles_.current());
  return p;
}

void pipeline::add_preparer_stats(const message_preparer& p) {
  if (p.sigma() == nullptr) return;
  add_counters(preparer_stats_, p.sigma()->stats());
}

void message_preparer::prepare(std::string_view payload, const source_position& where,
                               std::optional<std::int64_t> now_ms, std::uint64_t token,
                               rules::schema_profile forced, prepared_message& out) {
  out.rejected = false;
  out.unknown_shape = false;
  out.fields_truncated = 0;
  out.sigma_count = 0;
  out.sigma_admitted = sigma_ == nullptr || !sigma_->defers_suppression();
  out.routed.clear();
  std::string_view pinned_profile;
  if (forced == rules::schema_profile::user && !user_profile_pins_.empty()) {
    if (const auto it = user_profile_pins_.find(where.topic); it != user_profile_pins_.end()) pinned_profile = it->second;
  }
  auto parsed = parser_.parse(payload, out.batch, forced, pinned_profile);
  if (!parsed && parsed.error().reason == reject_reason::unknown_schema && forced == rules::schema_profile::unknown &&
      !strict(where.topic)) {
    // (A topic pinned to a profile rejects what does not fit it, as it always did.)
    // A well-formed object no profile reads: not bad input. Sigma sees it by its own
    // field names; it is counted out of scope, not dead-lettered.
    out.unknown_shape = true;
    out.batch.clear();
    parsed = rules::schema_profile::unknown;
  }
  if (!parsed) {
    out.rejected = true;
    out.reason = parsed.error().reason;
    out.detail = std::move(parsed.error().detail);
    out.batch.clear();
    return;
  }
  out.schema = *parsed;
  out.fields_truncated = parser_.last_truncated_fields();
  for (auto& obs : out.batch.items()) {
    obs.source.topic.assign(where.topic);
    obs.source.partition = where.partition;
    obs.source.offset = where.offset;
  }
  // Sigma first: the join (commit) takes verdicts and signatures out of the batch.
  if (sigma_) {
    const auto m = parser_.last_message();
    sigma_->evaluate(m.data, m.size, m.capacity, parser_.indexed_document(), *parsed, out.batch, where, now_ms, token, out.sigma_alerts,
                     out.sigma_count, out.routed);
  }
}

process_result pipeline::process(std::string_view payload, const source_position& where,
                                 std::optional<std::int64_t> now_ms, std::uint64_t token,
                                 rules::schema_profile forced) {
  preparer_.prepare(payload, where, now_ms, token, forced, prepared_);
  return commit(prepared_, now_ms, token);
}

process_result pipeline::commit(prepared_message& m, std::optional<std::int64_t> now_ms, std::uint64_t token) {
  begin_call();
  ++stats_.events;
  if (m.rejected) {
    ++stats_.rejected[static_cast<std::size_t>(m.reason)];
    return {outcome::rejected, m.reason, m.detail, 0, 0, 0};
  }
  ++stats_.events_by_schema[static_cast<std::size_t>(m.schema)];
  stats_.fields_truncated += m.fields_truncated;

  process_result result{outcome::out_of_scope, {}, {}, 0, 0, 0};
  if (m.unknown_shape) count_out_of_scope(scope_reason::unknown_schema);
  const auto note = [&result](outcome o) {
    if (rank(o) > rank(result.kind)) result.kind = o;
  };
  for (const auto& obs : m.batch.items()) {
    if (obs.event_time_ms) max_event_time_ms_ = std::max(max_event_time_ms_, *obs.event_time_ms);
  }
  stats_.max_event_time_ms = max_event_time_ms_;
  if (auto* sg = sigma()) {
    // The slots change hands: the message's alerts become this call's.
    std::swap(m.sigma_alerts, sigma_alerts_);
    sigma_count_ = m.sigma_count;
    m.sigma_count = 0;
    if (!m.sigma_admitted) sg->admit(sigma_alerts_, 0, sigma_count_);
    if (!m.routed.empty()) hand_over_correlated(m.routed, token, now_ms);
    result.alerts += static_cast<std::uint32_t>(sigma_count_);
    if (sigma_count_ > 0) note(outcome::alert);
  }
  // The join clock: wall time when running, the stream's event time when replaying.
  const std::int64_t clock = now_ms.value_or(max_event_time_ms_);
  release_now_ = now_ms;
  for (auto& obs : m.batch.items()) {
    if (obs.kind == rules::event_kind::signature_info) {
      joiner_.add_signature(obs, clock, release_);
      note(outcome::out_of_scope);
      continue;
    }
    if (obs.kind == rules::event_kind::code_integrity && !joiner_.add_verdict(obs, token, clock, release_)) {
      ++result.deferred;
      continue;
    }
    note(route(obs, token, false, now_ms));
  }
  // Outputs released within this call belong to their own messages, this one included.
  for (const auto& a : alerts()) {
    if (!a.deferred) ++result.alerts;
  }
  for (const auto& f : forwards()) {
    if (!f.deferred) ++result.forwarded;
  }
  joiner_.expire(clock, release_);
  stats_.ci_join = joiner_.stats();
  return result;
}

// The same placement as observations (murmur2 of the key over topology.partitions), so
// replay's partitions, and their watermarks, are run's.
void pipeline::hand_over_correlated(const std::vector<rules::sigma::routed_match>& routed, std::uint64_t token,
                                    std::optional<std::int64_t> now_ms) {
  for (const auto& m : routed) {
    const std::int32_t partition = kafka_partition(m.key, partitions_);
    if (correlations_) {
      correlations_->set_rules(sigma()->correlations());
      correlations_->process(partition, m, now_ms, sigma_alerts_, sigma_count_);
      continue;
    }
    if (correlation_forward_count_ == correlation_forwards_.size()) correlation_forwards_.emplace_back();
    forwarded_observation& f = correlation_forwards_[correlation_forward_count_++];
    f.token = token;
    f.deferred = false;
    f.partition = partition;
    f.key.assign(m.key);
    rules::sigma::encode_routed(m, f.record);
  }
}

void pipeline::finish_correlations(std::optional<std::int64_t> now_ms) {
  begin_call();
  if (correlations_) correlations_->finish(now_ms, sigma_alerts_, sigma_count_);
}

void pipeline::expire(std::int64_t now_ms) {
  begin_call();
  release_now_ = now_ms;
  joiner_.expire(now_ms, release_);
  stats_.ci_join = joiner_.stats();
}

void pipeline::flush(std::optional<std::int64_t> now_ms) {
  begin_call();
  release_now_ = now_ms;
  joiner_.flush(release_);
  stats_.ci_join = joiner_.stats();
}

}  // namespace countersign::processor
