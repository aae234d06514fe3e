#pragma once
// Normalization of signature facts as docs/detections.md section 1 specifies: status values,
// hex identifiers, distinguished names and event times. Pure functions, no allocation
// beyond the output field.

#include <countersign/rules/observation.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace countersign::processor {

// Maps an ECS / Elastic Defend (or Sysmon) `code_signature.status` value.
[[nodiscard]] rules::signature_status ecs_signature_status(std::string_view raw) noexcept;

// Lowercase hex with `:`, `-` and spaces removed (serials, thumbprints, hashes).
void set_normalized_hex(rules::text_field& out, std::string_view raw);

// Finds the value of attribute `attr` (e.g. "CN", "O") in a distinguished name such as
// `CN=Acme Ltd, O="Acme, Ltd.", C=GB`; handles quoting and backslash escapes. Returns
// false when absent. `out` receives the unescaped value.
[[nodiscard]] bool dn_attribute(std::string_view dn, std::string_view attr, rules::text_field& out);

// True when `s` looks like a distinguished name rather than a bare name.
[[nodiscard]] bool looks_like_dn(std::string_view s) noexcept;

// Event time from epoch seconds or milliseconds: values below 10^11 are seconds
// (10^11 s is the year 5138; 10^11 ms is 1973). Times outside the years 1900-9999,
// NaN and infinities are nullopt, so date arithmetic downstream cannot overflow.
[[nodiscard]] std::optional<std::int64_t> epoch_to_ms(double value) noexcept;

// "true"/"false" in any case; nullopt otherwise.
[[nodiscard]] std::optional<bool> parse_bool(std::string_view s) noexcept;

// A decimal integer ("-12") or 0x-prefixed hex ("0xC0E90002"); nullopt otherwise.
[[nodiscard]] std::optional<std::int64_t> parse_integer(std::string_view s) noexcept;

// Parses Sysmon's "SHA1=...,MD5=...,SHA256=...,IMPHASH=..." into the two hashes kept.
void parse_sysmon_hashes(std::string_view hashes, rules::text_field& sha256, rules::text_field& sha1);

// The range of times countersign accepts from any source: 1900-01-01 to 9999-12-31.
inline constexpr std::int64_t k_min_time_ms = -2'208'988'800'000;
inline constexpr std::int64_t k_max_time_ms = 253'402'300'799'999;

}  // namespace countersign::processor
