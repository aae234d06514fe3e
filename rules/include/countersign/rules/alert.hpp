#pragma once
// Rendering of alerts: `countersign.alert/v1` (docs/alerts.md, schema/
// countersign.alert.v1.schema.json), and the same alert as an OCSF Detection Finding or
// an ECS alert document for SIEMs that expect a standard (docs/alerts.md maps every
// field). Renderers write into a caller-owned string and never throw.

#include <countersign/rules/detectors.hpp>
#include <countersign/rules/observation.hpp>

#include <countersign/state/prevalence_view.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace countersign::rules {

inline constexpr std::string_view k_alert_schema = "countersign.alert/v1";

// The shape an alerts output writes (config `alerts.format`, `alerts.outputs[].format`).
enum class alert_format : std::uint8_t {
  countersign,  // countersign.alert/v1, our own
  ocsf,         // OCSF 1.4.0 Detection Finding (class_uid 2004)
  ecs,          // ECS 8.17 alert document (event.kind: alert)
};
inline constexpr std::size_t k_alert_format_count = 3;
inline constexpr std::string_view k_ocsf_version = "1.4.0";
inline constexpr std::string_view k_ecs_version = "8.17.0";

[[nodiscard]] std::string_view to_string(alert_format f) noexcept;
[[nodiscard]] std::optional<alert_format> parse_alert_format(std::string_view name) noexcept;
// What the `countersign.schema` Kafka header says of a record in this format.
[[nodiscard]] std::string_view schema_name(alert_format f) noexcept;

// Severity of an alert from its hits: the maximum, and two or more medium hits make high.
[[nodiscard]] severity combined_severity(std::span<const hit> hits) noexcept;

// Deterministic alert id: 32 hex characters from the sorted rule ids, host, file hash
// (or the hits' shared group key instead of both), the Code Integrity policy when
// there is one, and the suppression window index. The same detection in the same window gets the same id,
// in any instance and on any replay.
[[nodiscard]] std::string alert_id(std::span<const hit> hits, const observation& obs,
                                   std::int64_t suppression_window_ms);

// A 128-bit hash written as alert ids are: 32 lowercase hex digits, high word first.
[[nodiscard]] std::string hex_id(std::uint64_t high64, std::uint64_t low64);

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

// Everything an alert says, in any format. Views: valid for one render call.
struct alert_content {
  const observation& obs;
  std::span<const hit> hits;
  std::string_view id;
  std::int64_t detected_at_ms = 0;
  const alert_prevalence* prevalence = nullptr;  // null: no prevalence block
  std::span<const std::string_view> techniques;  // ATT&CK ids
  std::string_view product_version;              // OCSF metadata.product.version, ECS agent.version
};

// Writes `content` in `format` into `out` (cleared first). countersign is byte for byte
// what render_alert writes.
void render_alert(alert_format format, const alert_content& content, std::string& out);
void render_ocsf_alert(const alert_content& content, std::string& out);
void render_ecs_alert(const alert_content& content, std::string& out);

// Whether a hit comes from a built-in detector (its id is one of k_detector_ids) rather
// than a Sigma rule.
[[nodiscard]] bool is_builtin_detector(std::string_view id) noexcept;

// The hit an alert is named after: the most severe, the first of equals; an empty hit
// (no id, no reason) when there is none.
[[nodiscard]] const hit& primary_hit(std::span<const hit> hits) noexcept;

}  // namespace countersign::rules
