#include <countersign/processor/pipeline.hpp>
#include <countersign/rules/alert.hpp>
#include <countersign/rules/keys.hpp>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace countersign::processor {
namespace {

// Which outcome of a message's observations is reported for the message.
int rank(outcome o) {
  switch (o) {
    case outcome::alert: return 4;
    case outcome::suppressed: return 3;
    case outcome::no_alert: return 2;
    case outcome::out_of_scope: return 1;
    case outcome::rejected: return 0;
  }
  return 0;
}

}  // namespace

pipeline::pipeline(const config& cfg, state::prevalence_store* store)
    : parser_(parser_limits{cfg.input.max_message_bytes, cfg.input.max_field_bytes}),
      detectors_(cfg.detectors),
      suppression_(cfg.alerts.suppression_cache_entries),
      joiner_(cfg.input.codeintegrity_join),
      suppression_window_ms_(cfg.alerts.suppression_window_ms),
      store_(store),
      recent_(cfg.state.recent_pairs),
      combine_max_keys_(cfg.state.combine_max_keys),
      min_history_ms_(cfg.state.min_history_ms),
      release_([this](rules::observation& verdict, std::uint64_t token) { on_release(verdict, token); }) {
  hits_.reserve(8);
  if (store_) {
    view_.emplace(*store_, combiner_, state::k_local_partition);
    if (auto h = store_->history()) {
      history_first_ms_ = h->first_seen_ms;
      history_last_ms_ = h->last_seen_ms;
    }
    const bool empty = history_last_ms_ < history_first_ms_;
    stats_.learning = min_history_ms_ > 0 && (empty || history_last_ms_ - history_first_ms_ < min_history_ms_);
  }
}

void pipeline::count_hit(std::string_view id) {
  for (auto& [known, count] : stats_.hits_by_detector) {
    if (known == id) {
      ++count;
      return;
    }
  }
  stats_.hits_by_detector.emplace_back(id, 1);
}

void pipeline::begin_call() {
  alert_count_ = 0;
  releases_.clear();
}

void pipeline::on_release(rules::observation& verdict, std::uint64_t token) {
  (void)judge(verdict, token, true, release_now_);
  releases_.push_back(token);
}

void pipeline::flush_state() {
  if (store_ == nullptr) return;
  if (auto written = combiner_.flush(*store_, state::k_local_partition); !written) ++stats_.state_errors;
}

void pipeline::update_state(const rules::observation& obs) {
  const std::string file = rules::file_key(obs);
  if (file.empty() || !obs.event_time_ms) return;
  const std::int64_t t = *obs.event_time_ms;
  const std::string signer = rules::signer_key(obs.signature);
  const std::string issuer = rules::issuer_key(obs.signature);
  // Repeats of a fact already written are skipped: merges are idempotent, so this only
  // saves work. A changed status (revoked since yesterday) is a new fact.
  XXH3_state_t h;
  XXH3_64bits_reset(&h);
  XXH3_64bits_update(&h, &obs.host_hash, sizeof obs.host_hash);
  for (const std::string_view part : {std::string_view(file), std::string_view(signer), rules::to_string(obs.signature.status)}) {
    XXH3_64bits_update(&h, part.data(), part.size());
    XXH3_64bits_update(&h, "\0", 1);
  }
  if (!recent_.insert(XXH3_64bits_digest(&h))) return;

  state::prevalence_value seen;
  seen.first_seen_ms = t;
  seen.last_seen_ms = t;
  seen.hosts.insert(obs.host_hash);
  combiner_.add(state::store_kind::hash, file, seen);
  if (!signer.empty()) {
    state::prevalence_value s = seen;
    s.items.insert(XXH3_64bits(file.data(), file.size()));
    if (!issuer.empty()) s.issuers.insert(XXH3_64bits(issuer.data(), issuer.size()));
    if (obs.signature.not_before_ms) s.min_not_before_ms = *obs.signature.not_before_ms;
    combiner_.add(state::store_kind::signer, signer, s);
    const std::string company = rules::normalize_company(obs.pe.company.view());
    if (!company.empty()) {
      combiner_.add(state::store_kind::company_signer, company + '\0' + signer, seen);
    }
  }
  if (!issuer.empty()) {
    state::prevalence_value i = seen;
    if (!signer.empty()) i.items.insert(XXH3_64bits(signer.data(), signer.size()));
    combiner_.add(state::store_kind::issuer, issuer, i);
  }
  store_->observe_time(t);
  ++stats_.state_updates;
  // Detectors read through combined_view, so pending deltas count at once; the disk
  // write waits for a full combiner (or flush_state from the caller's timer).
  if (combiner_.size() >= combine_max_keys_) flush_state();
  history_first_ms_ = std::min(history_first_ms_, t);
  history_last_ms_ = std::max(history_last_ms_, t);
  if (stats_.learning && history_last_ms_ - history_first_ms_ >= min_history_ms_) stats_.learning = false;
}

