#pragma once
// Rendering of `countersign.alert/v1` (DETECTIONS.md section 5).

#include <countersign/rules/detectors.hpp>
#include <countersign/rules/observation.hpp>

#include <countersign/state/prevalence_view.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace countersign::rules {

inline constexpr std::string_view k_alert_schema = "countersign.alert/v1";

// Severity of an alert from its hits: the maximum, and two or more medium hits make high.
[[nodiscard]] severity combined_severity(std::span<const hit> hits) noexcept;

// Deterministic alert id: 32 hex characters from the sorted rule ids, host, file hash
// (or the hits' shared group key instead of both), the Code Integrity policy when
// there is one, and the suppression window index. The same detection in the same window gets the same id,
// in any instance and on any replay.
[[nodiscard]] std::string alert_id(std::span<const hit> hits, const observation& obs,
                                   std::int64_t suppression_window_ms);

// Fleet prevalence of the alert's file, signer and issuer, when state is kept.
struct alert_prevalence {
  std::optional<state::prevalence_record> hash;
  std::optional<state::prevalence_record> signer;
  std::optional<state::prevalence_record> issuer;
};

// Writes one alert JSON object (no trailing newline) into `out` (cleared first). The
// `prevalence` block is written when `prevalence` is given; `technique` lists
// `techniques` (the built-in detectors: T1588.003; Sigma rules: their attack.t* tags).
void render_alert(const observation& obs, std::span<const hit> hits, std::string_view id,
                  std::int64_t detected_at_ms, const alert_prevalence* prevalence,
                  std::span<const std::string_view> techniques, std::string& out);
inline void render_alert(const observation& obs, std::span<const hit> hits, std::string_view id,
                         std::int64_t detected_at_ms, const alert_prevalence* prevalence, std::string& out) {
  static constexpr std::string_view k_technique[] = {"T1588.003"};
  render_alert(obs, hits, id, detected_at_ms, prevalence, k_technique, out);
}
inline void render_alert(const observation& obs, std::span<const hit> hits, std::string_view id,
                         std::int64_t detected_at_ms, std::string& out) {
  render_alert(obs, hits, id, detected_at_ms, nullptr, out);
}

}  // namespace countersign::rules
