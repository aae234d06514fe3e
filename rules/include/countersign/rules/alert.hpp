#pragma once
// Rendering of `countersign.alert/v1` (DETECTIONS.md section 5).

#include <countersign/rules/detectors.hpp>
#include <countersign/rules/observation.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace countersign::rules {

inline constexpr std::string_view k_alert_schema = "countersign.alert/v1";

// Severity of an alert from its hits: the maximum, and two or more medium hits make high.
[[nodiscard]] severity combined_severity(std::span<const hit> hits) noexcept;

// Deterministic alert id: 32 hex characters from the sorted rule ids, host, file hash
// and suppression window index. The same detection in the same window gets the same id,
// in any instance and on any replay.
[[nodiscard]] std::string alert_id(std::span<const hit> hits, const observation& obs,
                                   std::int64_t suppression_window_ms);

// Writes one alert JSON object (no trailing newline) into `out` (cleared first).
void render_alert(const observation& obs, std::span<const hit> hits, std::string_view id,
                  std::int64_t detected_at_ms, std::string& out);

}  // namespace countersign::rules