outcome pipeline::judge(rules::observation& obs, std::uint64_t token, bool deferred,
                        std::optional<std::int64_t> now_ms) {
  const bool in_scope = obs.signature.is_present() || obs.kind == rules::event_kind::code_integrity;
  if (!in_scope) {
    ++stats_.out_of_scope;
    return outcome::out_of_scope;
  }
  ++stats_.observations;
  if (store_) update_state(obs);
  hits_.clear();
  detectors_.evaluate(obs, view_ && !stats_.learning ? &*view_ : nullptr, hits_);
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
  if (store_) {
    const rules::alert_prevalence prevalence{view_->hash(rules::file_key(obs)),
                                             view_->signer(rules::signer_key(obs.signature)),
                                             view_->issuer(rules::issuer_key(obs.signature))};
    rules::render_alert(obs, hits_, id, detected_at, &prevalence, a.json);
  } else {
    rules::render_alert(obs, hits_, id, detected_at, a.json);
  }
  ++stats_.alerts;
  return outcome::alert;
}

process_result pipeline::process(std::string_view payload, const source_position& where,
                                 std::optional<std::int64_t> now_ms, std::uint64_t token,
                                 rules::schema_profile forced) {
  begin_call();
  ++stats_.events;
  auto parsed = parser_.parse(payload, batch_, forced);
  if (!parsed) {
    ++stats_.rejected[static_cast<std::size_t>(parsed.error().reason)];
    error_detail_ = std::move(parsed.error().detail);
    return {outcome::rejected, parsed.error().reason, error_detail_, 0, 0};
  }
  ++stats_.events_by_schema[static_cast<std::size_t>(*parsed)];

  process_result result{outcome::out_of_scope, {}, {}, 0, 0};
  const auto note = [&result](outcome o) {
    if (rank(o) > rank(result.kind)) result.kind = o;
  };
  for (auto& obs : batch_.items()) {
    obs.source.topic.assign(where.topic);
    obs.source.partition = where.partition;
    obs.source.offset = where.offset;
    if (obs.event_time_ms) max_event_time_ms_ = std::max(max_event_time_ms_, *obs.event_time_ms);
  }
  stats_.max_event_time_ms = max_event_time_ms_;
  // The join clock: wall time when running, the stream's event time when replaying.
  const std::int64_t clock = now_ms.value_or(max_event_time_ms_);
  release_now_ = now_ms;
  for (auto& obs : batch_.items()) {
    if (obs.kind == rules::event_kind::signature_info) {
      joiner_.add_signature(obs, clock, release_);
      note(outcome::out_of_scope);
      continue;
    }
    if (obs.kind == rules::event_kind::code_integrity && !joiner_.add_verdict(obs, token, clock, release_)) {
      ++result.deferred;
      continue;
    }
    note(judge(obs, token, false, now_ms));
  }
  // Verdicts released within this call belong to their own messages, this one included.
  for (std::size_t i = 0; i < alert_count_; ++i) {
    if (!alerts_[i].deferred) ++result.alerts;
  }
  joiner_.expire(clock, release_);
  stats_.ci_join = joiner_.stats();
  return result;
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
