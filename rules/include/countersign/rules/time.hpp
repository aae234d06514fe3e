#pragma once
// Event-time helpers shared by parsers and alert rendering. All times are
// milliseconds since the Unix epoch, UTC.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace countersign::rules {

inline constexpr std::int64_t k_ms_per_second = 1000;
inline constexpr std::int64_t k_ms_per_day = 86'400'000;
inline constexpr std::int64_t k_ms_per_hour = 3'600'000;

// Parses RFC 3339 / ISO 8601 date-times: `2026-11-29T04:43:40Z`, with or without a
// fraction (any number of digits, truncated to ms), with `Z`, `+hh:mm`, `+hhmm`, or no
// zone (taken as UTC); a space instead of `T` is accepted. Returns nullopt on anything
// else, including out-of-range fields.
[[nodiscard]] std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text) noexcept;

// Renders `2026-11-29T04:43:40.123Z` (always millisecond precision, UTC).
void format_rfc3339_ms(std::int64_t ms, std::string& out);
[[nodiscard]] std::string format_rfc3339_ms(std::int64_t ms);

}  // namespace countersign::rules
