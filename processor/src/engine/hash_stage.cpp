#include <countersign/processor/engine/hash_stage.hpp>
#include <countersign/processor/version.hpp>
#include <countersign/rules/alert.hpp>
#include <countersign/rules/keys.hpp>
#include <countersign/rules/observation_codec.hpp>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>

namespace countersign::processor {

std::string entity_topic_key(state::store_kind kind, std::string_view key) {
  std::string out;
  out.reserve(1 + key.size());
  out.push_back(static_cast<char>(kind));
  out.append(key);
  return out;
}

pipeline_stats combined(const pipeline_stats& ingest, const pipeline_stats& judged) {
  pipeline_stats s = ingest;
  s.observations = judged.observations;
  s.alerts = judged.alerts;
  s.suppressed = judged.suppressed;
  s.hits_by_detector = judged.hits_by_detector;
  s.state_updates = judged.state_updates;
  s.state_errors = judged.state_errors;
  s.learning = judged.learning;
  s.certificate_join = judged.certificate_join;
  for (std::size_t i = 0; i < s.rejected.size(); ++i) s.rejected[i] += judged.rejected[i];
  return s;
}

shared_intel_library::update shared_intel_library::poll(std::int64_t min_spacing_ms) {
  const std::lock_guard lock(mutex_);
  update u;
  const auto now = std::chrono::steady_clock::now();
  if (!loaded_ || (min_spacing_ms > 0 && now >= next_read_)) {
    u.report = watcher_.reload();
    if (!loaded_ || u.report->changed) ++generation_;
    loaded_ = true;
    next_read_ = now + std::chrono::milliseconds(min_spacing_ms);
  }
  u.generation = generation_;
  u.intel = watcher_.current();
  return u;
}

hash_stage::hash_stage(const config& cfg, state::prevalence_store* store, std::shared_ptr<shared_intel_library> intel)
    : detectors_(cfg.detectors),
      intel_interval_ms_(cfg.intel_reload_interval_ms),
      suppression_(cfg.alerts.suppression_cache_entries),
      suppression_window_ms_(cfg.alerts.suppression_window_ms),
      formats_(alert_formats(cfg)),
      store_(store),
      combine_max_keys_(cfg.state.combine_max_keys),
      min_history_ms_(cfg.state.min_history_ms),
      join_(cfg.input.certificate_join) {
  hits_.reserve(8);
  if (!cfg.intel_lists.empty()) {
    intel_ = intel ? std::move(intel) : std::make_shared<shared_intel_library>(cfg.intel_lists);
    initial_intel_ = reload_intel();
  }
  if (store_) {
    view_.emplace(*store_, combiner_, 0);
    if (auto h = store_->history()) {
      history_first_ms_ = h->first_seen_ms;
      history_last_ms_ = h->last_seen_ms;
    }
    const bool empty = history_last_ms_ < history_first_ms_;
    stats_.learning = min_history_ms_ > 0 && (empty || history_last_ms_ - history_first_ms_ < min_history_ms_);
  }
}

void hash_stage::count_hit(std::string_view id) {
  for (auto& [known, count] : stats_.hits_by_detector) {
    if (known == id) {
      ++count;
      return;
    }
  }
  stats_.hits_by_detector.emplace_back(id, 1);
}

void hash_stage::update_state(const rules::observation& obs, std::int32_t partition) {
  const std::string file = rules::file_key(obs);
  if (file.empty() || !obs.event_time_ms) return;
  const std::int64_t t = *obs.event_time_ms;
  const std::string signer = rules::signer_key(obs.signature);
  const std::string issuer = rules::issuer_key(obs.signature);

  state::prevalence_value seen;
  seen.first_seen_ms = t;
  seen.last_seen_ms = t;
  seen.hosts.insert(obs.host_hash);
  if (rules::is_certificate_row(obs)) {
    // The file's certificate, for its execution rows (only the facts they lack).
    state::prevalence_value with_certificate = seen;
    certificate_ = rules::observation{};
    certificate_.kind = obs.kind;
    certificate_.source.schema = obs.source.schema;
    certificate_.event_time_ms = obs.event_time_ms;
    certificate_.sha1 = obs.sha1;
    certificate_.signature = obs.signature;
    with_certificate.certificate_time_ms = t;
    rules::encode_observation(certificate_, with_certificate.certificate);
    combiner_.add(state::store_kind::hash, partition, file, with_certificate);
  } else {
    combiner_.add(state::store_kind::hash, partition, file, seen);
  }
  if (!signer.empty()) {
    state::prevalence_value s = seen;
    s.items.insert(XXH3_64bits(file.data(), file.size()));
    if (!issuer.empty()) s.issuers.insert(XXH3_64bits(issuer.data(), issuer.size()));
    if (obs.signature.not_before_ms) s.min_not_before_ms = *obs.signature.not_before_ms;
    combiner_.add(state::store_kind::signer, state::k_global_partition, signer, s);
    const std::string company = rules::normalize_company(obs.pe.company.view());
    if (!company.empty()) {
      combiner_.add(state::store_kind::company_signer, state::k_global_partition, company + '\0' + signer, seen);
    }
  }
  if (!issuer.empty()) {
    state::prevalence_value i = seen;
    if (!signer.empty()) i.items.insert(XXH3_64bits(signer.data(), signer.size()));
    combiner_.add(state::store_kind::issuer, state::k_global_partition, issuer, i);
  }
  store_->observe_time(t);
  ++stats_.state_updates;
  history_first_ms_ = std::min(history_first_ms_, t);
  history_last_ms_ = std::max(history_last_ms_, t);
  if (stats_.learning && history_last_ms_ - history_first_ms_ >= min_history_ms_) stats_.learning = false;
}

outcome hash_stage::judge(rules::observation& obs, std::int32_t partition, std::uint64_t token, bool deferred,
                          std::optional<std::int64_t> now_ms, bool new_fact) {
  if (join_.enabled && rules::awaits_certificate(obs)) {
    if (store_ == nullptr) {  // no hash records to keep certificates in
      ++stats_.certificate_join.unmatched;
      return outcome::out_of_scope;
    }
    const auto record = hash_record(obs, partition);
    if (!load_certificate(record)) {
      wait_for_certificate(obs, partition, record);
      return outcome::held;
    }
    settle_released(*record, obs, partition);
    obs.signature = std::move(certificate_.signature);
    ++stats_.certificate_join.joined;
  }
  // A certificate row: the execution rows that waited for it are judged with it, and the
  // merged record (certificate set) no longer holds them. In `run` they stay in the
  // record as released by this row's offset until it is committed: the same row
  // delivered again (a crash before its alerts were acknowledged) judges them again.
  waiting_.clear();
  if (join_.enabled && store_ && rules::is_certificate_row(obs)) {
    if (auto record = hash_record(obs, partition)) {
      if (!record->pending.empty()) {
        waiting_.swap(record->pending);
      } else if (message_offset_ && record->released_at == *message_offset_) {
        waiting_.swap(record->released);
      } else {
        settle_released(*record, obs, partition);
      }
    }
  }
  const std::size_t alerts_before = alert_count_;
  outcome o = judge_now(obs, partition, token, deferred, now_ms, new_fact);
  if (!waiting_.empty()) {
    if (message_offset_) {
      state::prevalence_value released;
      released.released_at = *message_offset_;
      released.released = waiting_;
      combiner_.add(state::store_kind::hash, partition, rules::file_key(obs), released);
    }
    judge_waiting(obs, partition, token, deferred, now_ms);
    if (alert_count_ > alerts_before) o = outcome::alert;
  }
  return o;
}

void hash_stage::committed(std::int32_t partition, std::int64_t next_offset) {
  if (partition < 0) return;
  const auto p = static_cast<std::size_t>(partition);
  if (p >= committed_.size()) committed_.resize(p + 1, -1);
  committed_[p] = std::max(committed_[p], next_offset);
}

// Released rows whose certificate row is committed are never judged again: a row of the
// same file at a later offset clears them by writing its own offset with no rows.
void hash_stage::settle_released(const state::prevalence_value& record, const rules::observation& obs,
                                 std::int32_t partition) {
  if (!message_offset_ || record.released.empty() || partition < 0) return;
  const auto p = static_cast<std::size_t>(partition);
  if (p >= committed_.size() || record.released_at >= committed_[p] || *message_offset_ <= record.released_at) return;
  state::prevalence_value cleared;
  cleared.released_at = *message_offset_;
  combiner_.add(state::store_kind::hash, partition, rules::file_key(obs), cleared);
}

std::optional<state::prevalence_value> hash_stage::hash_record(const rules::observation& obs, std::int32_t partition) {
  view_->set_hash_partition(partition);
  return view_->value(state::store_kind::hash, rules::file_key(obs));
}

bool hash_stage::load_certificate(const std::optional<state::prevalence_value>& record) {
  return record && !record->certificate.empty() && rules::decode_observation(record->certificate, certificate_);
}

// The row goes into its file's hash record (with the file's sighting, a fact of its
// own), so it waits in state: it survives restarts and moves with the partition, and
// its message is done like any other. `record` is the file's record before this row.
void hash_stage::wait_for_certificate(const rules::observation& obs, std::int32_t partition,
                                      const std::optional<state::prevalence_value>& record) {
  update_state(obs, partition);
  state::prevalence_value delta;
  rules::encode_observation(obs, delta.pending.emplace_back());
  if (record && record->pending.size() >= state::prevalence_value::k_max_pending &&
      delta.pending.front() > record->pending.back()) {
    ++stats_.certificate_join.evicted;  // the file's list is full of rows that sort first
    return;
  }
  combiner_.add(state::store_kind::hash, partition, rules::file_key(obs), delta);
  ++stats_.certificate_join.held;
}

// After the certificate row was judged (its certificate is in the record now, or a newer
// one that was there already): the certificate is decoded once for all waiting rows.
void hash_stage::judge_waiting(const rules::observation& certificate_row, std::int32_t partition, std::uint64_t token,
                               bool deferred, std::optional<std::int64_t> now_ms) {
  const bool known = load_certificate(hash_record(certificate_row, partition));
  const std::int64_t arrived = certificate_row.event_time_ms.value_or(0);
  for (const auto& encoded : waiting_) {
    if (!known || !rules::decode_observation(encoded, waiting_row_)) {
      ++stats_.certificate_join.unmatched;
      continue;
    }
    if (arrived - waiting_row_.event_time_ms.value_or(arrived) > join_.wait_ms) {
      ++stats_.certificate_join.unmatched;  // waited longer than the join allows
      continue;
    }
    waiting_row_.signature = certificate_.signature;
    ++stats_.certificate_join.joined_late;
    (void)judge_now(waiting_row_, partition, token, deferred, now_ms, true);
  }
  waiting_.clear();
}

bool hash_stage::learning_at(std::optional<std::int64_t> event_time_ms) const noexcept {
  if (!stats_.learning) {
    if (min_history_ms_ <= 0 || !event_time_ms) return false;
    return *event_time_ms - history_first_ms_ < min_history_ms_;
  }
  return true;  // the history spans less than min_history: every event is within it
}

outcome hash_stage::judge_now(rules::observation& obs, std::int32_t partition, std::uint64_t token, bool deferred,
                              std::optional<std::int64_t> now_ms, bool new_fact) {
  ++stats_.observations;
  if (store_) {
    if (new_fact) update_state(obs, partition);
    view_->set_hash_partition(partition);
    if (history_first_ms_ <= history_last_ms_) view_->set_watching_since(history_first_ms_);
  }
  hits_.clear();
  detectors_.evaluate(obs, view_ && !learning_at(obs.event_time_ms) ? &*view_ : nullptr, hits_);
  if (hits_.empty()) return outcome::no_alert;
  for (const auto& h : hits_) count_hit(h.id);

  const std::string id = rules::alert_id(hits_, obs, suppression_window_ms_);
  if (!suppression_.first_time(id)) {
    ++stats_.suppressed;
    return outcome::suppressed;
  }
  if (alert_count_ == alerts_.size()) alerts_.emplace_back();
  emitted_alert& a = alerts_[alert_count_++];
  a.token = token;
  a.deferred = deferred;
  a.key.assign(obs.host_key());
  const std::int64_t detected_at = now_ms.value_or(obs.event_time_ms.value_or(0));
  static constexpr std::string_view k_technique[] = {"T1588.003"};
  std::optional<rules::alert_prevalence> prevalence;
  if (store_) {
    prevalence.emplace(rules::alert_prevalence{view_->hash(rules::file_key(obs)),
                                               view_->signer(rules::signer_key(obs.signature)),
                                               view_->issuer(rules::issuer_key(obs.signature))});
  }
  render_emitted_alert({obs, hits_, id, detected_at, prevalence ? &*prevalence : nullptr, k_technique, k_version},
                       formats_, a);
  ++stats_.alerts;
  return outcome::alert;
}

outcome hash_stage::process(std::string_view encoded, std::int32_t partition, std::uint64_t token,
                            std::optional<std::int64_t> now_ms, std::optional<std::int64_t> offset) {
  begin();
  if (!rules::decode_observation(encoded, decoded_)) {
    ++stats_.rejected[static_cast<std::size_t>(reject_reason::bad_internal_record)];
    return outcome::rejected;
  }
  message_offset_ = offset;
  const outcome o = judge(decoded_, partition, token, false, now_ms);
  message_offset_.reset();
  return o;
}

rules::intel_watcher::reload_report hash_stage::reload_intel() {
  if (!intel_) return {};
  // Half the interval: each thread asks once per interval, at its own moment; the one
  // that comes first reads, the others take what it read.
  auto u = intel_->poll(intel_interval_ms_ / 2);
  rules::intel_watcher::reload_report report = u.report.value_or(rules::intel_watcher::reload_report{});
  // A list another thread read is new here too: log and count its size once per thread.
  if (u.generation != intel_generation_) {
    intel_generation_ = u.generation;
    detectors_.set_intel(u.intel);
    report.changed = true;
    report.records = u.intel ? u.intel->size() : 0;
  }
  return report;
}

bool hash_stage::merge_record(std::int32_t partition, std::string_view key, std::string_view encoded) {
  auto record = state::prevalence_value::decode(encoded);
  if (!record || store_ == nullptr) return false;
  combiner_.add(state::store_kind::hash, partition, key, *record);
  return true;
}

std::expected<std::size_t, std::string> hash_stage::flush(state_sink* sink) {
  if (store_ == nullptr || combiner_.size() == 0) return 0;
  std::size_t published = 0;
  std::size_t records = 0;
  combiner_.for_each([&](state::store_kind kind, std::int32_t partition, std::string_view key,
                         const state::prevalence_value& delta) {
    if (kind == state::store_kind::hash) {
      // Read, merge, write the whole record: detectors read this hash on every
      // observation of it, and a stored record is one value to decode, where a merge
      // operand would make every read until the next compaction run the merge
      // operator. The changelog gets the same bytes. This stage owns the partition's
      // hash keys (restores finish before it takes the partition), so nothing else
      // writes this key between the read and the commit.
      auto record = store_->get(kind, partition, key);
      if (record) record->merge(delta);
      else record = delta;
      if (records == flushed_.size()) flushed_.emplace_back();
      flushed_record& f = flushed_[records++];
      f.partition = partition;
      f.key.assign(key);
      f.record.clear();
      record->encode(f.record);
      store_->put_encoded(kind, partition, key, f.record);
    } else {
      store_->add(kind, partition, key, delta);
      if (sink) {
        scratch_.clear();
        delta.encode(scratch_);
        sink->delta(kind, key, scratch_);
        ++published;
      }
    }
  });
  if (auto written = store_->commit(); !written) {
    // The deltas stay combined and go out again with the next flush (merges are
    // idempotent, so what the sink already has is not double counted).
    ++stats_.state_errors;
    return std::unexpected(written.error());
  }
  combiner_.clear();
  if (sink) {
    // The changelog carries whole records: compaction keeps the latest per key, and
    // a restore merges what it reads.
    for (std::size_t i = 0; i < records; ++i) {
      sink->changelog(flushed_[i].partition, flushed_[i].key, flushed_[i].record);
      ++published;
    }
  }
  return published;
}

}  // namespace countersign::processor
