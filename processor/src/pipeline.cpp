#include <countersign/processor/pipeline.hpp>
#include <countersign/rules/alert.hpp>

namespace countersign::processor {

pipeline::pipeline(const config& cfg)
    : parser_(parser_limits{cfg.input.max_message_bytes, cfg.input.max_field_bytes}),
      detectors_(cfg.detectors),
      suppression_(cfg.alerts.suppression_cache_entries),
      suppression_window_ms_(cfg.alerts.suppression_window_ms) {
  hits_.reserve(8);
  alert_.reserve(4096);
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

process_result pipeline::process(std::string_view payload, const source_position& where,
                                 std::optional<std::int64_t> now_ms) {
  ++stats_.events;
  if (auto parsed = parser_.parse(payload, obs_); !parsed) {
    ++stats_.rejected[static_cast<std::size_t>(parsed.error().reason)];
    error_detail_ = std::move(parsed.error().detail);
    return {outcome::rejected, parsed.error().reason, error_detail_};
  }
  obs_.source.topic.assign(where.topic);
  obs_.source.partition = where.partition;
  obs_.source.offset = where.offset;

  // Scope: every detector of this slice judges a signature; unsigned and
  // signature-less events are counted and dropped.
  if (!obs_.signature.is_present()) {
    ++stats_.out_of_scope;
    return {outcome::out_of_scope, {}, {}};
  }
  ++stats_.observations;

  hits_.clear();
  detectors_.evaluate(obs_, nullptr, hits_);
  if (hits_.empty()) return {outcome::no_alert, {}, {}};
  for (const auto& h : hits_) count_hit(h.id);

  const std::string id = rules::alert_id(hits_, obs_, suppression_window_ms_);
  if (!suppression_.first_time(id)) {
    ++stats_.suppressed;
    return {outcome::suppressed, {}, {}};
  }
  rules::render_alert(obs_, hits_, id, now_ms.value_or(*obs_.event_time_ms), alert_);
  ++stats_.alerts;
  return {outcome::alert, {}, {}};
}

}  // namespace countersign::processor
