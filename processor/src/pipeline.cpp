#include <countersign/processor/pipeline.hpp>
#include <countersign/rules/alert.hpp>

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

pipeline::pipeline(const config& cfg)
    : parser_(parser_limits{cfg.input.max_message_bytes, cfg.input.max_field_bytes}),
      detectors_(cfg.detectors),
      suppression_(cfg.alerts.suppression_cache_entries),
      joiner_(cfg.input.codeintegrity_join),
      suppression_window_ms_(cfg.alerts.suppression_window_ms),
      release_([this](rules::observation& verdict, std::uint64_t token) { on_release(verdict, token); }) {
  hits_.reserve(8);
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

outcome pipeline::judge(rules::observation& obs, std::uint64_t token, bool deferred,
                        std::optional<std::int64_t> now_ms) {
  const bool in_scope = obs.signature.is_present() || obs.kind == rules::event_kind::code_integrity;
  if (!in_scope) {
    ++stats_.out_of_scope;
    return outcome::out_of_scope;
  }
  ++stats_.observations;
  hits_.clear();
  detectors_.evaluate(obs, nullptr, hits_);
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
  rules::render_alert(obs, hits_, id, now_ms.value_or(obs.event_time_ms.value_or(0)), a.json);
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
